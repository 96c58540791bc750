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
