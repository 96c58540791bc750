"""Tensor tools (estimators.tensor._tensor_algebra, _decompositions): complex unfolding/products, HOSVD, HOOI, CP-ALS."""

from __future__ import annotations

import numpy as np
import pytest
import tensorly as tl
from conftest import to_xp
from tensorly.cp_tensor import CPTensor

from estimators import CPResult, TuckerResult, cp_als, fold, hosvd, mode_dot, multi_mode_dot, tucker, unfold
from sensing import to_numpy


def crandn(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def harmonic_cp(rng, dims, rank, noise=0.0):
    """Sum of `rank` 3-D complex harmonics (Vandermonde factors) plus white noise."""
    facs = [np.exp(1j * np.outer(np.arange(d), rng.uniform(-np.pi, np.pi, rank))) for d in dims]
    g = crandn(rng, rank)
    x = np.einsum("r,ir,jr,kr->ijk", g, *facs)
    return x + noise * crandn(rng, *dims), facs, g


def projector(u):
    return u @ np.linalg.pinv(u)


# -- unfolding, folding, mode products -----------------------------------------------------------
def test_unfold_fold_mode_dot_match_tensorly_complex(rng):
    x = crandn(rng, 3, 4, 5, 6)
    for m in range(4):
        np.testing.assert_array_equal(unfold(x, m), tl.unfold(x, m))
        np.testing.assert_array_equal(fold(unfold(x, m), m, x.shape), x)
        u = crandn(rng, 2, x.shape[m])
        np.testing.assert_allclose(mode_dot(x, u, m), tl.tenalg.mode_dot(x, u, m), atol=1e-12)
        # reference definition: (X x_n U)[.., j, ..] = sum_i U[j, i] X[.., i, ..]
        ref = np.moveaxis(np.tensordot(u, x, axes=([1], [m])), 0, m)
        np.testing.assert_allclose(mode_dot(x, u, m), ref, atol=1e-12)
        # transpose=True applies the conjugate transpose
        np.testing.assert_allclose(mode_dot(x, u.conj().T, m, transpose=True), ref, atol=1e-12)


def test_multi_mode_dot_conjugate_transpose_and_skip(rng):
    x = crandn(rng, 4, 5, 6)
    us = [crandn(rng, d, 2) for d in x.shape]
    got = multi_mode_dot(x, us, transpose=True)
    ref = np.einsum("ijk,ia,jb,kc->abc", x, *[u.conj() for u in us])
    np.testing.assert_allclose(got, ref, atol=1e-11)
    np.testing.assert_allclose(got, tl.tenalg.multi_mode_dot(x, us, transpose=True), atol=1e-11)
    got = multi_mode_dot(x, us, transpose=True, skip=1)
    np.testing.assert_allclose(got, np.einsum("ijk,ia,kc->ajc", x, us[0].conj(), us[2].conj()), atol=1e-11)


def test_batched_unfold_and_mode_dot(rng):
    x = crandn(rng, 3, 4, 5, 6)
    u = crandn(rng, 2, 5)
    ub = crandn(rng, 3, 2, 5)
    for i in range(3):
        np.testing.assert_array_equal(unfold(x, 2, batch_ndim=1)[i], tl.unfold(x[i], 2))
        np.testing.assert_allclose(mode_dot(x, u, 1, batch_ndim=1)[i], mode_dot(x[i], u, 1), atol=1e-12)
        np.testing.assert_allclose(mode_dot(x, ub, 1, batch_ndim=1)[i], mode_dot(x[i], ub[i], 1), atol=1e-12)
    np.testing.assert_array_equal(fold(unfold(x, 1, batch_ndim=1), 1, (4, 5, 6), batch_ndim=1), x)


def test_tensor_tools_backend_equivalence(xp, rng):
    x = crandn(rng, 4, 5, 6)
    u = crandn(rng, 3, 5)
    xx, uu = to_xp(xp, x), to_xp(xp, u)
    out = mode_dot(xx, uu, 1)
    assert type(out) is type(xx)
    np.testing.assert_allclose(to_numpy(out), mode_dot(x, u, 1), atol=1e-12)
    np.testing.assert_allclose(to_numpy(unfold(xx, 2)), unfold(x, 2))
    h = hosvd(xx, (2, 3, 3))
    assert type(h.core) is type(xx)
    np.testing.assert_allclose(h.errors, hosvd(x, (2, 3, 3)).errors, rtol=1e-9)
    y, _, _ = harmonic_cp(rng, (6, 7, 8), 2)
    c = cp_als(to_xp(xp, y), 2)
    assert type(c.weights) is type(xx)
    assert c.errors[-1] < 1e-6          # the error formula's floor is ~sqrt(eps)


# -- HOSVD -----------------------------------------------------------------------------------------
def test_hosvd_full_rank_is_exact_and_orthonormal(rng):
    x = crandn(rng, 4, 5, 6)
    h = hosvd(x)
    assert isinstance(h, TuckerResult) and h.rank == (4, 5, 6)
    np.testing.assert_allclose(h.to_tensor(), x, atol=1e-11)
    for u in h.factors:
        np.testing.assert_allclose(u.conj().T @ u, np.eye(u.shape[1]), atol=1e-12)
    # mode-n singular values are those of the unfolding
    for n, s in enumerate(h.singular_values):
        np.testing.assert_allclose(s, np.linalg.svd(tl.unfold(x, n), compute_uv=False), rtol=1e-9)
    # TensorLy reconstructs the result
    np.testing.assert_allclose(tl.tucker_to_tensor(h.to_tensorly()), x, atol=1e-11)


def test_hosvd_truncated_gram_equals_svd_and_sequential_is_close(rng):
    x, _, _ = harmonic_cp(rng, (8, 9, 10), 3, noise=0.05)
    hg = hosvd(x, 3)
    hs = hosvd(x, 3, method="svd")
    for ug, us in zip(hg.factors, hs.factors):
        np.testing.assert_allclose(projector(ug), projector(us), atol=1e-8)
    np.testing.assert_allclose(hg.errors, hs.errors, rtol=1e-7)
    hq = hosvd(x, 3, sequential=True)
    err = np.linalg.norm(hq.to_tensor() - x) / np.linalg.norm(x)
    np.testing.assert_allclose(hq.errors[0], err, rtol=1e-6)
    # both quasi-optimal: within sqrt(N) of each other, and close to the noise level here
    assert hq.errors[0] < 1.05 * hg.errors[0] and hg.errors[0] < 1.05 * hq.errors[0]


def test_hosvd_batched_equals_per_item(rng):
    x = crandn(rng, 3, 5, 6, 7)
    hb = hosvd(x, (2, 3, 4), batch_ndim=1)
    assert hb.core.shape == (3, 2, 3, 4)
    for i in range(3):
        hi = hosvd(x[i], (2, 3, 4))
        np.testing.assert_allclose(hb.errors[0, i], hi.errors[0], rtol=1e-10)
        for ub, ui in zip(hb.factors, hi.factors):
            np.testing.assert_allclose(projector(ub[i]), projector(ui), atol=1e-10)
        np.testing.assert_allclose(hb.item(i).to_tensor(), hi.to_tensor(), atol=1e-10)


# -- Tucker / HOOI ----------------------------------------------------------------------------------
def test_tucker_improves_on_hosvd_and_matches_tensorly(rng):
    x = crandn(rng, 6, 7, 8)
    t = tucker(x, (2, 3, 3), tol=1e-12, n_iter_max=200)
    h = hosvd(x, (2, 3, 3))
    assert t.errors[-1] <= h.errors[0] + 1e-12
    assert np.all(np.diff(t.errors) <= 1e-12)                       # HOOI never increases the error
    np.testing.assert_allclose(np.linalg.norm(t.to_tensor() - x) / np.linalg.norm(x), t.errors[-1], rtol=1e-8)
    ref = tl.decomposition.tucker(x, rank=[2, 3, 3], n_iter_max=200, tol=1e-12)
    err_tl = np.linalg.norm(tl.tucker_to_tensor(ref) - x) / np.linalg.norm(x)
    assert t.errors[-1] <= err_tl * (1 + 1e-6)
    np.testing.assert_allclose(tl.tucker_to_tensor(t.to_tensorly()), t.to_tensor(), atol=1e-12)


def test_tucker_batched_and_init_from_result(rng):
    x = crandn(rng, 2, 5, 6, 7)
    tb = tucker(x, 2, batch_ndim=1, tol=1e-12)
    for i in range(2):
        ti = tucker(x[i], 2, tol=1e-12)
        np.testing.assert_allclose(tb.errors[-1, i], ti.errors[-1], rtol=1e-6)
    t0 = tucker(x[0], 2, init=hosvd(x[0], 2), n_iter_max=0)
    np.testing.assert_allclose(t0.errors[0], hosvd(x[0], 2).errors[0], rtol=1e-12)


# -- CP-ALS ----------------------------------------------------------------------------------------
def _match_columns(a, b):
    """Max |cos| between each column of b and its best column of a (1 = same up to scale/phase)."""
    an = a / np.linalg.norm(a, axis=0)
    bn = b / np.linalg.norm(b, axis=0)
    return np.abs(an.conj().T @ bn).max(axis=0)


def test_cp_als_recovers_complex_harmonic_factors(rng):
    x, facs, g = harmonic_cp(rng, (10, 11, 12), 3)
    c = cp_als(x, 3, tol=1e-10, n_iter_max=500)
    assert isinstance(c, CPResult) and c.converged
    assert c.errors[-1] < 1e-6
    np.testing.assert_allclose(c.to_tensor(), x, atol=1e-7 * np.abs(x).max())
    for f_est, f_true in zip(c.factors, facs):
        np.testing.assert_allclose(_match_columns(f_est, f_true), 1.0, atol=1e-7)
        np.testing.assert_allclose(np.linalg.norm(f_est, axis=0), 1.0, atol=1e-12)
    # weights are |g_r| * prod ||a_r|| (factor columns have norm sqrt(I_n)), descending
    np.testing.assert_allclose(c.weights, np.sort(np.abs(g) * np.sqrt(10 * 11 * 12))[::-1], rtol=1e-5)
    # TensorLy reconstructs the result (complex CPTensor)
    np.testing.assert_allclose(tl.cp_to_tensor(c.to_tensorly()), x, atol=1e-7 * np.abs(x).max())
    assert c.errors[-1] == pytest.approx(np.linalg.norm(c.to_tensor() - x) / np.linalg.norm(x), abs=1e-8)


def test_cp_als_error_matches_reconstruction_with_noise_and_random_init(rng):
    x = np.einsum("ir,jr,kr->ijk", crandn(rng, 7, 3), crandn(rng, 8, 3), crandn(rng, 9, 3))
    x = x + 0.01 * crandn(rng, 7, 8, 9)
    c = cp_als(x, 3, init="random", rng=rng, n_iter_max=300, tol=1e-12)
    err = np.linalg.norm(c.to_tensor() - x) / np.linalg.norm(x)
    np.testing.assert_allclose(c.errors[-1], err, rtol=1e-6)
    assert err < 0.01                                                    # at the noise floor
    assert np.abs(c.factors[0].imag).max() > 0.1                         # complex factors


def test_cp_als_batched_and_tensorly_init(rng):
    x = np.stack([harmonic_cp(rng, (6, 7, 8), 2)[0] for _ in range(3)])
    cb = cp_als(x, 2, batch_ndim=1, tol=1e-14, n_iter_max=300)
    assert cb.weights.shape == (3, 2) and cb.factors[1].shape == (3, 7, 2)
    assert np.all(cb.errors[-1] < 1e-7)
    ref = cp_als(x[1], 2)
    warm = cp_als(x[1], 2, init=CPTensor((ref.weights, list(ref.factors))), n_iter_max=2)
    assert warm.errors[0] < 1e-7


def test_cp_als_rank_larger_than_a_mode_pads_init(rng):
    x = np.einsum("ir,jr,kr->ijk", crandn(rng, 3, 4), crandn(rng, 6, 4), crandn(rng, 7, 4))
    c = cp_als(x, 4, rng=rng, n_iter_max=500, tol=1e-14)
    assert c.errors[-1] < 1e-5


# -- validation ------------------------------------------------------------------------------------
def test_validation_messages(rng):
    x = crandn(rng, 4, 5, 6)
    with pytest.raises(ValueError, match=r"`rank\[1\]` must be an integer in \[1, 5\]"):
        hosvd(x, (2, 6, 2))
    with pytest.raises(ValueError, match="`rank` must be an int or a sequence of 3"):
        hosvd(x, (2, 2))
    with pytest.raises(ValueError, match="`mode` must be an integer in \\[0, 2\\]"):
        unfold(x, 3)
    with pytest.raises(ValueError, match="not a mode-1 unfolding"):
        fold(unfold(x, 1), 1, (4, 6, 5))
    with pytest.raises(ValueError, match="`matrix` must have 5 columns"):
        mode_dot(x, crandn(rng, 2, 4), 1)
    with pytest.raises(ValueError, match="at least 2 mode\\(s\\) after 2 batch"):
        cp_als(x, 2, batch_ndim=2)
    with pytest.raises(ValueError, match="`init` must be one of"):
        cp_als(x, 2, init="nvecs")
    with pytest.raises(ValueError, match="must be finite"):
        hosvd(np.full((2, 2, 2), np.nan))
    with pytest.raises(TypeError, match="dtype of kind"):
        hosvd(np.ones((2, 2, 2), dtype=np.int64))
    hb = hosvd(np.stack([x, x]), 2, batch_ndim=1)
    with pytest.raises(ValueError, match="unbatched"):
        hb.to_tensorly()


@pytest.mark.gpu
def test_tensor_tools_on_cupy(cp, rng):
    x, _, _ = harmonic_cp(rng, (16, 17, 18), 3, noise=0.01)
    xg = cp.asarray(x)
    h = hosvd(xg, 3)
    assert isinstance(h.core, cp.ndarray)
    np.testing.assert_allclose(h.errors, hosvd(x, 3).errors, rtol=1e-6)
    c = cp_als(xg, 3)
    np.testing.assert_allclose(c.errors[-1], cp_als(x, 3).errors[-1], rtol=1e-5)
    t = tucker(cp.stack([xg, xg]), 3, batch_ndim=1)
    assert isinstance(t.core, cp.ndarray)
