"""Batched subspace estimators split their problems across threads: same answers as one thread."""

import numba
import numpy as np
import pytest

from estimators import esprit, music, root_music
from estimators.subspace._covariance import _across_problems, _covariance_eigh
from sensing import steering_vector, ula


@pytest.fixture
def batch():
    rng = np.random.default_rng(7)
    g = ula(12, 0.5)
    a = steering_vector(g, np.deg2rad([-20.0, 5.0, 31.0]), wavelength_m=1.0)
    s = rng.standard_normal((300, 3, 60)) + 1j * rng.standard_normal((300, 3, 60))
    n = rng.standard_normal((300, 12, 60)) + 1j * rng.standard_normal((300, 12, 60))
    return g, a @ s + 0.5 * n


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
@pytest.mark.parametrize("fn", [
    lambda x, g: esprit(x, n_sources=3).estimates,
    lambda x, g: root_music(x, n_sources=3).estimates,
    lambda x, g: music(x, n_sources=3, geometry=g, wavelength_m=1.0, return_spectrum=False).estimates,
])
def test_threads_equal_serial(batch, fn):
    g, x = batch
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = fn(x, g)
        numba.set_num_threads(2)
        threaded = fn(x, g)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(threaded, serial)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_chunks_cover_the_batch_in_order(batch):
    import array_api_compat as aac

    xp = aac.array_namespace(np.empty(0))
    _, x = batch
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        vals, vecs = _across_problems(_covariance_eigh, xp, x, None, min_per_worker=16)
    finally:
        numba.set_num_threads(old)
    want_vals, want_vecs = _covariance_eigh(xp, x, None)
    np.testing.assert_array_equal(vals, want_vals)
    np.testing.assert_array_equal(vecs, want_vecs)
    assert vals.shape == (300, 12)
