"""Unitary ESPRIT near mu = +-pi (end-fire).

The real invariance equation K1 E Upsilon = K2 E (Haardt & Nossek 1995) has eigenvalues
tan(mu/2), which diverge at |mu| -> pi: the LS solve (K1 E near rank-deficient along those
sources) is then far from efficient, while TLS treats K1 E and K2 E alike and is unaffected. The
default is TLS by this measurement.
"""

import numpy as np

from estimators import esprit, unitary_esprit


def test_default_matches_standard_esprit_near_the_grid_edges():
    m, n, t = 64, 200, 150
    rng = np.random.default_rng(2024)
    mu = np.array([-2.9, 0.3, 3.0])
    a = np.exp(1j * np.outer(np.arange(m), mu))
    x = a @ ((rng.standard_normal((t, 3, n)) + 1j * rng.standard_normal((t, 3, n))) / np.sqrt(2)) \
        + (rng.standard_normal((t, m, n)) + 1j * rng.standard_normal((t, m, n))) / np.sqrt(2)

    def rmse(e):
        return np.sqrt(np.mean(np.angle(np.exp(1j * (e - np.sort(mu)))) ** 2, axis=0))

    ref = rmse(esprit(x, n_sources=3).estimates)
    got = rmse(unitary_esprit(x, n_sources=3).estimates)
    assert np.all(got < 1.15 * ref), (got, ref)
    assert unitary_esprit(x[0], n_sources=3, method="tls").estimates.shape == (3,)
