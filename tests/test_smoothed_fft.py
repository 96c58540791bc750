"""Matrix-free smoothed subspace (FFT correlations + Lanczos) against the explicit smoothed matrix."""

import array_api_compat as aac
import numpy as np
import pytest

from estimators import esprit_nd
from estimators.subspace._covariance import smoothed_matrix
from estimators.subspace._smoothed_fft import fft_path_pays, smoothed_subspace_fft

XP = aac.array_namespace(np.empty(0))


@pytest.mark.parametrize("fb", [False, True])
def test_eigenpairs_match_explicit_covariance(rng, fb):
    dims, sub = (5, 9, 7), (3, 4, 5)
    x = rng.standard_normal((2,) + dims) + 1j * rng.standard_normal((2,) + dims)
    xs = smoothed_matrix(x, dims, sub, XP, snapshots=False)
    r = xs @ np.conj(np.swapaxes(xs, -1, -2)) / xs.shape[-1]
    j = np.eye(r.shape[-1])[::-1]
    vecs, vals, noise = smoothed_subspace_fft(x, sub, 3, forward_backward=fb)
    for i in range(2):
        ri = 0.5 * (r[i] + j @ np.conj(r[i]) @ j) if fb else r[i]
        w, v = np.linalg.eigh(ri)
        w, v = w[::-1], v[:, ::-1]
        np.testing.assert_allclose(vals[i], w[:3], rtol=1e-9)
        np.testing.assert_allclose(noise[i], w[3:].mean(), rtol=1e-9)
        np.testing.assert_allclose(np.abs(np.conj(v[:, :3]).T @ vecs[i]), np.eye(3), atol=1e-7)


@pytest.mark.parametrize("unitary", [True, False])
def test_esprit_nd_fft_path_equals_explicit(rng, unitary):
    dims = (6, 12, 10)
    mu = np.array([[0.4, -1.1, 0.3], [-0.9, 0.5, -0.2], [1.7, 2.2, 0.9]])
    grids = np.meshgrid(*[np.arange(d) for d in dims], indexing="ij")
    x = sum(np.exp(1j * (m[0] * grids[0] + m[1] * grids[1] + m[2] * grids[2])) for m in mu)
    x = x + 0.05 * (rng.standard_normal(dims) + 1j * rng.standard_normal(dims))
    kw = dict(n_sources=3, subarray_shape=(4, 7, 6), unitary=unitary, forward_backward=not unitary)
    a = esprit_nd(x, subspace_method="fft", **kw)
    b = esprit_nd(x, subspace_method="eigh", **kw)
    np.testing.assert_allclose(a.estimates, b.estimates, atol=1e-8)
    np.testing.assert_allclose(np.sort(a.estimates[:, 0]), np.sort(mu[:, 0]), atol=0.02)


def test_auto_takes_fft_for_large_smoothing(rng):
    assert fft_path_pays((16, 64, 64), (9, 16, 16)) and not fft_path_pays((6, 12, 10), (4, 7, 6))
    dims = (8, 40, 40)
    grids = np.meshgrid(*[np.arange(d) for d in dims], indexing="ij")
    x = np.exp(1j * (0.3 * grids[0] - 0.8 * grids[1] + 0.2 * grids[2])) + np.exp(
        1j * (-0.6 * grids[0] + 0.4 * grids[1] - 0.5 * grids[2]))
    r = esprit_nd(x, n_sources=2, subarray_shape=(5, 21, 21))   # 2205 x 6400 smoothed matrix
    np.testing.assert_allclose(np.sort(r.estimates[:, 1]), [-0.8, 0.4], atol=1e-8)


def test_bad_input():
    x = np.ones((4, 6, 6), complex)
    with pytest.raises(ValueError, match="subspace_method"):
        esprit_nd(x, n_sources=1, subarray_shape=(3, 3, 3), subspace_method="lanczos")
    with pytest.raises(ValueError, match="fft"):
        esprit_nd(x, n_sources=None, subarray_shape=(3, 3, 3), subspace_method="fft")
