"""Sionna RT adapter (optional: skipped cleanly without sionna-rt and a usable LLVM)."""

from __future__ import annotations

import numpy as np
import pytest

from channels import RTSite, cfr_from_paths, sionna_rt_available, sionna_rt_channel, sionna_rt_paths, surface_heights
from sensing import Numerology, custom_array

pytestmark = pytest.mark.skipif(not sionna_rt_available(),
                                reason="needs sionna-rt (extra `rt`) and libLLVM >= 17 for Dr.Jit on CPU")

UE = np.array([[10.0, 3.0, 1.5], [20.0, -5.0, 1.5], [40.0, 2.0, 1.5]])


def _site(**kw):
    base = dict(scene="simple_street_canyon", bs_position_m=(-30.0, 0.0, 20.0), n1=4, n2=2,
                dual_polarized=False, samples_per_src=20_000, seed=3)
    base.update(kw)
    return RTSite(**base)


def test_paths_match_sionna_cfr_with_its_array():
    import sionna.rt as rt

    site = _site()
    out = sionna_rt_paths(site, UE, element_pattern=False)
    assert out.paths.gains.shape[0] == 3 and out.los.all()
    scene = rt.load_scene(rt.scene.simple_street_canyon, merge_shapes=True)
    scene.frequency = site.carrier_hz
    scene.tx_array = rt.PlanarArray(num_rows=2, num_cols=4, pattern="iso", polarization="V")
    scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
    scene.add(rt.Transmitter("bs", position=[-30.0, 0.0, 20.0]))
    for i, p in enumerate(UE):
        scene.add(rt.Receiver(f"ue{i}", position=[float(v) for v in p]))
    paths = rt.PathSolver()(scene, max_depth=3, samples_per_src=20_000, synthetic_array=True, refraction=False,
                            seed=3)
    f = np.arange(5) * 1e6
    ref = paths.cfr(frequencies=f, normalize_delays=False, out_type="numpy")[:, 0, 0, :, 0, :]
    arr = custom_array(np.array(scene.tx_array.positions(site.wavelength_m)).T)   # Sionna's element order
    h = cfr_from_paths(out.paths, arr, Numerology(site.carrier_hz, 30e3, 10, 1), frequencies_hz=f,
                       symbol_times_s=np.zeros(1))[..., 0]
    # Sionna computes in float32: agreement to about -70 dB
    assert np.linalg.norm(h - ref) / np.linalg.norm(ref) < 1e-3


def test_cache_round_trip_and_dual_pol_channel(tmp_path, monkeypatch):
    site = _site(dual_polarized=True)
    cache = tmp_path / "rt.h5"
    a = sionna_rt_channel(site, UE, n_subbands=3, cache_path=cache)
    assert a.csi.shape == (3, 16, 3) and cache.exists()
    np.testing.assert_allclose(np.sum(np.abs(a.polarization[a.path_kind > 0]) ** 2, axis=-1), 1.0, rtol=1e-6)
    import channels._sionna_rt as mod

    def boom(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(mod, "_trace", boom)
    b = sionna_rt_channel(site, UE, n_subbands=3, cache_path=cache)
    np.testing.assert_array_equal(a.csi, b.csi)
    with pytest.raises(AssertionError, match="cache"):           # other positions: a new trace
        sionna_rt_channel(site, UE[:2], n_subbands=3, cache_path=cache)


def test_batches_agree_and_terrain():
    one = sionna_rt_channel(_site(batch_size=1), UE, n_subbands=2)
    all3 = sionna_rt_channel(_site(batch_size=3), UE, n_subbands=2)
    err = np.linalg.norm(one.csi - all3.csi) / np.linalg.norm(all3.csi)
    assert err < 1e-2
    z = surface_heights("simple_street_canyon", np.array([[0.0, 0.0], [10.0, 3.0]]))
    assert np.all(np.abs(z) < 1.0)                              # street level in the canyon


def test_bad_input():
    with pytest.raises(ValueError, match="scene"):
        sionna_rt_paths(_site(scene="atlantis"), UE)
    with pytest.raises(ValueError, match="bs_position_m"):
        RTSite("simple_street_canyon", (0.0, 0.0))
    with pytest.raises(TypeError, match="RTSite"):
        sionna_rt_paths("simple_street_canyon", UE)
