"""Array geometry and steering: the phase conventions, pinned analytically."""

import numpy as np
import pytest

from conftest import to_xp
from sensing import (custom_array, get_xp, steering_derivatives, steering_from_directions, steering_vector,
                     to_numpy, ula, ula_spatial_frequency, unit_vector, upa)

LAM = 0.01


def test_ula_phase_progression_broadside_zero():
    g = ula(8, LAM / 2)
    az = np.deg2rad(np.array([0.0, 30.0, -45.0]))
    a = steering_vector(g, az, wavelength_m=LAM)
    assert a.shape == (8, 3)
    # broadside: all ones
    np.testing.assert_allclose(a[:, 0], 1.0, atol=1e-14)
    # Vandermonde with mu = pi sin(az) for half-wavelength spacing
    for j in (1, 2):
        mu = np.pi * np.sin(az[j])
        np.testing.assert_allclose(a[:, j], np.exp(1j * mu * np.arange(8)), atol=1e-12)
    np.testing.assert_allclose(ula_spatial_frequency(az, spacing_m=LAM / 2, wavelength_m=LAM),
                               np.pi * np.sin(az), atol=1e-15)


def test_ula_elevation_scales_by_cos():
    g = ula(4, LAM / 2)
    a = steering_vector(g, np.array([0.5]), np.array([0.3]), wavelength_m=LAM)
    mu = np.pi * np.sin(0.5) * np.cos(0.3)
    np.testing.assert_allclose(a[:, 0], np.exp(1j * mu * np.arange(4)), atol=1e-12)


def test_upa_element_order_and_phases():
    g = upa(2, 3, LAM / 2)
    assert g.shape == (2, 3) and g.n_elements == 6
    az, el = 0.4, -0.2
    a = steering_vector(g, np.array([az]), np.array([el]), wavelength_m=LAM)[:, 0]
    mu_h = np.pi * np.cos(el) * np.sin(az)
    mu_v = np.pi * np.sin(el)
    want = np.array([np.exp(1j * (c * mu_h + r * mu_v)) for r in range(2) for c in range(3)])
    np.testing.assert_allclose(a, want, atol=1e-12)


def test_directions_match_angles():
    g = upa(3, 3, LAM / 2)
    az = np.array([0.1, -0.7])
    el = np.array([0.2, 0.05])
    a1 = steering_vector(g, az, el, wavelength_m=LAM)
    a2 = steering_from_directions(g, unit_vector(az, el), wavelength_m=LAM)
    np.testing.assert_allclose(a1, a2, atol=1e-14)


def test_derivatives_match_finite_differences():
    g = custom_array(np.random.default_rng(1).uniform(-0.02, 0.02, (7, 3)))
    az = np.array([0.3, -1.1])
    el = np.array([0.1, 0.4])
    d_az, d_el = steering_derivatives(g, az, el, wavelength_m=LAM)
    h = 1e-6
    fd_az = (steering_vector(g, az + h, el, wavelength_m=LAM) - steering_vector(g, az - h, el, wavelength_m=LAM)) / (2 * h)
    fd_el = (steering_vector(g, az, el + h, wavelength_m=LAM) - steering_vector(g, az, el - h, wavelength_m=LAM)) / (2 * h)
    np.testing.assert_allclose(d_az, fd_az, atol=1e-6)
    np.testing.assert_allclose(d_el, fd_el, atol=1e-6)


def test_batched_angles():
    g = ula(5, LAM / 2)
    az = np.random.default_rng(0).uniform(-1, 1, (4, 3))
    a = steering_vector(g, az, wavelength_m=LAM)
    assert a.shape == (4, 5, 3)
    np.testing.assert_allclose(a[2], steering_vector(g, az[2], wavelength_m=LAM), atol=0)


def test_backend_agnostic(xp):
    g = upa(2, 2, LAM / 2)
    az = np.array([0.1, 0.5])
    el = np.array([0.0, 0.2])
    ref = steering_vector(g, az, el, wavelength_m=LAM)
    ref_d = steering_derivatives(g, az, el, wavelength_m=LAM)
    out = steering_vector(g, to_xp(xp, az), to_xp(xp, el), wavelength_m=LAM)
    assert get_xp(out) is get_xp(to_xp(xp, az))
    np.testing.assert_allclose(to_numpy(out), ref, atol=1e-12)
    d = steering_derivatives(g, to_xp(xp, az), to_xp(xp, el), wavelength_m=LAM)
    np.testing.assert_allclose(to_numpy(d[0]), ref_d[0], atol=1e-12)


def test_float32_gives_complex64():
    a = steering_vector(ula(3, LAM / 2), np.array([0.2], dtype=np.float32), wavelength_m=LAM)
    assert a.dtype == np.complex64


def test_bad_input():
    with pytest.raises(ValueError, match="n_elements"):
        ula(0, 0.1)
    with pytest.raises(ValueError, match="spacing_m"):
        ula(4, -1.0)
    with pytest.raises(TypeError, match="n_rows"):
        upa(2.0, 2, 0.1)
    with pytest.raises(ValueError, match="positions_m"):
        custom_array(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="azimuth_rad.*finite"):
        steering_vector(ula(4, 0.005), np.array([np.nan]), wavelength_m=LAM)
    with pytest.raises(ValueError, match="wavelength_m"):
        steering_vector(ula(4, 0.005), np.array([0.1]), wavelength_m=0.0)
    with pytest.raises(TypeError, match="geometry"):
        steering_vector(np.zeros((4, 3)), np.array([0.1]), wavelength_m=LAM)
    with pytest.raises(ValueError, match="wavelength_m"):     # was ZeroDivisionError
        ula_spatial_frequency(0.3, spacing_m=LAM / 2, wavelength_m=0.0)
    with pytest.raises(ValueError, match="spacing_m"):        # was a silent NaN
        ula_spatial_frequency(0.3, spacing_m=np.nan, wavelength_m=LAM)


def test_unit_vector_validates():
    from channels import array_phases, free_space_amplitude

    with pytest.raises(ValueError, match="azimuth_rad.*finite"):
        unit_vector(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="broadcast"):
        unit_vector(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="wavelength_m"):
        array_phases(ula(3, 0.005), np.zeros(2), np.zeros(2), wavelength_m=0.0)
    with pytest.raises(ValueError, match="distance_m"):
        free_space_amplitude(np.array([10.0, np.nan]), 28e9)
    np.testing.assert_allclose(unit_vector(0.0, 0.0), [1.0, 0.0, 0.0])
