"""OFDM numerology and constellations."""

import numpy as np
import pytest

from sensing import (SPEED_OF_LIGHT, Numerology, bits_to_symbols, constellation, hard_decision,
                     random_symbols, symbols_to_bits)


def test_plain_numerology():
    # PLAIN released example: 26 GHz, 60 kHz, 180 subcarriers, 560 symbols, CP = 1/(14 df)
    n = Numerology(26e9, 60e3, 180, 560, fft_size=225)
    assert n.symbol_duration_s == pytest.approx(0.25e-3 / 14, rel=1e-12)
    assert n.bandwidth_hz == pytest.approx(10.8e6)
    assert n.observation_time_s == pytest.approx(10e-3, rel=1e-12)
    assert n.sample_rate_hz == pytest.approx(13.5e6)
    assert n.wavelength_m == pytest.approx(SPEED_OF_LIGHT / 26e9)
    assert n.subcarrier_frequencies_hz[1] == pytest.approx(60e3)
    assert n.subcarrier_frequencies_hz[0] == 0.0
    assert n.doppler_resolution_hz == pytest.approx(100.0)
    assert n.max_doppler_hz == pytest.approx(0.5 / n.symbol_duration_s)
    c = Numerology(26e9, 60e3, 180, 4, centered=True)
    assert c.subcarrier_frequencies_hz[90] == 0.0


@pytest.mark.parametrize("kind,order", [("qam", 4), ("qam", 16), ("qam", 64), ("psk", 2), ("psk", 8)])
def test_constellation_unit_energy_and_gray(kind, order):
    pts = constellation(kind, order)
    assert pts.shape == (order,)
    assert np.mean(np.abs(pts) ** 2) == pytest.approx(1.0)
    assert len(np.unique(np.round(pts, 12))) == order
    # Gray: nearest neighbours differ in exactly one bit
    d = np.abs(pts[:, None] - pts[None, :])
    np.fill_diagonal(d, np.inf)
    dmin = d.min()
    for i in range(order):
        for j in np.nonzero(np.isclose(d[i], dmin))[0]:
            assert bin(i ^ j).count("1") == 1


def test_bits_roundtrip(rng):
    bits = rng.integers(0, 2, size=(3, 40))
    s = bits_to_symbols(bits, "qam", 16)
    assert s.shape == (3, 10)
    lab = hard_decision(s + 0.01 * (rng.standard_normal(s.shape) + 1j * rng.standard_normal(s.shape)), "qam", 16)
    np.testing.assert_array_equal(symbols_to_bits(lab, 16), bits)


def test_random_symbols_deterministic():
    a = random_symbols("qam", 16, (4, 5), rng=3)
    b = random_symbols("qam", 16, (4, 5), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[1], b[1])


def test_bad_input():
    with pytest.raises(ValueError, match="n_subcarriers"):
        Numerology(26e9, 60e3, 0, 14)
    with pytest.raises(ValueError, match="subcarrier_spacing_hz"):
        Numerology(26e9, -1.0, 12, 14)
    with pytest.raises(ValueError, match="carrier_hz.*finite"):
        Numerology(float("nan"), 60e3, 12, 14)
    with pytest.raises(ValueError, match="fft_size"):
        Numerology(26e9, 60e3, 12, 14, fft_size=8)
    with pytest.raises(ValueError, match="order"):
        constellation("qam", 8)
    with pytest.raises(ValueError, match="kind"):
        constellation("ask", 4)
    with pytest.raises(ValueError, match="bits"):
        bits_to_symbols(np.array([0, 2]), "psk", 2)
    with pytest.raises(ValueError, match="bits.*scalar"):
        bits_to_symbols(np.int64(1), "psk", 2)
    with pytest.raises(ValueError, match="labels.*\\[0, 3\\]"):
        symbols_to_bits(np.array([5]), 4)
    with pytest.raises(ValueError, match="order"):
        symbols_to_bits(np.array([1]), 3)
    with pytest.raises(ValueError, match="symbols.*finite"):
        hard_decision(np.array([np.nan + 0j]), "qam", 4)
