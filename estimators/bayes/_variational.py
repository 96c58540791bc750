r"""Building blocks shared by the variational Bayesian estimators (linear and bilinear).

The three-layer sparse prior of Turbo-VBI (A. Liu, G. Liu, L. Lian, V. K. N. Lau, M. Zhao, *IEEE
Trans. Wireless Commun.* 19(5):3185-3198, 2020): :math:`x_i\mid\rho_i\sim\mathcal{CN}(0,\rho_i^{-1})`,
:math:`p(\rho\mid s) = \Gamma(\rho; a, b)^{s}\,\Gamma(\rho; a, \bar b)^{1-s}`,
:math:`s_i\sim\mathrm{Bernoulli}(\pi^B_i)`, noise :math:`\gamma\sim\Gamma(c_0, d_0)`, and the exact
mean-field coordinate steps of :math:`q(\boldsymbol\rho)`, :math:`q(\mathbf s)` and
:math:`q(\gamma)` with their ELBO terms; the residual-energy admission threshold of the
subspace-constrained estimators; the validation of the options they share.

Normalised units: the estimators scale the data to unit mean power and the dictionary columns to
unit norm before iterating; the prior rates :math:`b`, :math:`\bar b` are in those units (a
coefficient of variance 1 carries the energy of one measurement's mean power).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from sensing import asarray_like, check_bool, check_float, check_int

__all__ = [
    "LOG_PI", "SparsePrior", "IterationInfo", "sigmoid", "logit", "binary_entropy", "cinv_logdet", "take",
    "precision_update", "support_loglik", "prior_elbo", "prior_elbo_terms", "noise_update", "admission_threshold",
    "check_common_options", "check_subspace_options", "check_rates_compatible",
]

LOG_PI = math.log(math.pi)


# ---------------------------------------------------------------------------------------------
# prior hyperparameters and the per-iteration report
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SparsePrior:
    r"""Hyperparameters of the three-layer sparse prior (normalised units, see below).

    With the default ``active_rate=None`` the rates follow the current noise estimate
    :math:`\hat\sigma^2 = 1/\langle\gamma\rangle` (an empirical-Bayes choice, like scaling the
    coefficient prior by the noise level): :math:`b = \beta\hat\sigma^2` and
    :math:`\bar b = b\,e^{-(\kappa - \mathrm{logit}\,\lambda)}`. Then an atom is active when its
    posterior power per snapshot exceeds about :math:`\beta\hat\sigma^2` (with prior probability
    :math:`\lambda`), a zero coefficient can switch off, and an inactive one is shrunk to a
    variance :math:`\approx\hat\sigma^2\lambda e^{-\kappa}`. With both rates given as numbers they
    stay fixed, and the ELBO is then non-decreasing (with a fixed support and a fixed support
    prior :math:`\pi^B`); with the noise-relative rates the bound itself moves with
    :math:`\hat\sigma^2` and the reported ELBO can drop by a few per cent.

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

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import SparsePrior, vbi
    >>> prior = SparsePrior(rate_factor=4.0)             # a sharper active / inactive contrast
    >>> prior.shape, prior.rate_factor
    (1.0, 4.0)
    >>> rng = np.random.default_rng(0)
    >>> phi = rng.standard_normal((32, 48)) + 0j
    >>> y = phi[:, [3, 17]] @ np.array([1.0, -0.5]) + 0.01 * rng.standard_normal(32)
    >>> np.flatnonzero(vbi(y, phi, prior=prior).support)
    array([ 3, 17])
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
    r"""What an estimator passes to ``callback`` after every iteration (return True to stop).

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
    elbo_terms : dict of str to float, optional
        The ELBO split into its terms (they sum to ``objective``; normalised units), for the
        linear estimators: ``"likelihood"`` (:math:`E\ln p(\mathbf y\mid\mathbf x,\gamma)`),
        ``"entropy_x"`` (:math:`H[q(\mathbf x)]`), ``"noise"`` (:math:`E\ln p(\gamma) + H[q(\gamma)]`),
        ``"x_prior"``, ``"precision_prior"``, ``"entropy_precision"`` and, with the support layer,
        ``"support_prior"`` and ``"entropy_support"``. ``sbl(method="fast")`` reports its log
        evidence as ``"log_evidence"``. Empty where an estimator does not split its objective.
    """

    iteration: int
    objective: float
    support_size: int
    noise_variance: float
    elapsed_s: float
    estimate: Any = None
    elbo_terms: dict = field(default_factory=dict)
# ---------------------------------------------------------------------------------------------
# elementwise helpers and the Hermitian inverse
# ---------------------------------------------------------------------------------------------

def sigmoid(z, xp):
    return 1.0 / (1.0 + xp.exp(-xp.clip(z, -700.0, 700.0)))


def logit(p, xp):
    p = xp.clip(p, 1e-12, 1 - 1e-12)
    return xp.log(p) - xp.log1p(-p)


def binary_entropy(p, xp):
    p = xp.clip(p, 1e-300, 1.0)
    q = xp.clip(1 - p, 1e-300, 1.0)
    return -(p * xp.log(p) + q * xp.log(q))


def cinv_logdet(a, xp):
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

def take(xp, a, idx_host, axis):
    return xp.take(a, asarray_like(np.asarray(idx_host, dtype=np.int64), xp), axis=axis)


# ---------------------------------------------------------------------------------------------
# mean-field updates of q(rho), q(s), q(gamma) and their ELBO terms
# ---------------------------------------------------------------------------------------------

def precision_update(m2, pit, n_snap, shape, b, bb, layers: int, xp, sbl_prior=(1e-6, 1e-6)):
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


def support_loglik(rho, shape, b, bb):
    """Local log-likelihood ratio of s = 1 vs s = 0 given <rho> (Module A's extrinsic log-odds)."""
    return shape * math.log(b / bb) - (b - bb) * rho


def prior_elbo_terms(m2, rho, lnrho, a_t, b_t, pit, pib, n_snap, shape, b, bb, layers, xp,
                     sbl_prior=(1e-6, 1e-6)) -> dict:
    """ELBO terms of x | rho, rho | s, s and the entropies of q(rho), q(s) (each summed over atoms).

    Keys: ``"x_prior"`` (E ln p(x | rho)), ``"precision_prior"`` (E ln p(rho | s)),
    ``"support_prior"`` (E ln p(s), 3 layers only), ``"entropy_support"`` (H[q(s)], 3 layers only),
    ``"entropy_precision"`` (H[q(rho)]).
    """
    out = {"x_prior": float(xp.sum(n_snap * (lnrho - LOG_PI) - rho * m2))}
    if layers == 3:
        a = shape
        out["precision_prior"] = float(xp.sum(a * (pit * math.log(b) + (1 - pit) * math.log(bb)) - math.lgamma(a)
                                              + (a - 1) * lnrho - (pit * b + (1 - pit) * bb) * rho))
        pb = xp.clip(pib, 1e-300, 1.0)
        qb = xp.clip(1 - pib, 1e-300, 1.0)
        out["support_prior"] = float(xp.sum(pit * xp.log(pb) + (1 - pit) * xp.log(qb)))
        out["entropy_support"] = float(xp.sum(binary_entropy(pit, xp)))
    else:
        a0, b0 = sbl_prior
        out["precision_prior"] = float(xp.sum(a0 * math.log(b0) - math.lgamma(a0) + (a0 - 1) * lnrho - b0 * rho))
    out["entropy_precision"] = float(xp.sum(a_t - xp.log(b_t) + math.lgamma(a_t)
                                            + (1 - a_t) * float(special.digamma(a_t))))
    return out


def prior_elbo(m2, rho, lnrho, a_t, b_t, pit, pib, n_snap, shape, b, bb, layers, xp, sbl_prior=(1e-6, 1e-6)):
    """ELBO terms of x | rho, rho | s, s and the entropies of q(rho), q(s) (summed over atoms)."""
    return float(sum(prior_elbo_terms(m2, rho, lnrho, a_t, b_t, pit, pib, n_snap, shape, b, bb, layers, xp,
                                      sbl_prior).values()))


def noise_update(n_obs, eres, prior: SparsePrior):
    """q(gamma) = Gamma(c_t, d_t): returns <gamma>, <ln gamma> and its ELBO terms (prior + entropy)."""
    c0, d0 = prior.noise_shape, prior.noise_rate
    c_t = c0 + n_obs
    d_t = d0 + eres
    gam = c_t / d_t
    lng = float(special.digamma(c_t)) - math.log(d_t)
    terms = (c0 * math.log(d0) - math.lgamma(c0) + (c0 - 1) * lng - d0 * gam
             + c_t - math.log(d_t) + math.lgamma(c_t) + (1 - c_t) * float(special.digamma(c_t)))
    return gam, lng, terms


def admission_threshold(n_candidates: int, n_snap: int, false_alarm: float) -> float:
    """Energy threshold in noise units: P(Gamma(T, 1) > thr) = false_alarm / n_candidates."""
    return float(stats.gamma.isf(false_alarm / max(1, n_candidates), a=n_snap))
# ---------------------------------------------------------------------------------------------
# option validation shared by the linear estimators
# ---------------------------------------------------------------------------------------------

def check_common_options(prior, max_iter, tol, callback):
    if prior is None:
        prior = SparsePrior()
    if not isinstance(prior, SparsePrior):
        raise TypeError(f"`prior` must be a SparsePrior; got {type(prior).__name__}.")
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_float(tol, "tol", low=0.0)
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable or None; got {type(callback).__name__}.")
    return prior, max_iter, tol


def check_subspace_options(support_probability, adapt_support, max_support, max_admit, false_alarm,
                           prune_threshold, ban_iterations):
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


def check_rates_compatible(prior: SparsePrior, support_probability: float, threshold: float, *, raise_error: bool,
                           what: str) -> None:
    r"""Reject (or warn about) fixed rates under which no atom can stay active.

    Given :math:`\langle\rho\rangle \ge 0`, the support posterior is at most
    :math:`\sigma(a\ln(b/\bar b) + \mathrm{logit}\,\lambda)` (the local log-likelihood ratio
    :math:`a\ln(b/\bar b) - (b - \bar b)\langle\rho\rangle` is largest at zero precision). When that
    bound is at most ``threshold`` (SC-VBI's ``prune_threshold``; 1/2 for the support of full VBI),
    every atom is pruned / left out of the support. Only fixed rates are checked (the noise-relative
    rates give :math:`a\kappa + (1 - a)\,\mathrm{logit}\,\lambda`, which is :math:`\kappa > 0` for the
    default :math:`a = 1`).
    """
    if prior.active_rate is None or threshold <= 0:
        return
    a, b, bb = prior.shape, float(prior.active_rate), float(prior.inactive_rate)
    lam = support_probability
    val = a * math.log(b / bb) + math.log(lam / (1 - lam))
    lim = math.log(threshold / (1 - threshold))
    if val > lim:
        return
    pmax = 1.0 / (1.0 + math.exp(-val))
    msg = (f"fixed prior rates incompatible with the support probability: shape*ln(active_rate/inactive_rate) "
           f"+ logit(support_probability) = {a:g}*ln({b:g}/{bb:g}) + logit({lam:g}) = {val:.2f} <= "
           f"logit({threshold:g}) = {lim:.2f}, so q(s=1) <= {pmax:.3g} for every atom and {what}. Raise "
           f"active_rate/inactive_rate or support_probability, or use the noise-relative rates (active_rate=None).")
    if raise_error:
        raise ValueError(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=3)
