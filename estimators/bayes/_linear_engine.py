r"""The coordinate-ascent iteration shared by :func:`sbl`, :func:`vbi`, :func:`sc_vbi` and :func:`turbo_vbi`.

:func:`run_linear` iterates the mean-field updates on grouped data ``(G, M, T)`` and atoms
``(G' in {1, G}, M, N)``: the Gaussian factor (full :math:`N\times N` inverse, Woodbury
:math:`M\times M` form, or the subspace-constrained :math:`|S|\times|S|` solve of SC-VBI,
A. Liu, Y. Zhou, W. Xu, arXiv:2407.16947), then :math:`q(\boldsymbol\rho)`, :math:`q(\mathbf s)`,
:math:`q(\gamma)`, an optional Module-B message exchange (Turbo-VBI) and the support update.
The model, the priors and the admission rule are described in :mod:`estimators.bayes._vbi`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from sensing import Array, HostCopy, asarray_like, check_array, is_cupy_namespace, is_numpy_namespace, to_numpy

from ._variational import (
    LOG_PI,
    IterationInfo,
    SparsePrior,
    admission_threshold,
    cinv_logdet,
    logit,
    noise_update,
    precision_update,
    prior_elbo_terms,
    sigmoid,
    support_loglik,
    take,
)

__all__ = ["VBIResult", "check_linear_inputs", "run_linear", "linear_result"]


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
        Posterior variances: the diagonal of :math:`\boldsymbol\Sigma` (every atom for ``vbi``
        and the variational ``sbl``; the support for SC-VBI). Off the SC-VBI support, the
        variance :math:`v_i = 1/(\lVert\boldsymbol\phi_i\rVert^2/\hat\sigma^2 + \langle\rho_i\rangle)`
        of the zero-mean factor (see :func:`sc_vbi`); off the ``sbl(method="fast")`` model, 0.
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
        ELBO after each iteration (normalised units, see :mod:`estimators.bayes._variational`;
        ``sbl(method="fast")``: the log evidence). Non-decreasing only with fixed prior rates, a
        fixed support and no turbo exchange (see :func:`vbi`); per-term values are passed to
        ``callback`` in ``IterationInfo.elbo_terms``.
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


def _scatter(xp, base, idx, vals):
    """``base`` with ``base[idx] = vals`` along axis 0 (NumPy/CuPy setitem on a copy)."""
    out = xp.asarray(base, copy=True)
    out[idx, ...] = vals
    return out



def check_linear_inputs(y, dictionary, xp, allow_groups: bool):
    if not (is_numpy_namespace(xp) or is_cupy_namespace(xp)):
        raise TypeError(f"`y` and `dictionary` must be NumPy or CuPy arrays (the support updates use integer-array "
                        f"assignment, which the array API does not define); got namespace {xp.__name__}.")
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


def check_init(init, y3, phi3, grouped: bool, has_snap: bool, xp):
    """Validate a warm start: a :class:`VBIResult` of the same problem shape, or coefficients.

    Returns None or a dict of (G, N, T) ``coefficients`` and, from a result, (G, N) ``precisions``,
    ``support_probability``, ``support`` and the float ``noise_variance`` (input scale, complex128 /
    float64 arrays in ``xp``).
    """
    if init is None:
        return None
    n_g, _, n_t = (int(v) for v in y3.shape)
    n_atoms = int(phi3.shape[2])
    cshape = ((n_g,) if grouped else ()) + (n_atoms,) + ((n_t,) if has_snap else ())
    pshape = ((n_g,) if grouped else ()) + (n_atoms,)

    def as3(a, shape, name):
        a = xp.asarray(a)
        if tuple(a.shape) != shape:
            raise ValueError(f"`init` {name} must have shape {shape} (the coefficients this problem returns); got "
                             f"{tuple(a.shape)}.")
        if not bool(xp.all(xp.isfinite(a))):
            raise ValueError(f"`init` {name} must be finite.")
        return a

    def to_g(a, extra):          # batch + (N,) [+ (T,)] -> (G, N[, T])
        if not grouped:
            a = a[None, ...]
        if extra and not has_snap:
            a = a[..., None]
        return a

    if isinstance(init, VBIResult):
        coef = to_g(xp.astype(as3(init.coefficients, cshape, "coefficients"), xp.complex128), True)
        out = dict(coefficients=coef, noise_variance=float(init.noise_variance))
        for k in ("precisions", "support_probability"):
            v = getattr(init, k)
            if tuple(v.shape) != pshape:
                raise ValueError(f"`init` {k} must have shape {pshape}; got {tuple(v.shape)}.")
            out[k] = to_g(xp.astype(xp.asarray(v), xp.float64), False)
        sup = xp.asarray(init.support)
        if tuple(sup.shape) != pshape:
            raise ValueError(f"`init` support must have shape {pshape}; got {tuple(sup.shape)}.")
        out["support"] = to_g(sup, False)
        if not out["noise_variance"] > 0:
            raise ValueError(f"`init` noise_variance must be > 0; got {out['noise_variance']!r}.")
        return out
    if not hasattr(init, "shape") or not hasattr(init, "dtype") or isinstance(init, str):
        raise TypeError(f"`init` must be a VBIResult or an array of coefficients of shape {cshape}; got "
                        f"{type(init).__name__}.")
    if getattr(init.dtype, "kind", "") not in ("f", "c"):
        raise TypeError(f"`init` coefficients must be real or complex floating; got dtype {init.dtype}.")
    coef = to_g(xp.astype(as3(init, cshape, "coefficients"), xp.complex128), True)
    sup = xp.sum(xp.real(coef * xp.conj(coef)), axis=2) > 0
    return dict(coefficients=coef, support=sup)


def _out_dtype(xp, in_dtype):
    return xp.complex64 if in_dtype in (xp.float32, xp.complex64) else xp.complex128

def run_linear(y3, phi3, *, layers: int, subspace: bool, method: str, prior: SparsePrior,
               pib_init: float, module_b: Callable | None, max_iter: int, tol: float,
               support, adapt_support: bool, max_support: int | None, max_admit: int,
               false_alarm: float, prune_threshold: float, ban_iterations: int,
               callback, xp, label: str, sbl_prior=(1e-6, 1e-6), prune_precision: float = 1e6,
               init: dict | None = None, moves: bool = False, max_move_rounds: int = 5,
               move_coherence: float = 0.5, n_neighbours: int = 4):
    """Shared iteration of sbl / vbi / sc_vbi / turbo_vbi on (G, M, T) data and (G' in {1, G}, M, N) atoms.

    ``init`` (from :func:`check_init`) warm-starts the precisions, noise, support probabilities and
    (SC-VBI, when ``support`` is None) the support; ``moves`` enables SC-VBI's swap / merge moves.
    """
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
    if init is not None:
        rho, gamma, pit, sup_init = _warm_state(init, yn, phin, colnorm, scale_y, rho, pit, prior, pib_init,
                                                layers, n_t, xp)
        if subspace and support is None:
            supports = [np.flatnonzero(sup_init[g]).astype(np.int64) for g in range(n_g)]
    nb_cache: dict = {}
    move_rounds = 0
    thr_units = admission_threshold(n_atoms, n_t, false_alarm)
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
                    ps = take(xp, P, s, axis=1)
                    gs = xp.conj(ps.T) @ ps
                    prec = gamma * gs + xp.eye(s.size, dtype=xp.complex128) * xp.astype(
                        take(xp, rho[g], s, axis=0), xp.complex128)[None, :]
                    sig, logdet_p = cinv_logdet(prec, xp)
                    mus = gamma * (sig @ (xp.conj(ps.T) @ Y))
                    R = Y - ps @ mus
                    trace = float(xp.sum(xp.real(sig * gs.T)))
                    vg = _scatter(xp, xp.zeros(n_atoms, dtype=rdt), s, xp.real(xp.linalg.diagonal(sig)))
                    mug = _scatter(xp, xp.zeros((n_atoms, n_t), dtype=xp.complex128), s, mus)
                    ent = n_t * (s.size * (1 + LOG_PI) - logdet_p)
                else:
                    R, trace, ent = Y, 0.0, 0.0
                    vg = xp.zeros(n_atoms, dtype=rdt)
                    mug = xp.zeros((n_atoms, n_t), dtype=xp.complex128)
            else:
                if method == "direct":
                    G0 = gram0[0] if shared else gram0[g]
                    prec = gamma * G0 + xp.eye(n_atoms, dtype=xp.complex128) * xp.astype(rho[g], xp.complex128)[None, :]
                    sig, logdet_p = cinv_logdet(prec, xp)
                    mug = gamma * (sig @ (xp.conj(P.T) @ Y))
                    vg = xp.real(xp.linalg.diagonal(sig))
                    trace = float(xp.sum(xp.real(sig * G0.T)))
                else:  # Woodbury: M x M solves only
                    dinv = 1.0 / rho[g]
                    pd = P * xp.astype(dinv, xp.complex128)[None, :]
                    cmat = pd @ xp.conj(P.T) + (1.0 / gamma) * xp.eye(n_m, dtype=xp.complex128)
                    ci, logdet_c = cinv_logdet(cmat, xp)
                    w = ci @ P                                                   # (M, N)
                    mug = xp.astype(dinv, xp.complex128)[:, None] * (xp.conj(P.T) @ (ci @ Y))
                    vg = dinv - dinv * dinv * xp.real(xp.sum(xp.conj(P) * w, axis=0))
                    logdet_p = float(xp.sum(xp.log(rho[g]))) + n_m * math.log(gamma) + logdet_c
                    s2 = 1.0 / gamma
                    trace = n_m * s2 - s2 * s2 * float(xp.sum(xp.real(xp.linalg.diagonal(ci))))
                R = Y - P @ mug
                ent = n_t * (n_atoms * (1 + LOG_PI) - logdet_p)
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
        rho, lnrho, a_t, b_t = precision_update(m2, pit, n_t, prior.shape, b, bb, layers, xp, sbl_prior)
        if layers == 3:
            llr = support_loglik(rho, prior.shape, b, bb)
            pit = sigmoid(logit(pib, xp) + llr, xp)
        gamma, lngamma, gterms = noise_update(n_g * n_m * n_t, eres_tot, prior)
        if subspace:   # the ELBO of the model restricted to S (x off S is exactly zero)
            msk = asarray_like(in_s, xp)
            pterms = prior_elbo_terms(m2[msk], rho[msk], lnrho[msk], a_t, b_t[msk], pit[msk], pib[msk], n_t,
                                      prior.shape, b, bb, layers, xp, sbl_prior)
        else:
            pterms = prior_elbo_terms(m2, rho, lnrho, a_t, b_t, pit, pib, n_t, prior.shape, b, bb, layers, xp,
                                      sbl_prior)
        terms = {"likelihood": n_g * n_m * n_t * (lngamma - LOG_PI) - gamma * eres_tot, "entropy_x": ent_x,
                 "noise": gterms, **pterms}
        elbo = float(sum(terms.values()))
        elbo_hist.append(elbo)
        # Module B (off-support atoms carry no local evidence: pi^A = 1/2)
        if module_b is not None and layers == 3:
            pia = sigmoid(llr, xp)
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
                    pit_s = to_numpy(take(xp, pit[g], s, axis=0))
                    drop = s[pit_s < prune_threshold]
                    keep = s[pit_s >= prune_threshold]
                    banned[g, drop] = it + ban_iterations
                    if max_support is not None and keep.size > max_support:
                        m2s = to_numpy(take(xp, m2[g], keep, axis=0))
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
                                 _unscale(mu, colnorm, scale_y, xp), dict(terms))
            stop = bool(callback(info))
        if it > 0 and not changed and dmu <= tol * max(nmu, 1e-300):
            moved = False
            if subspace and moves and move_rounds < max_move_rounds and not stop:
                move_rounds += 1
                for g in range(n_g):
                    P = phin[0] if shared else phin[g]
                    new_s, new_rho = _support_moves(P, yn[g], supports[g], rho[g], gamma, n_t, move_coherence,
                                                    n_neighbours, nb_cache.setdefault(0 if shared else g, {}), xp)
                    if new_s is not None:
                        moved = True
                        added = np.setdiff1d(new_s, supports[g])
                        rho = _scatter_row(xp, rho, g, added, [new_rho[int(i)] for i in added])
                        pit = _scatter_row(xp, pit, g, added, np.full(added.size, 0.5))
                        supports[g] = new_s
                if moved:
                    sizes[-1] = int(sum(v.size for v in supports))
            if not moved:
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
        # off S: the zero-mean factor q(x_i) = CN(0, v_i) of the subspace constraint, v_i = 1/(<gamma> + <rho_i>)
        # with unit-norm columns and the inactive-state precision a / b_bar (reported, not iterated)
        var = xp.where(sup, var, 1.0 / (gamma + rho))
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


def _warm_state(init, yn, phin, colnorm, scale_y, rho, pit, prior, pib_init, layers, n_t, xp):
    """Normalised-unit precisions, noise precision, support probabilities and support from ``init``."""
    n_g, n_m = int(yn.shape[0]), int(yn.shape[1])
    n_atoms = int(phin.shape[2])
    cn = xp.broadcast_to(xp.astype(colnorm, xp.float64), (n_g, n_atoms))
    mu = init["coefficients"] * xp.astype(cn, xp.complex128)[:, :, None] / scale_y
    sup = to_numpy(init["support"]).astype(bool)
    if "precisions" in init:
        rho = xp.clip(init["precisions"] * scale_y ** 2 / cn ** 2, 1e-12, 1e12)
        gamma = scale_y ** 2 / init["noise_variance"]
        if layers == 3:
            pit = xp.clip(init["support_probability"], 1e-12, 1.0)
        return xp.astype(rho, xp.float64), float(gamma), pit, sup
    eres = 0.0
    for g in range(n_g):
        P = phin[0] if phin.shape[0] == 1 else phin[g]
        r = yn[g] - P @ mu[g]
        eres += float(xp.sum(xp.real(r * xp.conj(r))))
    gamma = n_g * n_m * n_t / max(eres, 1e-6 * n_g * n_m * n_t)
    m2 = xp.sum(xp.real(mu * xp.conj(mu)), axis=2)
    rho = n_t / xp.maximum(m2, 1e-3 * n_t / gamma)
    if layers == 3:
        pit = xp.where(asarray_like(sup, xp), xp.full_like(pit, max(pib_init, 0.5)), pit)
    return xp.astype(rho, xp.float64), float(gamma), pit, sup


def _neighbours(P, i, coherence, n_nb, cache, xp):
    """Atoms most coherent with atom ``i`` (unit-norm columns), at least ``coherence``, at most ``n_nb``."""
    if i not in cache:
        c = to_numpy(xp.abs(xp.conj(P.T) @ P[:, i]))
        c[i] = -1.0
        order = np.argsort(-c, kind="stable")[:n_nb]
        cache[i] = order[c[order] >= coherence].astype(np.int64)
    return cache[i]


def _add_gains(P, Y, base, rho_base, cand, gamma, n_t, xp):
    r"""Log-evidence gain of adding each candidate atom, at its optimal precision, to the model ``base``.

    Tipping and Faul (2003) for the complex model with T snapshots sharing the precision: with
    :math:`s = \phi^H C^{-1}\phi` and :math:`q = \phi^H C^{-1} Y` of the model without the atom,
    :math:`\ell(\alpha) = T\ln\frac{\alpha}{\alpha + s} + \frac{\lVert q\rVert^2}{\alpha + s}` is
    maximal at :math:`\alpha = T s^2/(\lVert q\rVert^2 - Ts)` when :math:`\lVert q\rVert^2 > Ts`
    (else :math:`\alpha = \infty`, gain 0), where it gains
    :math:`(\lVert q\rVert^2 - Ts)/s - T\ln(\lVert q\rVert^2/(Ts))`.
    """
    cand = np.asarray(cand, dtype=np.int64)
    pc = take(xp, P, cand, axis=1)
    big_s = gamma * xp.real(xp.sum(pc * xp.conj(pc), axis=0))
    big_q = gamma * (xp.conj(pc.T) @ Y)
    if len(base):
        pb = take(xp, P, np.asarray(base, dtype=np.int64), axis=1)
        prec = gamma * (xp.conj(pb.T) @ pb) + xp.diag(xp.asarray(np.asarray(rho_base, dtype=float) + 0j))
        sig, _ = cinv_logdet(prec, xp)
        gm = xp.conj(pb.T) @ pc
        big_s = big_s - gamma ** 2 * xp.real(xp.sum(xp.conj(gm) * (sig @ gm), axis=0))
        big_q = big_q - gamma ** 2 * (xp.conj(gm.T) @ (sig @ (xp.conj(pb.T) @ Y)))
    s_h = np.maximum(to_numpy(big_s), 1e-300)
    q2 = to_numpy(xp.sum(xp.real(big_q * xp.conj(big_q)), axis=1))
    theta = q2 - n_t * s_h
    pos = theta > 0
    gain = np.zeros(cand.size)
    alpha = np.full(cand.size, np.inf)
    gain[pos] = theta[pos] / s_h[pos] - n_t * np.log(q2[pos] / (n_t * s_h[pos]))
    alpha[pos] = n_t * s_h[pos] ** 2 / theta[pos]
    return gain, alpha


def _support_moves(P, Y, support, rho_g, gamma, n_t, coherence, n_nb, cache, xp, margin=1e-3):
    r"""SC-VBI's swap and merge moves on a coherent dictionary, judged by the log evidence.

    Swap: for each atom ``i`` of S, the model S \ {i} is compared with itself plus ``i`` or plus one
    of ``i``'s coherent neighbours (each at its optimal precision); the best replaces ``i``. Merge: for
    two coherent atoms ``i, j`` of S, the pair (added one after the other at optimal precisions, the
    better order) is compared with the best single atom among ``i``, ``j`` and their neighbours; a
    single atom that explains the data better replaces both. Returns (new support, {atom: precision})
    or (None, None) when no move raises the evidence by more than ``margin`` nats.
    """
    s = [int(i) for i in support]
    if not s:
        return None, None
    rho_h = to_numpy(rho_g)
    prec = {i: float(rho_h[i]) for i in s}
    moved = False
    for i in list(s):
        if i not in s:
            continue
        nb = [int(j) for j in _neighbours(P, i, coherence, n_nb, cache, xp) if int(j) not in s]
        if not nb:
            continue
        base = [j for j in s if j != i]
        cand = [i] + nb
        gain, alpha = _add_gains(P, Y, base, [prec[j] for j in base], cand, gamma, n_t, xp)
        k = int(np.argmax(gain))
        if k != 0 and gain[k] > gain[0] + margin and np.isfinite(alpha[k]):
            s = sorted(base + [cand[k]])
            prec[cand[k]] = float(alpha[k])
            moved = True
    for i in list(s):
        for j in [int(v) for v in _neighbours(P, i, coherence, n_nb, cache, xp)]:
            if i not in s or j not in s or j <= i:
                continue
            base = [v for v in s if v not in (i, j)]
            rb = [prec[v] for v in base]
            pair = 0.0
            for a, b in ((i, j), (j, i)):
                ga, aa = _add_gains(P, Y, base, rb, [a], gamma, n_t, xp)
                if np.isfinite(aa[0]):
                    gb, _ = _add_gains(P, Y, base + [a], rb + [float(aa[0])], [b], gamma, n_t, xp)
                    pair = max(pair, float(ga[0] + gb[0]))
                else:
                    pair = max(pair, float(_add_gains(P, Y, base, rb, [b], gamma, n_t, xp)[0][0]))
            cand = sorted(({i, j} | set(_neighbours(P, i, coherence, n_nb, cache, xp).tolist())
                           | set(_neighbours(P, j, coherence, n_nb, cache, xp).tolist())) - set(base))
            gain, alpha = _add_gains(P, Y, base, rb, cand, gamma, n_t, xp)
            k = int(np.argmax(gain))
            if gain[k] > pair + margin and np.isfinite(alpha[k]):
                s = sorted(base + [int(cand[k])])
                prec[int(cand[k])] = float(alpha[k])
                moved = True
    if not moved:
        return None, None
    new_s = np.asarray(sorted(s), dtype=np.int64)
    if np.array_equal(new_s, np.asarray(sorted(int(v) for v in support), dtype=np.int64)):
        return None, None
    return new_s, prec


def _scatter_row(xp, a, row, cols, vals):
    out = xp.asarray(a, copy=True)
    out[row, asarray_like(np.asarray(cols, dtype=np.int64), xp)] = asarray_like(np.asarray(vals, dtype=float), xp)
    return out


def _unscale(mu, colnorm, scale_y, xp):
    return mu * (scale_y / xp.astype(colnorm, xp.complex128))[:, :, None] if colnorm.shape[0] == mu.shape[0] \
        else mu * (scale_y / xp.astype(colnorm, xp.complex128))[0][None, :, None]


def linear_result(raw, grouped, has_snap, xp, in_dtype) -> VBIResult:
    odt = _out_dtype(xp, in_dtype)
    coef = xp.astype(raw["coefficients"], odt)
    if not has_snap:
        coef = coef[..., 0]
    keys = ("variances", "support_probability", "support", "precisions")
    vals = {k: raw[k] for k in keys}
    if not grouped:
        coef = coef[0]
        vals = {k: v[0] for k, v in vals.items()}
    rdt = xp.float32 if odt == xp.complex64 else xp.float64          # real outputs follow the input precision
    vals = {k: v if k == "support" else xp.astype(v, rdt) for k, v in vals.items()}
    return VBIResult(coefficients=coef, noise_variance=float(raw["noise_variance"]), elbo=raw["elbo"],
                     n_iter=raw["n_iter"], converged=raw["converged"], method=raw["method"],
                     support_sizes=raw["support_sizes"], **vals)
