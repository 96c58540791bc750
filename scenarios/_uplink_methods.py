"""The methods of the ``uplink-isac`` scenario run on one received frame, and their metrics.

:func:`run_method` takes an :class:`scenarios.uplink_isac.UplinkDataset` (its ``config``,
``geometry``, ``channels``, ``symbols``, ``pilot_mask``, ``received``, ``noise_variance`` and
``data_bits``) and returns the channel NMSE, the BER, the CPU time and, for the sensing methods,
the scatterer-localisation errors; with ``trace`` also the NMSE and CPU time per iteration.
The baselines that :mod:`estimators` does not provide live here: the pilot-only per-subcarrier
LMMSE channel estimate and the per-subcarrier LMMSE detector.
"""

from __future__ import annotations

import time

import numpy as np

from channels import UplinkGeometry, location_dictionary, uniform_location_grid
from sensing import (
    asarray_like,
    constellation,
    hard_decision,
    match_estimates,
    symbols_to_bits,
    to_numpy,
)

__all__ = ["TRACE_ITERATIONS", "NEEDS", "run_method"]

TRACE_ITERATIONS = 40
"""Iterations recorded per method in the convergence study (shorter traces repeat their last value)."""

NEEDS = {"omp": ("location_omp",), **{m: ("em_turbo_bisvbi",) for m in
                                      ("proposed", "full", "iid", "no_mstep", "random_init", "pilot_vbi")}}
"""Method -> the public :mod:`estimators` functions it calls (the LMMSE baselines need none)."""



def _lmmse_detect(h_est, y, pm, noise_var, config):
    """Per-subcarrier LMMSE equaliser + hard decision on the data REs -> labels (K, n_data)."""
    k = h_est.shape[0]
    hn = np.transpose(h_est, (2, 1, 0))                                       # (N, M, K)
    g = np.conj(np.transpose(hn, (0, 2, 1))) @ hn + noise_var * np.eye(k)[None]
    w = np.linalg.solve(g, np.conj(np.transpose(hn, (0, 2, 1))))             # (N, K, M)
    xh = w @ np.transpose(y, (1, 0, 2))                                       # (N, K, T)
    dn, dt = np.nonzero(~pm)
    est = xh[dn, :, dt].T                                                     # (K, n_data)
    if not np.all(np.isfinite(est)):
        return None  # a diverged channel estimate: no decision, the BER is reported as NaN
    return hard_decision(est, config.modulation, config.order)


def _pilot_lmmse(ds):
    """Per-subcarrier linear LMMSE from the pilots (i.i.d. channel prior, true noise level)."""
    y, s, pm = ds.received, ds.symbols, ds.pilot_mask
    k = s.shape[0]
    m = y.shape[0]
    p = max((float(np.mean(np.abs(y) ** 2)) - ds.noise_variance) / k, 1e-300)
    out = np.zeros((k, m, y.shape[1]), complex)
    for n in range(y.shape[1]):
        tt = np.flatnonzero(pm[n])
        sn = s[:, n, tt]
        out[:, :, n] = (y[:, n, tt] @ np.conj(sn.T) @ np.linalg.inv(sn @ np.conj(sn.T) + ds.noise_variance / p
                                                                    * np.eye(k))).T
    return out


def _nmse(h_est, h):
    return float(np.sum(np.abs(h_est - h) ** 2) / np.sum(np.abs(h) ** 2))


def _ber(labels, ds):
    if labels is None or np.any(labels < 0):
        return float("nan")
    bits = symbols_to_bits(labels, ds.config.order)
    return float(np.mean(bits != ds.data_bits))


def _localisation(est, geo: UplinkGeometry, gate_m=5.0):
    truth = geo.scatterer_positions_m[geo.visibility.any(axis=0)]
    mt = match_estimates(np.asarray(est, float).reshape(-1, 3), truth, gate=gate_m, p=2)
    se = float(np.sum(mt.errors ** 2)) if mt.n_pairs else 0.0
    return se, int(mt.n_pairs), int(mt.n_missed), int(mt.n_false_alarms)


def _em_kwargs(method, config, ds, xp):
    kw = dict(pilots=asarray_like(ds.symbols, xp), pilot_mask=ds.pilot_mask,
              constellation=constellation(config.modulation, config.order), geometry=config.bs_array,
              wavelength_m=config.wavelength_m, frequencies_hz=config.numerology.subcarrier_frequencies_hz,
              nominal_user_positions_m=ds.geometry.nominal_user_positions_m, region_m=config.scatterer_region_m,
              grid_spacing_m=config.grid_spacing_m, max_outer=config.max_outer,
              max_time_offset_s=max(1.5 * config.max_time_offset_s, 2e-9))    # the clock spec is known
    extra = {"proposed": {}, "full": {"subspace": False}, "iid": {"support_prior": "iid"},
             "no_mstep": {"learn": ()}, "random_init": {"init": "random", "rng": 0},
             "pilot_vbi": {"use_data": False}}[method]
    kw.update(extra)
    return kw


def run_method(method, ds, xp, trace=False):
    """Run one method; returns metrics (and per-iteration NMSE / CPU time when ``trace``)."""
    import estimators as est

    config = ds.config
    h = ds.channels
    out = {}
    nm_trace, t_trace = [], []
    t0 = time.process_time()

    def cb(info):
        nm_trace.append(_nmse(to_numpy(info.estimate), h))
        t_trace.append(time.process_time() - t0)
        return False

    y = asarray_like(ds.received, xp)
    scat = None
    if method == "perfect_csi":
        labels = _lmmse_detect(h, ds.received, ds.pilot_mask, ds.noise_variance, config)
        h_est = h
    elif method == "pilot_lmmse":
        h_est = _pilot_lmmse(ds)
        labels = _lmmse_detect(h_est, ds.received, ds.pilot_mask, ds.noise_variance, config)
    elif method == "omp":
        grid = uniform_location_grid(config.scatterer_region_m, config.grid_spacing_m)
        d = location_dictionary(asarray_like(grid, xp, dtype=xp.float64),
                                user_positions_m=ds.geometry.nominal_user_positions_m,
                                time_offsets_s=np.zeros(config.n_users), bs_array=config.bs_array,
                                wavelength_m=config.wavelength_m,
                                frequencies_hz=config.numerology.subcarrier_frequencies_hz)
        r = est.location_omp(y, steering=d.steering, delay=d.delay, pilots=asarray_like(ds.symbols, xp),
                             pilot_mask=ds.pilot_mask, allowed=d.allowed, callback=cb if trace else None)
        h_est = to_numpy(r.channels)
        labels = _lmmse_detect(h_est, ds.received, ds.pilot_mask, max(r.noise_variance, 1e-300), config)
        out["n_iter"] = r.n_iter
    else:
        r = est.em_turbo_bisvbi(y, callback=cb if trace else None, **_em_kwargs(method, config, ds, xp))
        h_est = to_numpy(r.channels)
        labels = r.symbol_labels if method != "pilot_vbi" else _lmmse_detect(
            h_est, ds.received, ds.pilot_mask, r.noise_variance, config)
        scat = r.scatterer_positions_m
        out["n_iter"] = r.n_iter
    out["cpu_s"] = time.process_time() - t0
    out["nmse"] = _nmse(h_est, h)
    out["ber"] = _ber(labels, ds)
    if scat is not None:
        se, pairs, miss, false = _localisation(scat, ds.geometry)
        out.update(loc_se=se, loc_pairs=pairs, missed=miss, false=false)
    if trace:
        nm = np.asarray(nm_trace if nm_trace else [out["nmse"]])
        tt = np.asarray(t_trace if t_trace else [out["cpu_s"]])
        idx = np.minimum(np.arange(TRACE_ITERATIONS), nm.size - 1)           # pad with the final value
        out["trace_nmse"] = nm[idx]
        out["trace_time"] = tt[idx]
    return out
