"""Cramér-Rao bounds: closed forms, cross-checks, Monte Carlo of an efficient estimator, units."""

import numpy as np
import pytest

from conftest import to_xp
from estimators import (crb_deterministic, crb_harmonic, crb_stochastic, music_nd, ofdm_harmonic_map)
from sensing import Numerology, custom_array, steering_vector, to_numpy, ula, upa

LAM = 1.0


@pytest.mark.parametrize("az", [0.0, 0.4, -1.0])
def test_single_source_ula_closed_forms(az):
    m, n, snr = 10, 50, 4.0
    g = ula(m, LAM / 2)
    det = crb_deterministic(g, np.array([az]), wavelength_m=LAM, source_covariance=np.array([snr]),
                            noise_variance=1.0, n_snapshots=n)
    closed = 6.0 / (n * snr * m * (m ** 2 - 1) * (np.pi * np.cos(az)) ** 2)      # var(mu) / (dmu/daz)^2
    assert det.std[0] ** 2 == pytest.approx(closed, rel=1e-10)
    sto = crb_stochastic(g, np.array([az]), wavelength_m=LAM, source_covariance=np.array([snr]),
                         noise_variance=1.0, n_snapshots=n)
    assert sto.std[0] ** 2 / det.std[0] ** 2 == pytest.approx(1.0 + 1.0 / (m * snr), rel=1e-10)
    assert det.parameters == ("azimuth_rad",) and det.units == ("rad",)


def test_harmonic_closed_forms_1d_and_3d():
    snr = 3.0
    h1 = crb_harmonic(np.array([[0.7]]), np.array([np.sqrt(snr)]), shape=(12,), noise_variance=1.0)
    assert h1.std.shape == (1, 1)
    assert h1.std[0, 0] ** 2 == pytest.approx(6.0 / (snr * 12 * (12 ** 2 - 1)), rel=1e-10)
    dims = (4, 7, 5)
    h3 = crb_harmonic(np.array([[0.2, -1.0, 2.5]]), np.array([np.sqrt(snr) * 1j]), shape=dims, noise_variance=1.0)
    m_tot = np.prod(dims)
    np.testing.assert_allclose(h3.std[0] ** 2, [6.0 / (snr * m_tot * (m ** 2 - 1)) for m in dims], rtol=1e-10)
    off = h3.covariance - np.diag(np.diag(h3.covariance))
    assert np.max(np.abs(off)) < 1e-12 * np.max(h3.covariance)                   # one component: decoupled


def test_harmonic_equals_deterministic_for_one_snapshot_two_sources():
    g = ula(9, LAM / 2)
    az = np.array([0.1, 0.35])
    b = np.array([1.0 + 0.5j, -0.7])
    det = crb_deterministic(g, az, wavelength_m=LAM, source_covariance=np.outer(b, b.conj()),
                            noise_variance=0.2, n_snapshots=1)
    har = crb_harmonic((np.pi * np.sin(az))[:, None], b, shape=(9,), noise_variance=0.2,
                       scale=(np.pi * np.cos(az))[:, None])                     # Jacobian to azimuth
    np.testing.assert_allclose(har.std[:, 0], det.std, rtol=1e-9)
    np.testing.assert_allclose(har.covariance, det.covariance, rtol=1e-8, atol=1e-16)


def test_deterministic_2d_matches_finite_difference_fisher(rng):
    pos = np.c_[np.zeros(7), rng.uniform(0, 2, 7), rng.uniform(0, 2, 7)]
    g = custom_array(pos)
    az, el = np.array([0.2, -0.5]), np.array([0.1, 0.4])
    p = np.array([[2.0, 0.3], [0.3, 1.0]])
    n, s2 = 40, 0.5
    res = crb_deterministic(g, az, el, wavelength_m=LAM, source_covariance=p, noise_variance=s2,
                            n_snapshots=n, estimate_elevation=True)
    h = 1e-6
    a = steering_vector(g, az, el, wavelength_m=LAM)
    d_az = (steering_vector(g, az + h, el, wavelength_m=LAM) - steering_vector(g, az - h, el, wavelength_m=LAM)) / (2 * h)
    d_el = (steering_vector(g, az, el + h, wavelength_m=LAM) - steering_vector(g, az, el - h, wavelength_m=LAM)) / (2 * h)
    d = np.concatenate([d_az, d_el], axis=1)
    proj = np.eye(7) - a @ np.linalg.solve(a.conj().T @ a, a.conj().T)
    f = 2 * n / s2 * np.real((d.conj().T @ proj @ d) * np.kron(np.ones((2, 2)), p).T)
    np.testing.assert_allclose(res.covariance, np.linalg.inv(f), rtol=1e-6)
    assert res.std.shape == (2, 2)
    np.testing.assert_allclose(res.std[:, 1], np.sqrt(np.diag(np.linalg.inv(f)))[2:], rtol=1e-6)


def test_stochastic_exceeds_deterministic_and_is_batched():
    g = upa(3, 3, LAM / 2)
    az = np.array([[0.1, 0.6], [-0.3, 0.2]])
    p = np.array([1.0, 0.5])
    det = crb_deterministic(g, az, 0.1, wavelength_m=LAM, source_covariance=np.broadcast_to(p, (2, 2)),
                            noise_variance=1.0, n_snapshots=30)
    sto = crb_stochastic(g, az, 0.1, wavelength_m=LAM, source_covariance=np.broadcast_to(p, (2, 2)),
                         noise_variance=1.0, n_snapshots=30)
    assert det.std.shape == (2, 2)
    assert np.all(sto.std >= det.std)
    for i in range(2):
        one = crb_stochastic(g, az[i], 0.1, wavelength_m=LAM, source_covariance=p, noise_variance=1.0, n_snapshots=30)
        np.testing.assert_allclose(sto.std[i], one.std, rtol=1e-12)


def test_monte_carlo_of_ml_attains_the_harmonic_bound():
    """One component, one snapshot: MUSIC without smoothing is the periodogram maximiser (ML)."""
    rng = np.random.default_rng(5)
    dims, trials, sigma = (8, 6, 5), 300, 1.0
    mu = np.array([0.4, -1.1, 0.9])
    b = 1.0 * np.exp(0.3j)
    clean = b * np.einsum("i,j,k->ijk", *[np.exp(1j * m * np.arange(d)) for m, d in zip(mu, dims)])
    noise = sigma * (rng.standard_normal((trials,) + dims) + 1j * rng.standard_normal((trials,) + dims)) / np.sqrt(2)
    grids = [np.linspace(-np.pi, np.pi, 24, endpoint=False)] * 3
    r = music_nd(clean + noise, n_sources=1, grids=grids, return_spectrum=False)
    rmse = np.sqrt(np.mean((r.estimates[:, 0, :] - mu) ** 2, axis=0))
    bound = crb_harmonic(mu[None, :], np.array([b]), shape=dims, noise_variance=sigma ** 2).std[0]
    ratio = rmse / bound
    assert np.all(ratio > 0.85) and np.all(ratio < 1.25), ratio


def test_ofdm_map_gives_the_range_doppler_closed_forms():
    num = Numerology(28e9, 120e3, 64, 14)
    g = ula(4, num.wavelength_m / 2)
    hm = ofdm_harmonic_map(g, num, azimuth_rad=np.array([0.3]), delays_s=np.array([200e-9]),
                           doppler_hz=np.array([2500.0]))
    assert hm.parameters == ("azimuth_rad", "delay_s", "doppler_hz") and hm.units == ("rad", "s", "Hz")
    np.testing.assert_allclose(hm.frequencies[0], [np.pi * np.sin(0.3), -2 * np.pi * 120e3 * 200e-9,
                                                   2 * np.pi * num.symbol_duration_s * 2500.0])
    snr = 2.0
    r = crb_harmonic(hm.frequencies, np.array([np.sqrt(snr)]), shape=(4, 64, 14), noise_variance=1.0,
                     scale=hm.scale, parameters=hm.parameters, units=hm.units)
    m_tot = 4 * 64 * 14
    var_tau = 6.0 / ((2 * np.pi * 120e3) ** 2 * snr * m_tot * (64 ** 2 - 1))         # Rife & Boorstyn 1974, single tone
    var_fd = 6.0 / ((2 * np.pi * num.symbol_duration_s) ** 2 * snr * m_tot * (14 ** 2 - 1))
    assert r.std[0, 1] ** 2 == pytest.approx(var_tau, rel=1e-9)
    assert r.std[0, 2] ** 2 == pytest.approx(var_fd, rel=1e-9)
    rm = ofdm_harmonic_map(g, num, azimuth_rad=np.array([0.3]), delays_s=np.array([200e-9]),
                           doppler_hz=np.array([2500.0]), delay_as="range_m", doppler_as="radial_velocity_mps")
    r2 = crb_harmonic(rm.frequencies, np.array([np.sqrt(snr)]), shape=(4, 64, 14), noise_variance=1.0, scale=rm.scale)
    c = 299_792_458.0
    assert r2.std[0, 1] == pytest.approx(r.std[0, 1] * c / 2, rel=1e-9)
    assert r2.std[0, 2] == pytest.approx(r.std[0, 2] * c / (2 * 28e9), rel=1e-9)


def test_backends_agree(xp):
    g = ula(8, LAM / 2)
    az = np.array([-0.2, 0.5])
    ref = crb_stochastic(g, az, wavelength_m=LAM, source_covariance=np.array([1.0, 2.0]), noise_variance=0.5, n_snapshots=20)
    r = crb_stochastic(g, to_xp(xp, az), wavelength_m=LAM, source_covariance=to_xp(xp, np.array([1.0, 2.0])),
                       noise_variance=0.5, n_snapshots=20)
    assert type(r.std) is type(to_xp(xp, np.zeros(1)))
    np.testing.assert_allclose(to_numpy(r.std), ref.std, rtol=1e-10)
    h_ref = crb_harmonic(np.array([[0.1, 0.2], [1.0, -1.0]]), np.array([1.0, 0.5j]), shape=(5, 6), noise_variance=0.1)
    h = crb_harmonic(to_xp(xp, np.array([[0.1, 0.2], [1.0, -1.0]])), to_xp(xp, np.array([1.0, 0.5j])),
                     shape=(5, 6), noise_variance=0.1)
    np.testing.assert_allclose(to_numpy(h.std), h_ref.std, rtol=1e-10)


def test_bad_input():
    g = ula(6, LAM / 2)
    kw = dict(wavelength_m=LAM, source_covariance=np.array([1.0, 1.0]), noise_variance=1.0, n_snapshots=10)
    with pytest.raises(ValueError, match="linearly dependent"):
        crb_deterministic(g, np.array([0.3, 0.3]), **kw)
    with pytest.raises(ValueError, match="noise_variance"):
        crb_stochastic(g, np.array([0.1, 0.3]), **{**kw, "noise_variance": 0.0})
    with pytest.raises(ValueError, match="K < M"):
        crb_deterministic(ula(2, 0.5), np.array([0.1, 0.3]), **kw)
    with pytest.raises(ValueError, match="source_covariance"):
        crb_deterministic(g, np.array([0.1, 0.3]), **{**kw, "source_covariance": np.ones(3)})
    with pytest.raises(ValueError, match="non-zero"):
        crb_harmonic(np.array([[0.1], [1.0]]), np.array([1.0, 0.0]), shape=(8,), noise_variance=1.0)
    with pytest.raises(ValueError, match="linearly dependent"):
        crb_harmonic(np.array([[0.1], [0.1]]), np.array([1.0, 1.0]), shape=(8,), noise_variance=1.0)
    with pytest.raises(ValueError, match="shape"):
        crb_harmonic(np.array([[0.1, 0.2]]), np.array([1.0]), shape=(8,), noise_variance=1.0)
    with pytest.raises(ValueError, match="ULA"):
        ofdm_harmonic_map(upa(2, 2, 0.5), Numerology(3e9, 30e3, 12, 2), azimuth_rad=np.zeros(1),
                          delays_s=np.zeros(1), doppler_hz=np.zeros(1))
    with pytest.raises(ValueError, match="NaN"):
        crb_deterministic(g, np.array([0.1, np.nan]), **kw)


@pytest.mark.parametrize("fn", [crb_deterministic, crb_stochastic])
def test_rejects_negative_or_non_hermitian_source_covariance(fn):
    # review: negative powers used to give a negative "covariance" and std 0 without any error
    g = ula(8, LAM / 2)
    kw = dict(wavelength_m=LAM, noise_variance=1.0, n_snapshots=20)
    with pytest.raises(ValueError, match="source_covariance.*non-negative"):
        fn(g, np.array([0.1, 0.5]), source_covariance=np.array([-1.0, 1.0]), **kw)
    with pytest.raises(ValueError, match="source_covariance.*Hermitian"):
        fn(g, np.array([0.1, 0.5]), source_covariance=np.array([[1.0, 0.5], [0.0, 1.0]]), **kw)
    ok = fn(g, np.array([0.1, 0.5]), source_covariance=np.array([[1.0, 0.5j], [-0.5j, 1.0]]), **kw)
    assert np.all(ok.std > 0)


def test_ofdm_map_rejects_nan_elevation_array():
    # review: a NaN elevation array used to pass silently and give NaN frequencies and scales
    num = Numerology(carrier_hz=28e9, subcarrier_spacing_hz=120e3, n_subcarriers=64, n_symbols=14)
    kw = dict(azimuth_rad=np.array([0.1]), delays_s=np.array([1e-7]), doppler_hz=np.array([100.0]))
    with pytest.raises(ValueError, match="elevation_rad"):
        ofdm_harmonic_map(ula(8, 0.5 * num.wavelength_m), num, elevation_rad=np.array([np.nan]), **kw)
    ok = ofdm_harmonic_map(ula(8, 0.5 * num.wavelength_m), num, elevation_rad=np.array([0.2]), **kw)
    assert np.all(np.isfinite(ok.frequencies)) and np.all(np.isfinite(ok.scale))


def test_harmonic_shape_must_be_a_sequence():
    # review: shape=4 used to fail with "'int' object is not iterable" from inside the function
    with pytest.raises(TypeError, match="`shape`"):
        crb_harmonic(np.array([[0.2, 0.1]]), np.array([1.0]), shape=4, noise_variance=1.0)
