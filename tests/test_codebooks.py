"""3GPP Type-I / Type-II codebooks: tables, bit counts (TS 38.212 worked values), PMI search,
reconstruction, the generalised DFT-subspace codebook and input validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from estimators import (
    dft_beams,
    dft_subspace_codebook,
    quantize_coefficients,
    supported_panel_configs,
    type1_codebook,
    type2_codebook,
)
from estimators.feedback._codebook_tables import (
    TYPE2_K2,
    TYPE2_SUBBAND_AMPLITUDES,
    TYPE2_WIDEBAND_AMPLITUDES,
    combinatorial_decode,
    combinatorial_index,
    type1_rank2_offsets,
)


def _cn(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


# ----------------------------------------------------------------------------------- tables

def test_supported_table_matches_spec():
    # TS 38.214 Table 5.2.2.2.1-2 as quoted in SIFO_AND_CODEBOOKS.md B1
    t = supported_panel_configs()
    assert t == {4: ((2, 1, 4, 1),), 8: ((2, 2, 4, 4), (4, 1, 4, 1)), 12: ((3, 2, 4, 4), (6, 1, 4, 1)),
                 16: ((4, 2, 4, 4), (8, 1, 4, 1)), 24: ((4, 3, 4, 4), (6, 2, 4, 4), (12, 1, 4, 1)),
                 32: ((4, 4, 4, 4), (8, 2, 4, 4), (16, 1, 4, 1))}
    for ports, combos in t.items():
        for n1, n2, o1, o2 in combos:
            assert 2 * n1 * n2 == ports and o1 == 4 and o2 == (4 if n2 > 1 else 1)


def test_amplitude_tables_closed_forms():
    p1 = TYPE2_WIDEBAND_AMPLITUDES
    assert p1[0] == 0 and np.all(np.diff(p1) > 0)
    np.testing.assert_allclose(p1[1:], 2.0 ** (-(7 - np.arange(1, 8)) / 2), rtol=0, atol=1e-15)
    np.testing.assert_allclose(TYPE2_SUBBAND_AMPLITUDES, [math.sqrt(0.5), 1.0])
    assert TYPE2_K2 == {2: 4, 3: 4, 4: 6}


def test_rank2_offsets_table():
    assert type1_rank2_offsets(4, 2, 4, 4) == ((0, 0), (4, 0), (0, 4), (8, 0))
    assert type1_rank2_offsets(4, 4, 4, 4) == ((0, 0), (4, 0), (0, 4), (4, 4))
    assert type1_rank2_offsets(2, 1, 4, 1) == ((0, 0), (4, 0))
    assert type1_rank2_offsets(8, 1, 4, 1) == ((0, 0), (4, 0), (8, 0), (12, 0))


def test_dft_beams_norm_and_group_orthogonality():
    n1, n2, o1, o2 = 4, 2, 4, 4
    v = dft_beams(n1, n2, o1, o2)
    assert v.shape == (8, 16 * 8)
    np.testing.assert_allclose(np.sum(np.abs(v) ** 2, axis=0), n1 * n2)
    for q1, q2 in [(0, 0), (1, 3), (3, 2)]:
        cols = [(o1 * a + q1) * (n2 * o2) + (o2 * b + q2) for a in range(n1) for b in range(n2)]
        g = v[:, cols].conj().T @ v[:, cols]
        np.testing.assert_allclose(g, n1 * n2 * np.eye(n1 * n2), atol=1e-12)


def test_combinatorial_index_round_trip_and_extremes():
    for n_grid, lb in [(16, 4), (8, 3), (4, 2), (6, 4)]:
        sets = np.array(list(itertools.combinations(range(n_grid), lb)))
        idx = combinatorial_index(sets, n_grid)
        assert sorted(idx.tolist()) == list(range(math.comb(n_grid, lb)))    # a bijection
        np.testing.assert_array_equal(combinatorial_decode(idx, n_grid, lb), sets)
    # sum_i C(15 - n_i, 4 - i): {0,1,2,3} -> 1365 + 364 + 78 + 12 = 1819; {12..15} -> 0
    assert combinatorial_index(np.array([0, 1, 2, 3]), 16) == 1819
    assert combinatorial_index(np.array([12, 13, 14, 15]), 16) == 0


# ------------------------------------------------------------------------------- bit counts

def test_type2_bits_worked_example():
    # SIFO_AND_CODEBOOKS.md B5: 4x4, L=4, 8PSK, subband amplitude, rank 1, M=8, 13 subbands
    cb = type2_codebook(4, 4, n_beams=4, phase_alphabet_size=8, subband_amplitude=True)
    fb = cb.feedback_bits(n_subbands=13)
    assert (fb.wideband, fb.per_subband, fb.n_subbands * fb.per_subband) == (39, 24, 312)
    assert fb.pmi == 351 and fb.part1 == 7 and fb.total == 358
    cb2 = type2_codebook(4, 4, n_beams=4, max_rank=2)
    fb2 = cb2.feedback_bits(n_subbands=13)
    assert fb2.part1 == 11 and fb2.total == 362


def test_type2_bits_other_configs():
    # subbandAmplitude off: WB = ceil(log2 16) + ceil(log2 C(8,2)) + 2 + 3*3 = 4 + 5 + 2 + 9 = 20,
    # per subband (M-1) log2 N_PSK = 3 * 2 = 6 (QPSK), M = 4
    cb = type2_codebook(4, 2, n_beams=2, phase_alphabet_size=4, subband_amplitude=False)
    fb = cb.feedback_bits(n_subbands=10)
    assert (fb.wideband, fb.per_subband) == (20, 6)
    # 4 ports, L = 2: i12 absent (C(2,2) = 1), rotation ceil(log2 4) = 2
    cb = type2_codebook(2, 1, n_beams=2)
    fb = cb.feedback_bits(n_subbands=1, n_nonzero=3)
    assert fb.wideband == 2 + 0 + 2 + 9
    # M = 3 with K2 = 4: (3-1)*3 + 0 + (3-1) = 8
    assert fb.per_subband == 8
    with pytest.raises(ValueError, match="n_nonzero"):
        cb.feedback_bits(n_subbands=1, n_nonzero=5)


def test_type1_bits():
    assert type1_codebook(4, 4).feedback_bits().pmi == 10                 # 4 + 4 + 2 (B2)
    assert type1_codebook(4, 4).feedback_bits(rank=2, max_rank=2).pmi == 4 + 4 + 2 + 1
    assert type1_codebook(2, 1).feedback_bits(rank=2).pmi == 3 + 0 + 1 + 1
    assert type1_codebook(4, 4, mode=2).feedback_bits().pmi == 3 + 3 + 4
    assert type1_codebook(8, 1, mode=2).feedback_bits().pmi == 4 + 0 + 4
    fb = type1_codebook(4, 2).feedback_bits(subband=True, n_subbands=13)
    assert (fb.wideband, fb.per_subband, fb.pmi) == (4 + 3, 2, 7 + 26)   # N1O1 = 16, N2O2 = 8


# ---------------------------------------------------------------------------- Type-I search

@pytest.mark.parametrize("mode,subband", [(1, False), (1, True), (2, False), (2, True)])
def test_type1_pmi_search_is_exhaustive_best(rng, mode, subband):
    cb = type1_codebook(4, 2, mode=mode)
    h = _cn(rng, 40, cb.n_ports, 5)
    pmi = cb.pmi_search(h, subband=subband)
    cw, idx = cb.codewords()
    g = np.abs(np.einsum("cp,ups->ucs", cw[:, :, 0].conj(), h)) ** 2      # (U, C, S)
    w = np.broadcast_to(cb.reconstruct(pmi)[..., 0], h.shape)              # (U, P, S)
    got = np.abs(np.sum(w.conj() * h, axis=1)) ** 2                         # (U, S)
    if subband:  # best over i1 of sum_s max over the i2 sharing that i1
        keys = idx[:, 0] * 1000 + idx[:, 1]
        best = np.full(h.shape[0], -np.inf)
        for k in np.unique(keys):
            best = np.maximum(best, g[:, keys == k].max(axis=1).sum(-1))
    else:
        best = g.sum(-1).max(axis=1)
    np.testing.assert_allclose(got.sum(-1), best, rtol=1e-10)
    np.testing.assert_allclose(pmi.metric, best, rtol=1e-10)


def test_type1_rank2_search(rng):
    cb = type1_codebook(4, 2)
    h = _cn(rng, 30, cb.n_ports, 4, 2)
    pmi = cb.pmi_search(h, rank=2)
    cw, idx = cb.codewords(rank=2)
    e = np.sum(np.abs(np.einsum("cpl,upsr->uclsr", cw.conj(), h)) ** 2, axis=(2, 3, 4))
    np.testing.assert_allclose(pmi.metric, e.max(axis=1), rtol=1e-10)
    w = cb.reconstruct(pmi)[:, :, 0, :]
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1 / math.sqrt(2))
    np.testing.assert_allclose(np.abs(np.einsum("upa,upb->uab", w.conj(), w))[:, 0, 1], 0, atol=1e-12)


def test_type1_codeword_channel_gives_unit_gain_and_type2_capture(rng):
    cb1 = type1_codebook(4, 4)
    cw, idx = cb1.codewords()
    k = 137
    h = np.repeat(cw[k][None, :, :] * 3.0, 2, axis=0) * np.exp(1j * rng.uniform(0, 6, (2, 1, 5)))  # 5 subbands
    pmi = cb1.pmi_search(h)
    w = cb1.reconstruct(pmi)[:, :, 0, 0]
    g = np.abs(np.einsum("up,ups->us", w.conj(), h)) ** 2 / (np.linalg.norm(h, axis=1) ** 2)
    np.testing.assert_allclose(g, 1.0, atol=1e-12)
    cb2 = type2_codebook(4, 4, n_beams=2)
    p2 = cb2.pmi_search(h)
    u = cb2.basis(p2)
    eta = np.sum(np.abs(np.einsum("upd,ups->uds", u.conj(), h)) ** 2, axis=(1, 2)) / np.sum(np.abs(h) ** 2, axis=(1, 2))
    np.testing.assert_allclose(eta, 1.0, atol=1e-12)


# --------------------------------------------------------------------------- Type-II

def _in_span_channel(cb, q1, q2, n1s, n2s, coef):
    """h_s = W1 c_s for beams (q, n) and coefficients coef (S, 2L)."""
    v = dft_beams(cb.n1, cb.n2, cb.o1, cb.o2)
    cols = [(cb.o1 * a + q1) * (cb.n2 * cb.o2) + (cb.o2 * b + q2) for a, b in zip(n1s, n2s)]
    b = v[:, cols]
    ll = len(cols)
    h0 = b @ coef[:, :ll].T
    h1 = b @ coef[:, ll:].T
    return np.concatenate([h0, h1], axis=0)                                   # (P, S)


def test_type2_recovers_beams_and_reconstructs_quantizable_channel(rng):
    cb = type2_codebook(4, 4, n_beams=4, phase_alphabet_size=8, subband_amplitude=True)
    q1, q2 = 1, 3
    n1s, n2s = [0, 3, 1, 2], [0, 0, 2, 3]                 # n = 4 n2 + n1 -> 0, 3, 9, 14 (increasing)
    n_sb = 6
    # coefficients exactly on the quantiser grid: wideband amplitudes from Table -2 (strongest = 1),
    # subband amplitudes 1 (so the RMS is the wideband value), 8PSK phases relative to coefficient 0
    k1 = np.array([7, 6, 5, 4, 6, 3, 5, 7])
    k1[7] = 5
    amp = TYPE2_WIDEBAND_AMPLITUDES[k1]
    c = rng.integers(0, 8, (n_sb, 8))
    c[:, 0] = 0
    coef = amp * np.exp(2j * np.pi * c / 8)
    h = _in_span_channel(cb, q1, q2, n1s, n2s, coef)[None] * (0.3 * np.exp(0.7j))
    pmi = cb.pmi_search(h)
    assert (int(pmi.q1[0]), int(pmi.q2[0])) == (q1, q2)
    np.testing.assert_array_equal(pmi.n1[0], n1s)
    np.testing.assert_array_equal(pmi.n2[0], n2s)
    assert int(pmi.i12[0]) == int(combinatorial_index(np.array([0, 3, 9, 14]), 16))
    np.testing.assert_array_equal(pmi.coefficients.k1[0, 0], k1)
    assert int(pmi.coefficients.i13[0, 0]) == 0
    # K2 - 1 = 5 coefficients get 8PSK: by k1 descending, ties to the lower index -> 1, 4, 2, 6, 7;
    # coefficients 3 and 5 get QPSK
    sel, qpsk = [1, 4, 2, 6, 7], [3, 5]
    np.testing.assert_array_equal(pmi.coefficients.c[0, 0][:, sel], c[:, sel])
    even = np.all(c[:, qpsk] % 2 == 0, axis=1)
    np.testing.assert_array_equal(pmi.coefficients.c[0, 0][even][:, qpsk], c[even][:, qpsk] // 2)
    w = cb.reconstruct(pmi)[0, :, :, 0]                             # (P, S)
    hn = h[0] / np.linalg.norm(h[0], axis=0)
    corr = np.abs(np.sum(w.conj() * hn, axis=0))
    # the two weakest coefficients carry QPSK phases: exact only where the 8PSK phase is even
    np.testing.assert_allclose(corr[even], 1.0, atol=1e-12)
    assert even.any() and not even.all()
    assert np.all(corr > 0.97)
    # layers have unit norm
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0)


def test_type2_in_span_channel_fully_captured_and_high_gain(rng):
    cb = type2_codebook(4, 2, n_beams=3)
    coef = _cn(rng, 7, 6) * np.array([3, 1, 1, 2, 1, 1])
    h = _in_span_channel(cb, 2, 1, [0, 1, 3], [0, 1, 1], coef)[None]
    pmi = cb.pmi_search(h)
    u = cb.basis(pmi)
    np.testing.assert_allclose(u[0].conj().T @ u[0], np.eye(6), atol=1e-12)
    eta = np.sum(np.abs(u[0].conj().T @ h[0]) ** 2) / np.sum(np.abs(h[0]) ** 2)
    assert eta == pytest.approx(1.0, abs=1e-12)
    # fixed amplitudes, continuous phases: only the 8PSK / QPSK phase error remains
    coef = np.array([3, 1, 1, 2, 1, 1]) * np.exp(2j * np.pi * rng.uniform(size=(7, 6)))
    h = _in_span_channel(cb, 2, 1, [0, 1, 3], [0, 1, 1], coef)[None]
    w = cb.reconstruct(cb.pmi_search(h))[0, :, :, 0]
    g = np.abs(np.sum(w.conj() * h[0], axis=0)) ** 2 / np.sum(np.abs(h[0]) ** 2, axis=0)
    assert g.min() > 0.9


def test_type2_rank2_and_bits_per_user(rng):
    cb = type2_codebook(4, 2, n_beams=4, max_rank=2)
    h = _cn(rng, 20, cb.n_ports, 5, 2)
    pmi = cb.pmi_search(h, rank=2)
    w = cb.reconstruct(pmi)
    assert w.shape == (20, 16, 5, 2)
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1 / math.sqrt(2), rtol=1e-12)
    fb = cb.feedback_bits(pmi)
    assert fb.total.shape == (20,)
    m = pmi.coefficients.n_nonzero
    exp = cb.feedback_bits(n_subbands=5, n_nonzero=m[0], rank=2).total
    assert fb.total[0] == exp
    with pytest.raises(ValueError, match="receive antennas"):
        cb.pmi_search(h[..., 0], rank=2)


def test_type2_beats_type1_on_random_channels(rng):
    h = _cn(rng, 50, 32, 8)
    cb2 = type2_codebook(4, 4, n_beams=4)
    cb1 = type1_codebook(4, 4)
    g = []
    for cb in (cb1, cb2):
        w = cb.reconstruct(cb.pmi_search(h))[..., 0]
        w = np.broadcast_to(w, h.shape)
        g.append(np.mean(np.abs(np.sum(w.conj() * h, axis=1)) ** 2 / np.sum(np.abs(h) ** 2, axis=1)))
    assert g[1] > g[0] > 0


def test_quantize_coefficients_recovers_table_values():
    k1 = np.array([7, 1, 2, 3, 4, 5, 6, 0])
    x = TYPE2_WIDEBAND_AMPLITUDES[k1][None, None, None, :] * np.ones((1, 1, 3, 1))
    q = quantize_coefficients(x.astype(complex), phase_alphabet_size=4)
    np.testing.assert_array_equal(q.k1[0, 0], k1)
    assert int(q.n_nonzero[0, 0]) == 7


# ------------------------------------------------------------------ generalised codebook

def test_dft_subspace_codebook_beyond_32_ports(rng):
    cb = dft_subspace_codebook(8, 4, n_beams=6)            # 64 ports, L = 6 > 4
    assert cb.n_ports == 64 and not cb.standard
    h = _cn(rng, 10, 64, 4)
    pmi = cb.pmi_search(h)
    u = cb.basis(pmi)
    np.testing.assert_allclose(np.einsum("upa,upb->uab", u.conj(), u), np.broadcast_to(np.eye(12), (10, 12, 12)),
                               atol=1e-12)
    fb = cb.feedback_bits(n_subbands=4)
    assert fb.wideband == 4 + math.ceil(math.log2(math.comb(32, 6))) + 4 + 3 * 11
    single = dft_subspace_codebook(8, 8, n_polarizations=1, n_beams=2)
    w = single.reconstruct(single.pmi_search(_cn(rng, 3, 64, 2)))
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0)
    t1 = dft_subspace_codebook(8, 4, kind="type1")
    w1 = t1.reconstruct(t1.pmi_search(h))
    assert w1.shape == (10, 64, 1, 1)


# ------------------------------------------------------------------------------ bad input

def test_bad_inputs():
    with pytest.raises(ValueError, match="Table 5.2.2.2.1-2"):
        type1_codebook(8, 4)                                   # 64 ports: not in the table
    with pytest.raises(ValueError, match="Table 5.2.2.2.1-2"):
        type2_codebook(4, 4, n_beams=4, o1=2)
    with pytest.raises(ValueError, match="Table 5.2.2.2.1-2"):
        type2_codebook(3, 3, n_beams=2)
    with pytest.raises(ValueError, match="n_beams"):
        type2_codebook(4, 4, n_beams=5)
    with pytest.raises(ValueError, match="4 CSI-RS ports"):
        type2_codebook(2, 1, n_beams=3)
    with pytest.raises(ValueError, match="more beams"):
        dft_subspace_codebook(2, 2, n_beams=5)
    with pytest.raises(ValueError, match="phase_alphabet_size"):
        type2_codebook(4, 4, n_beams=2, phase_alphabet_size=16)
    cb = type2_codebook(4, 4, n_beams=2)
    with pytest.raises(ValueError, match="32 ports"):
        cb.pmi_search(np.ones((2, 16, 3), complex))
    with pytest.raises(ValueError, match="shape"):
        cb.pmi_search(np.ones((32, 3), complex))
    with pytest.raises(ValueError, match="finite"):
        cb.pmi_search(np.full((1, 32, 3), np.nan, complex))
    with pytest.raises(ValueError, match="rank"):
        cb.pmi_search(np.ones((1, 32, 3), complex), rank=2)
    with pytest.raises(ValueError, match="mode"):
        type1_codebook(4, 4, mode=2).pmi_search(np.ones((1, 32, 3), complex), rank=2)
    with pytest.raises(TypeError, match="Type1PMI"):
        type1_codebook(4, 4).reconstruct(None)
    with pytest.raises(ValueError, match="n_subbands"):
        cb.feedback_bits()


# ---------------------------------------------------------------- enhanced Type-II (Rel-16)

def test_etype2_bits_worked_example():
    # SIFO_AND_CODEBOOKS.md B6: N1 = N2 = 4, combination 4 (L=4, p=1/4, beta=1/2), N3 = 13, rank 1
    from estimators import etype2_codebook

    cb = etype2_codebook(4, 4, param_combination=4, n_subbands=13)
    assert (cb.n_freq, cb.k0) == (4, 16)
    fb = cb.feedback_bits()
    assert fb.pmi == 4 + 11 + 8 + 32 + 4 + 4 + 45 + 60 == 168
    assert fb.part1 == 8 and fb.total == 176
    assert cb.feedback_bits(n_nonzero=10).pmi == 4 + 11 + 8 + 32 + 4 + 4 + 27 + 36


def test_etype2_reconstructs_a_channel_in_its_span(rng):
    from estimators import etype2_codebook
    from estimators.feedback._codebook_tables import ETYPE2_DIFFERENTIAL_AMPLITUDES, ETYPE2_REFERENCE_AMPLITUDES

    cb = etype2_codebook(4, 4, param_combination=4, n_subbands=13)
    q1, q2, n1s, n2s = 2, 1, [0, 3, 1, 2], [0, 0, 2, 3]
    freqs = [0, 3, 6, 10]                                   # remapped indices, the strongest at 0
    w2 = np.zeros((8, 4), complex)
    nz = [(0, 0), (1, 0), (2, 1), (3, 3), (4, 0), (5, 2), (6, 1), (7, 3), (1, 2), (4, 3)]
    kref = 12                                               # polarisation 1 reference amplitude
    for i, f in nz:
        p1 = 1.0 if i < 4 else ETYPE2_REFERENCE_AMPLITUDES[kref]
        p2 = 1.0 if (i, f) == (0, 0) else ETYPE2_DIFFERENTIAL_AMPLITUDES[rng.integers(3, 7)]
        ph = 0 if (i, f) == (0, 0) else rng.integers(0, 16)
        w2[i, f] = p1 * p2 * np.exp(2j * np.pi * ph / 16)
    w2[4, 0] = ETYPE2_REFERENCE_AMPLITUDES[kref]            # the largest of polarisation 1: p2 = 1
    t = np.arange(13)
    y = np.exp(2j * np.pi * np.outer(t, freqs) / 13)        # (N3, M)
    coef = w2 @ y.T                                          # (2L, N3)
    h = _in_span_channel(cb._spatial(), q1, q2, n1s, n2s, coef.T)[None] * 0.7
    pmi = cb.pmi_search(h)
    np.testing.assert_array_equal(pmi.freq_indices[0], freqs)
    assert int(pmi.n_nonzero[0]) == len(nz) and int(pmi.strongest[0]) == 0
    np.testing.assert_allclose(cb.coefficients(pmi)[0], w2, atol=1e-9)
    w = cb.reconstruct(pmi)[0, :, :, 0]
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0)
    g = np.abs(np.sum(w.conj() * h[0], axis=0)) ** 2 / np.sum(np.abs(h[0]) ** 2, axis=0)
    np.testing.assert_allclose(g, 1.0, atol=1e-9)
    assert cb.feedback_bits(pmi).total[0] == 8 + 4 + 11 + 8 + 32 + 4 + 4 + 9 * 7


def test_etype2_bad_input():
    from estimators import etype2_codebook

    with pytest.raises(ValueError, match="32 CSI-RS ports"):
        etype2_codebook(4, 2, param_combination=7, n_subbands=10)
    with pytest.raises(ValueError, match="4 CSI-RS ports"):
        etype2_codebook(2, 1, param_combination=3, n_subbands=10)
    with pytest.raises(ValueError, match="param_combination"):
        etype2_codebook(4, 4, param_combination=9, n_subbands=10)
    cb = etype2_codebook(4, 4, param_combination=1, n_subbands=10, pmi_subbands_per_cqi_subband=2)
    with pytest.raises(ValueError, match="N3 = 20"):
        cb.pmi_search(np.ones((1, 32, 10), complex))
