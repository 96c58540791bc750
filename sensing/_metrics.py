r"""Estimation metrics: optimal assignment of estimates to truth, RMSE, misses and false alarms.

Multi-target estimates come unordered and possibly with the wrong count, so errors are computed
after an optimal one-to-one assignment (Hungarian algorithm, :func:`scipy.optimize.
linear_sum_assignment`). Physical parameters of different units (angle, range, velocity) are made
commensurable by a per-dimension ``scale`` (e.g. one resolution cell each), and a ``gate``
turns far-off pairs into a miss plus a false alarm. With a gate the assignment minimises

.. math::

    \sum_{(i, j)\ \mathrm{paired}} \min(d_{ij}, \gamma)^p, \qquad
    d_{ij} = \Big\| \frac{\hat{\boldsymbol\theta}_i - \boldsymbol\theta_j}{\mathbf{s}} \Big\|_2,

then drops pairs with :math:`d_{ij} > \gamma`: this is the GOSPA assignment with
:math:`\alpha = 2` (cut-off :math:`c = \gamma`), under which pairing beyond the gate costs exactly
as much as a miss plus a false alarm, so no better-gated pairing is missed.

The metrics run on the host (SciPy's assignment is CPU-only): CuPy or array-API inputs are copied
with :func:`sensing.to_numpy` and the returned arrays are NumPy.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import Array, HostCopy, get_xp, to_numpy
from ._validation import check_array

__all__ = ["Match", "match_estimates", "assigned_rmse", "rmse"]


@dataclass(frozen=True)
class Match(HostCopy):
    """Optimal assignment between estimates and ground truth.

    Attributes
    ----------
    est_index : numpy.ndarray, shape (n_pairs,), int
        Row of each paired estimate.
    truth_index : numpy.ndarray, shape (n_pairs,), int
        Row of each paired true target (ascending).
    errors : numpy.ndarray, shape (n_pairs, d)
        Signed errors ``estimate - truth`` in the inputs' physical units.
    distances : numpy.ndarray, shape (n_pairs,)
        Scaled distances :math:`d_{ij}` of the pairs (unitless).
    n_missed : int
        True targets without an estimate (including pairs beyond the gate).
    n_false_alarms : int
        Estimates without a target (including pairs beyond the gate).
    n_estimates, n_truth : int
        Number of estimates and of true targets.
    """

    est_index: np.ndarray
    truth_index: np.ndarray
    errors: np.ndarray
    distances: np.ndarray
    n_missed: int
    n_false_alarms: int
    n_estimates: int
    n_truth: int

    @property
    def n_pairs(self) -> int:
        """Number of matched (detected) targets."""
        return int(self.truth_index.shape[0])

    @property
    def detection_rate(self) -> float:
        """Fraction of true targets matched (NaN when there are none)."""
        return self.n_pairs / self.n_truth if self.n_truth else float("nan")


def _points_iv(x: Any, name: str, d: int | None) -> np.ndarray:
    if x is None:
        raise TypeError(f"`{name}` must be an array of shape (n, d) or (n,); got None.")
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        get_xp(x)  # rejects objects that are not arrays of a known library
        x = to_numpy(x)
    elif isinstance(x, (list, tuple)) and len(x) == 0:
        x = np.zeros((0,) if d is None or d == 1 else (0, d))
    arr = check_array(x, name, ndim=(1, 2), kind=("real floating", "integral"), finite=False)
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(
            f"`{name}` must be finite; got {n_bad} NaN/inf entr{'y' if n_bad == 1 else 'ies'}. "
            "Drop failed estimates before matching (they then count as misses)."
        )
    return arr[:, None] if arr.ndim == 1 else arr


def _match_iv(estimates, truth, scale, gate, p):
    est = _points_iv(estimates, "estimates", None)
    tru = _points_iv(truth, "truth", est.shape[1])
    if est.shape[0] == 0 and tru.shape[1] != est.shape[1]:
        est = np.zeros((0, tru.shape[1]))
    if tru.shape[0] == 0 and tru.shape[1] != est.shape[1]:
        tru = np.zeros((0, est.shape[1]))
    if est.shape[1] != tru.shape[1]:
        raise ValueError(
            f"`estimates` and `truth` must have the same number of dimensions d; got shapes "
            f"{est.shape} and {tru.shape}."
        )
    d = est.shape[1]
    if scale is None:
        s = np.ones(d)
    else:
        if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
            s = np.full(d, float(scale))
        else:
            s = np.asarray(to_numpy(scale) if hasattr(scale, "shape") else scale, dtype=np.float64)
            if s.ndim == 0:
                s = np.full(d, float(s))
        if s.shape != (d,):
            raise ValueError(f"`scale` must be a scalar or have shape ({d},) (one per dimension); got shape {s.shape}.")
        if not np.all(np.isfinite(s) & (s > 0)):
            raise ValueError(f"`scale` must be finite and > 0 in every dimension; got {s.tolist()}.")
    if gate is not None:
        if isinstance(gate, bool) or not isinstance(gate, numbers.Real):
            raise TypeError(f"`gate` must be a positive number (scaled distance) or None; got {gate!r}.")
        gate = float(gate)
        if not (np.isfinite(gate) and gate > 0):
            raise ValueError(f"`gate` must be finite and > 0 (scaled distance); got {gate}.")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (np.isfinite(p) and p > 0):
        raise ValueError(f"`p` must be a finite number > 0 (cost exponent); got {p!r}.")
    return est, tru, s, gate, float(p)


def match_estimates(estimates: Array, truth: Array, *, scale: Any = None, gate: float | None = None,
                    p: float = 1.0) -> Match:
    r"""Pair estimates with true targets by optimal (Hungarian) assignment.

    Parameters
    ----------
    estimates : array, shape (n_est, d) or (n_est,)
        Estimated parameters in physical units (e.g. columns angle [rad], range [m],
        velocity [m/s]); 1-D for d = 1. May be empty (every target missed). Must be finite.
    truth : array, shape (n_true, d) or (n_true,)
        True parameters, same units. May be empty (every estimate a false alarm).
    scale : float or array of shape (d,), optional
        Per-dimension unit of distance :math:`\mathbf{s}` (e.g. the resolution cell of each
        parameter), > 0. Default: 1 (plain Euclidean distance in the inputs' units).
    gate : float, optional
        Largest scaled distance :math:`\gamma` of a valid pair; a farther pair counts as one
        miss plus one false alarm. Default: no gate.
    p : float, default=1
        Cost exponent: pairs minimise :math:`\sum \min(d_{ij}, \gamma)^p` (p = 2 minimises the
        squared error, i.e. the RMSE of the pairs).

    Returns
    -------
    Match
        Pairs (sorted by truth index), signed errors, misses and false alarms.

    Raises
    ------
    ValueError
        NaN/inf entries, mismatched ``d``, non-positive ``scale`` or ``gate``.
    TypeError
        Non-numeric or complex inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import match_estimates
    >>> truth = np.array([[0.1, 20.0], [-0.4, 35.0]])                 # (angle [rad], range [m])
    >>> est = np.array([[-0.38, 34.0], [0.12, 21.0], [0.9, 80.0]])    # two hits and a false alarm
    >>> m = match_estimates(est, truth, scale=[0.05, 2.0], gate=3.0)
    >>> m.est_index, m.truth_index, m.n_missed, m.n_false_alarms, m.detection_rate
    (array([1, 0]), array([0, 1]), 0, 1, 1.0)
    >>> np.round(m.errors, 2)
    array([[ 0.02,  1.  ],
           [ 0.02, -1.  ]])
    """
    from scipy.optimize import linear_sum_assignment

    est, tru, s, gate, p = _match_iv(estimates, truth, scale, gate, p)
    n_est, n_true, d = est.shape[0], tru.shape[0], est.shape[1]
    if n_est == 0 or n_true == 0:
        empty = np.zeros(0, dtype=np.intp)
        return Match(empty, empty.copy(), np.zeros((0, d)), np.zeros(0), n_true, n_est, n_est, n_true)
    dist = np.sqrt(np.sum(((est[:, None, :] - tru[None, :, :]) / s) ** 2, axis=-1))  # (n_est, n_true)
    cost = dist if gate is None else np.minimum(dist, gate)
    rows, cols = linear_sum_assignment(cost ** p)
    if gate is not None:
        keep = dist[rows, cols] <= gate
        rows, cols = rows[keep], cols[keep]
    order = np.argsort(cols, kind="stable")
    rows, cols = rows[order], cols[order]
    n_pairs = rows.shape[0]
    return Match(rows.astype(np.intp), cols.astype(np.intp), est[rows] - tru[cols], dist[rows, cols],
                 n_true - n_pairs, n_est - n_pairs, n_est, n_true)


def assigned_rmse(estimates: Array, truth: Array, *, scale: Any = None, gate: float | None = None,
                  p: float = 1.0) -> np.ndarray:
    """Root-mean-square error per dimension over the optimally matched pairs.

    Parameters are those of :func:`match_estimates`.

    Returns
    -------
    numpy.ndarray, shape (d,)
        :math:`\\sqrt{\\mathrm{mean}_\\mathrm{pairs}(e^2)}` per dimension, in the inputs' units.
        NaN in every dimension when no pair was matched (no estimates, no truth, or all pairs
        beyond the gate): there is no error to average, and misses/false alarms are reported
        by :func:`match_estimates` instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import assigned_rmse
    >>> truth = np.array([[0.1, 20.0], [-0.4, 35.0]])
    >>> est = np.array([[-0.38, 34.0], [0.12, 21.0]])                 # order does not matter
    >>> np.round(assigned_rmse(est, truth, scale=[0.05, 2.0]), 3)
    array([0.02, 1.  ])
    >>> assigned_rmse(np.zeros((0, 2)), truth)                         # nothing matched
    array([nan, nan])
    """
    m = match_estimates(estimates, truth, scale=scale, gate=gate, p=p)
    if m.n_pairs == 0:
        return np.full(m.errors.shape[1], np.nan)
    return np.sqrt(np.mean(m.errors ** 2, axis=0))


def rmse(errors: Array, axis: int | tuple[int, ...] | None = 0) -> Array:
    """Root-mean-square of ``errors`` along ``axis``: :math:`\\sqrt{\\mathrm{mean}(|e|^2)}`.

    Parameters
    ----------
    errors : array
        Errors (real or complex), any library; must be finite and non-empty along ``axis``.
    axis : int, tuple of int or None, default=0
        Axis or axes to average over (None: all).

    Returns
    -------
    array
        Same library as ``errors``; real floating.

    Examples
    --------
    >>> import numpy as np
    >>> from sensing import rmse
    >>> e = np.array([[3.0, 1.0], [-4.0, 1.0]])
    >>> rmse(e)                                            # over axis 0 (trials)
    array([3.53553391, 1.        ])
    >>> float(rmse(np.array([3 + 4j, 0j]), axis=None))    # complex: |e|
    3.5355339059327378
    """
    xp = get_xp(errors)
    e = check_array(errors, "errors", kind=("real floating", "complex floating", "integral"), xp=xp)
    if e.ndim == 0:
        raise ValueError("`errors` must have at least one dimension; got a 0-d array.")
    raw = tuple(range(e.ndim)) if axis is None else (axis,) if not isinstance(axis, tuple) else axis
    if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in raw):
        raise TypeError(f"`axis` must be an int, a tuple of ints or None; got {axis!r}.")
    if not all(-e.ndim <= a < e.ndim for a in raw):
        raise ValueError(f"`axis` must lie in [-{e.ndim}, {e.ndim - 1}] for `errors` of shape "
                         f"{tuple(e.shape)}; got {axis!r}.")
    axes = tuple(sorted({int(a) % e.ndim for a in raw}))
    if any(e.shape[a] == 0 for a in axes):
        raise ValueError(f"`errors` must be non-empty along `axis` {axis!r}; got shape {tuple(e.shape)}.")
    if xp.isdtype(e.dtype, "integral"):
        e = xp.astype(e, xp.float64)
    mag2 = xp.real(e * xp.conj(e)) if xp.isdtype(e.dtype, "complex floating") else e * e
    return xp.sqrt(xp.mean(mag2, axis=axes))
