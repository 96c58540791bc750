"""root-MUSIC: sign convention, exactness, efficiency vs the CRB, batching, the Aberth root finder."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from conftest import to_xp
from estimators import SubspaceWarning, crb_stochastic, delay_from_frequency, frequency_from_delay, root_music, sample_covariance
from estimators.subspace._rootmusic import polynomial_roots
from estimators.subspace._kernels import aberth_kernel
from estimators.subspace._reference import roots_reference
from sensing import Numerology, steering_vector, to_numpy, ula, upa

LAM = 1.0


def cnoise(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def test_positive_frequency_root_convention(rng):
    """Steering [e^{j mu i}] puts the root at e^{+j mu}: the estimate is +mu."""
    mu = np.array([-1.1, 0.4])
    x = np.exp(1j * np.outer(np.arange(8), mu)) @ cnoise(rng, (2, 40)) + cnoise(rng, (8, 40), 1e-3)
    r = root_music(x, n_sources=2)
    assert r.parameter == "frequency_rad"
    np.testing.assert_allclose(r.estimates, np.sort(mu), atol=1e-3)
    np.testing.assert_allclose(r.frequencies, r.estimates)


def test_noiseless_exact_and_azimuth_mapping(rng):
    g = ula(10, LAM / 2)
    az = np.deg2rad(np.array([-33.3, 2.2, 41.7]))
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (3, 30))
    r = root_music(x, n_sources=3, geometry=g, wavelength_m=LAM)
    assert r.parameter == "azimuth_rad"
    # on-circle double roots limit the root accuracy to ~sqrt(eps)
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=1e-6)
    np.testing.assert_allclose(r.frequencies, np.pi * np.sin(r.estimates), atol=1e-12)


def test_ofdm_subcarrier_dimension_gives_minus_two_pi_df_tau(rng):
    """Subcarrier factor e^{-j 2 pi k df tau}: mu = -2 pi df tau, mapped back to the delay."""
    num = Numerology(3.5e9, 30e3, 48, 14)
    taus = np.array([0.8e-6, 2.1e-6])
    k = np.arange(num.n_subcarriers)
    cfr = np.exp(-2j * np.pi * np.outer(k * num.subcarrier_spacing_hz, taus)) @ cnoise(rng, (2, 14))
    r = root_music(cfr, n_sources=2)
    np.testing.assert_allclose(np.sort(r.estimates),
                               np.sort(frequency_from_delay(taus, subcarrier_spacing_hz=30e3)), atol=1e-8)
    est_tau = np.sort(delay_from_frequency(r.estimates, subcarrier_spacing_hz=30e3))
    np.testing.assert_allclose(est_tau, taus, atol=1e-12)


@pytest.mark.parametrize("snr_db", [10.0, 20.0])
def test_rmse_within_1p5_of_stochastic_crb(snr_db):
    rng = np.random.default_rng(1234 + int(snr_db))
    m, n, trials = 8, 100, 300
    g = ula(m, LAM / 2)
    az = np.deg2rad(np.array([-15.0, 20.0]))
    p = 10 ** (snr_db / 10)
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (trials, 2, n), np.sqrt(p)) + cnoise(rng, (trials, m, n))
    r = root_music(x, n_sources=2, geometry=g, wavelength_m=LAM)
    rmse = np.sqrt(np.mean((r.estimates - az) ** 2))
    crb = crb_stochastic(g, az, wavelength_m=LAM, source_covariance=np.array([p, p]), noise_variance=1.0, n_snapshots=n)
    ratio = rmse / np.sqrt(np.mean(crb.std ** 2))
    assert 0.85 < ratio < 1.5, ratio


def test_batched_equals_loop_and_covariance_input(rng):
    g = ula(9, LAM / 2)
    az = np.deg2rad(np.array([-20.0, 25.0]))
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (3, 2, 50)) + cnoise(rng, (3, 9, 50), 0.3)
    rb = root_music(x, n_sources=2, geometry=g, wavelength_m=LAM)
    for i in range(3):
        r1 = root_music(x[i], n_sources=2, geometry=g, wavelength_m=LAM)
        np.testing.assert_allclose(rb.estimates[i], r1.estimates, atol=1e-12)
        rc = root_music(sample_covariance(x[i]), n_sources=2, geometry=g, wavelength_m=LAM, covariance=True)
        np.testing.assert_allclose(rc.estimates, r1.estimates, atol=1e-9)


def test_aberth_and_numpy_root_finders_agree(rng):
    x = cnoise(rng, (4, 24, 60))                       # noise only: hard, clustered roots
    with pytest.warns(SubspaceWarning):
        a = root_music(x, n_sources=3, root_finder="aberth")
    with pytest.warns(SubspaceWarning):
        b = root_music(x, n_sources=3, root_finder="numpy")
    np.testing.assert_allclose(a.estimates, b.estimates, atol=1e-8)


def test_coherent_single_snapshot_with_smoothing(rng):
    g = ula(16, LAM / 2)
    az = np.deg2rad(np.array([-10.0, 12.0, 30.0]))
    x = steering_vector(g, az, wavelength_m=LAM) @ np.array([[1.0], [-0.7j], [0.5]])
    with pytest.raises(ValueError, match="rank of the data"):
        root_music(x, n_sources=3, geometry=g, wavelength_m=LAM)
    r = root_music(x, n_sources=3, geometry=g, wavelength_m=LAM, smoothing=9, forward_backward=True)
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=1e-6)


def test_backends_agree(xp, rng):
    x = cnoise(rng, (2, 12, 40)) + np.exp(1j * np.outer(np.arange(12), [0.3, -1.2])) @ cnoise(rng, (2, 2, 40), 3)
    ref = root_music(x, n_sources=2)
    r = root_music(to_xp(xp, x), n_sources=2)
    assert type(r.estimates) is type(to_xp(xp, np.zeros(1)))
    np.testing.assert_allclose(to_numpy(r.estimates), ref.estimates, atol=1e-8)


def test_bad_input():
    x = np.ones((6, 10), dtype=complex)
    with pytest.raises(ValueError, match=r"n_sources.*\[1, 5\]"):
        root_music(x, n_sources=6)
    with pytest.raises(ValueError, match="uniform linear array"):
        root_music(x, n_sources=1, geometry=upa(2, 3, 0.5), wavelength_m=1.0)
    with pytest.raises(ValueError, match="root_finder"):
        root_music(x, n_sources=1, root_finder="eig")
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        root_music(bad, n_sources=1)
    import array_api_strict as xps

    with pytest.raises(TypeError, match="NumPy arrays only"):
        root_music(xps.asarray(x), n_sources=1, root_finder="numpy")


def _match(a, b):
    """Distance between two root sets (greedy nearest matching)."""
    b = list(b)
    worst = 0.0
    for z in a:
        j = int(np.argmin(np.abs(np.asarray(b) - z)))
        worst = max(worst, abs(b.pop(j) - z) / max(1.0, abs(z)))
    return worst


@given(st.integers(1, 3), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_aberth_kernel_matches_numpy_roots(n_b, degree, seed):
    r = np.random.default_rng(seed)
    coefs = r.standard_normal((n_b, degree + 1)) + 1j * r.standard_normal((n_b, degree + 1))
    roots = np.empty((n_b, degree), dtype=np.complex128)
    conv = np.zeros(n_b, dtype=np.bool_)
    aberth_kernel(coefs, roots, conv, 500, 1e-14)
    ref = roots_reference(coefs)
    for b in range(n_b):
        if conv[b]:
            assert _match(roots[b], ref[b]) < 1e-7
    # the public wrapper falls back to numpy.roots where the kernel did not converge
    np.testing.assert_array_less(
        [_match(z, w) for z, w in zip(polynomial_roots(coefs), ref)], 1e-7)


def test_vectorised_aberth_matches_kernel(rng):
    import array_api_strict as xps

    from estimators.subspace._rootmusic import _aberth_xp
    from sensing import get_xp

    coefs = rng.standard_normal((3, 21)) + 1j * rng.standard_normal((3, 21))
    ref = roots_reference(coefs)
    xc = xps.asarray(coefs)
    got = to_numpy(_aberth_xp(xc, get_xp(xc), 200))                 # the device path of large batches
    for z, w in zip(got, ref):
        assert _match(z, w) < 1e-8
    small = polynomial_roots(xc)                                     # small batches: rooted on the host
    assert isinstance(small, type(xc))
    for z, w in zip(to_numpy(small), ref):
        assert _match(z, w) < 1e-8
