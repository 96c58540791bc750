"""Classic OFDM radar baseline: recovery with physical tolerances, backends, bad input."""

import numpy as np
import pytest

from channels import Paths, cfr_from_paths
from conftest import to_xp
from estimators import ofdm_radar
from sensing import SPEED_OF_LIGHT, Numerology, get_xp, measure, to_numpy, ula

NUM = Numerology(28e9, 120e3, 64, 32)
ARR = ula(8, NUM.wavelength_m / 2)


def _scene(rng, snr_db=20.0):
    az = np.deg2rad(np.array([-30.0, 5.0, 40.0]))
    rng_m = np.array([20.0, 60.0, 110.0])
    vel = np.array([-10.0, 3.0, 15.0])
    tau = 2 * rng_m / SPEED_OF_LIGHT
    fd = 2 * vel * NUM.carrier_hz / SPEED_OF_LIGHT
    g = np.exp(2j * np.pi * rng.uniform(size=3))
    h = cfr_from_paths(Paths.from_arrays(g, tau, fd, az), ARR, NUM)
    m = measure(h, np.ones((64, 32), complex), snr_db=snr_db, rng=rng)
    return m.received, az, rng_m, vel


def _sorted(est, key):
    i = np.argsort(to_numpy(key))
    return {k: to_numpy(getattr(est, k))[i] for k in ("azimuth_rad", "distances_m", "velocities_mps")}


def test_recovers_three_targets(rng):
    y, az, r, v = _scene(rng)
    est = ofdm_radar(y, geometry=ARR, numerology=NUM, n_targets=3)
    got = _sorted(est, est.distances_m)
    # within a fraction of the resolution cells: c/(2B) = 19.5 m, 2*fc*T_O... ~3.9 m/s, ~14 deg
    np.testing.assert_allclose(got["distances_m"], r, atol=0.25 * SPEED_OF_LIGHT / (2 * NUM.bandwidth_hz))
    dv = SPEED_OF_LIGHT / (2 * NUM.carrier_hz * NUM.observation_time_s)
    np.testing.assert_allclose(got["velocities_mps"], v, atol=0.25 * dv)
    np.testing.assert_allclose(got["azimuth_rad"], az, atol=np.deg2rad(2.0))
    assert est.range_doppler_map.shape == (128, 64)
    assert est.distance_axis_m.shape == (128,) and est.velocity_axis_mps.shape == (64,)


def test_one_way_mapping_doubles_distance(rng):
    y, az, r, v = _scene(rng)
    mono = ofdm_radar(y, geometry=ARR, numerology=NUM, n_targets=3)
    one = ofdm_radar(y, geometry=ARR, numerology=NUM, n_targets=3, propagation="one-way")
    np.testing.assert_allclose(to_numpy(one.distances_m), 2 * to_numpy(mono.distances_m))
    np.testing.assert_allclose(to_numpy(one.velocities_mps), 2 * to_numpy(mono.velocities_mps))


def test_backends_agree(xp, rng):
    y, *_ = _scene(rng)
    ref = ofdm_radar(y, geometry=ARR, numerology=NUM, n_targets=3)
    out = ofdm_radar(to_xp(xp, y), geometry=ARR, numerology=NUM, n_targets=3)
    assert get_xp(out.distances_m) is get_xp(to_xp(xp, y))
    np.testing.assert_allclose(to_numpy(out.distances_m), to_numpy(ref.distances_m), rtol=1e-9)
    np.testing.assert_allclose(to_numpy(out.range_doppler_map), to_numpy(ref.range_doppler_map), rtol=1e-9)


def test_bad_input(rng):
    y, *_ = _scene(rng)
    with pytest.raises(ValueError, match="channel_estimate.*shape"):
        ofdm_radar(y[:, :10], geometry=ARR, numerology=NUM, n_targets=1)
    with pytest.raises(ValueError, match="n_targets"):
        ofdm_radar(y, geometry=ARR, numerology=NUM, n_targets=0)
    with pytest.raises(ValueError, match="window"):
        ofdm_radar(y, geometry=ARR, numerology=NUM, n_targets=1, window="kaiser")
    with pytest.raises(ValueError, match="azimuth_grid_rad.*increasing"):
        ofdm_radar(y, geometry=ARR, numerology=NUM, n_targets=1, azimuth_grid_rad=np.array([0.3, 0.2, 0.1]))
    y2 = y.copy()
    y2[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        ofdm_radar(y2, geometry=ARR, numerology=NUM, n_targets=1)
