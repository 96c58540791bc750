"""numba Newton refinement for array-geometry MUSIC == the vectorised NumPy twin (newton_refine)."""

import array_api_compat as aac
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from estimators._music import GeometryModel, newton_refine
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
    from estimators._music import HarmonicModel, lowrank_diag_sums
    from estimators._subspace_kernels import _trig_objective

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
    from estimators._music import _quad
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
