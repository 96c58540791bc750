"""The methods of the ``uplink-isac`` scenario run on one received frame, and their metrics.

:func:`run_method` takes an :class:`scenarios.uplink_isac.UplinkDataset` (its ``config``,
``geometry``, ``channels``, ``symbols``, ``pilot_mask``, ``received``, ``noise_variance`` and
``data_bits``) and returns the channel NMSE, the BER, the CPU time and, for the sensing methods,
the scatterer-localisation errors; with ``trace`` also the NMSE and CPU time per iteration.
The baselines that :mod:`estimators` does not provide live here: the pilot-only per-subcarrier
LMMSE channel estimate, the orthogonal-pilot LMMSE estimate with delay-window interpolation, the
per-subcarrier LMMSE detector, and the proposed method's categorical (mean-field) detector run on
a given channel (the perfect-CSI reference).
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


def _categorical_detect(h_est, y, pm, noise_var, config, *, max_sweeps=30):
    r"""The proposed method's data detector with a given channel -> labels (K, n_data).

    The same mathematics as the data factor of the BiSVBI E-step (:mod:`estimators.bayes`,
    arXiv:2502.00811, Sec. IV; ``BilinearEngine.lmmse_init`` / ``data_update``), re-implemented
    here with public helpers because the estimator exposes no stand-alone detector: start
    :math:`q(s)` from soft LMMSE detection (categorical posteriors of the biased LMMSE output,
    :math:`\mathcal{CN}(b\chi, b(1-b))`), then mean-field sweeps, users in turn,

    .. math::
        q(s_{k,n,t} = \chi) \propto \exp\!\big(-\sigma^{-2}[|\chi|^2\lVert\mathbf h_{k,n}\rVert^2
        - 2\mathrm{Re}\{\chi^*\mathbf h_{k,n}^H(\mathbf y_{n,t}
        - \textstyle\sum_{j\ne k}\mathbf h_{j,n}\langle s_{j,n,t}\rangle)\}]\big),

    until the MAP decisions stop changing (at most ``max_sweeps``). With the true channel (no
    channel uncertainty, the trace term is 0) and the true noise level this is the proposed
    method's detector with perfect CSI, the reference its BER is bounded by.
    """
    pts = constellation(config.modulation, config.order)
    pabs = np.abs(pts) ** 2
    k = h_est.shape[0]
    hn = np.transpose(h_est, (2, 1, 0))                                       # (N, M, K)
    hh = np.conj(np.transpose(hn, (0, 2, 1)))                                 # (N, K, M)
    g = hh @ hn                                                               # (N, K, K)
    w = np.linalg.solve(g + noise_var * np.eye(k)[None], hh)                  # (N, K, M)
    ys = np.transpose(y, (1, 0, 2))                                           # (N, M, T)
    dn, dt = np.nonzero(~pm)
    xh = (w @ ys)[dn, :, dt].T                                                # (K, n_data)
    bias = np.real(np.einsum("nkm,nmk->nk", w, hn))[dn].T                     # (K, n_data)
    var = np.maximum(bias * (1 - bias), 1e-6)
    if not (np.all(np.isfinite(xh)) and np.all(np.isfinite(g))):
        return None
    lg = -np.abs(xh[:, :, None] - bias[:, :, None] * pts) ** 2 / var[:, :, None]
    lg -= lg.max(axis=2, keepdims=True)
    pr = np.exp(lg)
    pr /= pr.sum(axis=2, keepdims=True)
    ms = pr @ pts                                                             # (K, n_data)
    f = (hh @ ys)[dn, :, dt].T                                                # (K, n_data)
    gd = g[dn]                                                                # (n_data, K, K)
    eh = np.real(np.einsum("dkk->kd", gd))                                    # (K, n_data)
    labels = np.argmax(pr, axis=2)
    for _ in range(max_sweeps):
        for kk in range(k):
            proj = f[kk] - sum(gd[:, kk, j] * ms[j] for j in range(k) if j != kk)
            lg = -(pabs[None, :] * eh[kk][:, None] - 2 * np.real(np.conj(pts)[None, :] * proj[:, None])) / noise_var
            lg -= lg.max(axis=1, keepdims=True)
            p = np.exp(lg)
            p /= p.sum(axis=1, keepdims=True)
            pr[kk] = p
            ms[kk] = p @ pts
        new = np.argmax(pr, axis=2)
        if np.array_equal(new, labels):
            break
        labels = new
    return np.argmax(pr, axis=2)


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


def orthogonal_pilot_owner(n_subcarriers, n_pilot_symbols, n_users):
    r"""The user that owns each pilot RE of the orthogonal design, shape (N, T_p): RE
    :math:`(n, t)` goes to user :math:`(n T_p + t) \bmod K` (disjoint REs; with :math:`T_p \ge K` every
    user has a pilot on every subcarrier, with fewer a comb)."""
    n, t = np.meshgrid(np.arange(n_subcarriers), np.arange(n_pilot_symbols), indexing="ij")
    return (n * n_pilot_symbols + t) % n_users


def _delay_window(ds):
    """Per-user delay window [tau_lo, tau_hi] [s] from what the receiver knows: the nominal user
    positions, the scatterer region, the clock-offset spec and the position-error std (3 sigma)."""
    from sensing import SPEED_OF_LIGHT as c

    cfg, geo = ds.config, ds.geometry
    users = np.asarray(geo.nominal_user_positions_m, float)
    box = np.asarray(cfg.scatterer_region_m, float)
    corners = np.array([[box[i, 0], box[j, 1], box[l, 2]] for i in (0, 1) for j in (0, 1) for l in (0, 1)])
    margin = cfg.max_time_offset_s + 3 * np.sqrt(3) * cfg.position_error_std_m / c
    lo = np.linalg.norm(users, axis=1) / c - margin
    far = np.linalg.norm(users[:, None] - corners[None], axis=-1) + np.linalg.norm(corners, axis=-1)[None]
    hi = np.maximum(far.max(axis=1), np.linalg.norm(users, axis=1)) / c + margin
    return lo, hi


def _orthogonal_pilot_lmmse(ds):
    r"""Channel LMMSE with orthogonal pilots (the textbook baseline; a different pilot design from
    the frame's, so the pilot REs are re-synthesised).

    Pilot REs are split among the users (:func:`orthogonal_pilot_owner`), each RE carrying one
    user's QPSK pilot at power :math:`K` (the same pilot energy per user and the same total power
    per RE as the frame's superimposed random pilots), with the frame's own noise on those REs;
    the data REs are the frame's. Per user and antenna the channel across subcarriers gets the
    robust LMMSE interpolator of a uniform power-delay profile on the delay window the receiver
    knows from the geometry (:func:`_delay_window`; Li, Cimini, Sollenberger, IEEE Trans. Commun.
    46(7), 1998), :math:`R_{nn'} = e^{-j2\pi(f_n-f_{n'})\tau_c}\,\mathrm{sinc}((f_n-f_{n'})\Delta\tau)`,
    with the true noise level and the per-user power estimated from the pilots.
    """
    cfg, h = ds.config, ds.channels
    k, m, n = h.shape
    tp = cfg.n_pilot_symbols
    s2 = ds.noise_variance
    noise = ds.received[:, :, :tp] - np.einsum("kmn,knt->mnt", h, ds.symbols[:, :, :tp])
    owner = orthogonal_pilot_owner(n, tp, k)
    # each user's pilot: the frame's QPSK pilot on the REs it owns, scaled to power K
    sp = np.sqrt(k) * np.take_along_axis(ds.symbols[:, :, :tp], owner[None], axis=0)[0]   # (N, T_p)
    h_own = np.transpose(h, (0, 2, 1))[owner, np.arange(n)[:, None]]          # (N, T_p, M)
    y = np.transpose(h_own, (2, 0, 1)) * sp[None] + noise                     # (M, N, T_p)
    f = np.asarray(cfg.numerology.subcarrier_frequencies_hz, float)
    lo, hi = _delay_window(ds)
    out = np.zeros_like(h)
    for u in range(k):
        cnt = (owner == u).sum(axis=1)                                        # REs per subcarrier
        obs = np.flatnonzero(cnt)
        z = np.sum(np.where(owner == u, y * np.conj(sp) / k, 0), axis=2)[:, obs] / cnt[obs]   # LS, (M, |O|)
        nv = s2 / (k * cnt[obs])                                              # LS noise variance
        p = max(float(np.mean(np.abs(z) ** 2) - np.mean(nv)), 1e-3 * float(np.mean(nv)))
        df = f[:, None] - f[None, :]
        r = np.exp(-2j * np.pi * df * (lo[u] + hi[u]) / 2) * np.sinc(df * (hi[u] - lo[u]))
        a = p * r[np.ix_(obs, obs)] + np.diag(nv)
        out[u] = (p * r[:, obs] @ np.linalg.solve(a, z.T)).T
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
        labels = _categorical_detect(h, ds.received, ds.pilot_mask, ds.noise_variance, config)
        h_est = h
    elif method == "orth_lmmse":
        h_est = _orthogonal_pilot_lmmse(ds)
        labels = _lmmse_detect(h_est, ds.received, ds.pilot_mask, ds.noise_variance, config)
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
