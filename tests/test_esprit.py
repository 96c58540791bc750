"""ESPRIT family: sign convention, exactness, efficiency, 2-D/3-D pairing, OFDM tensors, errors."""

import numpy as np
import pytest

from channels import Paths, cfr_from_paths
from estimators import (azimuth_from_frequency, crb_stochastic, delay_from_frequency, doppler_from_frequency,
                        esprit, esprit_nd, sample_covariance, unitary_esprit)
from sensing import Numerology, steering_vector, ula, upa

LAM = 1.0
VARIANTS = [(esprit, "ls"), (esprit, "tls"), (unitary_esprit, "ls"), (unitary_esprit, "tls")]


def cnoise(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def harmonic_tensor(mus, gains, dims):
    t = np.zeros(dims, dtype=complex)
    for b, mu in zip(gains, mus):
        t += b * np.einsum("i,j,k->ijk", *[np.exp(1j * m * np.arange(d)) for m, d in zip(mu, dims)])
    return t


@pytest.mark.parametrize("fn, method", VARIANTS)
def test_sign_convention_and_noiseless_exactness(rng, fn, method):
    mu = np.array([-2.2, 0.35, 1.9])
    x = np.exp(1j * np.outer(np.arange(9), mu)) @ cnoise(rng, (3, 25))
    r = fn(x, n_sources=3, method=method)
    assert r.parameter == "frequency_rad"
    np.testing.assert_allclose(r.estimates, np.sort(mu), atol=1e-10)
    g = ula(9, LAM / 2)
    az = np.arcsin(mu / np.pi)
    ra = fn(x, n_sources=3, method=method, geometry=g, wavelength_m=LAM)
    np.testing.assert_allclose(ra.estimates, np.sort(az), atol=1e-10)


@pytest.mark.parametrize("fn, method", VARIANTS)
def test_rmse_within_1p5_of_stochastic_crb(fn, method):
    rng = np.random.default_rng(77)
    m, n, trials, p = 6, 100, 300, 10.0
    g = ula(m, LAM / 2)
    az = np.deg2rad(np.array([-15.0, 20.0]))
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (trials, 2, n), np.sqrt(p)) + cnoise(rng, (trials, m, n))
    r = fn(x, n_sources=2, geometry=g, wavelength_m=LAM, method=method)
    rmse = np.sqrt(np.mean((r.estimates - az) ** 2))
    crb = crb_stochastic(g, az, wavelength_m=LAM, source_covariance=np.array([p, p]), noise_variance=1.0, n_snapshots=n)
    ratio = rmse / np.sqrt(np.mean(crb.std ** 2))
    assert 0.85 < ratio < 1.5, ratio


@pytest.mark.parametrize("fn", [esprit, unitary_esprit])
def test_batched_equals_loop_and_covariance_input(rng, fn):
    g = ula(8, LAM / 2)
    az = np.deg2rad(np.array([-25.0, 5.0]))
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (2, 3, 2, 60)) + cnoise(rng, (2, 3, 8, 60), 0.3)
    rb = fn(x, n_sources=2, geometry=g, wavelength_m=LAM)
    assert rb.estimates.shape == (2, 3, 2)
    for i in range(2):
        for j in range(3):
            r1 = fn(x[i, j], n_sources=2, geometry=g, wavelength_m=LAM)
            np.testing.assert_allclose(rb.estimates[i, j], r1.estimates, atol=1e-12)
    rc = fn(sample_covariance(x[0, 0]), n_sources=2, geometry=g, wavelength_m=LAM, covariance=True)
    np.testing.assert_allclose(rc.estimates, rb.estimates[0, 0], atol=1e-9)


def test_unitary_equals_standard_with_forward_backward_in_the_limit(rng):
    """Both are consistent; on the same data they agree closely at high SNR."""
    mu = np.array([-0.9, 0.6])
    x = np.exp(1j * np.outer(np.arange(10), mu)) @ cnoise(rng, (2, 200)) + cnoise(rng, (10, 200), 0.01)
    a = esprit(x, n_sources=2, forward_backward=True)
    b = unitary_esprit(x, n_sources=2)
    np.testing.assert_allclose(a.estimates, b.estimates, atol=1e-4)


def test_smoothing_resolves_coherent_single_snapshot(rng):
    mu = np.array([-1.0, 0.2, 0.9])
    x = np.exp(1j * np.outer(np.arange(16), mu)) @ np.array([[1.0], [0.5j], [-0.8]])
    for fn in (esprit, unitary_esprit):
        r = fn(x, n_sources=3, smoothing=8)
        np.testing.assert_allclose(r.estimates, mu, atol=1e-9)


def test_2d_unitary_esprit_on_a_upa_pairs_azimuth_and_elevation(rng):
    nr, nc = 5, 6
    g = upa(nr, nc, LAM / 2)
    az, el = np.array([-0.5, 0.1, 0.45]), np.array([0.3, -0.25, 0.05])
    x = steering_vector(g, az, el, wavelength_m=LAM) @ cnoise(rng, (3, 200)) + cnoise(rng, (nr * nc, 200), 0.05)
    for unitary in (True, False):
        r = esprit_nd(x.reshape(nr, nc, 200), n_sources=3, snapshots=True, unitary=unitary)
        mu_row, mu_col = r.estimates[:, 0], r.estimates[:, 1]       # dimension 0: rows (z), 1: columns (y)
        el_hat = np.arcsin(mu_row / np.pi)
        az_hat = np.arcsin(mu_col / (np.pi * np.cos(el_hat)))
        order = np.argsort(az_hat)
        np.testing.assert_allclose(az_hat[order], az, atol=np.deg2rad(0.3))
        np.testing.assert_allclose(el_hat[order], el[np.argsort(az)], atol=np.deg2rad(0.3))


@pytest.mark.parametrize("unitary", [True, False])
def test_3d_pairing_noiseless_exact_and_noisy_close(rng, unitary):
    mus = np.array([[0.3, -1.0, 0.5], [-0.7, 0.8, -2.0], [1.5, 0.1, 0.2], [-2.0, -2.5, 1.0]])
    dims = (6, 9, 7)
    t = harmonic_tensor(mus, [1.0, 0.8j, -0.6, 0.5 + 0.5j], dims)
    r = esprit_nd(t, n_sources=4, subarray_shape=(4, 5, 4), unitary=unitary)
    truth = mus[np.argsort(mus[:, 0])]
    np.testing.assert_allclose(r.estimates, truth, atol=1e-9)
    tn = t + cnoise(rng, dims, 0.05)
    rn = esprit_nd(tn, n_sources=4, subarray_shape=(4, 5, 4), unitary=unitary, method="tls")
    np.testing.assert_allclose(rn.estimates, truth, atol=0.02)


def test_ofdm_channel_tensor_angle_delay_doppler():
    """A CFR from channels.cfr_from_paths: 3-D Unitary ESPRIT recovers azimuth, delay, Doppler."""
    num = Numerology(28e9, 120e3, 32, 14)
    g = ula(8, num.wavelength_m / 2)
    az = np.array([-0.4, 0.25])
    tau = np.array([150e-9, 420e-9])
    fd = np.array([3000.0, -7000.0])
    paths = Paths.from_arrays(np.array([1.0, 0.7j]), tau, fd, az)
    h = cfr_from_paths(paths, g, num)                                        # (8, 32, 14)
    assert h.shape == (8, 32, 14)
    r = esprit_nd(h, n_sources=2, subarray_shape=(5, 17, 8))
    est = r.estimates
    az_hat = azimuth_from_frequency(est[:, 0], spacing_m=g.spacing_m[0], wavelength_m=num.wavelength_m)
    tau_hat = delay_from_frequency(est[:, 1], subcarrier_spacing_hz=num.subcarrier_spacing_hz)
    fd_hat = doppler_from_frequency(est[:, 2], symbol_duration_s=num.symbol_duration_s)
    order = np.argsort(az_hat)
    np.testing.assert_allclose(az_hat[order], np.sort(az), atol=1e-8)
    np.testing.assert_allclose(tau_hat[order], tau[np.argsort(az)], atol=1e-15)
    np.testing.assert_allclose(fd_hat[order], fd[np.argsort(az)], atol=1e-6)


def test_esprit_nd_batched_equals_loop(rng):
    mus = np.array([[0.3, -1.0, 0.5], [-0.7, 0.8, -2.0]])
    dims = (5, 6, 5)
    t = np.stack([harmonic_tensor(mus, [1.0, 0.5], dims) + cnoise(rng, dims, 0.05) for _ in range(3)])
    rb = esprit_nd(t, n_sources=2, n_dims=3, subarray_shape=(3, 4, 3))
    for i in range(3):
        np.testing.assert_allclose(rb.estimates[i], esprit_nd(t[i], n_sources=2, subarray_shape=(3, 4, 3)).estimates,
                                   atol=1e-12)


def test_bad_input_and_namespaces():
    import array_api_strict as xps

    x = np.ones((6, 10), dtype=complex)
    with pytest.raises(ValueError, match="n_sources"):
        esprit(x, n_sources=6)
    with pytest.raises(ValueError, match="method"):
        esprit(x, n_sources=1, method="svd")
    with pytest.raises(ValueError, match="at least 2 samples"):
        esprit_nd(np.ones((4, 1, 5), dtype=complex), n_sources=1)
    with pytest.raises(ValueError, match="uniform linear array"):
        unitary_esprit(x, n_sources=1, geometry=upa(2, 3, 0.5), wavelength_m=1.0)
    # the array API has no general eigensolver: the K x K step runs on the host, the result
    # comes back in the input's namespace
    mus = np.array([-0.9, 0.4])
    xr = np.exp(1j * np.outer(np.arange(6), mus)) @ np.array([[1.0, 0.3j] * 5, [0.5, -1.0] * 5]).reshape(2, 10)
    got = esprit(xps.asarray(xr), n_sources=2)
    assert isinstance(got.estimates, type(xps.asarray(1.0)))
    np.testing.assert_allclose(np.asarray(got.estimates), esprit(xr, n_sources=2).estimates, atol=1e-12)
    np.testing.assert_allclose(np.asarray(got.estimates), mus, atol=1e-9)
    bad = x.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        unitary_esprit(bad, n_sources=1)


def test_all_zero_problem_is_rejected_clearly():
    import numpy as np
    import pytest

    from estimators import esprit, music, root_music
    from sensing import ula

    x = np.zeros((2, 8, 20), complex)
    x[0] = 1.0
    for fn in (esprit, root_music):
        with pytest.raises(ValueError, match="identically zero: 1 of 2"):
            fn(x, n_sources=1)
    with pytest.raises(ValueError, match="identically zero"):
        music(x, n_sources=1, geometry=ula(8, 0.5), wavelength_m=1.0)


def test_wavelength_without_geometry_is_rejected():
    import numpy as np
    import pytest

    from estimators import beamscan, capon, esprit, music, omp, root_music, unitary_esprit

    x = np.random.default_rng(0).standard_normal((6, 30)) + 0j
    for fn in (esprit, unitary_esprit, root_music, music, capon, beamscan, omp):
        with pytest.raises(ValueError, match="wavelength_m.*only with `geometry`"):
            fn(x, n_sources=1, wavelength_m=0.01)


def test_mdl_order_above_the_limit_says_so():
    import numpy as np
    import pytest

    from estimators import esprit_nd

    rng = np.random.default_rng(3)
    a = rng.standard_normal((9, 8)) + 1j * rng.standard_normal((9, 8))       # 8 strong sources on a 3x3 array
    s = rng.standard_normal((8, 400)) + 1j * rng.standard_normal((8, 400))
    y = (a @ s + 1e-3 * (rng.standard_normal((9, 400)) + 1j * rng.standard_normal((9, 400)))).reshape(3, 3, 400)
    with pytest.raises(ValueError, match="MDL .*estimated K = 8"):
        esprit_nd(y, n_sources=None, snapshots=True)
