"""Geometric city model: built-in sites, determinism, spatial consistency, geometry, CSI synthesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import channels
from channels import (
    SITE_SPECS,
    Paths,
    cfr_from_paths,
    city_channel,
    city_paths,
    city_site,
    city_site_names,
    sample_user_positions,
    segments_blocked,
    subband_frequencies,
)
from estimators import dft_beams
from sensing import Numerology


@pytest.fixture(scope="module")
def plaza():
    return city_site("plaza")


def test_at_least_ten_sites_with_distinct_layouts():
    names = city_site_names()
    assert len(names) >= 10 and len(set(names)) == len(names)
    specs = [SITE_SPECS[n] for n in names]
    # layouts differ in their recipe, not only in the seed
    recipes = {(s.block_m, s.street_m, s.height_m, s.fill, s.open_regions, s.bs_height_m, s.bs_azimuth_deg)
               for s in specs}
    assert len(recipes) == len(specs)
    sites = [city_site(n) for n in names]
    counts = {len(s.buildings) for s in sites}
    assert len(counts) >= 8
    for s in sites:
        assert not s.inside_buildings(s.bs_position_m[None, :2])[0] or \
            s.bs_position_m[2] > s.buildings[s.inside_buildings(s.bs_position_m[None, :2])][0, 4]


def test_same_position_same_channel_and_site_is_deterministic(plaza):
    pos = sample_user_positions(plaza, 50, rng=3)
    a = city_channel(plaza, pos)
    b = city_channel(city_site("plaza"), pos.copy())
    np.testing.assert_array_equal(a.csi, b.csi)
    # the channel of a user does not depend on who else is in the batch
    c = city_channel(plaza, pos[10:20])
    np.testing.assert_allclose(c.csi, a.csi[10:20], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(sample_user_positions(plaza, 50, rng=3), pos)


def test_spatial_consistency_correlation_decays_with_distance(plaza, rng):
    base = sample_user_positions(plaza, 150, rng=rng)
    v = dft_beams(4, 4, 4, 4)

    def profile(h):
        x = np.einsum("nj,upns->upjs", v.conj(), h.reshape(h.shape[0], 2, 16, -1))
        p = np.sum(np.abs(x) ** 2, axis=(1, 3))
        return p / np.linalg.norm(p, axis=1, keepdims=True)

    h0 = city_channel(plaza, base).csi
    p0 = profile(h0)
    beam_corr, chan_corr = [], []
    for d in (0.001, 2.0, 20.0, 100.0):
        ang = rng.uniform(0, 2 * np.pi, len(base))
        pos = base + np.column_stack([d * np.cos(ang), d * np.sin(ang), np.zeros(len(base))])
        ok = ~plaza.inside_buildings(pos[:, :2])
        h1 = city_channel(plaza, pos[ok]).csi
        beam_corr.append(np.mean(np.sum(p0[ok] * profile(h1), axis=1)))
        c = np.abs(np.sum(h0[ok].conj() * h1, axis=(1, 2))) / (np.linalg.norm(h0[ok], axis=(1, 2))
                                                              * np.linalg.norm(h1, axis=(1, 2)))
        chan_corr.append(c.mean())
    # the beam-power profile (the subspace) decorrelates over tens of metres, monotonically
    assert beam_corr[0] > 0.999 and np.all(np.diff(beam_corr) < 0) and beam_corr[-1] < 0.9
    # complex CSI: identical at 1 mm, decorrelated (small-scale fading) at 100 m
    assert chan_corr[0] > 0.99 and chan_corr[-1] < 0.3


def test_sites_differ(rng):
    a, b = city_site("manhattan"), city_site("suburb")
    assert a.buildings.shape != b.buildings.shape or not np.allclose(a.buildings, b.buildings)
    pa = city_paths(a, sample_user_positions(a, 400, rng=1))
    pb = city_paths(b, sample_user_positions(b, 400, rng=1))
    assert abs(pa.los.mean() - pb.los.mean()) > 0.1


def test_paths_ground_truth_and_padding(plaza):
    pos = sample_user_positions(plaza, 30, rng=5)
    out = city_paths(plaza, pos, max_paths=16)
    p = out.paths
    assert p.gains.shape == (30, 16) and out.polarization.shape == (30, 16, 2)
    pw = np.abs(p.gains) ** 2
    assert np.all(np.diff(pw, axis=1) <= 1e-30)                       # strongest first, zero padding last
    assert np.all((out.path_kind == 0) == (p.gains == 0))
    np.testing.assert_allclose(np.sum(np.abs(out.polarization[out.path_kind > 0]) ** 2, axis=-1), 1.0)
    # LoS delay = distance / c
    los = out.path_kind == 1
    u, k = np.nonzero(los)
    d = np.linalg.norm(pos[u] - plaza.bs_position_m, axis=1)
    np.testing.assert_allclose(p.delays_s[u, k], d / 299_792_458.0, rtol=1e-12)
    assert np.array_equal(np.any(los, axis=1), out.los)
    # every path departs within the physical angular range
    assert np.all(np.abs(p.aoa_el_rad) <= math.pi / 2)


def test_csi_matches_cfr_from_paths_and_polarization(plaza):
    pos = sample_user_positions(plaza, 8, rng=9)
    ch = city_channel(plaza, pos, n_subbands=5)
    assert ch.csi.shape == (8, 32, 5)
    f = subband_frequencies(5)
    num = Numerology(plaza.carrier_hz, 30e3, 5 * 48, 1)
    for pol in (0, 1):
        g = ch.paths.gains * ch.polarization[..., pol]
        p = Paths(g, ch.paths.delays_s, ch.paths.doppler_hz, ch.paths.aoa_az_rad, ch.paths.aoa_el_rad,
                  ch.paths.aod_az_rad, ch.paths.aod_el_rad)
        h = cfr_from_paths(p, plaza.bs_array(), num, frequencies_hz=f, symbol_times_s=np.zeros(1))[..., 0]
        np.testing.assert_allclose(ch.csi[:, pol * 16:(pol + 1) * 16], h, rtol=1e-12)
    # port order n1 * N2 + n2: a LoS-only channel is the steering vector of the BS-side angle
    single = city_site("plaza", n1=4, n2=2, dual_polarized=False)
    assert single.n_ports == 8
    c1 = city_channel(single, pos[:3], n_subbands=2)
    assert c1.csi.shape == (3, 8, 2)


def test_segments_blocked_simple_cases():
    boxes = np.array([[0.0, 10.0, 0.0, 10.0, 20.0]])
    p0 = np.array([[-5.0, 5.0, 1.0], [-5.0, 5.0, 30.0], [-5.0, -5.0, 1.0], [-5.0, 5.0, 1.0]])
    p1 = np.array([[15.0, 5.0, 1.0], [15.0, 5.0, 25.0], [15.0, -5.0, 1.0], [15.0, 5.0, 1.0]])
    np.testing.assert_array_equal(segments_blocked(p0, p1, boxes, np.array([-1, -1, -1, 0])),
                                  [True, False, False, False])


@given(n=st.integers(1, 40), nb=st.integers(0, 12), seed=st.integers(0, 2**31 - 1))
def test_blockage_kernel_matches_numpy_twin(n, nb, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(-50, 50, (n, 3))
    p1 = rng.uniform(-50, 50, (n, 3))
    p0[:, 2] = np.abs(p0[:, 2])
    p1[:, 2] = np.abs(p1[:, 2])
    lo = rng.uniform(-40, 30, (nb, 2))
    sz = rng.uniform(2, 20, (nb, 2))
    boxes = np.column_stack([lo[:, 0], lo[:, 0] + sz[:, 0], lo[:, 1], lo[:, 1] + sz[:, 1], rng.uniform(1, 40, nb)])
    skip = rng.integers(-1, max(nb, 1), n)
    a = segments_blocked(p0, p1, boxes, skip, method="numba")
    b = segments_blocked(p0, p1, boxes, skip, method="numpy")
    np.testing.assert_array_equal(a, b)


def test_users_outdoor_in_sector(plaza):
    pos = sample_user_positions(plaza, 500, rng=2)
    assert not plaza.inside_buildings(pos[:, :2]).any()
    d = pos[:, :2] - plaza.bs_position_m[:2]
    az = (np.arctan2(d[:, 1], d[:, 0]) - plaza.bs_azimuth_rad + np.pi) % (2 * np.pi) - np.pi
    assert np.all(np.abs(az) <= math.radians(60) + 1e-12) and np.all(np.hypot(*d.T) >= 20)
    assert np.all(pos[:, 2] == 1.5)


def test_bad_inputs(plaza):
    with pytest.raises(ValueError, match="name"):
        city_site("atlantis")
    with pytest.raises(TypeError, match="CitySite"):
        city_paths("plaza", np.zeros((1, 3)))
    with pytest.raises(ValueError, match="positions_m"):
        city_paths(plaza, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="finite"):
        city_channel(plaza, np.array([[np.nan, 0.0, 1.5]]))
    with pytest.raises(ValueError, match="heights"):
        city_channel(plaza, np.array([[0.0, 0.0, -1.0]]))
    with pytest.raises(ValueError, match="n_subbands"):
        city_channel(plaza, np.array([[0.0, 0.0, 1.5]]), n_subbands=0)


def test_channels_package_exports():
    for name in ("city_site", "city_channel", "city_paths", "sample_user_positions"):
        assert hasattr(channels, name) and name in channels.__all__
