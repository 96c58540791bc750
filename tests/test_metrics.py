"""Metrics: optimal assignment, gating, RMSE, misses and false alarms, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import to_xp
from sensing import Match, assigned_rmse, match_estimates, rmse, to_numpy


def test_known_assignment_and_signed_errors():
    truth = np.array([[0.1, 10.0], [0.5, 30.0], [-0.3, 50.0]])        # (angle rad, range m)
    est = np.array([[0.52, 29.0], [-0.29, 51.0], [0.09, 10.5]])
    m = match_estimates(est, truth, scale=[0.1, 5.0])
    assert isinstance(m, Match)
    np.testing.assert_array_equal(m.truth_index, [0, 1, 2])
    np.testing.assert_array_equal(m.est_index, [2, 0, 1])
    np.testing.assert_allclose(m.errors, [[-0.01, 0.5], [0.02, -1.0], [0.01, 1.0]], atol=1e-12)
    np.testing.assert_allclose(m.distances, np.hypot(m.errors[:, 0] / 0.1, m.errors[:, 1] / 5.0))
    assert (m.n_missed, m.n_false_alarms, m.n_pairs, m.detection_rate) == (0, 0, 3, 1.0)
    np.testing.assert_allclose(assigned_rmse(est, truth, scale=[0.1, 5.0]),
                               np.sqrt(np.mean(m.errors ** 2, axis=0)))


def test_scale_changes_the_assignment():
    # in raw units the range dominates; with a per-dimension scale the angle does
    truth = np.array([[0.0, 0.0], [1.0, 10.0]])
    est = np.array([[0.0, 10.0], [1.0, 0.0]])
    raw = match_estimates(est, truth)
    assert raw.est_index.tolist() == [1, 0]  # (1,0)->(0,0): distance 1; (0,10)->(1,10): 1
    scaled = match_estimates(est, truth, scale=[0.01, 100.0])
    assert scaled.est_index.tolist() == [0, 1]


def test_permutation_invariance(rng):
    truth = rng.uniform(-1, 1, (5, 3))
    est = truth[:4] + 0.05 * rng.standard_normal((4, 3))
    base = assigned_rmse(est, truth)
    for _ in range(5):
        pe, pt = rng.permutation(4), rng.permutation(5)
        np.testing.assert_allclose(assigned_rmse(est[pe], truth[pt]), base, rtol=1e-12)
        m = match_estimates(est[pe], truth[pt])
        # the same physical pairs, re-indexed
        assert sorted(map(tuple, np.round(m.errors, 12))) == \
            sorted(map(tuple, np.round(match_estimates(est, truth).errors, 12)))
        assert (m.n_missed, m.n_false_alarms) == (1, 0)


def test_gating_turns_far_pairs_into_miss_and_false_alarm():
    truth = np.array([0.0, 1.0, 2.0])
    est = np.array([0.05, 1.02, 7.0])
    m = match_estimates(est, truth, gate=0.5)
    assert m.truth_index.tolist() == [0, 1] and m.est_index.tolist() == [0, 1]
    assert (m.n_missed, m.n_false_alarms) == (1, 1)
    assert m.errors.shape == (2, 1)
    # exactly at the gate still counts as a pair; beyond it does not
    assert match_estimates([0.5], [0.0], gate=0.5).n_pairs == 1
    assert match_estimates([0.5 + 1e-9], [0.0], gate=0.5).n_pairs == 0
    np.testing.assert_array_equal(assigned_rmse([7.0], [0.0], gate=1.0), [np.nan])
    # without a gate every estimate is paired
    assert match_estimates(est, truth).n_pairs == 3


def test_gated_assignment_maximises_pairs_within_gate():
    # distances: e0-t0 0.922, e0-t1 1.342, e1-t0 1.803, e1-t1 2.746. The ungated optimum pairs
    # e0-t1 and e1-t0 (3.145 < 3.668), both beyond the gate, so gating after it would keep no
    # pair; minimising sum min(d, gate) keeps e0-t0 (0.922 + 1 < 1 + 1).
    truth = np.array([[0.8, 1.6], [1.3, 2.8]])
    est = np.array([[0.1, 2.2], [1.8, 0.1]])
    from scipy.optimize import linear_sum_assignment

    d = np.linalg.norm(est[:, None] - truth[None], axis=-1)
    assert linear_sum_assignment(d)[1].tolist() == [1, 0]          # the ungated optimum
    m = match_estimates(est, truth, gate=1.0)
    assert m.est_index.tolist() == [0] and m.truth_index.tolist() == [0]
    assert (m.n_missed, m.n_false_alarms) == (1, 1)


def test_one_dimensional_and_empty_inputs():
    m = match_estimates(np.array([3.0, 1.0]), np.array([1.1, 2.9, 5.0]))
    assert m.est_index.tolist() == [1, 0] and m.truth_index.tolist() == [0, 1]
    np.testing.assert_allclose(m.errors[:, 0], [-0.1, 0.1])
    assert (m.n_missed, m.n_false_alarms) == (1, 0)
    empty = match_estimates(np.zeros((0, 2)), np.ones((3, 2)))
    assert (empty.n_pairs, empty.n_missed, empty.n_false_alarms) == (0, 3, 0)
    assert empty.errors.shape == (0, 2)
    assert match_estimates([], [1.0, 2.0]).n_missed == 2
    fa = match_estimates([1.0, 2.0], [])
    assert (fa.n_missed, fa.n_false_alarms, fa.detection_rate is not None) == (0, 2, True)
    assert np.isnan(fa.detection_rate)
    assert np.all(np.isnan(assigned_rmse(np.zeros((0, 3)), np.ones((2, 3)))))
    assert assigned_rmse(np.zeros((0, 3)), np.ones((2, 3))).shape == (3,)


def _brute_force(est, truth, scale, gate, p):
    """Minimum of sum min(d, gate)^p over all one-to-one pairings of size min(n_est, n_true)."""
    d = np.sqrt(np.sum(((est[:, None] - truth[None]) / scale) ** 2, axis=-1))
    c = d if gate is None else np.minimum(d, gate)
    n_e, n_t = d.shape
    best = np.inf
    if n_e <= n_t:
        for cols in itertools.permutations(range(n_t), n_e):
            best = min(best, sum(c[i, j] ** p for i, j in enumerate(cols)))
    else:
        for rows in itertools.permutations(range(n_e), n_t):
            best = min(best, sum(c[i, j] ** p for j, i in enumerate(rows)))
    return best


@given(n_est=st.integers(1, 5), n_true=st.integers(1, 5), d=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1), gated=st.booleans(), p=st.sampled_from([1.0, 2.0]))
def test_hungarian_is_optimal_against_brute_force(n_est, n_true, d, seed, gated, p):
    r = np.random.default_rng(seed)
    est, truth = r.uniform(0, 3, (n_est, d)), r.uniform(0, 3, (n_true, d))
    scale = r.uniform(0.5, 2.0, d)
    gate = 1.0 if gated else None
    m = match_estimates(est, truth, scale=scale, gate=gate, p=p)
    unpaired = min(n_est, n_true) - m.n_pairs           # pairs dropped by the gate cost gate^p each
    total = np.sum(m.distances ** p) + unpaired * (gate ** p if gated else 0.0)
    assert total == pytest.approx(_brute_force(est, truth, scale, gate, p), rel=1e-9, abs=1e-12)
    assert m.n_missed == n_true - m.n_pairs and m.n_false_alarms == n_est - m.n_pairs
    np.testing.assert_allclose(m.errors, est[m.est_index] - truth[m.truth_index])
    if gated:
        assert np.all(m.distances <= gate)


def test_rmse_backends_and_axes(xp, rng):
    e = rng.standard_normal((50, 3))
    out = rmse(to_xp(xp, e))
    assert type(out) is type(to_xp(xp, e))
    np.testing.assert_allclose(to_numpy(out), np.sqrt(np.mean(e ** 2, axis=0)))
    np.testing.assert_allclose(to_numpy(rmse(to_xp(xp, e), axis=None)), np.sqrt(np.mean(e ** 2)))
    np.testing.assert_allclose(to_numpy(rmse(to_xp(xp, e), axis=-1)), np.sqrt(np.mean(e ** 2, axis=1)))
    z = e[:, :2] @ np.array([1.0, 1j])
    np.testing.assert_allclose(to_numpy(rmse(to_xp(xp, z))), np.sqrt(np.mean(np.abs(z) ** 2)))


@pytest.mark.parametrize("args, kwargs, exc, match", [
    (([np.nan, 1.0], [1.0]), {}, ValueError, r"`estimates` must be finite; got 1 NaN/inf entry.*Drop failed"),
    (([1.0], [np.inf]), {}, ValueError, "`truth` must be finite"),
    ((np.ones((2, 2)), np.ones((2, 3))), {}, ValueError, r"same number of dimensions d; got shapes \(2, 2\) and \(2, 3\)"),
    ((np.ones((2, 2, 2)), np.ones((2, 2))), {}, ValueError, "`estimates` must have 1 or 2 dimension"),
    (([1j], [1.0]), {}, TypeError, "`estimates` must have a dtype of kind"),
    (("abc", [1.0]), {}, TypeError, "`estimates` must be an array"),
    (([1.0], [1.0]), {"scale": [1.0, 2.0]}, ValueError, r"`scale` must be a scalar or have shape \(1,\)"),
    (([1.0], [1.0]), {"scale": 0.0}, ValueError, "`scale` must be finite and > 0"),
    (([1.0], [1.0]), {"gate": -1.0}, ValueError, "`gate` must be finite and > 0"),
    (([1.0], [1.0]), {"gate": "1"}, TypeError, "`gate` must be a positive number"),
    (([1.0], [1.0]), {"p": 0}, ValueError, "`p` must be a finite number > 0"),
])
def test_match_rejects_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        match_estimates(*args, **kwargs)


def test_rmse_rejects_bad_input():
    with pytest.raises(ValueError, match="`errors` must be finite"):
        rmse(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="non-empty along `axis`"):
        rmse(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"`axis` must lie in \[-2, 1\]"):
        rmse(np.zeros((2, 2)), axis=2)
    with pytest.raises(TypeError, match="`axis` must be an int"):
        rmse(np.zeros((2, 2)), axis=1.0)
    with pytest.raises(ValueError, match="at least one dimension"):
        rmse(np.float64(1.0))
