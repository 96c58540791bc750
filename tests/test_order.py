"""AIC and MDL (Wax-Kailath)."""

import numpy as np
import pytest

from conftest import to_xp
from estimators import aic, mdl, sample_covariance
from sensing import to_numpy


def data(rng, k=3, m=8, n=200, snr_db=10.0, trials=None):
    shape = () if trials is None else (trials,)
    mu = np.linspace(-2.0, 2.0, k)
    a = np.exp(1j * np.outer(np.arange(m), mu))
    p = 10 ** (snr_db / 20)
    s = p * (rng.standard_normal(shape + (k, n)) + 1j * rng.standard_normal(shape + (k, n))) / np.sqrt(2)
    w = (rng.standard_normal(shape + (m, n)) + 1j * rng.standard_normal(shape + (m, n))) / np.sqrt(2)
    return a @ s + w


@pytest.mark.parametrize("crit", [aic, mdl])
def test_detects_the_number_of_sources(xp, rng, crit):
    x = data(rng, trials=5)
    r = crit(to_xp(xp, x))
    assert type(r.n_sources) is type(to_xp(xp, np.zeros(1)))
    k_hat = to_numpy(r.n_sources)
    if crit is mdl:
        np.testing.assert_array_equal(k_hat, 3)
    else:                                    # AIC never underestimates here, may overestimate
        assert np.all(k_hat >= 3) and np.mean(k_hat == 3) >= 0.6
    assert r.criterion.shape == (5, 8) and r.eigenvalues.shape == (5, 8)
    ev = to_numpy(r.eigenvalues)
    assert np.all(np.diff(ev, axis=-1) <= 0)             # descending


def test_mdl_is_consistent_and_aic_overestimates_more(rng):
    """Noise only, many trials: MDL says 0 almost always, AIC sometimes says more."""
    x = data(rng, k=1, snr_db=-200.0, trials=200, n=100)
    k_mdl = mdl(x).n_sources
    k_aic = aic(x).n_sources
    assert np.mean(k_mdl == 0) > 0.97
    assert np.mean(k_aic) >= np.mean(k_mdl)


def test_eigenvalue_and_covariance_inputs_agree(rng):
    x = data(rng)
    r = mdl(x)
    r_cov = mdl(sample_covariance(x), covariance=True, n_snapshots=200)
    r_ev = mdl(eigenvalues=np.linalg.eigvalsh(sample_covariance(x)), n_snapshots=200)
    np.testing.assert_allclose(r_cov.criterion, r.criterion, rtol=1e-10)
    np.testing.assert_allclose(r_ev.criterion, r.criterion, rtol=1e-10)


def test_scale_invariance_and_formula(rng):
    ev = np.array([9.0, 5.0, 1.2, 1.0, 0.9])
    n, m = 50, 5
    r = aic(eigenvalues=ev, n_snapshots=n)
    r10 = aic(eigenvalues=10 * ev, n_snapshots=n)
    np.testing.assert_allclose(r.criterion, r10.criterion, rtol=1e-12)
    k = 2
    tail = ev[k:]
    ref = 2 * n * (m - k) * np.log(tail.mean() / np.exp(np.log(tail).mean())) + 2 * k * (2 * m - k)
    assert r.criterion[k] == pytest.approx(ref, rel=1e-12)
    md = mdl(eigenvalues=ev, n_snapshots=n)
    ref_mdl = n * (m - k) * np.log(tail.mean() / np.exp(np.log(tail).mean())) + 0.5 * k * (2 * m - k) * np.log(n)
    assert md.criterion[k] == pytest.approx(ref_mdl, rel=1e-12)


def test_zero_noise_is_finite_and_correct(rng):
    mu = np.array([-1.0, 0.5])
    x = np.exp(1j * np.outer(np.arange(6), mu)) @ data(rng, k=1, m=2, n=30)[:2]   # rank 2, no noise
    r = mdl(x)
    assert np.all(np.isfinite(r.criterion))
    assert int(r.n_sources) == 2


def test_bad_input(rng):
    x = data(rng)
    with pytest.raises(ValueError, match="exactly one"):
        mdl()
    with pytest.raises(ValueError, match="exactly one"):
        mdl(x, eigenvalues=np.ones(3))
    with pytest.raises(ValueError, match="n_snapshots"):
        aic(sample_covariance(x), covariance=True)
    with pytest.raises(ValueError, match="n_snapshots"):
        aic(eigenvalues=np.ones(4))
    with pytest.raises(ValueError, match="square"):
        aic(x, covariance=True, n_snapshots=10)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mdl(x)
