"""Sample covariance, forward-backward averaging, 1-D and multidimensional smoothing."""

import numpy as np
import pytest

from conftest import to_xp
from estimators import forward_backward, multidimensional_smoothing, sample_covariance, spatial_smoothing
from sensing import to_numpy


def cnoise(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def test_sample_covariance_textbook_and_batched(xp, rng):
    x = cnoise(rng, (3, 5, 40))
    r = sample_covariance(to_xp(xp, x))
    assert type(r) is type(to_xp(xp, np.zeros(1)))
    ref = np.stack([xi @ xi.conj().T / 40 for xi in x])
    np.testing.assert_allclose(to_numpy(r), ref, atol=1e-14)
    np.testing.assert_allclose(to_numpy(r), np.conj(np.swapaxes(to_numpy(r), -1, -2)), atol=1e-15)


def test_single_precision_kept(rng):
    x = cnoise(rng, (4, 10)).astype(np.complex64)
    assert sample_covariance(x).dtype == np.complex64
    assert spatial_smoothing(x, subarray_size=3).dtype == np.complex64
    assert forward_backward(sample_covariance(x)).dtype == np.complex64


def test_forward_backward_is_persymmetric_and_matches_formula(xp, rng):
    r = sample_covariance(cnoise(rng, (6, 30)))
    fb = to_numpy(forward_backward(to_xp(xp, r)))
    pi = np.eye(6)[::-1]
    np.testing.assert_allclose(fb, 0.5 * (r + pi @ r.conj() @ pi), atol=1e-15)
    np.testing.assert_allclose(pi @ fb.conj() @ pi, fb, atol=1e-15)


def test_spatial_smoothing_snapshots_equal_covariance_route(xp, rng):
    x = cnoise(rng, (2, 9, 20))
    for fb in (False, True):
        a = to_numpy(spatial_smoothing(to_xp(xp, x), subarray_size=5, forward_backward=fb))
        b = to_numpy(spatial_smoothing(to_xp(xp, sample_covariance(x)), subarray_size=5, covariance=True,
                                       forward_backward=fb))
        np.testing.assert_allclose(a, b, atol=1e-14)
        # definition: average of the L = 5 diagonal blocks of R
        r = sample_covariance(x)
        ref = sum(r[:, l:l + 5, l:l + 5] for l in range(5)) / 5
        if fb:
            ref = 0.5 * (ref + np.flip(ref.conj(), axis=(-2, -1)))
        np.testing.assert_allclose(a, ref, atol=1e-14)


def test_smoothing_restores_rank_of_coherent_sources(rng):
    mu = np.array([-0.8, 0.1, 1.2])
    x = np.exp(1j * np.outer(np.arange(12), mu)) @ np.array([[1.0], [0.6], [-0.4j]])   # one snapshot
    assert np.linalg.matrix_rank(sample_covariance(x), tol=1e-9) == 1
    rs = spatial_smoothing(x, subarray_size=7)
    assert np.linalg.matrix_rank(rs, tol=1e-9) == 3


def test_multidimensional_smoothing_columns(xp, rng):
    t = cnoise(rng, (4, 5, 3))
    xs = to_numpy(multidimensional_smoothing(to_xp(xp, t), subarray_shape=(2, 3, 2)))
    assert xs.shape == (2 * 3 * 2, 3 * 3 * 2)
    cols = [t[a:a + 2, b:b + 3, c:c + 2].reshape(-1) for a in range(3) for b in range(3) for c in range(2)]
    np.testing.assert_allclose(xs, np.stack(cols, axis=1), atol=0)
    fb = to_numpy(multidimensional_smoothing(to_xp(xp, t), subarray_shape=(2, 3, 2), forward_backward=True))
    np.testing.assert_allclose(fb[:, :18], xs)
    np.testing.assert_allclose(fb[:, 18:], np.flip(xs.conj(), axis=0))


def test_multidimensional_smoothing_with_snapshots_and_batch(rng):
    t = cnoise(rng, (2, 4, 5, 6))                     # batch 2, dims (4, 5), 6 snapshots
    xs = multidimensional_smoothing(t, subarray_shape=(3, 3), snapshots=True)
    assert xs.shape == (2, 9, 2 * 3 * 6)
    np.testing.assert_allclose(xs[1, :, :6], t[1, 0:3, 0:3, :].reshape(9, 6))


def test_bad_input(rng):
    x = cnoise(rng, (6, 10))
    with pytest.raises(ValueError, match=r"subarray_size.*\[1, 6\]"):
        spatial_smoothing(x, subarray_size=7)
    with pytest.raises(ValueError, match="square"):
        spatial_smoothing(x, subarray_size=3, covariance=True)
    with pytest.raises(ValueError, match="square"):
        forward_backward(x)
    with pytest.raises(ValueError, match=r"subarray_shape\[1\]"):
        multidimensional_smoothing(cnoise(rng, (4, 5)), subarray_shape=(2, 6))
    with pytest.raises(TypeError, match="subarray_shape"):
        multidimensional_smoothing(cnoise(rng, (4, 5)), subarray_shape=3)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sample_covariance(x)
    with pytest.raises(TypeError, match="dtype"):
        sample_covariance(np.ones((3, 4), dtype=np.int64))
