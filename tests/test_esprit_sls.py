"""Structured least squares ESPRIT (Haardt, IEEE Trans. SP 45(3), 1997).

``method="sls"``: one Gauss-Newton step of the structured LS problem from the LS solution.
Tests: exact on noiseless data, batch == single calls, and Monte Carlo RMSE between the CRB and
LS ESPRIT's (same trials) on a ULA at moderate SNR, for standard and Unitary ESPRIT.
"""

import numpy as np
import pytest

from estimators import crb_stochastic, esprit, unitary_esprit
from sensing import steering_vector, ula


def _noise(rng, shape, sigma):
    return sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


@pytest.mark.parametrize("fn", [esprit, unitary_esprit])
@pytest.mark.parametrize("m, k", [(4, 1), (6, 3), (10, 4), (12, 2)])
def test_sls_noiseless_exact(fn, m, k):
    rng = np.random.default_rng(m * 10 + k)
    mu = np.linspace(-2.5, 2.5, k) + 0.1 if k > 1 else np.array([0.7])
    x = np.exp(1j * np.outer(np.arange(m), mu)) @ _noise(rng, (k, 3 * m), 1.0)
    np.testing.assert_allclose(fn(x, n_sources=k, method="sls").estimates, np.sort(mu), atol=1e-8)


@pytest.mark.parametrize("fn", [esprit, unitary_esprit])
def test_sls_batch_equals_single_calls_and_covariance_input(fn):
    rng = np.random.default_rng(3)
    g = ula(8, 0.5)
    az = np.array([-0.4, 0.3])
    x = np.stack([steering_vector(g, az, wavelength_m=1.0) @ _noise(rng, (2, 40), 1.0) + _noise(rng, (8, 40), 0.3)
                  for _ in range(3)])
    b = fn(x, n_sources=2, geometry=g, wavelength_m=1.0, method="sls").estimates
    for i in range(3):
        np.testing.assert_allclose(b[i], fn(x[i], n_sources=2, geometry=g, wavelength_m=1.0,
                                            method="sls").estimates, atol=1e-12)
    r = x[0] @ x[0].conj().T / 40
    np.testing.assert_allclose(fn(r, n_sources=2, covariance=True, method="sls").estimates,
                               fn(x[0], n_sources=2, method="sls").estimates, atol=1e-9)


@pytest.mark.parametrize("fn", [esprit, unitary_esprit])
def test_sls_monte_carlo_between_crb_and_ls(fn):
    """M = 10, two sources 0.25 beamwidth apart, N = 50, 5 dB: SLS RMSE <= LS RMSE (same trials), >= CRB."""
    m, n, t, sigma2 = 10, 50, 400, 10 ** -0.5
    rng = np.random.default_rng(12)
    g = ula(m, 0.5)
    az = np.array([0.10, 0.25])
    a = steering_vector(g, az, wavelength_m=1.0)
    x = a @ _noise(rng, (t, 2, n), 1.0) + _noise(rng, (t, m, n), np.sqrt(sigma2))
    crb = crb_stochastic(g, az, wavelength_m=1.0, n_snapshots=n, noise_variance=sigma2,
                         source_covariance=np.eye(2)).std

    def rmse(method):
        e = fn(x, n_sources=2, geometry=g, wavelength_m=1.0, method=method).estimates
        return np.sqrt(np.mean((e - az) ** 2, axis=0))

    ls, sls = rmse("ls"), rmse("sls")
    assert np.all(sls >= crb), (sls, crb)
    assert np.all(sls <= ls), (sls, ls)
