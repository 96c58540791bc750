"""Min-Norm (spectral and root): exact on noiseless data, bounded by the CRB, common behaviour."""

import numpy as np
import pytest

from estimators import LineEstimate, crb_stochastic, min_norm, music
from sensing import custom_array, steering_vector, ula

G = ula(8, 0.5)
AZ = np.array([-0.4, 0.3])


def _noise(rng, shape, sigma):
    return sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


@pytest.mark.parametrize("method", ["spectral", "root"])
def test_noiseless_frequencies_are_exact(rng, method):
    mu = np.array([-1.234, 0.4321, 2.0])
    x = np.exp(1j * np.outer(np.arange(12), mu)) @ _noise(rng, (3, 20), 1.0)
    r = min_norm(x, n_sources=3, method=method)
    assert isinstance(r, LineEstimate) and r.parameter == "frequency_rad"
    np.testing.assert_allclose(r.estimates, mu, atol=1e-9)


@pytest.mark.parametrize("method", ["spectral", "root"])
def test_ula_azimuths_and_batch_equal_single_calls(rng, method):
    x = np.stack([steering_vector(G, AZ, wavelength_m=1.0) @ _noise(rng, (2, 60), 1.0) + _noise(rng, (8, 60), 0.1)
                  for _ in range(4)])
    batch = min_norm(x, n_sources=2, geometry=G, wavelength_m=1.0, method=method)
    assert batch.estimates.shape == (4, 2)
    for i in range(4):
        one = min_norm(x[i], n_sources=2, geometry=G, wavelength_m=1.0, method=method)
        np.testing.assert_allclose(batch.estimates[i], one.estimates, atol=1e-12)
    np.testing.assert_allclose(batch.estimates, np.broadcast_to(AZ, (4, 2)), atol=np.deg2rad(1.0))


def test_spectral_form_takes_any_array(rng):
    pos = np.c_[np.zeros(8), 0.5 * np.arange(8) + 0.05 * rng.standard_normal(8), np.zeros(8)]
    g = custom_array(pos)
    x = steering_vector(g, AZ, wavelength_m=1.0) @ _noise(rng, (2, 50), 1.0)
    np.testing.assert_allclose(min_norm(x, n_sources=2, geometry=g, wavelength_m=1.0).estimates, AZ, atol=1e-9)
    with pytest.raises(ValueError, match="uniform linear array"):
        min_norm(x, n_sources=2, geometry=g, wavelength_m=1.0, method="root")


def test_monte_carlo_rmse_against_the_crb_and_music(rng):
    """Above threshold Min-Norm is unbiased, never beats the CRB, and pays a variance penalty
    relative to MUSIC (it uses one weighted noise vector instead of the whole noise subspace)."""
    n_trials, n_snap, sigma2 = 300, 100, 0.1
    a = steering_vector(G, AZ, wavelength_m=1.0)
    x = np.stack([a @ _noise(rng, (2, n_snap), 1.0) + _noise(rng, (8, n_snap), np.sqrt(sigma2))
                  for _ in range(n_trials)])
    crb = crb_stochastic(G, AZ, wavelength_m=1.0, n_snapshots=n_snap, noise_variance=sigma2,
                         source_covariance=np.eye(2)).std
    mus = music(x, n_sources=2, geometry=G, wavelength_m=1.0).estimates
    for method in ("spectral", "root"):
        est = min_norm(x, n_sources=2, geometry=G, wavelength_m=1.0, method=method).estimates
        rmse = np.sqrt(np.mean((est - AZ) ** 2, axis=0))
        assert np.all(np.abs(np.mean(est - AZ, axis=0)) < 3 * rmse / np.sqrt(n_trials))   # unbiased
        assert np.all(rmse > 0.9 * crb) and np.all(rmse < 3.0 * crb), (method, rmse, crb)
        assert np.all(rmse >= np.sqrt(np.mean((mus - AZ) ** 2, axis=0)))


def test_bad_input_names_the_argument(rng):
    x = steering_vector(G, AZ, wavelength_m=1.0) @ _noise(rng, (2, 20), 1.0)
    with pytest.raises(ValueError, match="method"):
        min_norm(x, n_sources=2, method="fancy")
    with pytest.raises(ValueError, match="`grid`"):
        min_norm(x, n_sources=2, method="root", grid=np.linspace(-3, 3, 10))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        min_norm(bad, n_sources=2)
