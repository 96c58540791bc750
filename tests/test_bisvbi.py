"""BiSVBI and EM-Turbo-BiSVBI on small uplink scenes."""

from __future__ import annotations

import numpy as np
import pytest

import channels
import sensing
from conftest import to_xp
from estimators import SparsePrior, bisvbi, em_turbo_bisvbi, sc_vbi

FC = 28e9
LAM = sensing.SPEED_OF_LIGHT / FC
REGION = ((20.0, -20.0, -8.0), (60.0, 20.0, 2.0))


def _frame(rng, geo, num, snr_db, n_pilot_symbols=1, order=16):
    h = channels.uplink_channel(geo, num)                                   # (K, M, N)
    k, m, n = h.shape
    t = num.n_symbols
    pm = np.zeros((n, t), bool)
    pm[:, :n_pilot_symbols] = True
    pts = sensing.constellation("qam", order)
    lab = rng.integers(0, order, (k, n, t))
    x = pts[lab]
    x[:, pm] = sensing.constellation("psk", 4)[rng.integers(0, 4, (k, int(pm.sum())))]
    sig = np.einsum("kmn,knt->mnt", h, x)
    s2 = np.mean(np.abs(sig) ** 2) / 10 ** (snr_db / 10)
    y = sig + np.sqrt(s2 / 2) * (rng.standard_normal(sig.shape) + 1j * rng.standard_normal(sig.shape))
    return h, x, lab, pm, pts, y


@pytest.fixture
def scene(rng):
    arr = sensing.upa(4, 4, LAM / 2)
    geo = channels.draw_uplink_geometry(bs_array=arr, n_users=2, n_scatterers=3, rng=rng, scatterer_region_m=REGION,
                                        max_time_offset_s=0.0, position_error_std_m=0.0)
    num = sensing.Numerology(FC, 1.92e6, 32, 6)
    return geo, num


def _extra_points(rng, geo, n):
    """Random grid points away from the BS-user segments (those mimic a direct path exactly)."""
    pts = np.array(REGION[0]) + (np.array(REGION[1]) - np.array(REGION[0])) * rng.random((4 * n, 3))
    u = geo.user_positions_m
    excess = (np.linalg.norm(pts[None] - u[:, None], axis=-1) + np.linalg.norm(pts, axis=-1)[None]
              - np.linalg.norm(u, axis=-1)[:, None])
    return pts[excess.min(axis=0) > 3.0][:n]


def _dictionary(geo, num, grid):
    return channels.location_dictionary(grid, user_positions_m=geo.user_positions_m,
                                        time_offsets_s=geo.time_offsets_s, bs_array=geo.bs_array,
                                        wavelength_m=LAM, frequencies_hz=num.subcarrier_frequencies_hz)


def _nmse_db(est, h):
    return 10 * np.log10(np.sum(np.abs(np.asarray(est) - h) ** 2) / np.sum(np.abs(h) ** 2))


def test_on_grid_recovery_with_data(scene, rng):
    geo, num = scene
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 20.0)
    extra = _extra_points(rng, geo, 60)
    d = _dictionary(geo, num, np.vstack([geo.scatterer_positions_m, extra]))
    kw = dict(steering=d.steering, delay=d.delay, pilots=x, pilot_mask=pm, constellation=pts, allowed=d.allowed,
              n_grid=d.n_grid)
    pil = bisvbi(y, use_data=False, **kw)
    r = bisvbi(y, **kw)
    assert r.data_start < r.n_iter
    assert _nmse_db(r.channels, h) < -30.0
    assert _nmse_db(r.channels, h) < _nmse_db(pil.channels, h) - 2.0          # the data help
    truth = lab[:, r.data_index[0], r.data_index[1]]
    assert np.mean(r.symbol_labels != truth) < 1e-3
    for k in range(2):                                                      # every true path found
        want = np.flatnonzero(geo.visibility[k]).tolist() + [d.n_grid + k]
        assert set(want) <= set(np.flatnonzero(r.support[k]))
    assert np.all(pil.symbol_labels == -1)


def test_single_user_pilots_equal_linear_sc_vbi(scene, rng):
    """K = 1, pilots only: the bilinear engine reduces to SC-VBI on the dense dictionary."""
    geo, num = scene
    num1 = sensing.Numerology(FC, 1.92e6, 16, 2)
    h = channels.uplink_channel(geo, num1)[:1]
    pil = sensing.constellation("psk", 4)[rng.integers(0, 4, (1, 16, 2))]
    sig = np.einsum("kmn,knt->mnt", h, pil)
    y = sig + 0.05 * np.abs(sig).mean() * (rng.standard_normal(sig.shape) + 1j * rng.standard_normal(sig.shape))
    grid = np.vstack([geo.scatterer_positions_m, geo.scatterer_positions_m + 3.0])
    d = channels.location_dictionary(grid, user_positions_m=geo.user_positions_m[:1], time_offsets_s=np.zeros(1),
                                     bs_array=geo.bs_array, wavelength_m=LAM,
                                     frequencies_hz=num1.subcarrier_frequencies_hz)
    r = bisvbi(y, steering=d.steering, delay=d.delay, pilots=pil, pilot_mask=np.ones((16, 2), bool),
               constellation=sensing.constellation("qam", 4), support_prior="iid", common_probability=0.05,
               los_probability=0.05, max_iter=40, tol=0.0)
    phi = d.dense(0)[:, :, None, :] * pil[0][None, :, :, None]              # (M, N, T, J)
    lin = sc_vbi(y.reshape(-1), phi.reshape(-1, d.n_columns), support_probability=0.05, max_iter=40, tol=0.0)
    np.testing.assert_allclose(r.coefficients[0], lin.coefficients, rtol=1e-7, atol=1e-12)
    n = min(r.elbo.size, lin.elbo.size)                 # either may stop at an exact fixed point
    assert n >= 10
    np.testing.assert_allclose(r.elbo[:n], lin.elbo[:n], rtol=1e-8)


def test_full_support_equals_full_inverse(scene, rng):
    geo, num = scene
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 15.0)
    d = _dictionary(geo, num, np.vstack([geo.scatterer_positions_m, geo.scatterer_positions_m - 2.5]))
    kw = dict(steering=d.steering, delay=d.delay, pilots=x, pilot_mask=pm, constellation=pts, allowed=d.allowed,
              n_grid=d.n_grid, max_iter=12, n_pilot_iter=5, tol=0.0)
    full = bisvbi(y, subspace=False, **kw)
    sc = bisvbi(y, support=d.allowed, adapt_support=False, **kw)
    np.testing.assert_allclose(sc.channels, full.channels, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(sc.elbo, full.elbo, rtol=1e-9)


def test_elbo_monotone_with_fixed_support(scene, rng):
    geo, num = scene
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 5.0, order=4)
    d = _dictionary(geo, num, geo.scatterer_positions_m + 0.5)
    r = bisvbi(y, steering=d.steering, delay=d.delay, pilots=x, pilot_mask=pm, constellation=pts,
               allowed=d.allowed, n_grid=d.n_grid, support=d.allowed, adapt_support=False, support_prior="iid",
               prior=SparsePrior(active_rate=0.5, inactive_rate=0.005), max_iter=25, n_pilot_iter=6, tol=0.0)
    assert r.data_start == 6
    for seg in (r.elbo[: r.data_start], r.elbo[r.data_start:]):
        assert np.diff(seg).min() > -1e-8 * np.abs(seg).max()


def test_callback_backend_and_determinism(scene, rng, xp):
    if xp.__name__ == "array_api_strict":
        pytest.skip("the estimators use NumPy/CuPy integer-array assignment (NumPy and CuPy only)")
    geo, num = scene
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 15.0, order=4)
    d = _dictionary(geo, num, geo.scatterer_positions_m)
    kw = dict(pilot_mask=pm, constellation=pts, allowed=d.allowed, n_grid=d.n_grid, max_iter=15)
    ref = bisvbi(y, steering=d.steering, delay=d.delay, pilots=x, **kw)
    seen = []
    r = bisvbi(to_xp(xp, y), steering=to_xp(xp, d.steering), delay=to_xp(xp, d.delay), pilots=to_xp(xp, x),
               callback=lambda info: seen.append(info.estimate.shape) or False, **kw)
    assert sensing.get_xp(r.channels) is sensing.get_xp(to_xp(xp, y))
    np.testing.assert_allclose(sensing.to_numpy(r.channels), ref.channels, rtol=1e-6, atol=1e-12)
    assert seen and seen[0] == (2, 16, 32) and len(seen) == r.n_iter


def test_bad_input(scene, rng):
    geo, num = scene
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 15.0, order=4)
    d = _dictionary(geo, num, geo.scatterer_positions_m)
    kw = dict(steering=d.steering, delay=d.delay, pilots=x, constellation=pts)
    with pytest.raises(ValueError, match="no pilots"):
        bisvbi(y, pilot_mask=np.zeros_like(pm), **kw)
    with pytest.raises(ValueError, match="more users than antennas"):
        many = np.repeat(x, 9, axis=0)
        bisvbi(y, pilot_mask=pm, **dict(kw, pilots=many, delay=np.repeat(d.delay, 9, axis=0)))
    bad = y.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="`received` must be finite"):
        bisvbi(bad, pilot_mask=pm, **kw)
    with pytest.raises(ValueError, match="empty dictionary"):
        bisvbi(y, pilot_mask=pm, **dict(kw, steering=d.steering[:, :0], delay=d.delay[:, :, :0]))
    silent = x.copy()
    silent[1][pm] = 0
    with pytest.raises(ValueError, match=r"users \[1\] send no non-zero pilot"):
        bisvbi(y, pilot_mask=pm, **dict(kw, pilots=silent))
    with pytest.raises(ValueError, match="pilot_mask"):
        bisvbi(y, pilot_mask=pm[:, :2], **kw)
    with pytest.raises(ValueError, match="empty"):
        em_turbo_bisvbi(y, pilots=x, pilot_mask=pm, constellation=pts, geometry=geo.bs_array, wavelength_m=LAM,
                        frequencies_hz=num.subcarrier_frequencies_hz,
                        nominal_user_positions_m=geo.nominal_user_positions_m, init="grid",
                        grid_m=geo.nominal_user_positions_m, region_m=REGION)


def test_m_step_gradient_and_ascent(rng):
    """Analytic M-step gradients vs central differences; every Armijo step raises the objective."""
    from estimators.bayes._bilinear_engine import BilinearEngine as _Engine
    from estimators.bayes._bilinear_engine import check_frame as _frame_iv, run_estep as _run_estep
    from estimators.bayes._m_step import MStep as _MStep, armijo_ascent as _armijo

    arr = sensing.upa(4, 4, LAM / 2)
    geo = channels.draw_uplink_geometry(bs_array=arr, n_users=2, n_scatterers=2, rng=rng, scatterer_region_m=REGION)
    num = sensing.Numerology(FC, 1.92e6, 16, 3)
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 20.0, order=4)
    grid = geo.scatterer_positions_m + 0.4
    f = num.subcarrier_frequencies_hz
    d = channels.location_dictionary(grid, user_positions_m=geo.nominal_user_positions_m, time_offsets_s=np.zeros(2),
                                     bs_array=arr, wavelength_m=LAM, frequencies_hz=f)
    yy, pil, pmm, pp = _frame_iv(y, x, pm, pts, np)
    eng = _Engine(np, yy, pil, pmm, pp, d.steering, d.delay, d.allowed, n_grid=2, use_data=True, subspace=True,
                  prior=SparsePrior(), support_prior="common", lam_c=0.1, lam_g=np.full(2, 0.8), lam_los=0.5,
                  max_admit=1, false_alarm=0.1, prune_threshold=0.5, ban_iterations=3, max_support=None)
    _run_estep(eng, max_iter=12, tol=1e-6, n_pilot_iter=4, callback=None, t0=0.0, history={"elbo": [], "time": []})
    static = dict(bs_array=arr, wavelength_m=LAM, frequencies_hz=f, bs_position_m=np.zeros(3), los=True,
                  dummy_point=np.array([40.0, 0.0, 0.0]))
    ms = _MStep(eng, static)
    assert ms.act.size >= 1
    xi = {"grid": grid.copy(), "user_position": geo.nominal_user_positions_m.copy(), "time_offset": np.zeros(2)}
    cur = [xi["grid"][ms.act], xi["user_position"], xi["time_offset"]]
    u0, g = ms.evaluate(*cur, True)
    eps = 1e-5
    for b, name in enumerate(("grid", "user_position", "time_offset")):
        v = cur[b]
        fd = np.zeros(v.shape)
        for idx in np.ndindex(v.shape):
            plus = [c.copy() for c in cur]
            minus = [c.copy() for c in cur]
            plus[b][idx] += eps
            minus[b][idx] -= eps
            fd[idx] = (ms.evaluate(*plus, False)[0] - ms.evaluate(*minus, False)[0]) / (2 * eps)
        np.testing.assert_allclose(g[name], fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())
    _, trace = _armijo(ms, xi, ("grid", "time_offset", "user_position"), rounds=2, max_step_m=0.5)
    assert len(trace) >= 2 and np.all(np.diff(trace) > 0)


def test_em_turbo_learns_offsets_and_positions(rng):
    arr = sensing.upa(8, 8, LAM / 2)
    geo = channels.draw_uplink_geometry(bs_array=arr, n_users=2, n_scatterers=3, rng=rng, scatterer_region_m=REGION,
                                        min_shared=2, max_time_offset_s=6e-9, position_error_std_m=0.5)
    num = sensing.Numerology(FC, 1.92e6, 32, 4)
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 15.0, order=4)
    kw = dict(pilots=x, pilot_mask=pm, constellation=pts, geometry=arr, wavelength_m=LAM,
              frequencies_hz=num.subcarrier_frequencies_hz, nominal_user_positions_m=geo.nominal_user_positions_m,
              region_m=REGION, max_outer=8)
    r = em_turbo_bisvbi(y, **kw)
    fixed = em_turbo_bisvbi(y, learn=(), **kw)
    assert _nmse_db(r.channels, h) < -20.0
    assert _nmse_db(r.channels, h) < _nmse_db(fixed.channels, h) - 5.0        # the M-step matters
    # the direct-path range c*delta_k + |p_k - p_B| is what the data pin down well (the split between
    # the clock offset and the radial user-position error is only weakly identifiable)
    c = sensing.SPEED_OF_LIGHT
    los_range = c * r.time_offsets_s + np.linalg.norm(r.user_positions_m, axis=1)
    true_range = c * geo.time_offsets_s + np.linalg.norm(geo.user_positions_m, axis=1)
    assert np.max(np.abs(los_range - true_range)) < 0.5
    assert np.all(fixed.time_offsets_s == 0)
    np.testing.assert_array_equal(fixed.user_positions_m, geo.nominal_user_positions_m)
    assert r.objective.size == r.n_iter and r.elapsed_s.size == r.n_iter
    truth = lab[:, r.data_index[0], r.data_index[1]]
    assert np.mean(r.symbol_labels != truth) < 0.01
    d = np.linalg.norm(r.scatterer_positions_m[:, None] - geo.scatterer_positions_m[None], axis=-1)
    assert r.scatterer_positions_m.shape[0] >= 2 and np.sort(d.min(axis=0))[1] < 2.0   # two of three within 2 m


def test_location_omp_on_grid(scene, rng):
    from estimators import location_omp

    geo, num = scene
    h, x, lab, pm, pts, y = _frame(rng, geo, num, 20.0)
    extra = _extra_points(rng, geo, 40)
    d = _dictionary(geo, num, np.vstack([geo.scatterer_positions_m, extra]))
    seen = []
    r = location_omp(y, steering=d.steering, delay=d.delay, pilots=x, pilot_mask=pm, allowed=d.allowed,
                     callback=lambda info: seen.append(info.objective) or False)
    assert r.converged and _nmse_db(r.channels, h) < -30.0
    assert np.all(np.diff(r.residual) <= 0) and len(seen) == r.n_iter
    for k in range(2):
        want = np.flatnonzero(geo.visibility[k]).tolist() + [d.n_grid + k]
        assert set(want) <= set(np.flatnonzero(r.support[k]))
    capped = location_omp(y, steering=d.steering, delay=d.delay, pilots=x, pilot_mask=pm, max_paths=2)
    assert capped.n_iter == 2 and not capped.converged
    with pytest.raises(ValueError, match="no pilots"):
        location_omp(y, steering=d.steering, delay=d.delay, pilots=x, pilot_mask=np.zeros_like(pm))
