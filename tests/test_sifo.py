"""SiFo: labels, beam selection, subspaces, metrics, feedback, pretraining/calibration/inference,
leave-one-site-out budget isolation, overhead table and bad input."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import to_xp

from channels import city_channel, city_site, sample_user_positions
from estimators import (
    CalibrationMemory,
    SiFoConfig,
    SiteData,
    beam_power_labels,
    beam_subspace,
    beamforming_gain,
    capture_efficiency,
    dft_beams,
    effective_spectral_efficiency,
    eigen_subspace,
    leave_one_site_out,
    overhead_table,
    per_site_baseline,
    select_beams,
    sifo,
    sifo_calibrate,
    sifo_feedback,
    sifo_infer,
    sifo_pretrain,
)
from estimators.feedback._codebook_tables import TYPE2_WIDEBAND_AMPLITUDES
from sensing import rsrp_fingerprint, ssb_codebook, ssb_rsrp, to_numpy

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CFG = SiFoConfig(hidden_layer_sizes=(16,), max_iter=60, n_components=8, min_memory=5, episodes_per_site=2)


def _cn(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.fixture(scope="module")
def small_sites():
    ssb = ssb_codebook(4, 4, n_beams_h=4, n_beams_v=2)
    rng = np.random.default_rng(7)
    out = []
    for name in ("suburb", "plaza", "campus"):
        s = city_site(name)
        ch = city_channel(s, sample_user_positions(s, 120, rng=rng), n_subbands=4)
        fp = rsrp_fingerprint(ssb_rsrp(ch.csi, ssb, tx_power_dbm=18.0, noise_std_db=1.0, rng=rng))
        out.append(SiteData(name, fp, ch.csi))
    return out


@pytest.fixture(scope="module")
def model(small_sites):
    return sifo_pretrain(small_sites[:2], config=CFG, rng=0)


# ------------------------------------------------------------------------------- metrics

def test_ideal_subspace_capture_is_one(xp, rng):
    h = _cn(rng, 6, 16, 5)
    u, w = eigen_subspace(to_xp(xp, h), 3)
    eta = to_numpy(capture_efficiency(to_xp(xp, h), u))
    np.testing.assert_allclose(eta, 1.0, rtol=1e-12)
    # any other 3-D subspace captures less; the plain fraction is <= 1
    q, _ = np.linalg.qr(_cn(rng, 6, 16, 3))
    assert np.all(to_numpy(capture_efficiency(to_xp(xp, h), to_xp(xp, q))) < 1 - 1e-6)
    frac = to_numpy(capture_efficiency(to_xp(xp, h), u, normalize=False))
    np.testing.assert_allclose(frac, np.sum(to_numpy(w)[:, :3], 1) / np.sum(np.abs(h) ** 2, axis=(1, 2)))
    # the full space captures everything
    np.testing.assert_allclose(capture_efficiency(h, np.eye(16), normalize=False), 1.0, rtol=1e-12)


def test_beamforming_gain_and_effective_se(rng):
    h = _cn(rng, 4, 8, 3)
    g = beamforming_gain(h, h)
    np.testing.assert_allclose(g, 1.0)
    assert np.all(beamforming_gain(h, _cn(rng, 4, 8, 3)) < 1)
    # rank-one channel, matched precoder, normalised: SE = log2(1 + rho N) times the pilot factor
    a = np.ones((1, 8, 2), complex)
    se = effective_spectral_efficiency(a, a, snr_db=[0.0, 10.0], n_pilot_res=84, coherence_res=840)
    np.testing.assert_allclose(se[:, 0], 0.9 * np.log2(1 + np.array([1.0, 10.0]) * 8))
    se_fb = effective_spectral_efficiency(a, a, snr_db=0.0, n_pilot_res=84, coherence_res=840, feedback_bits=840 * 52,
                                          n_prb=52, uplink_bits_per_re=2.0)
    assert se_fb[0] == pytest.approx(0.9 * math.log2(9) - 0.5)
    with pytest.raises(ValueError, match="n_pilot_res"):
        effective_spectral_efficiency(a, a, snr_db=0.0, n_pilot_res=900, coherence_res=840)


# -------------------------------------------------------------------------- labels/beams

def test_beam_power_labels_brute_force(rng):
    h = _cn(rng, 3, 32, 4)
    p = beam_power_labels(h, CFG, normalize=False)
    v = dft_beams(4, 4, 4, 4) / 4.0
    ref = sum(np.sum(np.abs(np.einsum("nj,uns->ujs", v.conj(), h[:, k * 16:(k + 1) * 16])) ** 2, axis=-1)
              for k in range(2))
    np.testing.assert_allclose(p, ref, rtol=1e-10)
    assert np.allclose(beam_power_labels(h, CFG).max(axis=1), 1.0)


def test_select_beams_exclusion_and_subspace(rng):
    s = rng.uniform(size=(20, CFG.n_dictionary))
    b = select_beams(s, CFG)
    assert b.shape == (20, 4)
    np.testing.assert_array_equal(b[:, 0], np.argmax(s, axis=1))
    l, m = np.divmod(b, 16)
    for i in range(4):
        for j in range(i):
            dl = np.minimum(np.abs(l[:, i] - l[:, j]), 16 - np.abs(l[:, i] - l[:, j]))
            dm = np.minimum(np.abs(m[:, i] - m[:, j]), 16 - np.abs(m[:, i] - m[:, j]))
            assert np.all((dl > 3) | (dm > 3))
    u = beam_subspace(b, CFG)
    assert u.shape == (20, 32, 8)
    np.testing.assert_allclose(np.einsum("upa,upb->uab", u.conj(), u), np.broadcast_to(np.eye(8), (20, 8, 8)),
                               atol=1e-12)
    np.testing.assert_array_equal(u[:, :16, 4:], 0)
    # exclusion zones wider than the dictionary: still L distinct beams
    wide = replace(CFG, exclusion=(8, 8))
    bw = select_beams(s, wide)
    assert all(len(set(r)) == 4 for r in bw.tolist())


def test_feedback_in_subspace_and_bits(rng):
    b = select_beams(rng.uniform(size=(2, CFG.n_dictionary)), CFG)
    u = beam_subspace(b, CFG)                                                   # (2, 32, 8)
    # coefficients on the quantiser grid: amplitudes from the wideband table, 8PSK phases
    amp = TYPE2_WIDEBAND_AMPLITUDES[np.array([7, 6, 6, 5, 5, 4, 7, 6])]
    c = amp * np.exp(2j * np.pi * rng.integers(0, 8, (2, 3, 8)) / 8)           # (U, S, d)
    h = u @ np.swapaxes(c, 1, 2)
    fb = sifo_feedback(h, u, config=CFG)
    g = beamforming_gain(h, fb.precoder)
    assert np.all(g > 0.97)
    # all 8 coefficients non-zero: wideband ceil(log2 8) + 3*7 = 24, per subband 5*3 + 2*2 + 5 = 24
    np.testing.assert_array_equal(fb.bits, 24 + 3 * 24)
    noisy = sifo_feedback(h, u, config=CFG, estimation_snr_db=0.0, rng=1)
    assert beamforming_gain(h, noisy.precoder).mean() < g.mean()


# ---------------------------------------------------------------------- model and memory

def test_pretrain_infer_modes(small_sites, model):
    tgt = small_sites[2]
    assert model.training_sites == ("suburb", "plaza") and model.prior_weight > 0 and model.bandwidth > 0
    assert len(model.selection) == 24
    mem = sifo_calibrate(tgt.fingerprints[:20], tgt.channels[:20], config=CFG)
    assert isinstance(mem, CalibrationMemory) and mem.size == 20
    q = tgt.fingerprints[60:]
    for mode in ("model", "knn", "zero-shot"):
        inf = sifo_infer(model, q, mem, mode=mode)
        assert inf.beams.shape == (60, 4) and inf.basis.shape == (60, 32, 8)
    # the fusion formula: one memory entry equal to the query
    one = sifo_calibrate(q[:1], tgt.channels[60:61], config=CFG)
    prior = sifo_infer(model, q[:1], mode="zero-shot").scores
    fused = sifo_infer(model, q[:1], one).scores
    kappa = model.prior_weight
    np.testing.assert_allclose(fused, (kappa * prior + one.labels) / (kappa + 1), rtol=1e-10)
    # deterministic for a fixed rng
    again = sifo_pretrain(small_sites[:2], config=CFG, rng=0)
    np.testing.assert_array_equal(sifo_infer(again, q, mem).beams, sifo_infer(model, q, mem).beams)


def test_memory_helps_over_zero_shot_on_target(small_sites, model):
    tgt = small_sites[2]
    mem = sifo_calibrate(tgt.fingerprints[:60], tgt.channels[:60], config=CFG)
    q, h = tgt.fingerprints[60:], tgt.channels[60:]
    eta = {m: capture_efficiency(h, sifo_infer(model, q, mem, mode=m).basis).mean()
           for m in ("model", "zero-shot")}
    assert eta["model"] > eta["zero-shot"] - 0.01
    assert 0.3 < eta["model"] <= 1.0


def test_per_site_baseline_and_pipeline(small_sites, rng):
    tgt = small_sites[2]
    ps = per_site_baseline(tgt.fingerprints[:30], tgt.channels[:30], config=CFG, rng=rng)
    assert not ps.uses_memory
    inf, fb = sifo(ps, None, tgt.fingerprints[30:40], tgt.channels[30:40])
    assert fb.precoder.shape == (10, 32, 4) and fb.bits.shape == (10,)


# -------------------------------------------------------------------- leave-one-site-out

def test_loso_never_reads_target_labels_beyond_budget(small_sites, model):
    budgets = (5, 20)
    res = leave_one_site_out(small_sites, 2, budgets=budgets, config=CFG, n_test=30, model=model, rng=4)
    assert set(res.schemes) >= {"sifo", "per-site", "type2", "etype2", "type1", "ideal"}
    np.testing.assert_allclose(res.capture["ideal"], 1.0, rtol=1e-10)
    assert np.intersect1d(res.test_users, res.calibration_pool).size == 0
    # poison every target channel outside the test users and the first max(budgets) pool users
    tgt = small_sites[2]
    bad = tgt.channels.copy()
    unused = res.calibration_pool[max(budgets):]
    bad[unused] = np.nan
    poisoned = list(small_sites[:2]) + [SiteData(tgt.name, tgt.fingerprints, bad)]
    res2 = leave_one_site_out(poisoned, 2, budgets=budgets, config=CFG, n_test=30, model=model, rng=4)
    for k in res.capture:
        np.testing.assert_array_equal(res.capture[k], res2.capture[k])
        np.testing.assert_array_equal(res.feedback_bits[k], res2.feedback_bits[k])
    # ...while the budget users' labels do matter (the test can fail)
    bad = tgt.channels.copy()
    bad[res.calibration_pool[:max(budgets)]] = tgt.channels[res.calibration_pool[max(budgets):2 * max(budgets)]]
    res3 = leave_one_site_out(list(small_sites[:2]) + [SiteData(tgt.name, tgt.fingerprints, bad)], 2,
                              budgets=budgets, config=CFG, n_test=30, model=model, rng=4)
    assert not np.array_equal(res.capture["sifo-knn"], res3.capture["sifo-knn"])


def test_loso_refuses_model_trained_on_target(small_sites, model):
    with pytest.raises(ValueError, match="target site"):
        leave_one_site_out(small_sites, 0, budgets=(5,), config=CFG, n_test=10, model=model)
    with pytest.raises(ValueError, match="budgets"):
        leave_one_site_out(small_sites, 2, budgets=(500,), config=CFG, model=model)


def test_overhead_table_values():
    rows = {r["scheme"]: r for r in overhead_table(SiFoConfig(), n_subbands=13, n_ssb=8)}
    assert rows["type2"]["feedback_bits"] == 358 and rows["type2"]["csi_rs_ports"] == 32
    assert rows["etype2"]["feedback_bits"] == 176
    assert rows["type1"]["feedback_bits"] == 4 + 8 + 13 * 2
    assert rows["sifo"]["csi_rs_ports"] == 8 and rows["sifo"]["ue_search"] == 0
    assert rows["sifo"]["feedback_bits"] == 24 + 13 * 24 and rows["sifo"]["rsrp_bits"] == 7 + 28


# ------------------------------------------------------------------------------ bad input

def test_bad_inputs(small_sites, model):
    tgt = small_sites[2]
    with pytest.raises(ValueError, match="n_beams"):
        SiFoConfig(n_beams=17)
    with pytest.raises(ValueError, match="metric"):
        SiFoConfig(metric="manhattan")
    with pytest.raises(ValueError, match="empty"):
        sifo_infer(model, tgt.fingerprints[:3], CalibrationMemory(np.zeros((0, 8)), np.zeros((0, 256))))
    with pytest.raises(ValueError, match="memory"):
        sifo_infer(model, tgt.fingerprints[:3], None)
    with pytest.raises(ValueError, match="8 SSB beams"):
        sifo_infer(model, tgt.fingerprints[:3, :5], mode="zero-shot")
    with pytest.raises(ValueError, match="same users"):
        sifo_calibrate(tgt.fingerprints[:3], tgt.channels[:4], config=CFG)
    with pytest.raises(ValueError, match="32"):
        sifo_calibrate(tgt.fingerprints[:3], tgt.channels[:3, :16], config=CFG)
    with pytest.raises(ValueError, match="at least two"):
        sifo_pretrain(small_sites[:1], config=CFG)
    with pytest.raises(TypeError, match="SiFoModel"):
        sifo_infer("model", tgt.fingerprints[:3])
    import array_api_strict as xs
    with pytest.raises(TypeError, match="NumPy"):
        sifo_calibrate(xs.asarray(tgt.fingerprints[:3]), tgt.channels[:3], config=CFG)
