"""MUSIC (1-D, 2-D, N-D), Capon and beamscan: recovery, exactness, batching, backends, kernels."""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from conftest import to_xp
from estimators import (SubspaceWarning, beamscan, capon, music, music_2d, music_nd,
                        sample_covariance)
from estimators.subspace._kernels import array_power_kernel, trig_poly_kernel
from estimators.subspace._grid_search import upa_power
from estimators.subspace._reference import (array_power_reference, music_spectrum_reference,
                                            trig_poly_reference, upa_power_reference)
from sensing import custom_array, steering_vector, to_numpy, ula, upa

LAM = 1.0


def cnoise(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def ula_data(rng, m=12, n=100, az_deg=(-25.0, 10.0, 40.0), noise=0.1, coherent=False):
    g = ula(m, LAM / 2)
    az = np.deg2rad(np.asarray(az_deg))
    a = steering_vector(g, az, wavelength_m=LAM)
    s = cnoise(rng, (len(az_deg), n))
    if coherent:
        s = np.outer([1.0, 0.7j, -0.5][: len(az_deg)], s[0])
    return g, az, a @ s + cnoise(rng, (m, n), noise)


def test_recovers_three_sources_within_a_tenth_of_a_degree(rng):
    g, az, x = ula_data(rng)
    r = music(x, n_sources=3, geometry=g, wavelength_m=LAM)
    assert r.parameter == "azimuth_rad" and r.n_sources == 3
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=np.deg2rad(0.1))
    # frequencies are the ULA spatial frequencies of the same estimates
    np.testing.assert_allclose(r.frequencies, np.pi * np.sin(r.estimates), atol=1e-12)
    assert r.spectrum.shape == (1801,) and r.grid.shape == (1801,)


def test_noiseless_is_exact_off_grid(rng):
    g, az, _ = ula_data(rng)
    az = np.deg2rad(np.array([-25.123, 10.077, 40.511]))           # far from any grid point
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (3, 50))
    r = music(x, n_sources=3, geometry=g, wavelength_m=LAM, grid=np.linspace(-1.5, 1.5, 301))
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=1e-9)
    no_ref = music(x, n_sources=3, geometry=g, wavelength_m=LAM, grid=np.linspace(-1.5, 1.5, 301), refine=False)
    assert np.max(np.abs(no_ref.estimates - np.sort(az))) > 1e-4   # the refinement did the work


def test_frequency_mode_sign_convention(rng):
    """A Vandermonde [e^{j mu i}] gives +mu (no geometry: estimates are frequencies)."""
    mu = np.array([-2.0, 0.5, 1.3])
    x = np.exp(1j * np.outer(np.arange(10), mu)) @ cnoise(rng, (3, 30))
    r = music(x, n_sources=3)
    assert r.parameter == "frequency_rad"
    np.testing.assert_allclose(r.estimates, np.sort(mu), atol=1e-9)


def test_arbitrary_array_uses_fused_kernel_and_recovers(rng):
    pos = np.c_[np.zeros(9), 0.45 * np.arange(9) + 0.05 * rng.standard_normal(9), 0.1 * rng.standard_normal(9)]
    g = custom_array(pos)
    az = np.deg2rad(np.array([-30.0, 15.0]))
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (2, 200)) + cnoise(rng, (9, 200), 0.05)
    r = music(x, n_sources=2, geometry=g, wavelength_m=LAM)
    assert r.frequencies is None
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=np.deg2rad(0.2))


def test_spectrum_matches_textbook_noise_subspace_form(rng):
    g, az, x = ula_data(rng, m=8, n=60, noise=0.5)
    grid = np.linspace(-1.4, 1.4, 181)
    r = music(x, n_sources=3, geometry=g, wavelength_m=LAM, grid=grid, subspace_method="eigh")
    ref = music_spectrum_reference(sample_covariance(x), steering_vector(g, grid, wavelength_m=LAM), 3)
    np.testing.assert_allclose(r.spectrum, ref, rtol=1e-8)


def test_iterative_subspace_equals_full_eigh(rng):
    g, az, x = ula_data(rng, m=96, n=150, noise=0.3)
    a = music(x, n_sources=3, geometry=g, wavelength_m=LAM, subspace_method="iterative")
    b = music(x, n_sources=3, geometry=g, wavelength_m=LAM, subspace_method="eigh")
    np.testing.assert_allclose(a.estimates, b.estimates, atol=1e-9)
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues[:3], rtol=1e-8)


def test_batched_equals_loop(rng):
    xs = np.stack([ula_data(rng, noise=0.3)[2] for _ in range(4)]).reshape(2, 2, 12, 100)
    g = ula(12, LAM / 2)
    rb = music(xs, n_sources=3, geometry=g, wavelength_m=LAM)
    assert rb.estimates.shape == (2, 2, 3) and rb.spectrum.shape == (2, 2, 1801)
    for i in range(2):
        for j in range(2):
            r1 = music(xs[i, j], n_sources=3, geometry=g, wavelength_m=LAM)
            np.testing.assert_allclose(rb.estimates[i, j], r1.estimates, atol=1e-12)


def test_covariance_input_equals_snapshot_input(rng):
    g, az, x = ula_data(rng)
    a = music(x, n_sources=3, geometry=g, wavelength_m=LAM, subspace_method="eigh")
    b = music(sample_covariance(x), n_sources=3, geometry=g, wavelength_m=LAM, covariance=True)
    np.testing.assert_allclose(a.estimates, b.estimates, atol=1e-10)


def test_model_order_by_mdl(rng):
    g, az, x = ula_data(rng, noise=0.3)
    r = music(x, geometry=g, wavelength_m=LAM)
    assert r.n_sources == 3
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=np.deg2rad(0.3))


def test_coherent_sources_warn_without_smoothing_and_resolve_with_it(rng):
    g, az, x = ula_data(rng, coherent=True, noise=0.05)
    with pytest.warns(SubspaceWarning, match="coherent"):
        music(x, n_sources=3, geometry=g, wavelength_m=LAM)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SubspaceWarning)
        r = music(x, n_sources=3, geometry=g, wavelength_m=LAM, smoothing=8, forward_backward=True)
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=np.deg2rad(0.3))


def test_single_snapshot_needs_smoothing(rng):
    g, az, _ = ula_data(rng)
    x = steering_vector(g, az, wavelength_m=LAM) @ np.array([[1.0], [0.5j], [-0.8]])
    with pytest.raises(ValueError, match="rank of the data"):
        music(x, n_sources=3, geometry=g, wavelength_m=LAM)
    r = music(x, n_sources=3, geometry=g, wavelength_m=LAM, smoothing=7)
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=1e-8)


def test_zero_noise_and_rank_deficient_covariance_are_finite(rng):
    g, az, _ = ula_data(rng)
    r_cov = steering_vector(g, az, wavelength_m=LAM)
    r_cov = r_cov @ r_cov.conj().T                                   # rank 3, no noise
    r = music(r_cov, n_sources=3, geometry=g, wavelength_m=LAM, covariance=True)
    assert np.all(np.isfinite(r.spectrum))
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=1e-8)
    c = capon(r_cov, n_sources=3, geometry=g, wavelength_m=LAM, covariance=True)
    assert np.all(np.isfinite(c.spectrum))
    np.testing.assert_allclose(c.estimates, np.sort(az), atol=np.deg2rad(0.05))


@pytest.mark.parametrize("bad, match", [
    (dict(n_sources=12), r"n_sources.*\[1, 11\]"),
    (dict(n_sources=0), r"n_sources"),
    (dict(n_sources=2, grid=np.array([])), "at least one grid point"),
    (dict(n_sources=2, grid=np.array([0.1, -0.2, 0.3])), "strictly monotonic"),
    (dict(n_sources=2, grid=np.array([0.1, 0.1, 0.3])), "strictly monotonic"),
    (dict(n_sources=2, subspace_method="svd"), "subspace_method"),
])
def test_bad_input_messages(rng, bad, match):
    g, az, x = ula_data(rng)
    with pytest.raises(ValueError, match=match):
        music(x, geometry=g, wavelength_m=LAM, **bad)


def test_nan_and_shape_errors(rng):
    g, az, x = ula_data(rng)
    x[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        music(x, n_sources=2, geometry=g, wavelength_m=LAM)
    with pytest.raises(ValueError, match="elements but `geometry`"):
        music(np.ones((5, 10)) + 0j, n_sources=1, geometry=g, wavelength_m=LAM)
    with pytest.raises(ValueError, match="smoothing"):
        music(np.ones((12, 10)) + 0j, n_sources=1, geometry=custom_array(np.c_[np.zeros(12), np.arange(12) ** 1.1, np.zeros(12)]),
              wavelength_m=LAM, smoothing=6)
    with pytest.raises(TypeError, match="geometry"):
        music(np.ones((12, 10)) + 0j, n_sources=1, geometry="ula", wavelength_m=LAM)


def test_backends_agree(xp, rng):
    g, az, x = ula_data(rng)
    grid = np.linspace(-1.4, 1.4, 281)
    ref = music(x, n_sources=3, geometry=g, wavelength_m=LAM, grid=grid)
    r = music(to_xp(xp, x), n_sources=3, geometry=g, wavelength_m=LAM, grid=to_xp(xp, grid))
    assert type(r.estimates) is type(to_xp(xp, np.zeros(1)))
    np.testing.assert_allclose(to_numpy(r.estimates), ref.estimates, atol=1e-9)
    np.testing.assert_allclose(to_numpy(r.spectrum), ref.spectrum, rtol=1e-7)


def test_single_precision_in_single_precision_out(rng):
    g, az, x = ula_data(rng)
    r = music(x.astype(np.complex64), n_sources=3, geometry=g, wavelength_m=LAM)
    assert r.estimates.dtype == np.float32 and r.spectrum.dtype == np.float32
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=np.deg2rad(0.1))


def test_music_2d_upa_and_custom_paths_agree(rng):
    g = upa(6, 6, LAM / 2)
    az, el = np.array([-0.35, 0.25]), np.array([0.3, -0.2])
    x = steering_vector(g, az, el, wavelength_m=LAM) @ cnoise(rng, (2, 100)) + cnoise(rng, (36, 100), 0.1)
    grid_a, grid_e = np.linspace(-1.0, 1.0, 81), np.linspace(-0.8, 0.8, 65)
    r = music_2d(x, n_sources=2, geometry=g, wavelength_m=LAM, azimuth_grid_rad=grid_a, elevation_grid_rad=grid_e)
    assert r.estimates.shape == (2, 2) and r.spectrum.shape == (81, 65)
    np.testing.assert_allclose(r.estimates, np.c_[az, el], atol=np.deg2rad(0.3))
    rc = music_2d(x, n_sources=2, geometry=custom_array(g.positions_m), wavelength_m=LAM,
                  azimuth_grid_rad=grid_a, elevation_grid_rad=grid_e)
    np.testing.assert_allclose(rc.spectrum, r.spectrum, rtol=1e-8)
    np.testing.assert_allclose(rc.estimates, r.estimates, atol=1e-10)
    x0 = steering_vector(g, az, el, wavelength_m=LAM) @ cnoise(rng, (2, 20))
    r0 = music_2d(x0, n_sources=2, geometry=g, wavelength_m=LAM, azimuth_grid_rad=grid_a, elevation_grid_rad=grid_e)
    np.testing.assert_allclose(r0.estimates, np.c_[az, el], atol=1e-8)


def test_music_nd_on_single_snapshot_tensor_noiseless_and_batched(rng):
    mus = np.array([[0.31, -1.07, 0.52], [-0.73, 0.81, -2.01]])
    dims = (6, 8, 5)
    t = sum(b * np.einsum("i,j,k->ijk", *[np.exp(1j * m * np.arange(d)) for m, d in zip(mu, dims)])
            for b, mu in zip([1.0, 0.6j], mus))
    grids = [np.linspace(-np.pi, np.pi, 40, endpoint=False)] * 3
    r = music_nd(t, n_sources=2, grids=grids, subarray_shape=(4, 5, 3))
    np.testing.assert_allclose(r.estimates, mus[np.argsort(mus[:, 0])], atol=1e-8)
    assert r.spectrum.shape == (40, 40, 40)
    tb = np.stack([t + cnoise(rng, dims, 0.05) for _ in range(3)])
    rb = music_nd(tb, n_sources=2, grids=grids, subarray_shape=(4, 5, 3), return_spectrum=False)
    assert rb.spectrum is None
    for i in range(3):
        r1 = music_nd(tb[i], n_sources=2, grids=grids, subarray_shape=(4, 5, 3))
        np.testing.assert_allclose(rb.estimates[i], r1.estimates, atol=1e-12)
    # a decreasing grid (delay-mapped) is fine
    grids_dec = [grids[0], grids[1][::-1], grids[2]]
    rd = music_nd(t, n_sources=2, grids=grids_dec, subarray_shape=(4, 5, 3))
    np.testing.assert_allclose(rd.estimates, r.estimates, atol=1e-8)


def test_capon_and_beamscan_recover_separated_sources(rng):
    g, az, x = ula_data(rng, az_deg=(-30.0, 20.0), noise=0.1)
    for fn in (capon, beamscan):
        r = fn(x, n_sources=2, geometry=g, wavelength_m=LAM)
        np.testing.assert_allclose(r.estimates, np.sort(az), atol=np.deg2rad(0.5))
    # beamscan's spectrum is the normalised power a^H R a / M^2: 1 + noise at a lone unit source
    g1 = ula(12, LAM / 2)
    x1 = steering_vector(g1, np.array([0.2]), wavelength_m=LAM) * np.ones((1, 4))
    b = beamscan(x1, n_sources=1, geometry=g1, wavelength_m=LAM)
    assert abs(b.spectrum.max() - 1.0) < 1e-3


# --- kernels against their NumPy twins -----------------------------------------------------


@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 300), st.integers(0, 2**31 - 1))
def test_trig_poly_kernel_matches_twin(n_b, m, n_g, seed):
    r = np.random.default_rng(seed)
    c = r.standard_normal((n_b, m)) + 1j * r.standard_normal((n_b, m))
    mu = r.uniform(-np.pi, np.pi, n_g)
    out = np.empty((n_b, n_g))
    trig_poly_kernel(c, mu, out)
    np.testing.assert_allclose(out, trig_poly_reference(c, mu), rtol=1e-9, atol=1e-9 * m)


@given(st.integers(1, 3), st.integers(1, 20), st.integers(1, 4), st.integers(1, 60), st.integers(0, 2**31 - 1))
def test_array_power_kernel_matches_twin(n_b, m, rank, n_g, seed):
    r = np.random.default_rng(seed)
    u = r.standard_normal((n_b, m, rank)) + 1j * r.standard_normal((n_b, m, rank))
    pos = r.standard_normal((m, 3)) * 3
    d = r.standard_normal((n_g, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    out = np.empty((n_b, n_g))
    array_power_kernel(u, pos, d, out)
    np.testing.assert_allclose(out, array_power_reference(u, pos, d), rtol=1e-9, atol=1e-9)


@given(st.integers(1, 2), st.integers(1, 5), st.integers(1, 6), st.integers(1, 3), st.integers(1, 30),
       st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_upa_power_kernel_matches_twin(n_b, nr, nc, rank, n_az, n_el, seed):
    import array_api_compat.numpy as xnp

    r = np.random.default_rng(seed)
    u = r.standard_normal((n_b, nr * nc, rank)) + 1j * r.standard_normal((n_b, nr * nc, rank))
    az, el = np.sort(r.uniform(-1.5, 1.5, n_az)), np.sort(r.uniform(-1.5, 1.5, n_el))
    got = upa_power(u, nr, nc, 2.7, 3.1, az, el, xnp)                       # numba kernel
    np.testing.assert_allclose(got, upa_power_reference(u, nr, nc, 2.7, 3.1, az, el), rtol=1e-9, atol=1e-9)


def test_grid_with_fewer_points_than_sources_is_rejected(rng):
    # review: music/music_2d/music_nd used to return fewer estimates than n_sources without an error
    from estimators import EXAMPLES

    args, kw = EXAMPLES["music"](rng)
    with pytest.raises(ValueError, match="n_sources.*grid"):
        music(*args, **{**kw, "grid": np.array([0.1])})
    args, kw = EXAMPLES["music_2d"](rng)
    with pytest.raises(ValueError, match="n_sources.*grid"):
        music_2d(*args, **{**kw, "azimuth_grid_rad": np.array([0.1]), "elevation_grid_rad": np.array([0.0])})
    args, kw = EXAMPLES["music_nd"](rng)
    with pytest.raises(ValueError, match="n_sources.*grid"):
        music_nd(*args, **{**kw, "grids": [np.array([0.1])] * 3})


def test_fewer_peaks_than_sources_warns():
    import numpy as np
    import pytest

    from estimators import SubspaceWarning, beamscan
    from sensing import steering_vector, ula

    g = ula(8, 0.5)
    x = steering_vector(g, np.array([0.3]), wavelength_m=1.0) @ np.ones((1, 50)) + 0j
    with pytest.warns(SubspaceWarning, match="local maxima"):
        beamscan(x, n_sources=9, geometry=g, wavelength_m=1.0, grid=np.linspace(-0.5, 0.5, 21))


def test_music_2d_rejects_linear_arrays():
    import numpy as np
    import pytest

    from estimators import music_2d
    from sensing import ula

    x = np.ones((6, 10), complex)
    with pytest.raises(ValueError, match="two dimensions"):
        music_2d(x, n_sources=1, geometry=ula(6, 0.5), wavelength_m=1.0)
