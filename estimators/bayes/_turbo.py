r"""Module B of the turbo framework: sum-product over a structured support prior.

Turbo-VBI (Liu, Liu, Lian, Lau, Zhao, *IEEE TWC* 19(5), 2020) alternates Module A (VBI for the
coefficients, precisions and noise given a prior support probability :math:`\pi^B`) with Module B
(exact or loopy sum-product on the factor graph of the support prior given Module A's extrinsic
evidence :math:`\pi^A`). This module implements Module B for three priors:

``"iid"``
    :math:`p(\mathbf s) = \prod_i \lambda^{s_i}(1-\lambda)^{1-s_i}`: Module B returns
    :math:`\pi^B_i = \lambda`.
``"markov"``
    A stationary two-state Markov chain along the atom index (burst sparsity, e.g. clustered
    delays), :math:`p(s_{i+1}=1\mid s_i=0) = p_{01}`, :math:`p(s_{i+1}=0\mid s_i=1) = p_{10}`,
    :math:`p(s_1 = 1) = p_{01}/(p_{01} + p_{10})`: forward-backward, exact on the chain.
``"common"``
    A common support :math:`c_i \sim \mathrm{Bernoulli}(\lambda_c)` shared by groups (users)
    :math:`g`, with :math:`p(s_{g,i} = 1\mid c_i = 1) = \lambda_g`, :math:`p(s_{g,i} = 1\mid c_i = 0) = 0`
    (the joint-sparsity prior of EM-Turbo-BiSVBI, Liu, Xu, Xu, Caire, arXiv:2502.00811, Sec. III).
    The factor graph is a tree per atom, so the messages are exact.

Every message is the *extrinsic* probability: :math:`\pi^B_{g,i} = p(s_{g,i} = 1 \mid` all evidence
except the local :math:`\pi^A_{g,i})`. All computations are in the log domain.
"""

from __future__ import annotations

import math

import numpy as np

from sensing import Array, asarray_like, check_array, check_bool, check_choice, check_float, get_xp, to_numpy

from ._linear_engine import check_linear_inputs, linear_result, run_linear
from ._variational import check_common_options, check_rates_compatible, check_subspace_options, sigmoid

__all__ = ["support_messages", "common_support_posterior", "turbo_vbi"]

_EPS = 1e-12


def _logaddexp(a, b, xp):
    m = xp.maximum(a, b)
    return m + xp.log(xp.exp(a - m) + xp.exp(b - m))


def _markov(pi_a, p01, p10, xp):
    """Forward-backward on a binary chain along the last axis; returns the extrinsic pi^B."""
    n = pi_a.shape[-1]
    lev1 = xp.log(xp.clip(pi_a, _EPS, 1.0))         # local evidence, log domain
    lev0 = xp.log(xp.clip(1 - pi_a, _EPS, 1.0))
    l00, l01 = math.log1p(-p01), math.log(p01)
    l10, l11 = math.log(p10), math.log1p(-p10)
    start1 = p01 / (p01 + p10)
    # forward messages into node i (excluding node i's evidence)
    f0 = [None] * n
    f1 = [None] * n
    f0[0] = xp.full(pi_a.shape[:-1], math.log1p(-start1), dtype=pi_a.dtype)
    f1[0] = xp.full(pi_a.shape[:-1], math.log(start1), dtype=pi_a.dtype)
    for i in range(1, n):
        a0 = f0[i - 1] + lev0[..., i - 1]
        a1 = f1[i - 1] + lev1[..., i - 1]
        n0 = _logaddexp(a0 + l00, a1 + l10, xp)
        n1 = _logaddexp(a0 + l01, a1 + l11, xp)
        z = _logaddexp(n0, n1, xp)
        f0[i], f1[i] = n0 - z, n1 - z
    b0 = [None] * n
    b1 = [None] * n
    b0[n - 1] = xp.zeros(pi_a.shape[:-1], dtype=pi_a.dtype)
    b1[n - 1] = xp.zeros(pi_a.shape[:-1], dtype=pi_a.dtype)
    for i in range(n - 2, -1, -1):
        a0 = b0[i + 1] + lev0[..., i + 1]
        a1 = b1[i + 1] + lev1[..., i + 1]
        n0 = _logaddexp(a0 + l00, a1 + l01, xp)
        n1 = _logaddexp(a0 + l10, a1 + l11, xp)
        z = _logaddexp(n0, n1, xp)
        b0[i], b1[i] = n0 - z, n1 - z
    m0 = xp.stack([f0[i] + b0[i] for i in range(n)], axis=-1)
    m1 = xp.stack([f1[i] + b1[i] for i in range(n)], axis=-1)
    return sigmoid(m1 - m0, xp)


def _common(pi_a, lam_c, lam_g, xp):
    """Messages of the common-support prior; pi_a (G, N), lam_g (G,) -> (pi^B (G, N), log-odds of c)."""
    pa = xp.clip(pi_a, _EPS, 1 - _EPS)
    lg = lam_g[:, None]
    # messages from factor p(s_g | c) to c: mu(1) = lam pi + (1-lam)(1-pi), mu(0) = 1 - pi
    log_mu1 = xp.log(lg * pa + (1 - lg) * (1 - pa))
    log_mu0 = xp.log(1 - pa)
    lam_c = min(lam_c, 1 - 1e-15)                        # lam_c = 1: c certainly on (log-odds ~ 35)
    tot1 = xp.sum(log_mu1, axis=0, keepdims=True) + math.log(lam_c)
    tot0 = xp.sum(log_mu0, axis=0, keepdims=True) + math.log1p(-lam_c)
    ext1 = tot1 - log_mu1                                # exclude user g's own message
    ext0 = tot0 - log_mu0
    p_c_ext = sigmoid(ext1 - ext0, xp)                  # p(c = 1 | other users)
    return lg * p_c_ext, (tot1 - tot0)[0, ...]


def support_messages(pi_a, *, prior: str = "iid", support_probability: float = 0.1,
                     burst_length: float = 4.0, common_probability: float = 0.1,
                     group_probability=0.8) -> Array:
    r"""Module B: extrinsic support probabilities :math:`\pi^B` from Module A's :math:`\pi^A`.

    Parameters
    ----------
    pi_a : array, shape (n_groups, n_atoms) or (n_atoms,), real in [0, 1]
        Extrinsic probabilities :math:`\pi^A` that each atom is active, from Module A.
    prior : {"iid", "markov", "common"}, default="iid"
        The support prior (see the module notes). ``"common"`` couples the groups (axis 0).
    support_probability : float in (0, 1), default=0.1
        :math:`\lambda`, the marginal activity of ``"iid"`` and ``"markov"``.
    burst_length : float >= 1, default=4
        ``"markov"``: mean run length of active atoms, :math:`1/p_{10}`; then
        :math:`p_{01} = \lambda p_{10}/(1-\lambda)` keeps :math:`\lambda` stationary.
    common_probability : float in (0, 1], default=0.1
        ``"common"``: :math:`\lambda_c = p(c_i = 1)`.
    group_probability : float or array (n_groups,), in (0, 1], default=0.8
        ``"common"``: :math:`\lambda_g = p(s_{g,i} = 1\mid c_i = 1)`.

    Returns
    -------
    array, shape of ``pi_a``
        :math:`\pi^B`, in the namespace of ``pi_a``.

    Examples
    --------
    Module A's support probabilities of 2 groups x 4 entries; the common prior pools the evidence of
    each entry over the other groups, the i.i.d. prior returns its constant:

    >>> import numpy as np
    >>> from estimators import support_messages
    >>> pi_a = np.array([[0.9, 0.1, 0.05, 0.8], [0.95, 0.2, 0.1, 0.1]])
    >>> support_messages(pi_a, prior="iid", support_probability=0.1)
    array([[0.1, 0.1, 0.1, 0.1],
           [0.1, 0.1, 0.1, 0.1]])
    >>> np.round(support_messages(pi_a, prior="common"), 2)
    array([[0.5 , 0.03, 0.02, 0.02],
           [0.36, 0.02, 0.02, 0.22]])
    """
    xp = get_xp(pi_a)
    p = check_array(pi_a, "pi_a", ndim=(1, 2), kind="real floating", xp=xp)
    if bool(xp.any(p < 0)) or bool(xp.any(p > 1)):
        raise ValueError("`pi_a` must hold probabilities in [0, 1].")
    check_choice(prior, "prior", ("iid", "markov", "common"))
    lam = check_float(support_probability, "support_probability", low=0.0, high=1.0,
                      low_inclusive=False, high_inclusive=False)
    if prior == "iid":
        return xp.full(p.shape, lam, dtype=p.dtype)
    if prior == "markov":
        if p.shape[-1] < 1:
            raise ValueError("`pi_a` must hold at least one atom.")
        lb = check_float(burst_length, "burst_length", low=1.0, why="a mean run length")
        p10 = 1.0 / lb
        p01 = lam * p10 / (1 - lam)
        if p01 >= 1:
            raise ValueError(f"`burst_length` {lb:g} is too short for `support_probability` {lam:g} "
                             f"(needs p01 = lambda/((1-lambda) L) < 1).")
        return _markov(p, p01, min(p10, 1 - 1e-12), xp)
    lc = check_float(common_probability, "common_probability", low=0.0, high=1.0, low_inclusive=False)
    p2 = p if p.ndim == 2 else p[None, :]
    lg = np.broadcast_to(np.asarray(group_probability, dtype=float), (p2.shape[0],))
    if np.any(~np.isfinite(lg)) or np.any(lg <= 0) or np.any(lg > 1):
        raise ValueError(f"`group_probability` must be in (0, 1]; got {np.asarray(group_probability).tolist()}.")
    out, _ = _common(p2, lc, asarray_like(lg, xp, dtype=p.dtype), xp)
    return out if p.ndim == 2 else out[0, ...]


def common_support_posterior(pi_a, *, common_probability: float = 0.1, group_probability=0.8) -> Array:
    r"""Posterior :math:`p(c_i = 1\mid\text{all evidence})` of the common-support layer.

    Parameters as in :func:`support_messages` (``prior="common"``); ``pi_a`` has shape
    (n_groups, n_atoms). Returns an array of shape (n_atoms,).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import common_support_posterior
    >>> pi_a = np.array([[0.9, 0.1, 0.05, 0.8], [0.95, 0.2, 0.1, 0.1]])   # (groups, entries)
    >>> np.round(common_support_posterior(pi_a), 2)                       # entry 0 is common
    array([0.93, 0.01, 0.01, 0.1 ])
    """
    xp = get_xp(pi_a)
    p = check_array(pi_a, "pi_a", ndim=2, kind="real floating", xp=xp)
    lc = check_float(common_probability, "common_probability", low=0.0, high=1.0, low_inclusive=False)
    lg = np.broadcast_to(np.asarray(group_probability, dtype=float), (p.shape[0],))
    _, logodds = _common(p, lc, asarray_like(lg, xp, dtype=p.dtype), xp)
    return sigmoid(logodds, xp)


def turbo_vbi(y, dictionary, *, support_prior: str = "iid", subspace: bool = True, prior=None,
              support_probability: float = 0.05, burst_length: float = 4.0, common_probability: float = 0.1,
              group_probability=0.8, support=None, adapt_support: bool = True, max_support: int | None = None,
              max_admit: int = 1, false_alarm: float = 0.1, prune_threshold: float = 0.5,
              ban_iterations: int = 3, method: str = "auto", max_iter: int = 200, tol: float = 1e-4,
              callback=None):
    r"""Turbo-VBI: Module A (VBI or SC-VBI) exchanging support messages with Module B.

    Each iteration runs one Module-A sweep (Gaussian coefficients on the support, precisions,
    support posterior with prior :math:`\pi^B`, noise), forms the extrinsic
    :math:`\pi^A = \sigma(\text{local log-likelihood ratio})` and lets Module B
    (:func:`support_messages`) return the next :math:`\pi^B`. In subspace mode atoms outside the
    support send :math:`\pi^A = 1/2` (no evidence) and a favourable :math:`\pi^B` lowers their
    admission threshold by :math:`\mathrm{logit}\,\pi^B - \mathrm{logit}\,\lambda`.

    Parameters
    ----------
    y : array, shape (n_meas,), (n_meas, n_snapshots) or (n_groups, n_meas, n_snapshots)
        Measurements; with the 3-D form the groups (e.g. users) have their own coefficients and
        are coupled by ``support_prior="common"``.
    dictionary : array, shape (n_meas, n_atoms) or (n_groups, n_meas, n_atoms)
    support_prior : {"iid", "markov", "common"}, default="iid"
        See :mod:`estimators.bayes._turbo`. ``"markov"`` runs along the atom index of each group.
    subspace : bool, default=True
        SC-VBI Module A (:func:`sc_vbi`); False uses the full-inverse update (:func:`vbi`).
    prior : SparsePrior, optional
    support_probability : float, default=0.05
        :math:`\lambda` for ``"iid"`` and ``"markov"``.
    burst_length : float, default=4
        ``"markov"``: mean run length.
    common_probability, group_probability : float, default=0.1, 0.8
        ``"common"``: :math:`\lambda_c` and :math:`\lambda_g`; the base activity is
        :math:`\lambda_c\lambda_g`.
    support, adapt_support, max_support, max_admit, false_alarm, prune_threshold, ban_iterations
        Subspace options, as in :func:`sc_vbi` (``support`` may be (n_groups, n_atoms) bool).
    method : {"auto", "direct", "woodbury"}
        Full-inverse form when ``subspace=False``.
    max_iter, tol, callback
        As in :func:`vbi`.

    Returns
    -------
    VBIResult
        ``method`` is ``"turbo-sc-vbi"`` or ``"turbo-vbi-<form>"``. The ELBO is that of Module A
        with :math:`\pi^B` as the prior; the turbo exchange does not guarantee its monotonicity.

    References
    ----------
    A. Liu, G. Liu, L. Lian, V. K. N. Lau, M. Zhao, "Robust recovery of structured sparse signals
    with uncertain sensing matrix: a Turbo-VBI approach," *IEEE Trans. Wireless Commun.* 19(5),
    2020.

    Examples
    --------
    Burst-sparse coefficients (two runs of adjacent active entries) with the Markov support prior:

    >>> import numpy as np
    >>> from estimators import turbo_vbi
    >>> rng = np.random.default_rng(0)
    >>> phi = (rng.standard_normal((48, 64)) + 1j * rng.standard_normal((48, 64))) / np.sqrt(2)
    >>> x = np.zeros(64, complex)
    >>> x[[10, 11, 12, 40, 41]] = [1.0, 0.8j, -0.7, 0.9, 0.6 - 0.6j]
    >>> y = phi @ x + 0.02 * (rng.standard_normal(48) + 1j * rng.standard_normal(48))
    >>> res = turbo_vbi(y, phi, support_prior="markov", burst_length=3.0)
    >>> res.method, np.flatnonzero(res.support)
    ('turbo-sc-vbi', array([10, 11, 12, 40, 41]))
    """
    xp = get_xp(y, dictionary)
    prior, max_iter, tol = check_common_options(prior, max_iter, tol, callback)
    check_choice(support_prior, "support_prior", ("iid", "markov", "common"))
    check_choice(method, "method", ("auto", "direct", "woodbury"))
    subspace = bool(check_bool(subspace, "subspace"))
    kw = check_subspace_options(support_probability, adapt_support, max_support, max_admit, false_alarm,
                                prune_threshold, ban_iterations)
    lam = kw.pop("lam")
    if support_prior == "iid":      # structured priors may raise pi^B above lambda: not checked
        if subspace and kw["adapt_support"]:
            check_rates_compatible(prior, lam, kw["prune_threshold"], raise_error=True,
                                   what="turbo SC-VBI would prune every atom it admits")
        elif not subspace:
            check_rates_compatible(prior, lam, 0.5, raise_error=False, what="the support q(s=1) > 1/2 stays empty")
    y3, phi3, grouped, has_snap, in_dtype = check_linear_inputs(y, dictionary, xp, True)
    if support_prior == "common":
        lc = check_float(common_probability, "common_probability", low=0.0, high=1.0, low_inclusive=False)
        lg = np.broadcast_to(np.asarray(group_probability, dtype=float), (y3.shape[0],))
        if np.any(~np.isfinite(lg)) or np.any(lg <= 0) or np.any(lg > 1):
            raise ValueError(f"`group_probability` must be in (0, 1]; got {np.asarray(group_probability).tolist()}.")
        lam = min(lc * float(np.mean(lg)), 1 - 1e-9)
    msg_kw = dict(prior=support_prior, support_probability=lam, burst_length=burst_length,
                  common_probability=common_probability, group_probability=group_probability)
    support_messages(xp.full((y3.shape[0], phi3.shape[2]), 0.5, dtype=xp.float64), **msg_kw)  # validate once

    def module_b(pi_a):
        return support_messages(pi_a, **msg_kw)

    sup = None if support is None else to_numpy(support)
    raw = run_linear(y3, phi3, layers=3, subspace=subspace, method="subspace" if subspace else method,
                     prior=prior, pib_init=lam, module_b=module_b, max_iter=max_iter, tol=tol,
                     support=sup, callback=callback, xp=xp,
                     label="turbo-sc-vbi" if subspace else "turbo-vbi", **kw)
    return linear_result(raw, grouped, has_snap, xp, in_dtype)
