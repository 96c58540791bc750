"""numba Newton refinement for array-geometry MUSIC == the vectorised NumPy twin (newton_refine)."""

import array_api_compat as aac
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from estimators.subspace._grid_search import GeometryModel, newton_refine
from sensing import custom_array, steering_vector

XP = aac.array_namespace(np.empty(0))


@given(seed=st.integers(0, 2**31), n_el=st.integers(4, 12), n_src=st.integers(1, 3), two_d=st.booleans(),
       n_batch=st.integers(1, 2))
def test_kernel_matches_twin(seed, n_el, n_src, two_d, n_batch):
    rng = np.random.default_rng(seed)
    geom = custom_array(np.c_[np.zeros(n_el), rng.uniform(0, 2.0, n_el), rng.uniform(0, 2.0, n_el) * two_d])
    az = rng.uniform(-1.0, 1.0, (n_batch, n_src))
    el = rng.uniform(-0.5, 0.5, (n_batch, n_src)) if two_d else np.zeros((n_batch, n_src))
    a = steering_vector(geom, az, el, wavelength_m=1.0)                        # (B, M, K)
    noise = 0.1 * (rng.standard_normal(a.shape[:-1] + (3,)) + 1j * rng.standard_normal(a.shape[:-1] + (3,)))
    q, _ = np.linalg.qr(np.concatenate([a, noise], axis=-1))
    u = q[..., :n_src]                                                          # signal subspace (B, M, K)
    start = np.stack([az, el], axis=-1) if two_d else az[..., None]
    start = start + rng.uniform(-0.03, 0.03, start.shape)
    model = GeometryModel(geom, 1.0, XP, elevation=None if two_d else 0.0)
    kw = dict(sign=-1.0, step=[0.05] * start.shape[-1], lower=[-1.5] * start.shape[-1],
              upper=[1.5] * start.shape[-1])
    got = newton_refine(start, model, u, XP, use_kernel=True, **kw)
    want = newton_refine(start, model, u, XP, use_kernel=False, **kw)
    np.testing.assert_allclose(got, want, atol=1e-7)
    # a single step depends on the exact gradient, Hessian and line search: equal to rounding
    one = newton_refine(start, model, u, XP, use_kernel=True, n_iter=1, **kw)
    one_twin = newton_refine(start, model, u, XP, use_kernel=False, n_iter=1, **kw)
    np.testing.assert_allclose(one, one_twin, atol=1e-12)
    assert np.any(np.abs(one - start) > 1e-6)


@given(seed=st.integers(0, 2**31), m=st.integers(8, 64), n_src=st.integers(1, 4), n_batch=st.integers(1, 3),
       sign=st.sampled_from([-1.0, 1.0]))
def test_trig_kernel_matches_twin(seed, m, n_src, n_batch, sign):
    """Vandermonde (ULA / subcarrier) refinement from the diagonal sums == the steering-product twin."""
    from estimators.subspace._grid_search import HarmonicModel, lowrank_diag_sums
    from estimators.subspace._kernels import _trig_objective

    rng = np.random.default_rng(seed)
    mu = rng.uniform(-2.5, 2.5, (n_batch, n_src))
    a = np.exp(1j * np.arange(m)[None, :, None] * mu[:, None, :])               # (B, M, K)
    noise = 0.2 * (rng.standard_normal((n_batch, m, 2)) + 1j * rng.standard_normal((n_batch, m, 2)))
    q, _ = np.linalg.qr(np.concatenate([a, noise], axis=-1))
    u = q[..., :n_src + 1]                          # (B, M, K+1), a proper subspace (M >= K + 4)
    start = (mu + rng.uniform(-0.3, 0.3, mu.shape) / m)[..., None]
    model = HarmonicModel((m,), XP)
    kw = dict(sign=sign, step=[0.5 / m], lower=[-np.pi], upper=[np.pi])
    # the objective, its derivatives: O(M) diagonal-sum form == the O(M r) steering form
    c = lowrank_diag_sums(u, XP)
    from estimators.subspace._grid_search import _quad
    f, g, h = _quad(start, model, np.conj(u), sign, XP, True)
    for b in range(n_batch):
        for k in range(n_src):
            fk, gk, hk = _trig_objective(start[b, k, 0], c[b], sign)
            np.testing.assert_allclose([fk, gk, hk], [f[b, k], g[b, k, 0], h[b, k, 0, 0]],
                                       rtol=1e-9, atol=1e-9 * m * m)
    got = newton_refine(start, model, u, XP, use_kernel=True, **kw)
    want = newton_refine(start, model, u, XP, use_kernel=False, **kw)
    np.testing.assert_allclose(got, want, atol=1e-7)
    one = newton_refine(start, model, u, XP, use_kernel=True, n_iter=1, **kw)
    one_twin = newton_refine(start, model, u, XP, use_kernel=False, n_iter=1, **kw)
    np.testing.assert_allclose(one, one_twin, atol=1e-10)


@given(seed=st.integers(0, 2**31), shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       k=st.integers(1, 4), n_batch=st.integers(1, 3), levels=st.sampled_from([0, 3, 6]),
       boundary=st.lists(st.sampled_from(["open", "interior", "circular"]), min_size=3, max_size=3))
def test_peak_kernel_matches_twin(seed, shape, k, n_batch, levels, boundary):
    """One-pass top-k local maxima (numba) == the vectorised neighbour comparisons + argpartition.

    ``levels`` > 0 quantises the spectrum so that plateaus and ties occur: then the selected
    values must agree (which of several equal values is returned may differ). Every boundary
    rule (open / interior end points / circular) per dimension; the peak counts agree too.
    """
    import math
    import warnings

    from estimators.subspace._grid_search import find_peaks
    from estimators.subspace._results import SubspaceWarning

    rng = np.random.default_rng(seed)
    if k > math.prod(shape):
        return
    spec = rng.standard_normal((n_batch, *shape))
    if levels:
        spec = np.round(spec * levels / 2) / levels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SubspaceWarning)
        bnd = boundary[:len(shape)]
        got, n_got = find_peaks(spec, k, XP, use_kernel=True, boundary=bnd, return_counts=True)
        want, n_want = find_peaks(spec, k, XP, use_kernel=False, boundary=bnd, return_counts=True)
    np.testing.assert_array_equal(n_got, n_want)
    flat = spec.reshape(n_batch, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, got, -1), np.take_along_axis(flat, want, -1))
    if not levels:
        np.testing.assert_array_equal(got, want)


def test_peak_kernel_plateau_counts_once():
    from estimators.subspace._grid_search import find_peaks

    spec = np.array([[0.0, 2.0, 2.0, 1.0, 3.0, 3.0, 3.0, 0.5]])
    np.testing.assert_array_equal(find_peaks(spec, 2, XP), [[4, 1]])     # first point of each plateau
    two_d = np.zeros((1, 4, 5))
    two_d[0, 1, 1] = two_d[0, 1, 2] = 5.0                                # a 2-point plateau
    two_d[0, 3, 4] = 4.0                                                 # a corner peak
    np.testing.assert_array_equal(find_peaks(two_d, 2, XP), [[1 * 5 + 1, 3 * 5 + 4]])


def test_peak_boundary_rules_by_hand():
    """Interior: an end point is never a maximum; circular: neighbours wrap; open: as before."""
    from estimators.subspace._grid_search import find_peaks

    spec = np.array([[5.0, 1.0, 2.0, 1.0, 0.0, 4.0]])
    idx, n = find_peaks(spec, 1, XP, boundary="open", return_counts=True)
    assert int(n[0]) == 3 and int(idx[0, 0]) == 0                  # 0, 2 and 5 are maxima
    idx, n = find_peaks(spec, 1, XP, boundary="interior", return_counts=True)
    assert int(n[0]) == 1 and int(idx[0, 0]) == 2
    idx, n = find_peaks(spec, 2, XP, boundary="circular", return_counts=True)
    assert int(n[0]) == 2 and idx[0].tolist() == [0, 2]            # 5 < 0 across the seam
    for use_kernel in (True, False):                               # a plateau across the seam counts once
        idx, n = find_peaks(np.array([[3.0, 0.0, 1.0, 0.0, 3.0]]), 2, XP, boundary="circular",
                            return_counts=True, use_kernel=use_kernel)
        assert int(n[0]) == 2 and sorted(idx[0].tolist()) == [2, 4]
    two_d = np.zeros((1, 4, 5))
    two_d[0, 0, 0] = 4.0                                           # a corner peak (open 2-D search)
    two_d[0, 2, 2] = 5.0
    np.testing.assert_array_equal(find_peaks(two_d, 2, XP), [[2 * 5 + 2, 0]])
