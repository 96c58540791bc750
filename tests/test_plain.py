"""PLAIN (estimators.tensor._plain), its baselines and its bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import to_xp

from channels import Paths, cfr_from_paths
from estimators import (
    PlainResult,
    crb_plain_joint,
    crb_plain_per_dimension,
    joint_esprit_estimator,
    plain,
    plain_compress,
    sequential_estimator,
)
from estimators.tensor._plain_modes import (
    _aic,
    _signal_root_music,
    estimate_order_and_roots,
    map_mode,
    normalise_fb,
)
from sensing import SPEED_OF_LIGHT as C
from sensing import Numerology, complex_noise, to_numpy, ula, upa

# -- a small scenario ---------------------------------------------------------------------------
SMALL = Numerology(26e9, 60e3, 24, 28)
SMALL_ARRAY = ula(8, SMALL.wavelength_m / 2)


def small_paths(az=(-0.5, 0.1, 0.6), dist=(100.0, 600.0, 1200.0), vel=(-40.0, 10.0, 60.0), gains=None):
    n = len(az)
    g = np.exp(1j * np.arange(1, n + 1)) * np.linspace(1.0, 0.5, n) if gains is None else np.asarray(gains)
    return Paths.from_arrays(g.astype(complex), np.asarray(dist) / C, np.asarray(vel) * 26e9 / C, np.asarray(az))


def released():
    """The released example's truth (arXiv:2503.21242, Sec. V; reference code `main.m`), package angle convention."""
    from channels import uma_los_path_loss_db

    num = Numerology(26e9, 60e3, 180, 560, fft_size=225)
    ts = 1.0 / num.sample_rate_hz
    d = np.linspace(50.0, 400.0, 6)
    d = C * ts * np.round(d / (C * ts))
    az = np.deg2rad(90.0 - np.linspace(30.0, 150.0, 6))
    v = np.array([0.0, 5.0, 0.0, 15.0, 0.0, 25.0]) / 3.6
    g = 10 ** (-uma_los_path_loss_db(d, 26e9, margin_db=2.96) / 20) * np.exp(2j * np.pi * np.arange(6) / 7)
    return num, ula(16, num.wavelength_m / 2), Paths.from_arrays(g, d / C, v * 26e9 / C, az)


def by_angle(res, paths):
    """Estimated (az, d, v, gain) and true ones, both sorted by azimuth."""
    r = res.to_numpy()
    o = np.argsort(r.azimuths_rad)
    t = np.argsort(paths.aoa_az_rad)
    est = (r.azimuths_rad[o], r.path_lengths_m[o], r.velocities_mps[o], r.gains[..., o])
    tru = (paths.aoa_az_rad[t], paths.delays_s[t] * C, paths.doppler_hz[t] * C / 26e9, paths.gains[t])
    return est, tru


def assert_recovered(res, paths, *, gains=True, tol=1.0):
    assert res.n_objects == paths.n_paths
    (az, d, v, g), (az0, d0, v0, g0) = by_angle(res, paths)
    np.testing.assert_allclose(az, az0, atol=1e-6 * tol)
    np.testing.assert_allclose(d, d0, atol=1e-3 * tol)
    np.testing.assert_allclose(v, v0, atol=1e-4 * tol)
    if gains:
        np.testing.assert_allclose(g, g0, atol=1e-5 * tol * np.abs(g0).max())


# -- stage 1 -------------------------------------------------------------------------------------
def g_delta(w, delta):
    return np.exp(1j * w * (delta - 1) / 2) * np.sin(delta * w / 2) / (delta * np.sin(w / 2))


def test_averaging_keeps_vandermonde_with_the_analytic_factor():
    w = (0.3, -1.1, 0.05)
    n = (6, 12, 28)
    deltas = (2, 4, 7)
    h = np.einsum("i,j,k->ijk", *[np.exp(1j * wm * np.arange(nm)) for wm, nm in zip(w, n)])
    out = plain_compress(h, method="averaging", deltas=deltas)
    assert out.tensor.shape == (1, 3, 3, 4) and out.deltas == deltas
    ref = np.einsum("i,j,k->ijk", *[g_delta(wm, dm) * np.exp(1j * dm * wm * np.arange(nm // dm))
                                     for wm, nm, dm in zip(w, n, deltas)])
    np.testing.assert_allclose(out.tensor[0], ref, atol=1e-12)


def test_decimation_shifted_decimation_and_smoothing_select_the_right_samples(rng):
    x = (np.arange(4 * 6 * 60) + 0j).reshape(4, 6, 60)
    dec = plain_compress(x, method="decimation", deltas=(2, 3, 4)).tensor
    np.testing.assert_array_equal(dec[0], x[::2, ::3, ::4])
    sd = plain_compress(x, method="shifted_decimation", deltas=(2, 1, 3))
    assert sd.tensor.shape == (6, 2, 6, 20) and sd.n_virtual == 6
    for v, o in enumerate(sd.offsets):
        np.testing.assert_array_equal(sd.tensor[v], x[o[0]::2, o[1]::1, o[2]::3])
    capped = plain_compress(x, method="shifted_decimation", deltas=(2, 3, 4), max_virtual_snapshots=5, rng=1)
    again = plain_compress(x, method="shifted_decimation", deltas=(2, 3, 4), max_virtual_snapshots=5, rng=1)
    assert capped.n_virtual == 5 and len({tuple(o) for o in capped.offsets}) == 5
    np.testing.assert_array_equal(capped.offsets, again.offsets)
    assert np.all(capped.offsets < np.array([2, 3, 4]))
    sm = plain_compress(x, method="smoothing", deltas=(1, 2, 2), smoothing_steps=(1, 1, 10))
    # sizes (4, 3, 30); shifts: 1 (space), 0..3 (4, frequency), 0, 10, 20, 30 (4, time)
    assert sm.tensor.shape == (16, 4, 3, 30) and sm.deltas == (1, 1, 1)
    for v, o in enumerate(sm.offsets):
        np.testing.assert_array_equal(sm.tensor[v], x[:, o[1]:o[1] + 3, o[2]:o[2] + 30])
    assert sorted({o[2] for o in sm.offsets}) == [0, 10, 20, 30]


def test_averaging_keeps_the_snapshot_mode():
    x = np.ones((3, 4, 6, 8), complex) * np.arange(1, 4)[:, None, None, None]
    out = plain_compress(x, method="averaging", deltas=(2, 3, 4))
    assert out.tensor.shape == (3, 2, 2, 2)
    np.testing.assert_allclose(out.tensor[:, 0, 0, 0], [1, 2, 3])


# -- stage 2 pieces, hand-computed -----------------------------------------------------------------
def test_normalisation_and_forward_backward_by_hand():
    r = np.array([[2, 1j, 0], [-1j, 4, 1], [0, 1, 1]], complex)
    # max |r| = 4 -> r/4; J conj(r/4) J reverses both axes of the conjugate
    exp = 0.5 * (r / 4 + np.array([[1, 1, 0], [1, 4, 1j], [0, -1j, 2]], complex) / 4)
    np.testing.assert_allclose(normalise_fb(r), exp)


def test_root_music_sign_and_aic_order(rng):
    m = 12
    w = np.array([0.7, -1.9, 2.6])
    a = np.exp(1j * np.outer(np.arange(m), w))
    p = np.diag([3.0, 1.0, 0.5])
    r = normalise_fb(a @ p @ a.conj().T + 1e-3 * np.eye(m))
    om, radii, eig, k, ic = estimate_order_and_roots(r, 50, None)
    assert k == 3 and ic.shape == (m - 1,) and np.argmin(ic) == 2
    np.testing.assert_allclose(np.sort(om), np.sort(w), atol=1e-8)   # e^{+j w n} -> +w
    assert np.all(np.abs(radii - 1.0) < 1e-6)     # exact covariance: signal roots on the circle
    # one harmonic, no noise: the root sits at e^{+j w}
    v = np.exp(1j * 0.4 * np.arange(m))[:, None] / math.sqrt(m)
    om1, _ = _signal_root_music(v, 1)
    np.testing.assert_allclose(om1, [0.4], atol=1e-7)
    # PLAIN's IC(k) from its definition, k = 1
    lam = np.sort(np.linalg.eigvalsh(r))[::-1]
    k1 = 1
    ic1 = 50 * ((m - k1) * np.log(lam[k1:].mean()) - np.log(lam[k1:]).sum()) + 1 + k1 * (2 * m - k1)
    np.testing.assert_allclose(_aic(lam, 50)[0], ic1, rtol=1e-10)


def test_root_selection_equals_the_reference_rule_on_noisy_data(rng):
    m, k = 20, 3
    a = np.exp(1j * np.outer(np.arange(m), [0.4, -1.0, 2.2]))
    y = a @ (rng.standard_normal((k, 60)) + 1j * rng.standard_normal((k, 60)))
    y = y + 0.5 * (rng.standard_normal((m, 60)) + 1j * rng.standard_normal((m, 60)))
    r = normalise_fb(y @ y.conj().T / 60)
    vs = np.linalg.eigh(r)[1][:, ::-1][:, :k]
    got, radii = _signal_root_music(vs, k, "numpy")
    # reference rule (PLAIN's reference code) written out: noise-subspace polynomial, |z| <= 1, sort
    cmat = np.eye(m) - vs @ vs.conj().T
    c = np.array([np.trace(cmat, offset=l) for l in range(-(m - 1), m)])      # c_l, l = -(m-1)..m-1
    roots = np.roots(c[::-1])
    inside = roots[np.abs(roots) <= 1]
    ref = inside[np.argsort(np.abs(1 - np.abs(inside)))[:k]]
    np.testing.assert_allclose(np.sort(got), np.sort(np.angle(ref)), atol=1e-9)
    assert np.all(radii <= 1.0)


def test_delay_wrap_rule_and_mappings():
    om = np.linspace(-np.pi, np.pi, 100)          # (0 excluded: a positive 1e-16 would map to the edge)
    w, d, _ = map_mode(1, om, delta=4, spacing_m=0.0, numerology=SMALL)
    assert np.all(d >= 0) and np.all(d < C / (SMALL.subcarrier_spacing_hz * 4))
    assert np.all((w > -2 * np.pi) & (w <= 0))
    # velocity: omega = 2 pi f_D T_O Delta
    _, v, _ = map_mode(2, np.array([0.3]), delta=2, spacing_m=0.0, numerology=SMALL)
    np.testing.assert_allclose(v, 0.3 / (2 * np.pi * SMALL.symbol_duration_s * 2) * C / 26e9)
    # angle: omega = Delta 2 pi d/lambda sin(az); |sin| > 1 is dropped (possible for d < lambda/2)
    w, az, keep = map_mode(0, np.array([0.5, 3.0]), delta=2, spacing_m=SMALL.wavelength_m / 2, numerology=SMALL)
    np.testing.assert_allclose(az, np.arcsin(np.array([0.5, 3.0]) / (2 * np.pi)))
    w, az, keep = map_mode(0, np.array([0.5, 3.0]), delta=1, spacing_m=SMALL.wavelength_m / 4, numerology=SMALL)
    np.testing.assert_allclose(az, [np.arcsin(1 / np.pi)])
    assert keep.tolist() == [True, False]


# -- noiseless recovery ----------------------------------------------------------------------------
@pytest.mark.parametrize("compression,deltas", [("none", (1, 1, 1)), ("averaging", (1, 2, 2)),
                                                ("averaging", (2, 2, 2)), ("decimation", (1, 2, 2)),
                                                ("shifted_decimation", (1, 2, 4)), ("smoothing", (1, 2, 2))])
@pytest.mark.parametrize("fusion", ["omp", "ls"])
def test_noiseless_recovery_small(compression, deltas, fusion):
    # Delta_1 = 2 halves the unambiguous sin(az) interval to |sin(az)| < 1/2
    p = small_paths() if deltas[0] == 1 else small_paths(az=(-0.4, 0.05, 0.45))
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    res = plain(h, geometry=SMALL_ARRAY, numerology=SMALL, compression=compression, deltas=deltas, fusion=fusion, n_objects=3,
                smoothing_steps=(1, 2, 2))
    assert isinstance(res, PlainResult)
    assert_recovered(res, p)


@pytest.mark.parametrize("compression", ["averaging", "decimation"])
def test_noiseless_recovery_released_settings(compression):
    num, arr, p = released()
    h = cfr_from_paths(p, arr, num)
    res = plain(h, geometry=arr, numerology=num, compression=compression, deltas=(1, 4, 14), n_objects=6)
    assert res.compressed_shape == (1, 16, 45, 40)
    assert res.candidate_counts == (6, 6, 4)                # the three static objects share v = 0
    assert_recovered(res, p, tol=10.0)
    # the residual of Tensor-OMP is zero up to the ~1e-8 accuracy of noise-free (double) roots
    assert np.abs(res.residual).max() < 1e-5 * np.abs(h).max()


def test_centered_numerology_and_snapshot_mode_gains():
    num = Numerology(26e9, 60e3, 24, 28, centered=True)
    p = small_paths()
    h = cfr_from_paths(p, SMALL_ARRAY, num)
    res = plain(np.stack([h, 2 * h]), geometry=SMALL_ARRAY, numerology=num, deltas=(1, 2, 2), n_objects=3)
    assert res.gains.shape == (2, 3)
    (_, _, _, g), (_, _, _, g0) = by_angle(res, p)
    np.testing.assert_allclose(g[0], g0, atol=1e-6)
    np.testing.assert_allclose(g[1], 2 * g0, atol=1e-6)


def test_fast_tensor_omp_equals_its_definition(rng):
    import array_api_compat

    from estimators.tensor._plain_fusion import (
        _tensor_omp_direct,
        dictionary,
        tensor_omp,
    )

    xp = array_api_compat.array_namespace(np.empty(0))
    y = rng.standard_normal((2, 6, 7, 8)) + 1j * rng.standard_normal((2, 6, 7, 8))
    dicts = [dictionary(xp, rng.uniform(-3, 3, k), n, y.dtype) for k, n in ((3, 6), (4, 7), (2, 8))]
    a = tensor_omp(xp, y, dicts, 5)
    b = _tensor_omp_direct(xp, y, dicts, 5)
    np.testing.assert_array_equal(a[0], b[0])
    for u, v in zip(a[1:], b[1:]):
        np.testing.assert_allclose(u, v, atol=1e-10)


def test_root_finders_agree(rng):
    p = small_paths()
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    y = h + complex_noise(h.shape, 0.01, rng=rng)
    a = plain(y, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    b = plain(y, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3, root_finder="numpy")
    for ca, cb in zip(a.candidates, b.candidates):
        np.testing.assert_allclose(np.sort(ca.values), np.sort(cb.values), rtol=1e-9, atol=1e-9)


def test_gains_follow_a_permutation_of_the_paths():
    p = small_paths(gains=[1.0, 0.2j, -0.6])
    perm = [2, 0, 1]
    q = Paths.from_arrays(p.gains[perm], p.delays_s[perm], p.doppler_hz[perm], p.aoa_az_rad[perm])
    r1 = plain(cfr_from_paths(p, SMALL_ARRAY, SMALL), geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    r2 = plain(cfr_from_paths(q, SMALL_ARRAY, SMALL), geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    for r, pp in ((r1, p), (r2, q)):
        for i in range(3):  # each object's gain belongs to its own triple
            j = int(np.argmin(np.abs(r.azimuths_rad[i] - pp.aoa_az_rad)))
            assert abs(r.gains[i] - pp.gains[j]) < 1e-6
            assert abs(r.path_lengths_m[i] - pp.delays_s[j] * C) < 1e-3


@pytest.mark.parametrize("fusion", ["omp", "ls"])
def test_fusion_pairs_objects_that_share_a_value(fusion):
    # objects 0 and 1 share the angle, objects 1 and 2 share the path length, 0 and 2 the velocity
    p = small_paths(az=(-0.3, -0.3, 0.5), dist=(200.0, 900.0, 900.0), vel=(20.0, -30.0, 20.0),
                    gains=[1.0, 0.8j, -0.6])
    res = plain(cfr_from_paths(p, SMALL_ARRAY, SMALL), geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3,
                fusion=fusion)
    assert res.candidate_counts == (2, 2, 2)
    est = {(round(float(a), 4), round(float(d), 1), round(float(v), 2)): g
           for a, d, v, g in zip(res.azimuths_rad, res.path_lengths_m, res.velocities_mps, res.gains)}
    for i in range(3):
        key = (round(float(p.aoa_az_rad[i]), 4), round(float(p.delays_s[i] * C), 1),
               round(float(p.doppler_hz[i] * C / 26e9), 2))
        assert key in est
        assert abs(est[key] - p.gains[i]) < 1e-6


def test_selection_modes():
    p = small_paths(az=(-0.3, -0.3, 0.5), dist=(200.0, 900.0, 900.0), vel=(20.0, -30.0, 20.0))
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    r_aic = plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2))                 # max K_m = 2 objects
    assert r_aic.selection == "aic" and r_aic.n_objects == 2
    r_true = plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), selection="true_count", n_objects=3)
    assert all(c.order == 3 and c.information_criterion is None for c in r_true.candidates)
    r1 = plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    assert r1.selection == "aic_true_count" and r1.n_objects == 3


def test_noisy_released_example_tracks_the_crb(rng):
    num, arr, p = released()
    h = cfr_from_paths(p, arr, num)
    snr_db = 10.0
    sigma2 = float(np.mean(np.abs(h) ** 2)) / 10 ** (snr_db / 10)
    errs = []
    for _ in range(3):
        y = h + complex_noise(h.shape, sigma2, rng=rng)
        res = plain(y, geometry=arr, numerology=num, deltas=(1, 4, 14), n_objects=6)
        (az, d, v, _), (az0, d0, v0, _) = by_angle(res, p)
        errs.append([(az - az0) ** 2, (d - d0) ** 2, (v - v0) ** 2])
    rmse = np.sqrt(np.mean(np.asarray(errs), axis=(0, 2)))
    crb = [float(x) for x in crb_plain_joint(p, geometry=arr, numerology=num, noise_variance=sigma2).rmse()]
    ratio = rmse / crb
    # as in arXiv:2503.21242's figures: roughly parallel to the CRB with a gap of ~1.5-3x (velocity pools the static objects)
    assert np.all(ratio < 4.0) and np.all(ratio > 0.3), ratio


@pytest.mark.parametrize("host_stages", [True, False])
def test_backend_equivalence(xp, host_stages, monkeypatch):
    """Other namespaces: stages 2-3 on the host for a small compressed tensor, or on the device."""
    import estimators.tensor._plain as plain_module

    if not host_stages:
        monkeypatch.setattr(plain_module, "_HOST_STAGES_MAX", 0)
    p = small_paths()
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    ref = plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    res = plain(to_xp(xp, h), geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    for a in (res.azimuths_rad, res.gains, res.core_gains, res.powers, res.residual):
        assert type(a) is type(to_xp(xp, h))
    # noiseless: both residuals are rounding-level (root-MUSIC's near-double roots, ~1e-7 of the data)
    np.testing.assert_allclose(to_numpy(res.residual), ref.residual, atol=1e-6 * float(np.max(np.abs(h))))
    np.testing.assert_allclose(np.sort(to_numpy(res.azimuths_rad)), np.sort(ref.azimuths_rad), atol=1e-9)
    np.testing.assert_allclose(np.sort(np.abs(to_numpy(res.gains))), np.sort(np.abs(ref.gains)), atol=1e-9)


# -- baselines -------------------------------------------------------------------------------------
def test_sequential_noiseless_recovery():
    p = small_paths()
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    res = sequential_estimator(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    assert res.method == "sequential" and res.stage_names[0] == "compression"
    assert_recovered(res, p)
    num, arr, q = released()
    res = sequential_estimator(cfr_from_paths(q, arr, num), geometry=arr, numerology=num, deltas=(1, 4, 14), n_objects=6)
    assert_recovered(res, q, tol=10.0)


def test_joint_esprit_noiseless_recovery():
    p = small_paths()
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    res = joint_esprit_estimator(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)
    assert res.method == "joint_esprit" and dict(res.details)["subarray_shape"] == (5, 7, 8)
    assert_recovered(res, p)
    res = joint_esprit_estimator(np.stack([h, h]), geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3,
                                 subarray_shape=(4, 6, 6))
    assert res.gains.shape == (2, 3)
    assert_recovered(res, p, gains=False)


# -- bounds ----------------------------------------------------------------------------------------
def test_crb_single_path_closed_form_and_both_bounds_agree():
    p = small_paths(az=(0.3,), dist=(400.0,), vel=(12.0,), gains=[0.7])
    sigma2 = 0.01
    a = crb_plain_per_dimension(p, geometry=SMALL_ARRAY, numerology=SMALL, noise_variance=sigma2)
    b = crb_plain_joint(p, geometry=SMALL_ARRAY, numerology=SMALL, noise_variance=sigma2)
    n = (8, 24, 28)
    n_tot = math.prod(n)
    var_w = [6 * sigma2 / (0.49 * n_tot * (nm ** 2 - 1)) for nm in n]
    d_a = SMALL.wavelength_m / 2
    dw = [2 * np.pi * d_a / SMALL.wavelength_m * np.cos(0.3),                  # d omega / d az
          2 * np.pi * SMALL.subcarrier_spacing_hz / C,                         # |d omega / d d|
          2 * np.pi * SMALL.symbol_duration_s * 26e9 / C]                      # d omega / d v
    for bound in (a, b):
        got = [bound.azimuth_rad2[0], bound.distance_m2[0], bound.velocity_m2ps2[0]]
        np.testing.assert_allclose(got, [v / g ** 2 for v, g in zip(var_w, dw)], rtol=1e-9)
    assert "reference code" in a.label and "joint" in b.label


def test_crb_joint_equals_explicit_fisher_information():
    p = small_paths(az=(-0.2, 0.25), dist=(300.0, 420.0), vel=(5.0, -8.0), gains=[1.0, 0.5j])
    arr = ula(4, SMALL.wavelength_m / 2)
    num = Numerology(26e9, 60e3, 6, 5)
    sigma2 = 0.1
    r, k, t = np.arange(4), num.subcarrier_frequencies_hz, num.symbol_times_s
    az, tau, fd, s = p.aoa_az_rad, p.delays_s, p.doppler_hz, p.gains
    mu = 2 * np.pi * 0.5
    a = np.exp(1j * mu * np.outer(r, np.sin(az)))
    d = np.exp(-2j * np.pi * np.outer(k, tau))
    v = np.exp(2j * np.pi * np.outer(t, fd))
    da = 1j * mu * np.outer(r, np.cos(az)) * a
    dd = -2j * np.pi * k[:, None] / C * d
    dv = 2j * np.pi * t[:, None] * 26e9 / C * v

    def kr(x, y, z):  # vec with the antenna index slowest, as x (x) y (x) z per column
        return np.stack([np.kron(np.kron(x[:, i], y[:, i]), z[:, i]) for i in range(x.shape[1])], axis=1)

    g = kr(a, d, v)
    jac = np.concatenate([kr(da, d, v) * s, kr(a, dd, v) * s, kr(a, d, dv) * s], axis=1)
    proj = np.eye(g.shape[0]) - g @ np.linalg.solve(g.conj().T @ g, g.conj().T)
    fim = 2 / sigma2 * np.real(jac.conj().T @ proj @ jac)
    cov = np.linalg.inv(fim)
    b = crb_plain_joint(p, geometry=arr, numerology=num, noise_variance=sigma2)
    np.testing.assert_allclose(b.covariance, cov, rtol=1e-7)
    per = crb_plain_per_dimension(p, geometry=arr, numerology=num, noise_variance=sigma2)
    for x, got in enumerate((per.azimuth_rad2, per.distance_m2, per.velocity_m2ps2)):
        blk = jac[:, 2 * x:2 * x + 2]
        fx = 2 / sigma2 * np.real(np.diag(blk.conj().T @ proj @ blk))
        np.testing.assert_allclose(got, 1 / fx, rtol=1e-7)


def test_crb_released_both_bounds_close():
    num, arr, p = released()
    a = crb_plain_per_dimension(p, geometry=arr, numerology=num, noise_variance=1e-12)
    b = crb_plain_joint(p, geometry=arr, numerology=num, noise_variance=1e-12)
    for x, y in zip(a.rmse(), b.rmse()):
        assert abs(float(x) / float(y) - 1) < 1e-3


# -- bad input -------------------------------------------------------------------------------------
def test_bad_input_messages():
    p = small_paths()
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    with pytest.raises(ValueError, match=r"`deltas\[2\]` must divide n_symbols = 28 \(one of \[1, 2, 4, 7, 14, 28\]\); got 3"):
        plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 3))
    with pytest.raises(ValueError, match="must have 3 dimensions .* or 4"):
        plain(h[0], geometry=SMALL_ARRAY, numerology=SMALL)
    with pytest.raises(ValueError, match="must have 3 dimensions .* or 4"):
        plain(h[None, None], geometry=SMALL_ARRAY, numerology=SMALL)
    with pytest.raises(ValueError, match=r"`n_objects` must be an integer in \[1, 7\].*noise subspace"):
        plain(h, geometry=SMALL_ARRAY, numerology=SMALL, selection="true_count", n_objects=8)
    with pytest.raises(ValueError, match=r"`n_objects` must be an integer in \[1, 1001\]"):
        plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=2000)
    with pytest.raises(ValueError, match=r"sizes \(8, 24, 28\)"):
        plain(h[:, :20], geometry=SMALL_ARRAY, numerology=SMALL)
    with pytest.raises(ValueError, match="uniform linear array"):
        plain(h, geometry=upa(2, 4, 0.005), numerology=SMALL)
    with pytest.raises(ValueError, match="deltas` must be \\(1, 1, 1\\) with compression='none'"):
        plain(h, geometry=SMALL_ARRAY, numerology=SMALL, compression="none", deltas=(1, 2, 2))
    with pytest.raises(ValueError, match="`n_objects` .* is required"):
        plain(h, geometry=SMALL_ARRAY, numerology=SMALL, selection="true_count")
    with pytest.raises(ValueError, match="`compression` must be one of"):
        plain(h, geometry=SMALL_ARRAY, numerology=SMALL, compression="wavelet")
    with pytest.raises(ValueError, match="must be finite"):
        plain(np.full_like(h, np.nan), geometry=SMALL_ARRAY, numerology=SMALL)
    with pytest.raises(ValueError, match="compressed size must be >= 2"):
        plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(8, 1, 1))


@pytest.mark.gpu
def test_plain_on_cupy(cp):
    num, arr, p = released()
    h = cfr_from_paths(p, arr, num)
    res = plain(cp.asarray(h), geometry=arr, numerology=num, deltas=(1, 4, 14), n_objects=6)
    assert isinstance(res.azimuths_rad, cp.ndarray)
    assert_recovered(res.to_numpy(), p, tol=10.0)


def test_path_length_is_named_for_what_it_is():
    """`path_lengths_m` is c*tau (one-way); the old name `distances_m` still reads it, with a warning."""
    p = small_paths()
    h = cfr_from_paths(p, SMALL_ARRAY, SMALL)
    for r in (plain(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3),
              sequential_estimator(h, geometry=SMALL_ARRAY, numerology=SMALL, deltas=(1, 2, 2), n_objects=3)):
        np.testing.assert_allclose(np.sort(r.path_lengths_m), np.sort(p.delays_s) * C, atol=1e-3)
        with pytest.warns(DeprecationWarning, match="path_lengths_m"):
            np.testing.assert_array_equal(r.distances_m, r.path_lengths_m)
    with pytest.raises(TypeError):
        plain(h, SMALL_ARRAY, SMALL)          # the array and the numerology are keyword-only
