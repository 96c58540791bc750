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
            plain(y, ula(4, num.wavelength_m / 2), num, deltas=(1, 4, 14), n_objects=1)
