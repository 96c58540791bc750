"""The coherence / weak-source warning also for covariance input."""

import warnings

import numpy as np
import pytest

from estimators import SubspaceWarning, esprit, music, sample_covariance
from sensing import steering_vector, ula


def _coherent(rng, n_trials=50, coherent=True, m=8, n=100):
    g = ula(m, 0.5)
    a = steering_vector(g, np.deg2rad(np.array([-10.0, 20.0])), wavelength_m=1.0)
    s = rng.standard_normal((n_trials, 1, n)) + 1j * rng.standard_normal((n_trials, 1, n))
    s = np.concatenate([s, s if coherent else
                        rng.standard_normal(s.shape) + 1j * rng.standard_normal(s.shape)], axis=1)
    x = a @ s + 0.3 * (rng.standard_normal((n_trials, m, n)) + 1j * rng.standard_normal((n_trials, m, n)))
    return g, x


def _warned(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn()
    return [i for i in w if issubclass(i.category, SubspaceWarning) and "eigenvalue" in str(i.message)]


@pytest.mark.parametrize("est", [music, esprit])
def test_coherent_sources_warn_for_covariance_as_for_snapshots(est):
    g, x = _coherent(np.random.default_rng(11))
    kw = dict(n_sources=2) if est is esprit else dict(n_sources=2, geometry=g, wavelength_m=1.0)
    assert _warned(lambda: est(x, **kw))                                   # snapshots: warns
    assert _warned(lambda: est(sample_covariance(x), covariance=True, **kw))  # covariance: must warn too


def test_no_warning_for_covariance_of_uncorrelated_sources():
    rng = np.random.default_rng(12)
    g, x = _coherent(rng, coherent=False)
    assert not _warned(lambda: music(sample_covariance(x), covariance=True, n_sources=2, geometry=g,
                                     wavelength_m=1.0))
    # nor for an exact (population) covariance of two sources in white noise
    a = steering_vector(g, np.deg2rad(np.array([-10.0, 20.0])), wavelength_m=1.0)
    r = a @ np.diag([1.0, 0.5]) @ a.conj().T + 0.1 * np.eye(8)
    assert not _warned(lambda: music(r, covariance=True, n_sources=2, geometry=g, wavelength_m=1.0))
    # and a coherent population covariance (rank-one source part) is flagged
    b = a @ np.ones(2)
    rc = np.outer(b, b.conj()) + 0.1 * np.eye(8)
    assert _warned(lambda: music(rc, covariance=True, n_sources=2, geometry=g, wavelength_m=1.0))
