"""TLS ESPRIT over the whole valid (M, K) range, 1 <= K <= M - 1.

The shift equations have M - 1 rows and 2K columns; with 2K > M - 1 the economy SVD has fewer than
2K right singular vectors and TLS failed with ``LinAlgError`` (e.g. M = 6, K = 3).
"""

import numpy as np
import pytest

from estimators import esprit, esprit_nd, unitary_esprit

CASES = [(m, k) for m in range(2, 11) for k in range(1, m)]


def _mus(k):
    return np.linspace(-2.6, 2.6, k) + 0.05 if k > 1 else np.array([0.7])


def _data(m, k, n, rng, noise=0.0):
    a = np.exp(1j * np.outer(np.arange(m), _mus(k)))
    s = rng.standard_normal((k, n)) + 1j * rng.standard_normal((k, n))
    x = a @ s
    if noise:
        x = x + noise * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)) / np.sqrt(2)
    return x


@pytest.mark.parametrize("m, k", CASES)
@pytest.mark.parametrize("fn", [esprit, unitary_esprit])
def test_tls_noiseless_exact_whole_range(m, k, fn):
    rng = np.random.default_rng(1000 * m + k)
    x = _data(m, k, 3 * m, rng)
    r = fn(x, n_sources=k, method="tls")
    np.testing.assert_allclose(r.estimates, np.sort(_mus(k)), atol=1e-8)


@pytest.mark.parametrize("m, k", CASES)
def test_tls_nd_noiseless_exact_whole_range(m, k):
    rng = np.random.default_rng(7 * m + k)
    x = _data(m, k, 3 * m, rng)
    for unitary in (True, False):
        r = esprit_nd(x, n_sources=k, snapshots=True, method="tls", unitary=unitary)
        np.testing.assert_allclose(r.estimates[:, 0], np.sort(_mus(k)), atol=1e-8)


@pytest.mark.parametrize("m, k", [(m, k) for m, k in CASES if 2 * k > m - 1])
@pytest.mark.parametrize("fn", [esprit, unitary_esprit])
def test_tls_noisy_agrees_with_ls(m, k, fn):
    """High SNR: TLS and LS differ by far less than their error (both are first-order equivalent)."""
    rng = np.random.default_rng(50 * m + k)
    x = _data(m, k, 400, rng, noise=1e-3)
    ls = fn(x, n_sources=k, method="ls").estimates
    tls = fn(x, n_sources=k, method="tls").estimates
    err = np.max(np.abs(ls - np.sort(_mus(k))))
    assert err < 1e-2
    assert np.max(np.abs(tls - ls)) < max(0.5 * err, 1e-6), (ls, tls)
