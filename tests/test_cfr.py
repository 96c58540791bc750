"""Paths -> CFR: numba kernel == NumPy twin, analytic delay/Doppler/steering ramps, backends."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels import Paths, array_phases, cfr_from_paths, monostatic_paths, uplink_paths
from channels._kernels import cfr_kernel, cfr_kernel_mimo
from channels._reference import cfr_reference
from conftest import to_xp
from sensing import SPEED_OF_LIGHT, Numerology, get_xp, steering_vector, to_numpy, ula, upa

NUM = Numerology(28e9, 120e3, 24, 10)
LAM = NUM.wavelength_m


def _random_paths(rng, batch, n_p):
    shape = batch + (n_p,)
    g = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return Paths(g, rng.uniform(0, 2e-6, shape), rng.uniform(-3e3, 3e3, shape),
                 rng.uniform(-1.2, 1.2, shape), rng.uniform(-0.5, 0.5, shape),
                 rng.uniform(-1.2, 1.2, shape), rng.uniform(-0.5, 0.5, shape))


@given(seed=st.integers(0, 2**31), n_b=st.integers(1, 3), n_p=st.integers(1, 5), n_r=st.integers(1, 4),
       n_k=st.integers(1, 9), n_t=st.integers(1, 6), n_s=st.integers(0, 3))
def test_kernel_matches_numpy_twin(seed, n_b, n_p, n_r, n_k, n_t, n_s):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n_b, n_p)) + 1j * rng.standard_normal((n_b, n_p))
    g[rng.uniform(size=g.shape) < 0.2] = 0  # padded paths
    rx = rng.uniform(-np.pi, np.pi, (n_b, n_r, n_p))
    tau = rng.uniform(0, 1e-6, (n_b, n_p))
    fd = rng.uniform(-1e3, 1e3, (n_b, n_p))
    f = rng.uniform(-1e6, 1e6, n_k)
    t = rng.uniform(0, 1e-3, n_t)
    if n_s == 0:
        out = cfr_kernel(g, rx, tau, fd, f, t, np.empty((n_b, n_r, n_k, n_t), complex))
        ref = cfr_reference(g, rx, tau, fd, f, t)
    else:
        tx = rng.uniform(-np.pi, np.pi, (n_b, n_s, n_p))
        out = cfr_kernel_mimo(g, rx, tx, tau, fd, f, t, np.empty((n_b, n_r, n_k, n_t, n_s), complex))
        ref = cfr_reference(g, rx, tau, fd, f, t, tx_phase=tx)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


def test_delay_doppler_and_steering_ramps():
    tau, fd, az = 0.4e-6, 1500.0, np.deg2rad(25.0)
    p = Paths.from_arrays(np.array([2.0 + 0j]), np.array([tau]), np.array([fd]), np.array([az]))
    arr = ula(6, LAM / 2)
    h = cfr_from_paths(p, arr, NUM)
    assert h.shape == (6, 24, 10)
    # delay ramp along subcarriers: phase step -2 pi df tau
    np.testing.assert_allclose(h[0, 1:, 0] / h[0, :-1, 0], np.exp(-2j * np.pi * NUM.subcarrier_spacing_hz * tau))
    # Doppler ramp along symbols: phase step +2 pi fD T_O
    np.testing.assert_allclose(h[0, 0, 1:] / h[0, 0, :-1], np.exp(2j * np.pi * fd * NUM.symbol_duration_s))
    # steering along antennas: phase step pi sin(az)
    np.testing.assert_allclose(h[1:, 0, 0] / h[:-1, 0, 0], np.exp(1j * np.pi * np.sin(az)))
    assert h[0, 0, 0] == pytest.approx(2.0)


def test_tx_array_conjugates_departure():
    p = Paths.from_arrays(np.array([1.0 + 0j]), np.array([0.0]), aoa_az_rad=np.array([0.3]),
                          aod_az_rad=np.array([-0.2]))
    rx, tx = ula(3, LAM / 2), ula(4, LAM / 2)
    h = cfr_from_paths(p, rx, NUM, tx_array=tx)
    assert h.shape == (3, 24, 10, 4)
    want = steering_vector(rx, np.array([0.3]), wavelength_m=LAM)[:, 0][:, None] * \
        np.conj(steering_vector(tx, np.array([-0.2]), wavelength_m=LAM)[:, 0])[None, :]
    np.testing.assert_allclose(h[:, 0, 0, :], want, atol=1e-12)


@pytest.mark.parametrize("mimo", [False, True])
def test_xp_path_matches_kernel(xp, rng, mimo):
    paths = _random_paths(rng, (2, 3), 4)
    arr = upa(2, 2, LAM / 2)
    tx = ula(3, LAM / 2) if mimo else None
    ref = cfr_from_paths(paths, arr, NUM, tx_array=tx)
    xpaths = Paths(*(to_xp(xp, getattr(paths, f)) for f in
                     ("gains", "delays_s", "doppler_hz", "aoa_az_rad", "aoa_el_rad", "aod_az_rad", "aod_el_rad")))
    out = cfr_from_paths(xpaths, arr, NUM, tx_array=tx)
    assert get_xp(out) is get_xp(xpaths.gains)
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-10, atol=1e-10)
    if xp is not np and "numpy" not in xp.__name__:
        with pytest.raises(TypeError, match="numba"):
            cfr_from_paths(xpaths, arr, NUM, method="numba")


def test_frequency_override_and_array_phases():
    p = Paths.from_arrays(np.array([[1.0 + 0j]]), np.array([[1e-7]]))
    h = cfr_from_paths(p, ula(2, LAM / 2), NUM, frequencies_hz=np.array([0.0, 1e6]), symbol_times_s=np.array([0.0]))
    assert h.shape == (1, 2, 2, 1)
    np.testing.assert_allclose(h[0, 0, 1, 0], np.exp(-2j * np.pi * 1e6 * 1e-7))
    ph = array_phases(ula(3, LAM / 2), np.array([np.pi / 2]), np.array([0.0]), wavelength_m=LAM)
    np.testing.assert_allclose(ph[:, 0], np.pi * np.arange(3), atol=1e-12)


def test_grid_override_in_any_namespace(xp):
    p = Paths.from_arrays(np.array([[1.0 + 0j]]), np.array([[1e-7]]))
    f = np.array([0.0, 1e6])
    ref = cfr_from_paths(p, ula(2, LAM / 2), NUM, frequencies_hz=f, symbol_times_s=np.array([0.0]))
    out = cfr_from_paths(p, ula(2, LAM / 2), NUM, frequencies_hz=to_xp(xp, f), symbol_times_s=to_xp(xp, np.array([0.0])))
    np.testing.assert_allclose(out, ref)


def test_monostatic_geometry():
    fc = 28e9
    pos = np.array([[100.0, 0.0, 0.0], [0.0, 50.0, 0.0]])
    vel = np.array([[-10.0, 0.0, 0.0], [0.0, 0.0, 3.0]])  # first approaches, second moves tangentially
    p = monostatic_paths(pos, carrier_hz=fc, target_velocities_mps=vel)
    np.testing.assert_allclose(p.delays_s, 2 * np.array([100.0, 50.0]) / SPEED_OF_LIGHT)
    np.testing.assert_allclose(p.doppler_hz, [2 * 10 * fc / SPEED_OF_LIGHT, 0.0], atol=1e-9)
    np.testing.assert_allclose(p.aoa_az_rad, [0.0, np.pi / 2])
    lam = SPEED_OF_LIGHT / fc
    np.testing.assert_allclose(np.abs(p.gains[0]), np.sqrt(lam**2 / ((4 * np.pi) ** 3 * 100.0**4)))
    # yawed array: a target on global +y is broadside when the array faces +y
    p2 = monostatic_paths(pos[1:], carrier_hz=fc, bs_yaw_rad=np.pi / 2)
    np.testing.assert_allclose(p2.aoa_az_rad, [0.0], atol=1e-12)


def test_uplink_geometry():
    fc = 3.5e9
    users = np.array([[50.0, 0.0, 0.0], [40.0, 10.0, 0.0]])
    scat = np.array([[30.0, 30.0, 5.0]])
    vis = np.array([[True], [False]])
    vel = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    p = uplink_paths(users, scat, carrier_hz=fc, visibility=vis, user_velocities_mps=vel, los=[True, False])
    assert p.gains.shape == (2, 2)
    d1 = np.linalg.norm(scat[0] - users[0])
    d2 = np.linalg.norm(scat[0])
    assert p.delays_s[0, 0] == pytest.approx((d1 + d2) / SPEED_OF_LIGHT)
    assert p.delays_s[0, 1] == pytest.approx(50.0 / SPEED_OF_LIGHT)
    assert p.gains[1, 0] == 0 and p.gains[1, 1] == 0  # invisible scatterer, no LoS
    fd = np.dot(vel[0], (scat[0] - users[0]) / d1) * fc / SPEED_OF_LIGHT
    assert p.doppler_hz[0, 0] == pytest.approx(fd)
    assert p.aoa_az_rad[0, 1] == pytest.approx(0.0)


def test_bad_input():
    with pytest.raises(ValueError, match="delays_s"):
        Paths.from_arrays(np.array([1.0 + 0j]), np.array([-1e-9]))
    with pytest.raises(ValueError, match="doppler_hz.*shape"):
        Paths(np.ones(2, complex), np.zeros(2), np.zeros(3), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="gains.*NaN"):
        Paths.from_arrays(np.array([np.nan + 0j]), np.array([0.0]))
    p = Paths.from_arrays(np.array([1.0 + 0j]), np.array([0.0]))
    with pytest.raises(TypeError, match="rx_array"):
        cfr_from_paths(p, None, NUM)
    with pytest.raises(ValueError, match="method"):
        cfr_from_paths(p, ula(2, 0.005), NUM, method="fast")
    with pytest.raises(ValueError, match="target_positions_m"):
        monostatic_paths(np.zeros((2, 2)), carrier_hz=1e9)
    with pytest.raises(ValueError, match="zero distance"):
        monostatic_paths(np.zeros((1, 3)), carrier_hz=1e9)
    with pytest.raises(ValueError, match="rcs_m2.*broadcast"):
        monostatic_paths(np.ones((1, 3)), carrier_hz=1e9, rcs_m2=np.ones(3))
    users, scat = np.array([[10.0, 5.0, 0.0], [20.0, -3.0, 0.0]]), np.array([[15.0, 0.0, 0.0]])
    for bad, match in ((-1.0, "rcs_m2.*>= 0"), (np.nan, "rcs_m2.*finite"), (np.ones(5), "rcs_m2.*broadcast")):
        with pytest.raises(ValueError, match=match):
            uplink_paths(users, scat, carrier_hz=1e9, rcs_m2=bad)
    with pytest.raises(ValueError, match="los.*broadcast"):
        uplink_paths(users, scat, carrier_hz=1e9, los=[True, False, True])
    with pytest.raises(TypeError, match="los"):
        uplink_paths(users, scat, carrier_hz=1e9, los="yes")
