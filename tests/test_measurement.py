"""Received signal, SNR definition, LS estimate."""

import numpy as np
import pytest

from conftest import to_xp
from sensing import complex_noise, get_xp, ls_channel_estimate, measure, noise_variance_for_snr, to_numpy


def _channel(rng, shape=(4, 32, 16)):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def test_snr_is_mean_power_over_noise(rng):
    h = _channel(rng, (8, 64, 64))
    x = np.exp(1j * np.pi / 2 * rng.integers(0, 4, (64, 64)))
    m = measure(h, x, snr_db=10.0, rng=1)
    sig = h * x
    assert float(m.noise_variance) == pytest.approx(np.mean(np.abs(sig) ** 2) / 10.0)
    noise = m.received - sig
    # 32768 draws: the variance estimate has ~0.6 % standard error
    assert np.mean(np.abs(noise) ** 2) == pytest.approx(float(m.noise_variance), rel=0.03)
    assert abs(np.mean(noise.real * noise.imag)) < 0.03 * float(m.noise_variance)  # circular


def test_ls_estimate_recovers_channel_noiseless(rng):
    h = _channel(rng)
    x = np.exp(1j * rng.uniform(0, 2 * np.pi, (32, 16)))
    m = measure(h, x, noise_variance=0.0, rng=0)
    np.testing.assert_allclose(ls_channel_estimate(m.received, x), h, atol=1e-12)


def test_same_seed_same_noise_any_backend(xp, rng):
    h = _channel(rng)
    x = np.ones((32, 16), complex)
    ref = measure(h, x, snr_db=0.0, rng=5).received
    out = measure(to_xp(xp, h), to_xp(xp, x), snr_db=0.0, rng=5)
    assert get_xp(out.received) is get_xp(to_xp(xp, h))
    np.testing.assert_allclose(to_numpy(out.received), ref, atol=1e-12)


def test_batched_snr_per_item(rng):
    h = _channel(rng, (3, 2, 8, 8))
    h[1] *= 10
    var = noise_variance_for_snr(h, 0.0, n_batch_dims=1)
    assert var.shape == (3,)
    assert var[1] == pytest.approx(100 * var[0], rel=0.5)


def test_multi_tx_streams_add(rng):
    h = _channel(rng, (2, 4, 3, 2))
    x = _channel(rng, (4, 3, 2))
    m = measure(h, x, noise_variance=0.0, multi_tx=True)
    np.testing.assert_allclose(m.received, np.sum(h * x[None], axis=-1))


def test_bad_input(rng):
    h = _channel(rng)
    x = np.ones((32, 16), complex)
    with pytest.raises(ValueError, match="exactly one"):
        measure(h, x, rng=0)
    with pytest.raises(ValueError, match="symbols"):
        measure(h, np.ones((16, 32)), snr_db=0.0)
    h2 = h.copy()
    h2[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="channel.*NaN"):
        measure(h2, x, snr_db=0.0)
    with pytest.raises(ValueError, match="zero received power"):
        measure(np.zeros_like(h), x, snr_db=0.0)
    with pytest.raises(ValueError, match="non-zero"):
        ls_channel_estimate(h, np.zeros((32, 16)))
    with pytest.raises(TypeError, match="rng"):
        measure(h, x, snr_db=0.0, rng="seed")
    with pytest.raises(ValueError, match="signal.*at least one entry"):
        measure(h[:, :0], x[:0], snr_db=0.0, rng=0)        # was a silent NaN noise variance
    with pytest.raises(ValueError, match="batch.*broadcast"):
        measure(np.ones((3,) + h.shape, complex), np.ones((2,) + x.shape, complex), snr_db=0.0, rng=0)
    for bad in (-1.0, np.nan, np.array([1.0, -1.0]), np.array([np.nan])):
        with pytest.raises(ValueError, match="variance"):   # was silent NaN noise
            complex_noise((2, 3), bad, rng=0)
