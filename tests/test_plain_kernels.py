"""PLAIN's block-averaging numba kernel == the per-axis NumPy twin (_block_mean)."""

import array_api_compat as aac
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from estimators.tensor._plain_compression import _block_mean
from estimators.tensor._plain_kernels import block_average_kernel, fb_real_rows_kernel

XP = aac.array_namespace(np.empty(0))


@given(seed=st.integers(0, 2**31), s=st.integers(1, 2), d=st.tuples(*[st.integers(1, 4)] * 3),
       n=st.tuples(*[st.integers(1, 3)] * 3))
def test_kernel_matches_twin(seed, s, d, n):
    rng = np.random.default_rng(seed)
    shape = (s,) + tuple(dm * nm for dm, nm in zip(d, n))
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    want = x
    for ax in (3, 2, 1):
        want = _block_mean(XP, want, ax, d[ax - 1])
    np.testing.assert_allclose(block_average_kernel(x, *d), want, rtol=1e-12, atol=1e-12)


def test_plain_averaging_rejects_nan_and_inf_with_the_input_count():
    import pytest

    from estimators import plain
    from sensing import Numerology, ula

    num = Numerology(26e9, 60e3, 16, 28)
    x = np.ones((4, 16, 28), complex)
    for bad in (np.nan, np.inf):
        y = x.copy()
        y[1, 3, 5] = bad
        y[2, 7, 9] = bad
        with pytest.raises(ValueError, match="tensor.*2 NaN/inf"):
            plain(y, geometry=ula(4, num.wavelength_m / 2), numerology=num, deltas=(1, 4, 14), n_objects=1)


# -- Tensor-OMP selection kernel ------------------------------------------------------------------
def _omp_problem(seed, s, ks, ns, noise):
    from estimators.tensor._plain_fusion import dictionary

    rng = np.random.default_rng(seed)
    dicts = [dictionary(XP, np.sort(rng.uniform(-3, 3, k)), n, np.complex128) for k, n in zip(ks, ns)]
    y = (rng.standard_normal((s,) + ns) + 1j * rng.standard_normal((s,) + ns)) / noise
    for _ in range(2):                   # two atoms in noise, so that the picks have a structure to find
        t = [rng.integers(0, k) for k in ks]
        y = y + np.einsum("i,j,k->ijk", *[a[:, i] for a, i in zip(dicts, t)])[None]
    return y, dicts


@given(seed=st.integers(0, 2**31), s=st.integers(1, 2), ks=st.tuples(*[st.integers(1, 3)] * 3),
       noise=st.sampled_from([1.0, 10.0, 1e3]), n_sel=st.integers(1, 30))
def test_omp_kernel_matches_twin(seed, s, ks, noise, n_sel):
    """Same picks (also after the span holds every candidate), same core and residual as the twin."""
    from estimators.tensor._plain_fusion import (
        _tensor_omp_direct,
        _tensor_omp_xp,
        tensor_omp,
    )

    y, dicts = _omp_problem(seed, s, ks, (7, 8, 9), noise)
    got = tensor_omp(XP, y, dicts, n_sel)
    want = _tensor_omp_xp(XP, y, dicts, n_sel)
    direct = _tensor_omp_direct(XP, y, dicts, n_sel)
    assert got[0].shape[0] == min(n_sel, ks[0] * ks[1] * ks[2])
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[0], direct[0])
    scale = np.abs(y).max()
    for u, v in zip(got[1:], want[1:]):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-9 * scale)


def test_omp_kernel_declines_ill_conditioned_grams_and_the_twin_runs():
    from estimators.tensor._plain_fusion import (
        _OMP_MAX_COND,
        _tensor_omp_xp,
        dictionary,
        tensor_omp,
    )
    from estimators.tensor._plain_kernels import tensor_omp_kernel

    rng = np.random.default_rng(5)
    dicts = [dictionary(XP, w, n, np.complex128) for w, n in
             (([0.3, 0.3 + 1e-7], 8), ([-1.0, 1.0], 9), ([0.5], 10))]        # near-duplicate angle atoms
    y = rng.standard_normal((1, 8, 9, 10)) + 1j * rng.standard_normal((1, 8, 9, 10))
    grams = [a.conj().T @ a for a in dicts]
    assert np.linalg.cond(grams[0]) > _OMP_MAX_COND
    c0 = np.einsum("sijk,ia,jb,kc->sabc", y, *[a.conj() for a in dicts])
    ok, sel, _, _, _ = tensor_omp_kernel(c0, *grams, 3, _OMP_MAX_COND)
    assert not ok and sel.shape == (0, 3)
    ok, sel, _, _, _ = tensor_omp_kernel(c0, *grams, 3, 1e20)                  # guard lifted: it runs
    assert ok and sel.shape == (3, 3)
    got, want = tensor_omp(XP, y, dicts, 3), _tensor_omp_xp(XP, y, dicts, 3)
    np.testing.assert_array_equal(got[0], want[0])
    for u, v in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(u, v)                                     # the twin itself ran


def test_omp_picks_the_first_triple_once_the_span_is_complete():
    """After U_1 x U_2 x U_3 holds every candidate the exact correlations are 0: ties -> first index."""
    from estimators.tensor._plain_fusion import dictionary, tensor_omp

    dicts = [dictionary(XP, np.array(w), n, np.complex128) for w, n in
             (([0.2, 1.4], 6), ([-0.7], 7), ([0.9, -2.0], 8))]
    a, d, v = dicts
    y = (np.einsum("i,j,k->ijk", a[:, 1], d[:, 0], v[:, 0]) + 0.5 * np.einsum("i,j,k->ijk", a[:, 0], d[:, 0], v[:, 1]))[None]
    sel = tensor_omp(XP, y, dicts, 4)[0]
    np.testing.assert_array_equal(sel, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [1, 0, 1]])


# -- root-MUSIC kernel ------------------------------------------------------------------------------
@given(seed=st.integers(0, 2**31), m=st.integers(3, 40), k=st.integers(1, 6), snr=st.sampled_from([-5.0, 10.0, 40.0]))
def test_root_music_kernel_matches_twin(seed, m, k, snr):
    """Same candidates as the NumPy twin (numpy.roots and the toolbox's Aberth) on noisy harmonics."""
    from estimators.tensor._plain_kernels import signal_root_music_kernel
    from estimators.tensor._plain_modes import (
        _ROOT_MERGE_CELLS,
        _signal_root_music_np,
        normalise_fb,
    )

    k = min(k, m - 1)
    rng = np.random.default_rng(seed)
    w = rng.uniform(-np.pi, np.pi, k)
    a = np.exp(1j * np.outer(np.arange(m), w))
    n = 3 * m
    y = a @ (rng.standard_normal((k, n)) + 1j * rng.standard_normal((k, n)))
    y = y + 10 ** (-snr / 20) * (rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n)))
    vs = np.ascontiguousarray(np.linalg.eigh(normalise_fb(y @ y.conj().T / n))[1][:, ::-1][:, :k])
    ok, ang, rad = signal_root_music_kernel(vs, k, _ROOT_MERGE_CELLS * 2 * np.pi / m, 200, 1e-14)
    assert ok
    # the order by |1 - |z|| may swap at rounding-level ties. With k = m - 1 the noise subspace is
    # one vector and each root near the circle has its partner 1/z* close by (a near-double
    # root), determined only to ~sqrt(eps): numpy.roots and the toolbox's Aberth differ by up to
    # 5e-6 there too (measured over 3000 cases; 3e-10 for k < m - 1)
    tol = 2e-5 if k == m - 1 else 1e-9
    o = np.argsort(ang)
    for finder in ("numpy", "aberth"):
        ang0, rad0 = _signal_root_music_np(vs, k, finder)
        o0 = np.argsort(ang0)
        np.testing.assert_allclose(ang[o], ang0[o0], atol=tol)
        np.testing.assert_allclose(rad[o], rad0[o0], atol=tol)


@given(seed=st.integers(0, 2**31), n=st.integers(1, 40))
def test_aberth_jacobi_finds_all_roots(seed, n):
    from estimators.subspace._kernels import aberth_jacobi_kernel

    rng = np.random.default_rng(seed)
    true = rng.uniform(0.3, 2.0, n) * np.exp(2j * np.pi * rng.uniform(size=n))
    coefs = rng.uniform(0.5, 2.0) * np.exp(1j * rng.uniform(0, 6)) * np.poly(true)
    roots, ok = aberth_jacobi_kernel(coefs, 500, 1e-14)
    assert ok
    ref = np.roots(coefs)
    # each reference root has its own kernel root nearby (a matching, so multiplicities count)
    dist = np.abs(ref[:, None] - roots[None, :])
    from scipy.optimize import linear_sum_assignment

    i, j = linear_sum_assignment(dist)
    assert dist[i, j].max() < 1e-6 * max(1.0, np.abs(ref).max())


def test_root_music_kernel_declines_a_vanishing_leading_coefficient():
    from estimators.tensor._plain_kernels import signal_root_music_kernel
    from estimators.tensor._plain_modes import _signal_root_music, _signal_root_music_np

    m = 10
    vs = np.zeros((m, 1), complex)
    vs[1:-1, 0] = np.exp(0.7j * np.arange(m - 2)) / np.sqrt(m - 2)    # first and last entries 0
    ok, ang, _ = signal_root_music_kernel(vs, 1, 1e-3, 200, 1e-14)
    assert not ok and ang.size == 0
    np.testing.assert_array_equal(_signal_root_music(vs, 1)[0], _signal_root_music_np(vs, 1)[0])


# -- real form of the forward-backward covariance ----------------------------------------------------
@given(seed=st.integers(0, 2**31), shape=st.tuples(st.integers(1, 2), *[st.integers(1, 7)] * 3),
       mode=st.integers(1, 3))
def test_fb_real_rows_kernel_matches_twin(seed, shape, mode):
    from estimators.tensor._plain_modes import _fb_real_rows_np, _unfold3

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    y3 = _unfold3(x, mode)
    w, peak = fb_real_rows_kernel(y3)
    w0, peak0 = _fb_real_rows_np(y3)
    np.testing.assert_allclose(w, w0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(peak, peak0, rtol=1e-12)


@given(n=st.integers(1, 12))
def test_unitary_q_is_unitary_and_maps_fb_covariances_to_real_ones(n):
    from estimators.tensor._plain_modes import _unitary_q, normalise_fb

    q = _unitary_q(n)
    np.testing.assert_allclose(q.conj().T @ q, np.eye(n), atol=1e-15)
    np.testing.assert_allclose(q[::-1], q.conj(), atol=0)                     # J Q = Q*
    rng = np.random.default_rng(n)
    y = rng.standard_normal((n, 9)) + 1j * rng.standard_normal((n, 9))
    s = q.conj().T @ normalise_fb(y @ y.conj().T) @ q
    assert np.abs(s.imag).max() < 1e-14


@given(seed=st.integers(0, 2**31), mode=st.integers(0, 2), snr=st.sampled_from([0.0, 20.0]),
       shape=st.sampled_from([(1, 6, 9, 8), (2, 5, 8, 7), (1, 16, 45, 40)]))
def test_real_fb_mode_stage_matches_the_complex_twin(seed, mode, snr, shape):
    """Eigenvalues, AIC and candidates of the real form equal those of the complex covariance."""
    from estimators.tensor._plain_modes import mode_stage
    from sensing import Numerology

    rng = np.random.default_rng(seed)
    k = 3
    w = [rng.uniform(-3, 3, k) for _ in range(3)]
    g = rng.standard_normal(k) + 1j * rng.standard_normal(k)
    x = np.einsum("p,ip,jp,lp->ijl", g, *[np.exp(1j * np.outer(np.arange(n), wm)) for n, wm in zip(shape[1:], w)])
    x = np.broadcast_to(x, shape) * (1 + np.arange(shape[0]))[:, None, None, None]
    x = x + 10 ** (-snr / 20) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    kw = dict(delta=1, spacing_m=0.005, numerology=Numerology(26e9, 60e3, shape[2], shape[3]))
    got, _ = mode_stage(XP, x, mode, None, real_fb=True, **kw)
    want, _ = mode_stage(XP, x, mode, None, real_fb=False, **kw)
    scale = want.eigenvalues[0]
    np.testing.assert_allclose(got.eigenvalues, want.eigenvalues, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(got.information_criterion, want.information_criterion, rtol=1e-8)
    assert got.order == want.order and got.n_columns == want.n_columns
    np.testing.assert_allclose(np.sort(got.omegas), np.sort(want.omegas), atol=1e-7)


@given(seed=st.integers(0, 2**31), pre=st.integers(1, 9), n=st.integers(1, 9))
def test_fb_real_cols_kernel_is_the_transposed_rows(seed, pre, n):
    from estimators.tensor._plain_kernels import fb_real_cols_kernel
    from estimators.tensor._plain_modes import _fb_real_rows_np

    rng = np.random.default_rng(seed)
    y2 = rng.standard_normal((pre, n)) + 1j * rng.standard_normal((pre, n))
    w_t, peak = fb_real_cols_kernel(y2)
    w0, peak0 = _fb_real_rows_np(y2[:, :, None])
    np.testing.assert_allclose(w_t.T, w0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(peak, peak0, rtol=1e-12)


@given(seed=st.integers(0, 2**31), m=st.integers(2, 50), n_zero=st.integers(0, 3),
       n_cols=st.integers(1, 5000), scale=st.sampled_from([1e-200, 1.0, 1e200]))
def test_ic_kernel_matches_the_toolbox_criterion(seed, m, n_zero, n_cols, scale):
    from estimators.tensor._plain_modes import _aic, _aic_np

    rng = np.random.default_rng(seed)
    lam = np.sort(rng.exponential(size=m))[::-1] * scale
    lam[m - min(n_zero, m):] = 0.0                       # vanishing eigenvalues are floored alike
    np.testing.assert_allclose(_aic(lam, n_cols), _aic_np(lam, n_cols), rtol=1e-12)
