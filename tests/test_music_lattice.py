"""General planar fast path of music_2d: any array on a complete rectangular lattice
in some plane (any orientation, any element order) takes the separable lattice path; it must give
the spectrum of the general steering kernel (to 1e-10) and the same estimates. Its numba kernel
(``lattice_power_kernel``) is compared with the vectorised twin (``use_kernel=False``)."""

import numpy as np
import pytest

from estimators import music_2d
from estimators.subspace._grid_search import array_power, lattice_coordinates, lattice_power
from sensing import custom_array, steering_vector, upa


def _rot(ax, ang):
    ax = np.asarray(ax, float) / np.linalg.norm(ax)
    k = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
    return np.eye(3) + np.sin(ang) * k + (1 - np.cos(ang)) * k @ k


def _arrays():
    base = upa(4, 5, 0.5, col_spacing_m=0.4).positions_m
    xy = np.c_[base[:, 1], base[:, 2], np.zeros(len(base))]              # x-y plane
    rot = base @ _rot([1.0, 0.3, -0.5], 0.7).T + np.array([0.3, -1.0, 2.0])
    perm = np.random.default_rng(0).permutation(len(base))
    return {"xy": custom_array(xy), "rotated": custom_array(rot), "rotated_shuffled": custom_array(rot[perm])}


@pytest.mark.parametrize("name", ["xy", "rotated", "rotated_shuffled"])
def test_lattice_detected_and_power_equals_general_kernel(name):
    g = _arrays()[name]
    lat = lattice_coordinates(g.positions_m)
    assert lat is not None and sorted(lat[1:3]) == [4, 5]
    rng = np.random.default_rng(1)
    u = rng.standard_normal((2, 20, 3)) + 1j * rng.standard_normal((2, 20, 3))
    az, el = np.linspace(-1.2, 1.2, 37), np.linspace(-1.0, 1.0, 29)
    aa, ee = np.meshgrid(az, el, indexing="ij")
    dirs = np.stack([np.cos(ee) * np.cos(aa), np.cos(ee) * np.sin(aa), np.sin(ee)], -1).reshape(-1, 3)
    ref = array_power(u, g.positions_m * 2 * np.pi, dirs, np).reshape(2, 37, 29)
    got = lattice_power(u, lat, 2 * np.pi, az, el, np)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10 * ref.max())


def test_non_lattice_arrays_are_not_detected():
    rng = np.random.default_rng(2)
    pos = upa(4, 4, 0.5).positions_m
    assert lattice_coordinates(pos + 0.01 * rng.standard_normal(pos.shape)) is None
    assert lattice_coordinates(pos[:-1]) is None                            # incomplete lattice
    assert lattice_coordinates(np.c_[np.zeros(6), 0.5 * np.arange(6), np.zeros(6)]) is None  # a line


@pytest.mark.parametrize("name", ["xy", "rotated"])
def test_music_2d_same_spectrum_and_estimates_as_general_path(name, monkeypatch):
    g = _arrays()[name]
    az0, el0 = np.array([-0.3, 0.4]), np.array([0.2, -0.25])
    rng = np.random.default_rng(3)
    x = steering_vector(g, az0, el0, wavelength_m=1.0) @ (rng.standard_normal((2, 60)) + 1j * rng.standard_normal((2, 60)))
    x = x + 0.1 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    kw = dict(n_sources=2, geometry=g, wavelength_m=1.0, return_spectrum=True,
              azimuth_grid_rad=np.linspace(-1.0, 1.0, 81), elevation_grid_rad=np.linspace(-0.6, 0.6, 49))
    fast = music_2d(x, **kw)
    import estimators.subspace._music as mod
    monkeypatch.setattr(mod, "lattice_coordinates", lambda p: None)
    slow = music_2d(x, **kw)
    np.testing.assert_allclose(fast.spectrum, slow.spectrum, rtol=1e-10)
    np.testing.assert_allclose(fast.estimates, slow.estimates, atol=1e-10)


def _random_lattice(seed):
    """A complete n1 x n2 lattice with random oblique steps, orientation, offset and element order."""
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(2, 7, size=2)
    kind = seed % 3
    while True:       # a reduced (Lagrange) basis: lattice_coordinates finds the steps of those
        v1 = np.array([0.0, rng.uniform(0.2, 0.9), 0.0])
        v2 = np.array([0.0, rng.uniform(-0.4, 0.4), rng.uniform(0.2, 0.9)])
        if abs(v1 @ v2) < 0.45 * min(v1 @ v1, v2 @ v2):
            break
    if kind == 1:                                                   # x-y plane
        v1, v2 = v1[[1, 2, 0]], v2[[1, 2, 0]]
    elif kind == 2:                                                 # any orientation
        rot = _rot(rng.standard_normal(3), rng.uniform(0, np.pi))
        v1, v2 = rot @ v1, rot @ v2
    i, j = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    pos = rng.standard_normal(3) + i.reshape(-1, 1) * v1 + j.reshape(-1, 1) * v2
    return pos[rng.permutation(len(pos))], rng


@pytest.mark.parametrize("seed", range(12))
def test_lattice_power_kernel_matches_twin_and_general_kernel(seed):
    pos, rng = _random_lattice(seed)
    lat = lattice_coordinates(pos)
    assert lat is not None and lat[1] * lat[2] == len(pos)
    n_b, rank = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    u = rng.standard_normal((n_b, len(pos), rank)) + 1j * rng.standard_normal((n_b, len(pos), rank))
    az = np.sort(rng.uniform(-np.pi, np.pi, int(rng.integers(1, 40))))
    el = np.sort(rng.uniform(-np.pi / 2, np.pi / 2, int(rng.integers(1, 40))))
    got = lattice_power(u, lat, 2 * np.pi, az, el, np)                          # numba kernel
    twin = lattice_power(u, lat, 2 * np.pi, az, el, np, use_kernel=False)       # vectorised twin
    aa, ee = np.meshgrid(az, el, indexing="ij")
    dirs = np.stack([np.cos(ee) * np.cos(aa), np.cos(ee) * np.sin(aa), np.sin(ee)], -1).reshape(-1, 3)
    ref = array_power(u, pos * 2 * np.pi, dirs, np).reshape(got.shape)
    assert got.shape == (n_b, az.size, el.size)
    np.testing.assert_allclose(got, twin, rtol=1e-10, atol=1e-10 * twin.max())
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10 * ref.max())


def test_music_2d_rotated_upa_equals_yz_upa_up_to_the_rotation():
    # a y-z UPA turned about z by psi (and moved): direction (az, el) -> (az + psi, el), the data
    # are the same (the offset is a common phase per direction); the rotated array takes the
    # lattice kernel, the y-z UPA the separable UPA kernel
    g = upa(6, 5, 0.5, col_spacing_m=0.45)
    psi = 0.35
    rot = custom_array(g.positions_m @ _rot([0.0, 0.0, 1.0], psi).T + np.array([0.7, -0.2, 0.4]))
    rng = np.random.default_rng(4)
    az0, el0 = np.array([-0.4, 0.3]), np.array([0.25, -0.15])
    x = steering_vector(g, az0, el0, wavelength_m=1.0) @ (rng.standard_normal((3, 2, 80)) + 1j * rng.standard_normal((3, 2, 80)))
    x = x + 0.1 * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    az, el = np.linspace(-1.2, 1.2, 97), np.linspace(-0.8, 0.8, 65)
    kw = dict(n_sources=2, wavelength_m=1.0, return_spectrum=True, elevation_grid_rad=el)
    ref = music_2d(x, geometry=g, azimuth_grid_rad=az, **kw)
    got = music_2d(x, geometry=rot, azimuth_grid_rad=az + psi, **kw)
    np.testing.assert_allclose(got.spectrum, ref.spectrum, rtol=1e-9)
    np.testing.assert_allclose(got.estimates, ref.estimates + np.array([psi, 0.0]), atol=1e-8)
    np.testing.assert_allclose(ref.estimates, np.broadcast_to(np.c_[az0, el0], ref.estimates.shape), atol=0.02)
