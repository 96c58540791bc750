r"""Sparse Bayesian learning and variational Bayesian inference with a three-layer sparse prior.

Complex linear model (one or several groups :math:`g`, each with snapshots :math:`t` that share
the support):

.. math::
    \mathbf y_{g,t} = \boldsymbol\Phi_g\,\mathbf x_{g,t} + \mathbf w_{g,t},\qquad
    \mathbf w_{g,t}\sim\mathcal{CN}(\mathbf 0, \gamma^{-1}\mathbf I).

Priors (Turbo-VBI three-layer form, ``docs/BISVBI.md`` §5):
:math:`x_{g,i,t}\mid\rho_{g,i}\sim\mathcal{CN}(0, \rho_{g,i}^{-1})`,
:math:`p(\rho\mid s) = \Gamma(\rho; a, b)^{s}\,\Gamma(\rho; a, \bar b)^{1-s}` (active / inactive
state; the two states share the shape :math:`a`, so the support update needs no special
functions and runs on any array library), :math:`s_{g,i}\sim\mathrm{Bernoulli}(\pi^B_{g,i})`
and :math:`\gamma\sim\Gamma(c_0, d_0)`. ``sbl`` drops the support layer
(:math:`\rho\sim\Gamma(a_0, b_0)`, the VB form of Tipping's relevance vector machine).

Mean-field posterior :math:`q(\mathbf x)q(\boldsymbol\rho)q(\mathbf s)q(\gamma)`; each update below is
the exact coordinate-ascent step, so with a fixed support set and a fixed :math:`\pi^B` the
evidence lower bound (ELBO) never decreases.

Subspace-constrained VBI (SC-VBI, Liu, Zhou, Xu, arXiv:2407.16947) restricts the Gaussian factor
to a support estimate :math:`S`: :math:`q(\mathbf x_S) = \mathcal{CN}(\boldsymbol\mu_S,\boldsymbol\Sigma_S)`
(an :math:`|S|\times|S|` solve) and, for :math:`i\notin S`, independent zero-mean factors
:math:`q(x_i) = \mathcal{CN}(0, v_i)` with the optimal :math:`v_i = 1/(\langle\gamma\rangle\lVert\boldsymbol\phi_i\rVert^2 + \langle\rho_i\rangle)`.
With :math:`S` equal to every atom this *is* the full update. The support follows
:math:`q(s)`: atoms with :math:`q(s_i = 1) <` ``prune_threshold`` leave :math:`S` (and may not return
for ``ban_iterations``), and the atoms whose normalised matched-filter energy of the residual
exceeds the noise level by the :math:`\ln N`-scaled false-alarm threshold enter it (the admission
rule of ``docs/BISVBI.md`` §6.6, a project choice; without it lost atoms never return).

Internally the data are scaled to unit mean power and the dictionary columns to unit norm; the
prior rates :math:`b`, :math:`\bar b` are in those units (so a coefficient of variance 1 carries
the energy of one measurement's mean power). Results are returned in the input's scale.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable

import numpy as np
from scipy import special, stats

from sensing import (
    HostCopy,
    Array,
    asarray_like,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    get_xp,
    to_numpy,
)

__all__ = ["SparsePrior", "IterationInfo", "VBIResult", "sbl", "vbi", "sc_vbi"]

_LOG_PI = math.log(math.pi)


# ---------------------------------------------------------------------------------------------
# public dataclasses
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SparsePrior:
    r"""Hyperparameters of the three-layer sparse prior (normalised units, see the module notes).

    With the default ``active_rate=None`` the rates follow the current noise estimate
    :math:`\hat\sigma^2 = 1/\langle\gamma\rangle` (an empirical-Bayes choice, like scaling the
    coefficient prior by the noise level): :math:`b = \beta\hat\sigma^2` and
    :math:`\bar b = b\,e^{-(\kappa - \mathrm{logit}\,\lambda)}`. Then an atom is active when its
    posterior power per snapshot exceeds about :math:`\beta\hat\sigma^2` (with prior probability
    :math:`\lambda`), a zero coefficient can switch off, and an inactive one is shrunk to a
    variance :math:`\approx\hat\sigma^2\lambda e^{-\kappa}`. With both rates given as numbers they
    stay fixed, and the ELBO is then non-decreasing (with a fixed support and prior).

    Parameters
    ----------
    shape : float, default=1
        :math:`a`, shared by both states (so the support update needs no special functions and
        runs on any array library).
    active_rate, inactive_rate : float or None, default=None
        Fixed :math:`b` and :math:`\bar b < b` (normalised units), or None for the noise-relative
        rule above (give both or neither).
    rate_factor : float, default=2
        :math:`\beta`.
    switch_margin : float, default=1
        :math:`\kappa` in (0, shape + 1): the log-odds of a coefficient with zero posterior power
        in the active state; :math:`\kappa < a + T` lets zeros switch off, :math:`\kappa > 0` lets
        strong atoms switch on.
    noise_shape, noise_rate : float, default=1e-6
        :math:`c_0, d_0` of the noise-precision prior (nearly non-informative).
    """

    shape: float = 1.0
    active_rate: float | None = None
    inactive_rate: float | None = None
    rate_factor: float = 2.0
    switch_margin: float = 1.0
    noise_shape: float = 1e-6
    noise_rate: float = 1e-6

    def __post_init__(self):
        for name in ("shape", "rate_factor", "switch_margin", "noise_shape", "noise_rate"):
            check_float(getattr(self, name), name, low=0.0, low_inclusive=False)
        if (self.active_rate is None) != (self.inactive_rate is None):
            raise ValueError("give both `active_rate` and `inactive_rate` (fixed rates) or neither "
                             f"(noise-relative rates); got {self.active_rate!r} and {self.inactive_rate!r}.")
        if self.active_rate is not None:
            check_float(self.active_rate, "active_rate", low=0.0, low_inclusive=False)
            check_float(self.inactive_rate, "inactive_rate", low=0.0, low_inclusive=False)
            if self.inactive_rate >= self.active_rate:
                raise ValueError(f"`inactive_rate` must be < `active_rate` = {self.active_rate:g} (the inactive "
                                 f"state has the larger precision); got {self.inactive_rate:g}.")

    def rates(self, noise_variance: float, support_probability: float) -> tuple[float, float]:
        """``(b, b_bar)`` for the current normalised noise variance and prior support probability."""
        if self.active_rate is not None:
            return float(self.active_rate), float(self.inactive_rate)
        lam = min(max(support_probability, 1e-12), 1 - 1e-12)
        b = self.rate_factor * noise_variance
        return b, b * math.exp(-(self.switch_margin - math.log(lam / (1 - lam))))


@dataclass(frozen=True)
class IterationInfo:
    """What an estimator passes to ``callback`` after every iteration (return True to stop).

    Attributes
    ----------
    iteration : int
        0-based iteration index.
    objective : float
        ELBO (or the estimator's objective) after the iteration.
    support_size : int
        Total number of atoms in the support estimate(s).
    noise_variance : float
        Current noise-variance estimate (input scale).
    elapsed_s : float
        Wall time since the start [s].
    estimate : array or None
        The current estimate (coefficients or channel, input scale).
    """

    iteration: int
    objective: float
    support_size: int
    noise_variance: float
    elapsed_s: float
    estimate: Any = None


def _to_numpy_fields(obj, skip=()):
    return replace(obj, **{f.name: to_numpy(getattr(obj, f.name)) for f in fields(obj)
                           if f.name not in skip and hasattr(getattr(obj, f.name), "shape")})


@dataclass(frozen=True)
class VBIResult(HostCopy):
    r"""Result of :func:`sbl`, :func:`vbi`, :func:`sc_vbi` and :func:`turbo_vbi`.

    Shapes: ``batch = (n_groups,)`` when ``y`` was 3-D, else ``()``; ``snap = (n_snapshots,)``
    when ``y`` had a snapshot axis, else ``()``.

    Attributes
    ----------
    coefficients : array, shape batch + (n_atoms,) + snap, complex
        Posterior mean :math:`\boldsymbol\mu` (input scale).
    variances : array, shape batch + (n_atoms,)
        Posterior variances (diagonal of :math:`\boldsymbol\Sigma`; :math:`v_i` off the support).
    support_probability : array, shape batch + (n_atoms,)
        :math:`q(s_i = 1)` (``sbl``: 1 where the precision stays finite, see ``support``).
    support : array of bool, shape batch + (n_atoms,)
        The support estimate (SC-VBI: the final subspace :math:`S`; full VBI:
        :math:`q(s_i = 1) > 1/2`; SBL: precision below ``prune_precision``).
    precisions : array, shape batch + (n_atoms,)
        :math:`\langle\rho_i\rangle` (input scale).
    noise_variance : float
        :math:`1/\langle\gamma\rangle` (input scale).
    elbo : ndarray, shape (n_iter,)
        ELBO after each iteration (normalised units, see the module notes).
    n_iter : int
    converged : bool
        True when the relative change of the coefficients fell below ``tol`` with a stable
        support; False when ``max_iter`` was reached or ``callback`` stopped the run.
    method : str
        ``"sbl"``, ``"vbi-direct"``, ``"vbi-woodbury"``, ``"sc-vbi"`` or ``"turbo-…"``.
    support_sizes : ndarray, shape (n_iter,)
        Total support size after each iteration.
    """

    coefficients: Array
    variances: Array
    support_probability: Array
    support: Array
    precisions: Array
    noise_variance: float
    elbo: np.ndarray = field(repr=False)
    n_iter: int = 0
    converged: bool = False
    method: str = ""
    support_sizes: np.ndarray = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------
# small helpers shared with the turbo and bilinear estimators
# ---------------------------------------------------------------------------------------------

def _sigmoid(z, xp):
    return 1.0 / (1.0 + xp.exp(-xp.clip(z, -700.0, 700.0)))


def _logit(p, xp):
    p = xp.clip(p, 1e-12, 1 - 1e-12)
    return xp.log(p) - xp.log1p(-p)


def _binary_entropy(p, xp):
    p = xp.clip(p, 1e-300, 1.0)
    q = xp.clip(1 - p, 1e-300, 1.0)
    return -(p * xp.log(p) + q * xp.log(q))


def _cinv_logdet(a, xp):
    """Inverse and log-determinant of a Hermitian positive-definite matrix via Cholesky."""
    n = a.shape[-1]
    a = 0.5 * (a + xp.conj(a.T))
    try:
        low = xp.linalg.cholesky(a)
    except Exception as exc:  # numpy/cupy LinAlgError
        raise FloatingPointError("a precision matrix lost positive definiteness; the data may be "
                                 "degenerate (check for duplicated or zero dictionary columns).") from exc
    d = xp.real(xp.linalg.diagonal(low))
    logdet = 2.0 * float(xp.sum(xp.log(d)))
    eye = xp.eye(n, dtype=a.dtype)
    linv = xp.linalg.solve(low, eye)
    return xp.conj(linv.T) @ linv, logdet


def _scatter(xp, base, idx, vals):
    """``base`` with ``base[idx] = vals`` along axis 0 (NumPy/CuPy setitem on a copy)."""
    out = xp.asarray(base, copy=True)
    out[idx, ...] = vals
    return out


def _take(xp, a, idx_host, axis):
    return xp.take(a, asarray_like(np.asarray(idx_host, dtype=np.int64), xp), axis=axis)


def _precision_update(m2, pit, n_snap, shape, b, bb, layers: int, xp, sbl_prior=(1e-6, 1e-6)):
    """q(rho) = Gamma(a_t, b_t): returns <rho>, <ln rho>, a_t (scalar), b_t."""
    if layers == 3:
        a_t = shape + n_snap
        b_t = m2 + pit * b + (1 - pit) * bb
    else:
        a_t = sbl_prior[0] + n_snap
        b_t = m2 + sbl_prior[1]
    rho = a_t / b_t
    lnrho = float(special.digamma(a_t)) - xp.log(b_t)
    return rho, lnrho, a_t, b_t


def _support_loglik(rho, shape, b, bb):
    """Local log-likelihood ratio of s = 1 vs s = 0 given <rho> (Module A's extrinsic log-odds)."""
    return shape * math.log(b / bb) - (b - bb) * rho


def _prior_elbo(m2, rho, lnrho, a_t, b_t, pit, pib, n_snap, shape, b, bb, layers, xp, sbl_prior=(1e-6, 1e-6)):
    """ELBO terms of x | rho, rho | s, s and the entropies of q(rho), q(s) (summed over atoms)."""
    tot = xp.sum(n_snap * (lnrho - _LOG_PI) - rho * m2)
    if layers == 3:
        a = shape
        tot = tot + xp.sum(a * (pit * math.log(b) + (1 - pit) * math.log(bb))
                           - math.lgamma(a) + (a - 1) * lnrho - (pit * b + (1 - pit) * bb) * rho)
        pb = xp.clip(pib, 1e-300, 1.0)
        qb = xp.clip(1 - pib, 1e-300, 1.0)
        tot = tot + xp.sum(pit * xp.log(pb) + (1 - pit) * xp.log(qb)) + xp.sum(_binary_entropy(pit, xp))
    else:
        a0, b0 = sbl_prior
        tot = tot + xp.sum(a0 * math.log(b0) - math.lgamma(a0) + (a0 - 1) * lnrho - b0 * rho)
    tot = tot + xp.sum(a_t - xp.log(b_t) + math.lgamma(a_t) + (1 - a_t) * float(special.digamma(a_t)))
    return float(tot)


def _noise_update(n_obs, eres, prior: SparsePrior):
    """q(gamma) = Gamma(c_t, d_t): returns <gamma>, <ln gamma> and its ELBO terms (prior + entropy)."""
    c0, d0 = prior.noise_shape, prior.noise_rate
    c_t = c0 + n_obs
    d_t = d0 + eres
    gam = c_t / d_t
    lng = float(special.digamma(c_t)) - math.log(d_t)
    terms = (c0 * math.log(d0) - math.lgamma(c0) + (c0 - 1) * lng - d0 * gam
             + c_t - math.log(d_t) + math.lgamma(c_t) + (1 - c_t) * float(special.digamma(c_t)))
    return gam, lng, terms


def _admission_threshold(n_candidates: int, n_snap: int, false_alarm: float) -> float:
    """Energy threshold in noise units: P(Gamma(T, 1) > thr) = false_alarm / n_candidates."""
    return float(stats.gamma.isf(false_alarm / max(1, n_candidates), a=n_snap))


# ---------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------

def _linear_iv(y, dictionary, xp, allow_groups: bool):
    yy = check_array(y, "y", ndim=(1, 2, 3) if allow_groups else (1, 2),
                     kind=("real floating", "complex floating"), xp=xp)
    phi = check_array(dictionary, "dictionary", ndim=(2, 3) if allow_groups else 2,
                      kind=("real floating", "complex floating"), xp=xp)
    in_dtype = yy.dtype
    yy = xp.astype(yy, xp.complex128)
    phi = xp.astype(phi, xp.complex128)
    grouped = yy.ndim == 3
    has_snap = yy.ndim >= 2
    if yy.ndim == 1:
        y3 = yy[None, :, None]
    elif yy.ndim == 2:
        y3 = yy[None, :, :]
    else:
        y3 = yy
    if phi.ndim == 2:
        phi3 = phi[None, :, :]
    else:
        if not grouped or phi.shape[0] != y3.shape[0]:
            raise ValueError(f"a 3-D `dictionary` needs a 3-D `y` with the same number of groups; got "
                             f"dictionary {tuple(phi.shape)} and y {tuple(yy.shape)}.")
        phi3 = phi
    if phi3.shape[1] != y3.shape[1]:
        raise ValueError(f"`dictionary` must have n_meas = {y3.shape[1]} rows to match `y` {tuple(yy.shape)}; "
                         f"got shape {tuple(phi.shape)}.")
    if phi3.shape[2] == 0:
        raise ValueError("`dictionary` must hold at least one atom (column); got an empty dictionary.")
    if y3.shape[1] == 0 or y3.shape[2] == 0:
        raise ValueError(f"`y` must hold at least one measurement; got shape {tuple(yy.shape)}.")
    return y3, phi3, grouped, has_snap, in_dtype


def _out_dtype(xp, in_dtype):
    return xp.complex64 if in_dtype in (xp.float32, xp.complex64) else xp.complex128


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------

def _run_linear(y3, phi3, *, layers: int, subspace: bool, method: str, prior: SparsePrior,
                pib_init: float, module_b: Callable | None, max_iter: int, tol: float,
                support, adapt_support: bool, max_support: int | None, max_admit: int,
                false_alarm: float, prune_threshold: float, ban_iterations: int,
                callback, xp, label: str, sbl_prior=(1e-6, 1e-6), prune_precision: float = 1e6):
    """Shared iteration of sbl / vbi / sc_vbi / turbo_vbi on (G, M, T) data and (G' in {1, G}, M, N) atoms."""
    t0 = time.perf_counter()
    n_g, n_m, n_t = (int(s) for s in y3.shape)
    n_atoms = int(phi3.shape[2])
    p_pow = float(xp.mean(xp.real(y3 * xp.conj(y3))))
    if not p_pow > 0:
        raise ValueError("`y` is identically zero; there is nothing to estimate.")
    scale_y = math.sqrt(p_pow)
    colnorm = xp.sqrt(xp.sum(xp.real(phi3 * xp.conj(phi3)), axis=1))           # (G', N)
    if bool(xp.any(colnorm == 0)):
        bad = np.flatnonzero(to_numpy(colnorm).min(axis=0) == 0)[:5].tolist()
        raise ValueError(f"`dictionary` has all-zero columns (e.g. {bad}); remove them first.")
    phin = phi3 / xp.astype(colnorm, xp.complex128)[:, None, :]
    yn = y3 / scale_y
    shared = phin.shape[0] == 1

    if not subspace and method == "auto":
        method = "woodbury" if n_m < n_atoms else "direct"
    gram0 = None
    if not subspace and method == "direct":
        gram0 = xp.conj(xp.permute_dims(phin, (0, 2, 1))) @ phin               # (G', N, N)

    rdt = xp.float64
    gamma = 1.0                              # unit mean power: start from "everything is noise"
    # start every precision at its matched-filter (single-atom SBL) value
    corr0 = xp.conj(xp.permute_dims(phin, (0, 2, 1))) @ yn                   # (G, N, T)
    e0 = xp.sum(xp.real(corr0 * xp.conj(corr0)), axis=2)
    rho = n_t / xp.maximum(e0 - n_t / gamma, 1e-3 * n_t / gamma)
    rho = xp.astype(xp.broadcast_to(rho, (n_g, n_atoms)), rdt)
    pit = xp.full((n_g, n_atoms), float(pib_init), dtype=rdt)
    pib = xp.full((n_g, n_atoms), float(pib_init), dtype=rdt)
    mu = xp.zeros((n_g, n_atoms, n_t), dtype=xp.complex128)
    var = xp.zeros((n_g, n_atoms), dtype=rdt)
    supports: list[np.ndarray] = []
    banned = np.full((n_g, n_atoms), -1, dtype=np.int64)
    if subspace:
        for g in range(n_g):
            if support is None:
                supports.append(np.zeros(0, dtype=np.int64))
                continue
            s = np.asarray(support[g] if np.ndim(support) == 2 else support)
            if s.dtype == bool:
                if s.shape != (n_atoms,):
                    raise ValueError(f"a boolean `support` must have shape ({n_atoms},); got {s.shape}.")
                s = np.flatnonzero(s)
            if s.size and s.dtype.kind not in "iu":
                raise TypeError(f"`support` must hold integer indices or booleans; got dtype {s.dtype}.")
            s = np.unique(s.astype(np.int64))
            if s.size and (s[0] < 0 or s[-1] >= n_atoms):
                raise ValueError(f"`support` indices must lie in [0, {n_atoms - 1}]; got {s.tolist()[:5]}.")
            supports.append(s)
    thr_units = _admission_threshold(n_atoms, n_t, false_alarm)
    logit_lam = math.log(pib_init / (1 - pib_init))
    elbo_hist, sizes = [], []
    converged = False
    it = -1
    for it in range(max_iter):
        b, bb = prior.rates(1.0 / gamma, pib_init) if layers == 3 else (1.0, 1.0)
        eres_tot, ent_x = 0.0, 0.0
        m2_all, var_all, mu_all, residuals = [], [], [], []
        in_s = None
        if subspace:
            in_s = np.zeros((n_g, n_atoms), bool)
            for g in range(n_g):
                in_s[g, supports[g]] = True
        for g in range(n_g):
            P = phin[0] if shared else phin[g]
            Y = yn[g]
            if subspace:
                s = supports[g]
                if s.size:
                    ps = _take(xp, P, s, axis=1)
                    gs = xp.conj(ps.T) @ ps
                    prec = gamma * gs + xp.eye(s.size, dtype=xp.complex128) * xp.astype(
                        _take(xp, rho[g], s, axis=0), xp.complex128)[None, :]
                    sig, logdet_p = _cinv_logdet(prec, xp)
                    mus = gamma * (sig @ (xp.conj(ps.T) @ Y))
                    R = Y - ps @ mus
                    trace = float(xp.sum(xp.real(sig * gs.T)))
                    vg = _scatter(xp, xp.zeros(n_atoms, dtype=rdt), s, xp.real(xp.linalg.diagonal(sig)))
                    mug = _scatter(xp, xp.zeros((n_atoms, n_t), dtype=xp.complex128), s, mus)
                    ent = n_t * (s.size * (1 + _LOG_PI) - logdet_p)
                else:
                    R, trace, ent = Y, 0.0, 0.0
                    vg = xp.zeros(n_atoms, dtype=rdt)
                    mug = xp.zeros((n_atoms, n_t), dtype=xp.complex128)
            else:
                if method == "direct":
                    G0 = gram0[0] if shared else gram0[g]
                    prec = gamma * G0 + xp.eye(n_atoms, dtype=xp.complex128) * xp.astype(rho[g], xp.complex128)[None, :]
                    sig, logdet_p = _cinv_logdet(prec, xp)
                    mug = gamma * (sig @ (xp.conj(P.T) @ Y))
                    vg = xp.real(xp.linalg.diagonal(sig))
                    trace = float(xp.sum(xp.real(sig * G0.T)))
                else:  # Woodbury: M x M solves only
                    dinv = 1.0 / rho[g]
                    pd = P * xp.astype(dinv, xp.complex128)[None, :]
                    cmat = pd @ xp.conj(P.T) + (1.0 / gamma) * xp.eye(n_m, dtype=xp.complex128)
                    ci, logdet_c = _cinv_logdet(cmat, xp)
                    w = ci @ P                                                   # (M, N)
                    mug = xp.astype(dinv, xp.complex128)[:, None] * (xp.conj(P.T) @ (ci @ Y))
                    vg = dinv - dinv * dinv * xp.real(xp.sum(xp.conj(P) * w, axis=0))
                    logdet_p = float(xp.sum(xp.log(rho[g]))) + n_m * math.log(gamma) + logdet_c
                    s2 = 1.0 / gamma
                    trace = n_m * s2 - s2 * s2 * float(xp.sum(xp.real(xp.linalg.diagonal(ci))))
                R = Y - P @ mug
                ent = n_t * (n_atoms * (1 + _LOG_PI) - logdet_p)
            eres_tot += float(xp.sum(xp.real(R * xp.conj(R)))) + n_t * trace
            ent_x += ent
            m2_all.append(n_t * vg + xp.sum(xp.real(mug * xp.conj(mug)), axis=1))
            var_all.append(vg)
            mu_all.append(mug)
            residuals.append(R)
        m2 = xp.stack(m2_all, axis=0)
        mu_old, mu = mu, xp.stack(mu_all, axis=0)
        var = xp.stack(var_all, axis=0)
        # q(rho), q(s), q(gamma)
        rho, lnrho, a_t, b_t = _precision_update(m2, pit, n_t, prior.shape, b, bb, layers, xp, sbl_prior)
        if layers == 3:
            llr = _support_loglik(rho, prior.shape, b, bb)
            pit = _sigmoid(_logit(pib, xp) + llr, xp)
        gamma, lngamma, gterms = _noise_update(n_g * n_m * n_t, eres_tot, prior)
        if subspace:   # the ELBO of the model restricted to S (x off S is exactly zero)
            msk = asarray_like(in_s, xp)
            pterms = _prior_elbo(m2[msk], rho[msk], lnrho[msk], a_t, b_t[msk], pit[msk], pib[msk], n_t,
                                 prior.shape, b, bb, layers, xp, sbl_prior)
        else:
            pterms = _prior_elbo(m2, rho, lnrho, a_t, b_t, pit, pib, n_t, prior.shape, b, bb, layers, xp,
                                 sbl_prior)
        elbo = (n_g * n_m * n_t * (lngamma - _LOG_PI) - gamma * eres_tot + ent_x + gterms + pterms)
        elbo_hist.append(elbo)
        # Module B (off-support atoms carry no local evidence: pi^A = 1/2)
        if module_b is not None and layers == 3:
            pia = _sigmoid(llr, xp)
            if subspace:
                pia = xp.where(asarray_like(in_s, xp), pia, xp.full_like(pia, 0.5))
            pib = module_b(pia)
        # support update
        changed = False
        if subspace and adapt_support:
            pib_h = to_numpy(pib)
            for g in range(n_g):
                s = supports[g]
                keep = s
                if s.size:
                    pit_s = to_numpy(_take(xp, pit[g], s, axis=0))
                    drop = s[pit_s < prune_threshold]
                    keep = s[pit_s >= prune_threshold]
                    banned[g, drop] = it + ban_iterations
                    if max_support is not None and keep.size > max_support:
                        m2s = to_numpy(_take(xp, m2[g], keep, axis=0))
                        keep = keep[np.argsort(-m2s)[:max_support]]
                room = n_atoms if max_support is None else max_support - keep.size
                new = np.zeros(0, dtype=np.int64)
                if room > 0 and max_admit > 0:
                    P = phin[0] if shared else phin[g]
                    corr = xp.conj(P.T) @ residuals[g]                           # (N, T)
                    energy = to_numpy(xp.sum(xp.real(corr * xp.conj(corr)), axis=1)) * gamma  # noise units
                    energy[keep] = -np.inf
                    energy[banned[g] >= it] = -np.inf
                    # a structured prior that favours an atom lowers its threshold (never below T)
                    boost = np.log(np.clip(pib_h[g], 1e-12, 1 - 1e-12) / np.clip(1 - pib_h[g], 1e-12, 1)) - logit_lam
                    thr = np.maximum(thr_units - boost, float(n_t))
                    order = np.argsort(-(energy - thr))[:min(room, max_admit)]
                    if keep.size == 0 and it == 0:
                        new = order[:1]                       # always start from the strongest atom
                    new = np.union1d(new, order[energy[order] > thr[order]]).astype(np.int64)
                    if new.size:   # newcomers start in the active state at their matched-filter power
                        pw = np.maximum(energy[new] - n_t, 0.1 * n_t) / gamma
                        rho = _scatter_row(xp, rho, g, new, n_t / pw)
                        pit = _scatter_row(xp, pit, g, new, np.full(new.size, 0.5))
                new_s = np.union1d(keep, new).astype(np.int64)
                if new_s.size != s.size or np.any(new_s != s):
                    changed = True
                supports[g] = new_s
        if subspace:
            sizes.append(int(sum(s.size for s in supports)))
        elif layers == 3:
            sizes.append(int(to_numpy(xp.sum(xp.astype(pit > 0.5, xp.int64)))))
        else:
            sizes.append(int(to_numpy(xp.sum(xp.astype(rho < prune_precision, xp.int64)))))
        dmu = float(xp.sqrt(xp.sum(xp.real((mu - mu_old) * xp.conj(mu - mu_old)))))
        nmu = float(xp.sqrt(xp.sum(xp.real(mu * xp.conj(mu)))))
        stop = False
        if callback is not None:
            info = IterationInfo(it, elbo, sizes[-1], scale_y ** 2 / gamma, time.perf_counter() - t0,
                                 _unscale(mu, colnorm, scale_y, xp))
            stop = bool(callback(info))
        if it > 0 and not changed and dmu <= tol * max(nmu, 1e-300):
            converged = True
            break
        if stop:
            break
    n_iter = it + 1
    c2 = xp.astype(colnorm, xp.float64) ** 2
    coef = _unscale(mu, colnorm, scale_y, xp)
    if subspace:
        sup_h = np.zeros((n_g, n_atoms), bool)
        for g in range(n_g):
            sup_h[g, supports[g]] = True
        sup = asarray_like(sup_h, xp)
        b, bb = prior.rates(1.0 / gamma, pib_init)
        pit = xp.where(sup, pit, xp.zeros_like(pit))
        rho = xp.where(sup, rho, xp.full_like(rho, prior.shape / bb))
    elif layers == 3:
        sup = pit > 0.5
    else:
        sup = rho < prune_precision
    probs = pit if layers == 3 else xp.astype(sup, xp.float64)
    return dict(coefficients=coef, variances=var * scale_y ** 2 / c2, support_probability=probs, support=sup,
                precisions=rho * c2 / scale_y ** 2, noise_variance=scale_y ** 2 / gamma,
                elbo=np.asarray(elbo_hist), n_iter=n_iter, converged=converged,
                method=label if subspace or layers == 2 else f"{label}-{method}",
                support_sizes=np.asarray(sizes, dtype=np.int64))


def _scatter_row(xp, a, row, cols, vals):
    out = xp.asarray(a, copy=True)
    out[row, asarray_like(np.asarray(cols, dtype=np.int64), xp)] = asarray_like(np.asarray(vals, dtype=float), xp)
    return out


def _unscale(mu, colnorm, scale_y, xp):
    return mu * (scale_y / xp.astype(colnorm, xp.complex128))[:, :, None] if colnorm.shape[0] == mu.shape[0] \
        else mu * (scale_y / xp.astype(colnorm, xp.complex128))[0][None, :, None]


def _finish(raw, grouped, has_snap, xp, in_dtype) -> VBIResult:
    odt = _out_dtype(xp, in_dtype)
    coef = xp.astype(raw["coefficients"], odt)
    if not has_snap:
        coef = coef[..., 0]
    keys = ("variances", "support_probability", "support", "precisions")
    vals = {k: raw[k] for k in keys}
    if not grouped:
        coef = coef[0]
        vals = {k: v[0] for k, v in vals.items()}
    return VBIResult(coefficients=coef, noise_variance=float(raw["noise_variance"]), elbo=raw["elbo"],
                     n_iter=raw["n_iter"], converged=raw["converged"], method=raw["method"],
                     support_sizes=raw["support_sizes"], **vals)


def _common_iv(prior, max_iter, tol, callback):
    if prior is None:
        prior = SparsePrior()
    if not isinstance(prior, SparsePrior):
        raise TypeError(f"`prior` must be a SparsePrior; got {type(prior).__name__}.")
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_float(tol, "tol", low=0.0)
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable or None; got {type(callback).__name__}.")
    return prior, max_iter, tol


# ---------------------------------------------------------------------------------------------
# public estimators
# ---------------------------------------------------------------------------------------------

def sbl(y, dictionary, *, max_iter: int = 200, tol: float = 1e-4, hyperprior=(1e-6, 1e-6),
        method: str = "auto", prune_precision: float = 1e6, callback=None) -> VBIResult:
    r"""Sparse Bayesian learning (variational ARD) with the full posterior covariance.

    Two-layer prior :math:`x_i\mid\rho_i\sim\mathcal{CN}(0,\rho_i^{-1})`,
    :math:`\rho_i\sim\Gamma(a_0, b_0)`, noise :math:`\gamma\sim\Gamma(10^{-6}, 10^{-6})`.

    Parameters
    ----------
    y : array, shape (n_meas,) or (n_meas, n_snapshots), complex or real
        Measurements :math:`\mathbf y` (snapshots share the support).
    dictionary : array, shape (n_meas, n_atoms)
        :math:`\boldsymbol\Phi` (columns need not be normalised).
    max_iter : int, default=200
    tol : float, default=1e-4
        Stop when :math:`\lVert\Delta\boldsymbol\mu\rVert \le` tol :math:`\lVert\boldsymbol\mu\rVert`.
    hyperprior : (float, float), default=(1e-6, 1e-6)
        :math:`(a_0, b_0)`, normalised units.
    method : {"auto", "direct", "woodbury"}, default="auto"
        ``"direct"`` inverts the :math:`N\times N` precision; ``"woodbury"`` solves
        :math:`M\times M` systems (cheaper when :math:`M < N`; ``"auto"`` picks it then).
    prune_precision : float, default=1e6
        Atoms whose normalised precision stays below this form ``support``.
    callback : callable(IterationInfo) -> bool or None, optional
        Called after every iteration; returning True stops.

    Returns
    -------
    VBIResult

    References
    ----------
    M. E. Tipping, "Sparse Bayesian learning and the relevance vector machine," *JMLR* 1, 2001.
    """
    xp = get_xp(y, dictionary)
    _, max_iter, tol = _common_iv(None, max_iter, tol, callback)
    check_choice(method, "method", ("auto", "direct", "woodbury"))
    a0, b0 = (check_float(v, "hyperprior", low=0.0, low_inclusive=False) for v in hyperprior)
    pp = check_float(prune_precision, "prune_precision", low=0.0, low_inclusive=False)
    y3, phi3, grouped, has_snap, in_dtype = _linear_iv(y, dictionary, xp, False)
    raw = _run_linear(y3, phi3, layers=2, subspace=False, method=method, prior=SparsePrior(), pib_init=0.5,
                      module_b=None, max_iter=max_iter, tol=tol, support=None, adapt_support=False,
                      max_support=None, max_admit=0, false_alarm=0.01, prune_threshold=0.5, ban_iterations=0,
                      callback=callback, xp=xp, label="sbl", sbl_prior=(a0, b0), prune_precision=pp)
    return _finish(raw, grouped, has_snap, xp, in_dtype)


def vbi(y, dictionary, *, prior: SparsePrior | None = None, support_probability: float = 0.05,
        max_iter: int = 200, tol: float = 1e-4, method: str = "auto", callback=None) -> VBIResult:
    r"""Variational Bayesian inference with the three-layer sparse prior, full posterior covariance.

    The baseline of :func:`sc_vbi`: the Gaussian factor couples all :math:`N` atoms, so each
    iteration inverts an :math:`N\times N` matrix (``method="direct"``, :math:`\mathcal O(N^3)`) or,
    by the Woodbury identity, an :math:`M\times M` one (``"woodbury"``, :math:`\mathcal O(M^2N)`).

    Parameters
    ----------
    y : array, shape (n_meas,) or (n_meas, n_snapshots)
        Measurements.
    dictionary : array, shape (n_meas, n_atoms)
        :math:`\boldsymbol\Phi`.
    prior : SparsePrior, optional
        Hyperparameters (default ``SparsePrior()``).
    support_probability : float in (0, 1), default=0.05
        :math:`\lambda = p(s_i = 1)` (i.i.d. support prior).
    max_iter, tol, callback
        As in :func:`sbl`.
    method : {"auto", "direct", "woodbury"}, default="auto"

    Returns
    -------
    VBIResult
        ``elbo`` is non-decreasing (the updates are exact coordinate ascent).

    References
    ----------
    A. Liu, G. Liu, L. Lian, V. K. N. Lau, M. Zhao, "Robust recovery of structured sparse signals
    with uncertain sensing matrix: a Turbo-VBI approach," *IEEE Trans. Wireless Commun.* 19(5),
    2020.
    """
    xp = get_xp(y, dictionary)
    prior, max_iter, tol = _common_iv(prior, max_iter, tol, callback)
    check_choice(method, "method", ("auto", "direct", "woodbury"))
    lam = check_float(support_probability, "support_probability", low=0.0, high=1.0,
                      low_inclusive=False, high_inclusive=False)
    y3, phi3, grouped, has_snap, in_dtype = _linear_iv(y, dictionary, xp, False)
    raw = _run_linear(y3, phi3, layers=3, subspace=False, method=method, prior=prior, pib_init=lam,
                      module_b=None, max_iter=max_iter, tol=tol, support=None, adapt_support=False,
                      max_support=None, max_admit=0, false_alarm=0.01, prune_threshold=0.5, ban_iterations=0,
                      callback=callback, xp=xp, label="vbi")
    return _finish(raw, grouped, has_snap, xp, in_dtype)


def sc_vbi(y, dictionary, *, prior: SparsePrior | None = None, support_probability: float = 0.05,
           support=None, adapt_support: bool = True, max_support: int | None = None, max_admit: int = 1,
           false_alarm: float = 0.1, prune_threshold: float = 0.5, ban_iterations: int = 3,
           max_iter: int = 200, tol: float = 1e-4, callback=None) -> VBIResult:
    r"""Subspace-constrained VBI: the Gaussian update restricted to a support estimate.

    Only :math:`|S|\times|S|` systems are solved (never an :math:`N\times N` or :math:`M\times M`
    inverse); each iteration costs :math:`\mathcal O(M|S|^2 + |S|^3)` plus the
    :math:`\mathcal O(MN)` matched filter of the admission rule (see the module notes).

    Parameters
    ----------
    y, dictionary, prior, support_probability, max_iter, tol, callback
        As in :func:`vbi`.
    support : array of int or bool (n_atoms,), optional
        Initial support :math:`S` (default empty: atoms enter one by one by the admission rule).
    adapt_support : bool, default=True
        Prune and admit atoms after each iteration; False keeps ``support`` fixed (then the ELBO
        is non-decreasing, and with every atom in ``support`` the result equals :func:`vbi`).
    max_support : int, optional
        Cap on :math:`|S|` (the atoms of largest posterior power are kept).
    max_admit : int, default=1
        Atoms admitted per iteration (one at a time was the most robust in the NumPy prototype,
        ``docs/BISVBI.md`` §14).
    false_alarm : float in (0, 1), default=0.1
        Probability that noise alone admits an atom in one iteration; the energy threshold is the
        :math:`1 - p_{fa}/N` quantile of :math:`\sigma^2\,\Gamma(T, 1)`, i.e. about
        :math:`\sigma^2(\ln N - \ln p_{fa})` for one snapshot.
    prune_threshold : float in [0, 1), default=0.5
        Atoms with :math:`q(s_i = 1)` below it leave :math:`S`.
    ban_iterations : int, default=3
        A pruned atom may not be re-admitted for this many iterations (stops cycling).

    Returns
    -------
    VBIResult

    References
    ----------
    A. Liu, Y. Zhou, W. Xu, "Subspace constrained variational Bayesian inference for structured
    compressive sensing with a dynamic grid," arXiv:2407.16947.
    """
    xp = get_xp(y, dictionary)
    prior, max_iter, tol = _common_iv(prior, max_iter, tol, callback)
    kw = _sc_iv(support_probability, adapt_support, max_support, max_admit, false_alarm, prune_threshold,
                ban_iterations)
    y3, phi3, grouped, has_snap, in_dtype = _linear_iv(y, dictionary, xp, False)
    raw = _run_linear(y3, phi3, layers=3, subspace=True, method="subspace", prior=prior,
                      pib_init=kw.pop("lam"), module_b=None, max_iter=max_iter, tol=tol,
                      support=None if support is None else to_numpy(support), callback=callback, xp=xp,
                      label="sc-vbi", **kw)
    return _finish(raw, grouped, has_snap, xp, in_dtype)


def _sc_iv(support_probability, adapt_support, max_support, max_admit, false_alarm, prune_threshold,
           ban_iterations):
    return dict(
        lam=check_float(support_probability, "support_probability", low=0.0, high=1.0, low_inclusive=False,
                        high_inclusive=False),
        adapt_support=check_bool(adapt_support, "adapt_support"),
        max_support=None if max_support is None else check_int(max_support, "max_support", low=1),
        max_admit=check_int(max_admit, "max_admit", low=0),
        false_alarm=check_float(false_alarm, "false_alarm", low=0.0, high=1.0, low_inclusive=False,
                                high_inclusive=False),
        prune_threshold=check_float(prune_threshold, "prune_threshold", low=0.0, high=1.0, high_inclusive=False),
        ban_iterations=check_int(ban_iterations, "ban_iterations", low=0),
    )
