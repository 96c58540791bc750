"""Uplink multi-user geometry and the location-domain dictionary."""

from __future__ import annotations

import numpy as np
import pytest

import channels
import sensing
from channels import (
    UplinkGeometry,
    draw_uplink_geometry,
    location_dictionary,
    uniform_location_grid,
    uplink_channel,
)

FC = 28e9
LAM = sensing.SPEED_OF_LIGHT / FC


@pytest.fixture
def scene(rng):
    arr = sensing.upa(4, 4, LAM / 2)
    geo = draw_uplink_geometry(bs_array=arr, n_users=3, n_scatterers=4, rng=rng)
    num = sensing.Numerology(FC, 1.92e6, 16, 4)
    return geo, num


def test_channels_is_this_repository():
    import pathlib

    assert pathlib.Path(channels.__file__).resolve().parents[1] == pathlib.Path(__file__).resolve().parents[1]


def test_draw_structure(scene):
    geo, _ = scene
    assert geo.visibility.shape == (3, 4)
    assert geo.visibility.any(axis=0).all()            # every scatterer seen by someone
    assert (geo.visibility.sum(axis=0) >= 2).any()     # joint sparsity present
    d = np.linalg.norm(geo.scatterer_positions_m[:, None] - geo.scatterer_positions_m[None], axis=-1)
    assert d[np.triu_indices(4, 1)].min() >= 4.0
    assert np.all(np.abs(geo.time_offsets_s) <= 10e-9)
    np.testing.assert_allclose(geo.user_positions_m, geo.nominal_user_positions_m + geo.user_position_errors_m)


def test_draw_is_deterministic():
    arr = sensing.upa(2, 2, LAM / 2)
    a = draw_uplink_geometry(bs_array=arr, n_users=2, n_scatterers=3, rng=7)
    b = draw_uplink_geometry(bs_array=arr, n_users=2, n_scatterers=3, rng=7)
    np.testing.assert_array_equal(a.scatterer_positions_m, b.scatterer_positions_m)
    np.testing.assert_array_equal(a.visibility, b.visibility)


def test_paths_delays_include_offsets(scene):
    geo, _ = scene
    p0 = geo.paths(FC)
    k, l = 1, 2
    geom = (np.linalg.norm(geo.user_positions_m[k] - geo.scatterer_positions_m[l])
            + np.linalg.norm(geo.scatterer_positions_m[l] - geo.bs_position_m)) / sensing.SPEED_OF_LIGHT
    assert p0.delays_s[k, l] == pytest.approx(geom + geo.time_offsets_s[k], rel=1e-12)
    los = np.linalg.norm(geo.user_positions_m[k] - geo.bs_position_m) / sensing.SPEED_OF_LIGHT
    assert p0.delays_s[k, -1] == pytest.approx(los + geo.time_offsets_s[k], rel=1e-12)
    np.testing.assert_array_equal(np.abs(p0.gains[:, :-1]) > 0, geo.visibility)


def test_dictionary_reproduces_channel(scene):
    """The dictionary columns at the true positions with the path gains give the CFR exactly."""
    geo, num = scene
    h = uplink_channel(geo, num)
    p = geo.paths(FC)
    d = location_dictionary(geo.scatterer_positions_m, user_positions_m=geo.user_positions_m,
                            time_offsets_s=geo.time_offsets_s, bs_array=geo.bs_array, wavelength_m=LAM,
                            frequencies_hz=num.subcarrier_frequencies_hz)
    q = geo.n_scatterers
    assert d.n_columns == q + 3 and d.allowed.sum() == 3 * q + 3
    for k in range(3):
        x = np.zeros(d.n_columns, complex)
        x[:q] = p.gains[k, :q]
        x[q + k] = p.gains[k, -1]
        np.testing.assert_allclose(d.dense(k) @ x, h[k], atol=1e-12 * np.abs(h[k]).max())


def _dict(grid, users, offs, geo, f):
    return location_dictionary(grid, user_positions_m=users, time_offsets_s=offs, bs_array=geo.bs_array,
                               wavelength_m=LAM, frequencies_hz=f, gradients=True)


def test_gradients_match_finite_differences(scene, rng):
    geo, num = scene
    f = num.subcarrier_frequencies_hz
    grid = geo.scatterer_positions_m + rng.normal(0, 1, (4, 3))
    users, offs = geo.user_positions_m, geo.time_offsets_s
    d = _dict(grid, users, offs, geo, f)
    h = 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        q = 2
        gp, gm = grid.copy(), grid.copy()
        gp[q] += e
        gm[q] -= e
        dp, dm = _dict(gp, users, offs, geo, f), _dict(gm, users, offs, geo, f)
        np.testing.assert_allclose((dp.steering[:, q] - dm.steering[:, q]) / (2 * h), d.d_steering[:, q, i],
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose((dp.delay[:, :, q] - dm.delay[:, :, q]) / (2 * h),
                                   d.d_delay_d_grid[:, :, q, i], rtol=1e-5, atol=1e-6)
        k = 1
        up, um = users.copy(), users.copy()
        up[k] += e
        um[k] -= e
        dp, dm = _dict(grid, up, offs, geo, f), _dict(grid, um, offs, geo, f)
        np.testing.assert_allclose((dp.delay[k] - dm.delay[k]) / (2 * h), d.d_delay_d_user[k, :, :, i],
                                   rtol=1e-5, atol=1e-6)
        los = d.n_grid + k
        np.testing.assert_allclose((dp.steering[:, los] - dm.steering[:, los]) / (2 * h), d.d_steering[:, los, i],
                                   rtol=1e-5, atol=1e-6)
    ht = 1e-15
    op, om = offs.copy(), offs.copy()
    op[0] += ht
    om[0] -= ht
    dp, dm = _dict(grid, users, op, geo, f), _dict(grid, users, om, geo, f)
    np.testing.assert_allclose((dp.delay[0] - dm.delay[0]) / (2 * ht), d.d_delay_d_offset[0], rtol=1e-5,
                               atol=1e-3 * np.abs(d.d_delay_d_offset[0]).max())


def test_dictionary_backend(xp, scene):
    geo, num = scene
    grid = geo.scatterer_positions_m
    from conftest import to_xp

    d = location_dictionary(to_xp(xp, grid), user_positions_m=geo.user_positions_m,
                            time_offsets_s=geo.time_offsets_s, bs_array=geo.bs_array, wavelength_m=LAM,
                            frequencies_hz=num.subcarrier_frequencies_hz, gradients=True)
    ref = location_dictionary(grid, user_positions_m=geo.user_positions_m, time_offsets_s=geo.time_offsets_s,
                              bs_array=geo.bs_array, wavelength_m=LAM,
                              frequencies_hz=num.subcarrier_frequencies_hz, gradients=True)
    assert sensing.get_xp(d.steering) is sensing.get_xp(to_xp(xp, grid))
    np.testing.assert_allclose(sensing.to_numpy(d.delay), ref.delay, atol=1e-12)
    np.testing.assert_allclose(sensing.to_numpy(d.d_delay_d_user), ref.d_delay_d_user, atol=1e-9)


def test_bad_input(scene):
    geo, num = scene
    kw = dict(user_positions_m=geo.user_positions_m, time_offsets_s=geo.time_offsets_s, bs_array=geo.bs_array,
              wavelength_m=LAM, frequencies_hz=num.subcarrier_frequencies_hz)
    with pytest.raises(ValueError, match="empty grid"):
        location_dictionary(np.zeros((0, 3)), **kw)
    with pytest.raises(ValueError, match="must be finite"):
        location_dictionary(np.full((2, 3), np.nan), **kw)
    with pytest.raises(ValueError, match="zero distance"):
        location_dictionary(np.zeros((1, 3)), **kw)
    with pytest.raises(ValueError, match="n_grid, 3"):
        location_dictionary(np.zeros((2, 2)), **kw)
    with pytest.raises(ValueError, match="visibility"):
        UplinkGeometry(geo.bs_array, geo.bs_position_m, geo.nominal_user_positions_m, geo.user_position_errors_m,
                       geo.time_offsets_s, geo.scatterer_positions_m, np.ones((2, 2), bool), geo.los, geo.rcs_m2)
    with pytest.raises(ValueError, match="n_users"):
        draw_uplink_geometry(bs_array=geo.bs_array, n_users=0, n_scatterers=2)


def test_uniform_grid():
    g = uniform_location_grid(((0, 0, 0), (4, 2, 0)), 1.0)
    assert g.shape == (8, 3)
    assert g[:, 0].min() == 0.5 and g[:, 2].max() == 0.0
    with pytest.raises(ValueError, match="spacing_m"):
        uniform_location_grid(((0, 0, 0), (1, 1, 1)), 0.0)
