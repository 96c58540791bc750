"""crb_stochastic(uncorrelated=True): the stochastic CRB with a known-diagonal source covariance."""

import numpy as np
import pytest

from estimators import crb_stochastic
from sensing import steering_vector, ula

KW = dict(wavelength_m=1.0, noise_variance=0.1, n_snapshots=100)


def _slepian_bangs(g, az, p, sigma2, n, full_p):
    """Textbook Gaussian FIM with numerical (central-difference) derivatives of R: angles, then the
    real parameters of P (diagonal powers, or all of a Hermitian P), then sigma^2."""
    k, m = az.size, g.n_elements

    def cov(theta, pm, s2):
        a = steering_vector(g, theta, wavelength_m=1.0)
        return a @ pm @ a.conj().T + s2 * np.eye(m)

    r = cov(az, p, sigma2)
    ders, h = [], 1e-6
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        ders.append((cov(az + e, p, sigma2) - cov(az - e, p, sigma2)) / (2 * h))
    for i in range(k):
        for j in range(k):
            if i == j:
                e = np.zeros((k, k), complex)
                e[i, i] = 1
                ders.append(cov(az, e, 0.0))
            elif full_p and i < j:
                for unit in (1.0, 1j):
                    e = np.zeros((k, k), complex)
                    e[i, j], e[j, i] = unit, np.conj(unit)
                    ders.append(cov(az, e, 0.0))
    ders.append(np.eye(m))
    ri = np.linalg.inv(r)
    f = np.array([[n * np.trace(ri @ di @ ri @ dj).real for dj in ders] for di in ders])
    return np.sqrt(np.diag(np.linalg.inv(f))[:k])


@pytest.mark.parametrize("az, p", [(np.array([0.3]), np.array([1.0])),
                                   (np.array([-0.4, 0.3]), np.array([1.0, 1.0])),
                                   (np.array([0.1, 0.2]), np.array([1.0, 0.3])),
                                   (np.array([-0.2, 0.05, 0.15]), np.array([2.0, 1.0, 0.5]))])
def test_uncorrelated_crb_equals_textbook_fim_and_is_below_stochastic(az, p):
    g = ula(8, 0.5)
    unc = crb_stochastic(g, az, source_covariance=p, uncorrelated=True, **KW).std
    sto = crb_stochastic(g, az, source_covariance=p, **KW).std
    np.testing.assert_allclose(unc, _slepian_bangs(g, az, np.diag(p).astype(complex), 0.1, 100, False), rtol=1e-5)
    # the same textbook FIM with every entry of a Hermitian P unknown is the classical stochastic CRB
    np.testing.assert_allclose(sto, _slepian_bangs(g, az, np.diag(p).astype(complex), 0.1, 100, True), rtol=1e-5)
    assert np.all(unc <= sto * (1 + 1e-9))
    if az.size == 1:
        np.testing.assert_allclose(unc, sto, rtol=1e-9)


def test_uncorrelated_needs_diagonal_p():
    with pytest.raises(ValueError, match="diagonal"):
        crb_stochastic(ula(6, 0.5), np.array([0.1, 0.5]), source_covariance=np.array([[1.0, 0.5], [0.5, 1.0]]),
                       uncorrelated=True, **KW)
