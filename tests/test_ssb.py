"""SSB beam sweep, RSRP and the L1-RSRP report quantisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import to_xp

import sensing
from sensing import (
    quantize_rsrp_absolute,
    quantize_rsrp_differential,
    rsrp_fingerprint,
    rsrp_report,
    ssb_codebook,
    ssb_rsrp,
    to_numpy,
)


def test_ssb_codebook_unit_norm_orthogonal_on_subarray():
    cb = ssb_codebook(8, 4, n_beams_h=4, n_beams_v=2)
    f = cb.beams
    assert f.shape == (32, 8) and cb.n_beams == 8
    np.testing.assert_allclose(f.conj().T @ f, np.eye(8), atol=1e-12)
    # support: first 4 columns, first 2 rows (port = n1 * N2 + n2)
    n1, n2 = np.divmod(np.arange(32), 4)
    np.testing.assert_array_equal(np.any(np.abs(f) > 0, axis=1), (n1 < 4) & (n2 < 2))
    np.testing.assert_allclose(cb.spatial_frequencies_rad[:, 0][::2], 2 * np.pi * (np.arange(4) - 1.5) / 4)
    full = ssb_codebook(8, 4, n_beams_h=8, subarray=False)
    np.testing.assert_allclose(np.linalg.norm(full.beams, axis=0), 1.0)


def test_rsrp_value_and_best_beam():
    cb = ssb_codebook(4, 2, n_beams_h=4, n_beams_v=2)
    b = 5
    gain = 1e-4
    h = np.repeat((gain * cb.beams[:, b])[None, :, None], 3, axis=2)       # (1, 8, 3): h = g f_b
    r = ssb_rsrp(h, cb, tx_power_dbm=20.0)
    assert int(np.argmax(r[0])) == b
    assert r[0, b] == pytest.approx(20.0 + 20 * math.log10(gain), abs=1e-9)  # P |g|^2 ||f||^4
    # dual polarisation: powers add (+3 dB with the same channel on both)
    h2 = np.concatenate([h, h], axis=1)
    assert ssb_rsrp(h2, cb, tx_power_dbm=20.0)[0, b] == pytest.approx(r[0, b] + 10 * math.log10(2), abs=1e-9)


def test_rsrp_measurement_noise_statistics(rng):
    cb = ssb_codebook(4, 1, n_beams_h=4)
    h = np.ones((4000, 4, 2), complex) * 1e-3
    clean = ssb_rsrp(h, cb)
    noisy = ssb_rsrp(h, cb, noise_std_db=2.0, rng=rng)
    err = (noisy - clean).ravel()
    # 16000 draws: the sample std of N(0, 2) is within ~3 % of 2
    assert abs(err.std() - 2.0) < 0.06 and abs(err.mean()) < 0.06
    # SSS-sample noise: unbiased power estimate at high SNR, spread shrinks with more REs
    sss = ssb_rsrp(np.repeat(h[:500], 64, axis=2), cb, noise_power_dbm=-80.0, rng=rng)
    ref = ssb_rsrp(np.repeat(h[:500], 64, axis=2), cb)
    lin = 10 ** ((sss - ref) / 10)
    assert abs(lin.mean() - 1) < 0.01
    # same rng seed -> same measurement
    np.testing.assert_array_equal(ssb_rsrp(h[:5], cb, noise_std_db=1.0, rng=3),
                                  ssb_rsrp(h[:5], cb, noise_std_db=1.0, rng=3))


def test_absolute_quantization_edges():
    r = np.array([-150.0, -140.5, -140.0, -139.01, -100.2, -44.01, -44.0, -20.0])
    codes, vals = quantize_rsrp_absolute(r)
    np.testing.assert_array_equal(codes, [0, 0, 1, 1, 40, 96, 97, 97])
    np.testing.assert_allclose(vals, [-140.5, -140.5, -139.5, -139.5, -100.5, -44.5, -43.5, -43.5])
    assert codes.max() < 2 ** 7


def test_differential_quantization_edges():
    ref = np.float64(-70.0)
    r = np.array([-70.0, -71.99, -72.0, -75.0, -99.99, -100.0, -130.0])
    codes, vals = quantize_rsrp_differential(r, ref)
    np.testing.assert_array_equal(codes, [0, 0, 1, 2, 14, 15, 15])
    np.testing.assert_allclose(vals, [-71, -71, -73, -75, -99, -101, -101])
    assert codes.max() < 2 ** 4


def test_report_topk_bits_and_ties():
    r = np.array([[-80.0, -70.0, -90.0, -70.0, -75.0, -120.0, -60.0, -85.0]])
    rep = rsrp_report(r, n_reported=4)
    np.testing.assert_array_equal(rep.indices[0], [6, 1, 3, 4])                # ties: lower index first
    assert rep.bits == 7 + 3 * 4 + 4 * 3
    assert rep.codes[0, 0] == 81 and rep.rsrp_dbm[0, 0] == -59.5                # -60 opens [-60, -59)
    np.testing.assert_array_equal(rep.codes[0, 1:], [5, 5, 7])                  # floor((-59.5 - r) / 2)
    assert rsrp_report(r, n_reported=1).bits == 7 + 3


def test_fingerprint_relative_quantized():
    r = np.array([[-80.0, -70.0, -130.0, -71.0]])
    fp = rsrp_fingerprint(r)
    assert fp[0, 1] == 0.0 and fp.max() == 0.0
    np.testing.assert_allclose(fp[0], [-11.0, 0.0, -31.0, -1.0])
    np.testing.assert_allclose(rsrp_fingerprint(r, quantize=False)[0], [-10, 0, -31, -1])
    raw = rsrp_fingerprint(r, quantize=False, relative=False)
    np.testing.assert_allclose(raw[0], [-80, -70, -101, -71])


def test_backends_match_numpy(xp, rng):
    cb = ssb_codebook(4, 2, n_beams_h=4, n_beams_v=2)
    h = (rng.standard_normal((6, 16, 5)) + 1j * rng.standard_normal((6, 16, 5))) * 1e-4
    ref = ssb_rsrp(h, cb)
    got = ssb_rsrp(to_xp(xp, h), to_xp(xp, cb.beams))
    assert sensing.get_xp(got) is sensing.get_xp(to_xp(xp, h))
    np.testing.assert_allclose(to_numpy(got), ref, rtol=1e-10)
    rep = rsrp_report(got, n_reported=3)
    np.testing.assert_array_equal(to_numpy(rep.indices), rsrp_report(ref, n_reported=3).indices)
    np.testing.assert_allclose(to_numpy(rsrp_fingerprint(got)), rsrp_fingerprint(ref))


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_beams_h"):
        ssb_codebook(4, 1, n_beams_h=8)
    cb = ssb_codebook(4, 2, n_beams_h=4)
    with pytest.raises(ValueError, match="ports"):
        ssb_rsrp(np.ones((2, 12, 3), complex), cb)
    with pytest.raises(ValueError, match="n_reported"):
        rsrp_report(np.zeros((2, 4)), n_reported=5)
    with pytest.raises(ValueError, match="finite"):
        rsrp_report(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="noise_std_db"):
        ssb_rsrp(np.ones((1, 8, 1), complex), cb, noise_std_db=-1.0)
