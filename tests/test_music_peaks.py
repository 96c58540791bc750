"""MUSIC peak search at the grid ends, `resolved` and `peak_indices`.

A ULA's spectrum in azimuth is always stationary at +-90 deg (d sin(theta)/d theta = 0): the end
points of an azimuth grid are not local maxima. A frequency grid of one full period wraps around.
"""

import warnings

import numpy as np

from estimators import min_norm, music, music_nd
from sensing import steering_vector, ula


def _interior_maxima(spec):
    s = np.asarray(spec)
    inner = (s[..., 1:-1] > s[..., :-2]) & (s[..., 1:-1] >= s[..., 2:])
    return inner.sum(axis=-1)


def _unresolvable_batch():
    """M = 4, two sources 4 deg apart: in many trials the spectrum has one interior maximum."""
    g = ula(4, 0.5)
    rng = np.random.default_rng(3)
    az = np.deg2rad([10.0, 14.0])
    s = rng.standard_normal((500, 2, 100)) + 1j * rng.standard_normal((500, 2, 100))
    n = rng.standard_normal((500, 4, 100)) + 1j * rng.standard_normal((500, 4, 100))
    return g, steering_vector(g, az, wavelength_m=1.0) @ s + 0.5 * n


def test_grid_end_is_not_a_peak_and_unresolved_is_reported():
    g, x = _unresolvable_batch()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = music(x, n_sources=2, geometry=g, wavelength_m=1.0, refine=False)
    assert any("fewer than n_sources" in str(i.message) for i in w), [str(i.message) for i in w]
    n_inner = _interior_maxima(r.spectrum)
    np.testing.assert_array_equal(r.resolved, n_inner >= 2)
    assert 0 < int(np.sum(~r.resolved)) < 500
    # an estimate at the grid end (+-90 deg) only where MUSIC says the sources were not resolved
    at_end = np.any(np.abs(r.estimates) > np.deg2rad(89.99), axis=-1)
    assert not np.any(at_end & r.resolved)
    # the peak indices are interior grid points where resolved, and give the (unrefined) estimates
    pk = r.peak_indices
    assert pk.shape == (500, 2)
    np.testing.assert_allclose(np.take(r.grid, pk), r.estimates)
    assert np.all((pk[r.resolved] > 0) & (pk[r.resolved] < r.grid.shape[0] - 1))


def test_resolved_sources_true_and_peak_indices_on_grid(rng):
    g = ula(8, 0.5)
    az = np.array([-0.4, 0.3])
    s = rng.standard_normal((3, 2, 200)) + 1j * rng.standard_normal((3, 2, 200))
    x = steering_vector(g, az, wavelength_m=1.0) @ s
    x = x + 0.1 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    r = music(x, n_sources=2, geometry=g, wavelength_m=1.0)
    assert r.resolved.shape == (3,) and r.resolved.dtype == bool and bool(np.all(r.resolved))
    np.testing.assert_allclose(np.take(r.grid, r.peak_indices), r.estimates, atol=np.deg2rad(0.1) + 1e-12)


def test_full_period_frequency_grid_wraps():
    """A source between the last grid point and the seam is one peak, not two (both grid ends)."""
    grid = np.linspace(-np.pi, np.pi, 256, endpoint=False)
    step = grid[1] - grid[0]
    mu = np.array([0.5, np.pi - step / 2])
    rng = np.random.default_rng(5)
    s = rng.standard_normal((2, 400)) + 1j * rng.standard_normal((2, 400))
    s[1] *= 3.0                                                   # the seam source is the strong one
    x = np.exp(1j * np.outer(np.arange(8), mu)) @ s
    x = x + 0.05 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    for fn in (music, min_norm):
        r = fn(x, n_sources=2, grid=grid)
        np.testing.assert_allclose(r.estimates, np.sort(mu), atol=1e-2)
    r = music(x, n_sources=2, grid=grid, refine=False)
    assert bool(r.resolved) and sorted(r.peak_indices.tolist())[0] == int(np.argmin(np.abs(grid - 0.5)))


def test_nd_corner_peak_on_a_subgrid_still_found():
    """Open boundaries in N-D: a source exactly at a corner of a (non-periodic) sub-grid."""
    n = [np.arange(d) for d in (6, 7)]
    t = np.einsum("i,j->ij", np.exp(1j * 0.4 * n[0]), np.exp(-1j * 1.0 * n[1]))
    grids = [np.linspace(0.4, 1.0, 13), np.linspace(-1.0, -0.4, 13)]
    r = music_nd(t, n_sources=1, grids=grids, subarray_shape=(4, 4))
    np.testing.assert_allclose(r.estimates, [[0.4, -1.0]], atol=1e-6)
    assert bool(r.resolved) and r.peak_indices.tolist() == [[0, 0]]
