"""PLAIN's block-averaging numba kernel == the per-axis NumPy twin (_block_mean)."""

import array_api_compat as aac
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from estimators._plain import _block_mean
from estimators._plain_kernels import block_average_kernel

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
