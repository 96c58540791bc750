"""Module B (sum-product on the support prior) and Turbo-VBI."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import to_xp
from estimators import common_support_posterior, support_messages, turbo_vbi
from sensing import to_numpy


def _brute_markov(pi_a, p01, p10):
    n = pi_a.size
    start = p01 / (p01 + p10)
    trans = np.array([[1 - p01, p01], [p10, 1 - p10]])
    num = np.zeros(n)
    den = np.zeros(n)
    for s in itertools.product((0, 1), repeat=n):
        prior = (start if s[0] else 1 - start) * np.prod([trans[s[i], s[i + 1]] for i in range(n - 1)])
        ev = np.array([pi_a[i] if s[i] else 1 - pi_a[i] for i in range(n)])
        for i in range(n):
            w = prior * np.prod(np.delete(ev, i))           # all evidence except the local one
            den[i] += w
            num[i] += w * s[i]
    return num / den


def test_markov_matches_brute_force(rng):
    pi_a = rng.random(6)
    lam, lb = 0.3, 2.5
    p10 = 1 / lb
    p01 = lam * p10 / (1 - lam)
    got = support_messages(pi_a, prior="markov", support_probability=lam, burst_length=lb)
    np.testing.assert_allclose(got, _brute_markov(pi_a, p01, p10), rtol=1e-10)
    batched = support_messages(np.stack([pi_a, pi_a[::-1]]), prior="markov", support_probability=lam,
                               burst_length=lb)
    np.testing.assert_allclose(batched[1], _brute_markov(pi_a[::-1], p01, p10), rtol=1e-10)


def _brute_common(pi_a, lc, lg):
    g_n, n = pi_a.shape
    out = np.zeros_like(pi_a)
    post_c = np.zeros(n)
    for q in range(n):
        num = np.zeros(g_n)
        den = np.zeros(g_n)
        pc_num = pc_den = 0.0
        for c in (0, 1):
            for s in itertools.product((0, 1), repeat=g_n):
                p = lc if c else 1 - lc
                for g in range(g_n):
                    p *= (lg[g] if s[g] else 1 - lg[g]) if c else (0.0 if s[g] else 1.0)
                ev = np.array([pi_a[g, q] if s[g] else 1 - pi_a[g, q] for g in range(g_n)])
                for g in range(g_n):
                    w = p * np.prod(np.delete(ev, g))
                    den[g] += w
                    num[g] += w * s[g]
                pc_den += p * ev.prod()
                pc_num += p * ev.prod() * c
        out[:, q] = num / den
        post_c[q] = pc_num / pc_den
    return out, post_c


def test_common_matches_brute_force(rng):
    pi_a = rng.random((3, 4))
    lg = np.array([0.9, 0.6, 0.75])
    got = support_messages(pi_a, prior="common", common_probability=0.2, group_probability=lg)
    want, post = _brute_common(pi_a, 0.2, lg)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    np.testing.assert_allclose(common_support_posterior(pi_a, common_probability=0.2, group_probability=lg),
                               post, rtol=1e-10)


def test_module_b_limits(rng, xp):
    pi_a = rng.random((2, 5))
    iid = support_messages(to_xp(xp, pi_a), prior="iid", support_probability=0.2)
    np.testing.assert_allclose(to_numpy(iid), 0.2)
    sure = support_messages(to_xp(xp, pi_a), prior="common", common_probability=1.0, group_probability=0.7)
    np.testing.assert_allclose(to_numpy(sure), 0.7, rtol=1e-9)       # lambda_c -> 1 gives lambda_g
    single = support_messages(pi_a[:1], prior="common", common_probability=0.3, group_probability=0.5)
    np.testing.assert_allclose(single, 0.15)                         # one user: two-layer prior
    neutral = support_messages(np.full((3, 2), 0.5), prior="common", common_probability=0.1,
                               group_probability=0.8)
    np.testing.assert_allclose(neutral, 0.08)                        # no evidence: prior marginal


def test_module_b_bad_input():
    with pytest.raises(ValueError, match="probabilities"):
        support_messages(np.array([0.2, 1.5]))
    with pytest.raises(ValueError, match="prior"):
        support_messages(np.array([0.2]), prior="mrf")
    with pytest.raises(ValueError, match="burst_length"):
        support_messages(np.array([0.2]), prior="markov", support_probability=0.6, burst_length=1.0)
    with pytest.raises(ValueError, match="group_probability"):
        support_messages(np.full((2, 2), 0.5), prior="common", group_probability=[0.5, 0.0])
    with pytest.raises(ValueError, match="must be finite"):
        support_messages(np.array([np.nan]))


def _groups(rng, g_n=3, m=40, n=160, snr_db=25.0):
    phi = (rng.standard_normal((g_n, m, n)) + 1j * rng.standard_normal((g_n, m, n))) / np.sqrt(2)
    common = np.sort(rng.choice(n, 6, replace=False))
    x = np.zeros((g_n, n, 1), complex)
    for g in range(g_n):
        s = common[g::1][: 4 + g % 2] if g else common[:5]
        x[g, s, 0] = (0.6 + rng.random(s.size)) * np.exp(2j * np.pi * rng.random(s.size))
    h = phi @ x
    s2 = np.mean(np.abs(h) ** 2) / 10 ** (snr_db / 10)
    y = h + np.sqrt(s2 / 2) * (rng.standard_normal(h.shape) + 1j * rng.standard_normal(h.shape))
    return phi, y, h, x


@pytest.mark.parametrize("subspace", [True, False])
def test_turbo_common_recovers(rng, subspace):
    phi, y, h, x = _groups(rng)
    r = turbo_vbi(y, phi, support_prior="common", subspace=subspace)
    assert r.coefficients.shape == x.shape
    mismatches = np.sum(r.support != (np.abs(x[..., 0]) > 0))
    assert mismatches <= (0 if subspace else 2)      # full VBI's soft support may differ on weak atoms
    err = np.sum(np.abs(phi @ r.coefficients - h) ** 2) / np.sum(np.abs(h) ** 2)
    assert 10 * np.log10(err) < -25.0
    assert r.method == ("turbo-sc-vbi" if subspace else "turbo-vbi-woodbury")


def test_turbo_markov_bursts(rng):
    m, n = 50, 150
    phi = (rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))) / np.sqrt(2)
    x = np.zeros(n, complex)
    for st in (20, 90):
        x[st:st + 4] = (0.6 + rng.random(4)) * np.exp(2j * np.pi * rng.random(4))
    h = phi @ x
    y = h + 0.05 * np.sqrt(np.mean(np.abs(h) ** 2)) * (rng.standard_normal(m) + 1j * rng.standard_normal(m))
    r = turbo_vbi(y, phi, support_prior="markov", support_probability=0.05, burst_length=4.0)
    np.testing.assert_array_equal(np.flatnonzero(r.support), np.flatnonzero(x))


def test_turbo_bad_input(rng):
    phi, y, h, x = _groups(rng, m=8, n=20)
    with pytest.raises(ValueError, match="same number of groups"):
        turbo_vbi(y[0], phi)
    with pytest.raises(ValueError, match="support_prior"):
        turbo_vbi(y, phi, support_prior="tree")
