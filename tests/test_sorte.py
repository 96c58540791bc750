"""SORTE model order (He, Cichocki, Xie and Choi, IEEE TPAMI 2010) against textbook values."""

import numpy as np
import pytest

from estimators import sample_covariance, sorte
from sensing import steering_vector, ula


def _sorte_by_hand(lam):
    lam = np.sort(lam)[::-1]
    m = lam.size
    gaps = lam[:-1] - lam[1:]                                     # nabla lambda_i, i = 1..M-1
    var = [np.var(gaps[k - 1:]) for k in range(1, m)]             # sigma_k^2, k = 1..M-1
    vals = [var[k] / var[k - 1] if var[k - 1] > 0 else np.inf for k in range(1, m - 2)]   # k = 1..M-3
    return 1 + int(np.argmin(vals)), vals


@pytest.mark.parametrize("lam, k", [([9.0, 6.0, 4.0, 1.05, 1.0, 0.98, 0.96, 0.9], 3),
                                    ([50.0, 1.21, 1.07, 1.01, 0.93, 0.9], 1),
                                    ([30.0, 20.0, 12.0, 8.0, 5.0, 1.13, 1.04, 0.97, 0.87, 0.85], 5)])
def test_separated_eigenvalues_and_hand_values(lam, k):
    rng = np.random.default_rng(0)
    r = sorte(eigenvalues=rng.permutation(np.array(lam)))
    assert int(r.n_sources) == k and r.method == "sorte"
    k_hand, vals = _sorte_by_hand(np.array(lam))
    assert k_hand == k
    np.testing.assert_allclose(r.criterion[1:len(lam) - 2], vals, rtol=1e-12)
    assert np.isinf(r.criterion[0]) and np.all(np.isinf(r.criterion[len(lam) - 2:]))


def test_snapshots_covariance_and_batch(rng):
    g = ula(10, 0.5)
    a = steering_vector(g, np.deg2rad(np.array([-30.0, 0.0, 25.0])), wavelength_m=1.0)
    s = rng.standard_normal((4, 3, 200)) + 1j * rng.standard_normal((4, 3, 200))
    x = a @ s + 0.3 * (rng.standard_normal((4, 10, 200)) + 1j * rng.standard_normal((4, 10, 200)))
    np.testing.assert_array_equal(sorte(x).n_sources, [3, 3, 3, 3])
    np.testing.assert_array_equal(sorte(sample_covariance(x), covariance=True).n_sources, [3, 3, 3, 3])


def test_too_few_eigenvalues():
    with pytest.raises(ValueError, match="at least 4"):
        sorte(eigenvalues=np.array([3.0, 1.0, 0.5]))
