"""PLAIN stages 2-3 on a compressed tensor (plain_from_compressed) and the per-object refinement."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from channels import Paths, cfr_from_paths
from estimators import CompressedTensor, plain, plain_compress, plain_from_compressed
from sensing import SPEED_OF_LIGHT as C
from sensing import Numerology, complex_noise, ula

NUM = Numerology(26e9, 60e3, 24, 28)
ARRAY = ula(8, NUM.wavelength_m / 2)


def _tensor(seed=0, sigma=0.02, shape4=False):
    g = np.exp(1j * np.arange(1, 4)) * np.linspace(1.0, 0.5, 3)
    p = Paths.from_arrays(g, np.array([100.0, 600.0, 1200.0]) / C, np.array([-40.0, 10.0, 60.0]) * 26e9 / C,
                          np.array([-0.5, 0.1, 0.6]))
    h = cfr_from_paths(p, ARRAY, NUM)
    h = h + complex_noise(h.shape, sigma ** 2, rng=seed)
    return h[None] if shape4 else h


FIELDS = ("azimuths_rad", "path_lengths_m", "velocities_mps", "delays_s", "doppler_hz", "gains", "core_gains",
          "powers", "indices", "residual")


@pytest.mark.parametrize("method,deltas", [("averaging", (1, 2, 2)), ("averaging", (2, 3, 4)),
                                           ("decimation", (1, 2, 2)), ("none", (1, 1, 1)),
                                           ("shifted_decimation", (1, 2, 2)), ("smoothing", (1, 2, 2))])
@pytest.mark.parametrize("fusion", ["omp", "ls"])
@pytest.mark.parametrize("refine", [False, True])
@pytest.mark.parametrize("shape4", [False, True])
def test_from_compressed_equals_plain(method, deltas, fusion, refine, shape4):
    h = _tensor(shape4=shape4)
    kw = dict(geometry=ARRAY, numerology=NUM, fusion=fusion, n_objects=3, refine=refine)
    ref = plain(h, compression=method, deltas=deltas, rng=1, **kw)
    comp = plain_compress(h, method=method, deltas=deltas, rng=1)
    out = plain_from_compressed(comp, **kw)
    for f in FIELDS:
        a, b = np.asarray(getattr(ref, f)), np.asarray(getattr(out, f))
        assert a.shape == b.shape and np.array_equal(a, b), f
    assert (out.compression, out.fusion, out.selection, out.deltas, out.compressed_shape) == \
        (ref.compression, ref.fusion, ref.selection, ref.deltas, ref.compressed_shape)
    assert out.timings.compression_s == 0.0
    # one compression reused: the selection mode changes, the input does not
    before = np.array(comp.tensor, copy=True)
    plain_from_compressed(comp, geometry=ARRAY, numerology=NUM, selection="true_count", n_objects=3)
    assert np.array_equal(before, comp.tensor)


def test_from_compressed_hand_built_without_input_shape():
    h = _tensor()
    comp = plain_compress(h, method="averaging", deltas=(1, 2, 2))
    bare = CompressedTensor(comp.tensor, comp.method, comp.deltas, comp.offsets, comp.n_input_snapshots)
    a = plain_from_compressed(bare, geometry=ARRAY, numerology=NUM, n_objects=3)
    b = plain(h, deltas=(1, 2, 2), geometry=ARRAY, numerology=NUM, n_objects=3)
    assert np.array_equal(a.velocities_mps, b.velocities_mps)
    assert a.gains.shape == (3,)                            # one input snapshot: taken as 3-D
    c4 = plain_compress(np.stack([h, h]), method="averaging", deltas=(1, 2, 2))
    bare4 = CompressedTensor(c4.tensor, c4.method, c4.deltas, c4.offsets, c4.n_input_snapshots)
    assert plain_from_compressed(bare4, geometry=ARRAY, numerology=NUM, n_objects=3).gains.shape == (2, 3)


def test_from_compressed_rejects_misfit():
    h = _tensor()
    comp = plain_compress(h, method="averaging", deltas=(1, 2, 2))
    with pytest.raises(TypeError, match="CompressedTensor"):
        plain_from_compressed(comp.tensor, geometry=ARRAY, numerology=NUM, n_objects=3)
    other_num = Numerology(26e9, 60e3, 48, 28)               # compressed from 24 subcarriers, not 48
    with pytest.raises(ValueError, match="come from a tensor of"):
        plain_from_compressed(comp, geometry=ARRAY, numerology=other_num, n_objects=3)
    with pytest.raises(ValueError, match="come from a tensor of"):
        plain_from_compressed(comp, geometry=ula(6, NUM.wavelength_m / 2), numerology=NUM, n_objects=3)
    # a tensor that does not fit its own deltas (hand-edited)
    bad = dataclasses.replace(comp, tensor=comp.tensor[:, :, :6])
    with pytest.raises(ValueError, match="sizes"):
        plain_from_compressed(bad, geometry=ARRAY, numerology=NUM, n_objects=3)
    bad = dataclasses.replace(comp, deltas=(1, 3, 2))
    with pytest.raises(ValueError, match="sizes"):
        plain_from_compressed(bad, geometry=ARRAY, numerology=NUM, n_objects=3)
    bad = dataclasses.replace(comp, tensor=np.concatenate([comp.tensor, comp.tensor]))
    with pytest.raises(ValueError, match="snapshots"):
        plain_from_compressed(bad, geometry=ARRAY, numerology=NUM, n_objects=3)
    sm = plain_compress(h, method="smoothing", deltas=(1, 2, 2))
    with pytest.raises(ValueError, match="come from a tensor of"):
        plain_from_compressed(sm, geometry=ARRAY, numerology=Numerology(26e9, 60e3, 20, 28), n_objects=3)
    with pytest.raises(ValueError, match="do not fit"):
        plain_from_compressed(dataclasses.replace(sm, input_shape=(8, 12, 28)), geometry=ARRAY,
                              numerology=Numerology(26e9, 60e3, 12, 28), n_objects=3)
    with pytest.raises(ValueError, match="input_shape"):
        plain_from_compressed(dataclasses.replace(sm, input_shape=None), geometry=ARRAY, numerology=NUM,
                              n_objects=3)
    nan = dataclasses.replace(comp, tensor=np.where(np.arange(comp.tensor.size).reshape(comp.tensor.shape) == 0,
                                                    np.nan, comp.tensor))
    with pytest.raises(ValueError):
        plain_from_compressed(nan, geometry=ARRAY, numerology=NUM, n_objects=3)
    with pytest.raises(TypeError, match="refine"):
        plain(h, geometry=ARRAY, numerology=NUM, n_objects=3, refine="yes")


def test_refine_noise_free_exact_and_separates_close_dopplers():
    """Two objects 0.15 Doppler cells apart (the weaker 20 dB down), well apart in angle and delay:
    the decoupled time mode's root for the weak one is pulled by ~2.8 m/s; the refinement, on each
    object's own component, recovers it."""
    num = Numerology(28e9, 120e3, 64, 64)
    arr = ula(16, num.wavelength_m / 2)
    cell_v = C / (num.carrier_hz * num.observation_time_s)
    vel = np.array([10.0, 10.0 + 0.15 * cell_v, -20.0])
    p = Paths.from_arrays(np.array([1.0, 0.1j, 0.5]), np.array([100.0, 300.0, 200.0]) / C,
                          vel * num.carrier_hz / C, np.array([-0.6, 0.3, 0.0]))
    h = cfr_from_paths(p, arr, num)
    h = h + complex_noise(h.shape, 0.1, rng=3)
    kw = dict(geometry=arr, numerology=num, deltas=(1, 2, 4), n_objects=3)
    base = plain(h, **kw)
    ref = plain(h, refine=True, **kw)
    o = np.argsort(np.asarray(ref.azimuths_rad))
    ob = np.argsort(np.asarray(base.azimuths_rad))
    truth = vel[[0, 2, 1]]                                       # by azimuth
    assert abs(np.asarray(base.velocities_mps)[ob][2] - truth[2]) > 1.0
    assert np.all(np.abs(np.asarray(ref.velocities_mps)[o] - truth) < [0.05, 0.05, 0.5])
    np.testing.assert_allclose(np.asarray(ref.azimuths_rad)[o], [-0.6, 0.0, 0.3], atol=2e-3)
    np.testing.assert_allclose(np.abs(np.asarray(ref.gains))[o], [1.0, 0.5, 0.1], rtol=0.1)
    assert np.array_equal(ref.indices, base.indices)
    # noise-free: the refinement keeps an exact answer exact
    ex = plain(cfr_from_paths(p, arr, num), refine=True, **kw)
    np.testing.assert_allclose(np.sort(np.asarray(ex.velocities_mps)), np.sort(vel), atol=1e-6)
