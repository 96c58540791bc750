r"""Fast marginal-likelihood SBL (Tipping and Faul, 2003) for the complex model with shared snapshots.

Type-II maximum likelihood of :math:`p(\mathbf Y\mid\boldsymbol\alpha,\sigma^2)` with
:math:`\mathbf C = \sigma^2\mathbf I + \boldsymbol\Phi_A\mathrm{diag}(\boldsymbol\alpha_A)^{-1}\boldsymbol\Phi_A^H`
over the active set :math:`A` (every other :math:`\alpha_i = \infty`). Each iteration re-estimates
the noise, then takes the single action (add an atom, delete one, or re-estimate one precision)
with the largest log-evidence gain:
:math:`\ell_i(\alpha) = T\ln\frac{\alpha}{\alpha + s_i} + \frac{\lVert\mathbf q_i\rVert^2}{\alpha + s_i}`
with the leave-one-out :math:`s_i = \boldsymbol\phi_i^H\mathbf C_{-i}^{-1}\boldsymbol\phi_i`,
:math:`\mathbf q_i = \mathbf C_{-i}^{-1}`-projections of the :math:`T` snapshots; the optimum is
:math:`\alpha_i = Ts_i^2/(\lVert\mathbf q_i\rVert^2 - Ts_i)` when :math:`\lVert\mathbf q_i\rVert^2 > Ts_i`
(the atom belongs to the model) and :math:`\infty` otherwise. The noise follows the re-estimate
:math:`\sigma^2 = \lVert\mathbf Y - \boldsymbol\Phi_A\boldsymbol\mu_A\rVert^2 / (T(M - |A| + \sum_i\alpha_i\Sigma_{ii}))`.
Starting from one atom and adding atoms only while the evidence rises keeps the model from
explaining the noise with every atom (the failure of the all-atoms EM / variational SBL with a
learned noise level when :math:`N > M`).

M. E. Tipping and A. C. Faul, "Fast marginal likelihood maximisation for sparse Bayesian models,"
*Proc. AISTATS*, 2003.
"""

from __future__ import annotations

import math
import time

import numpy as np

from sensing import to_numpy

from ._variational import LOG_PI, IterationInfo, cinv_logdet, take

__all__ = ["run_fast_sbl"]

_NOISE_FLOOR = 1e-8          # normalised units (the data have unit mean power)


def _posterior(phin, Y, phy, active, alpha, gamma, xp):
    pa = take(xp, phin, active, axis=1)
    prec = gamma * (xp.conj(pa.T) @ pa) + xp.diag(xp.asarray(alpha + 0j))
    sig, logdet_p = cinv_logdet(prec, xp)
    ay = take(xp, phy, active, axis=0)                                  # Phi_A^H Y, (|A|, T)
    mu = gamma * (sig @ ay)
    return pa, sig, logdet_p, ay, mu


def run_fast_sbl(yn, phin, *, max_iter: int, tol: float, init, callback, xp, scale_y, colnorm,
                 atom_penalty: float = 0.0):
    """Tipping-Faul on one group: yn (M, T) unit mean power, phin (M, N) unit-norm columns.

    ``init`` is None or a dict with ``active`` (host int array), ``alpha`` (host float array, same
    length) and ``gamma`` (normalised noise precision). ``atom_penalty`` (nats) is subtracted from
    the log evidence per atom in the model (0: plain Tipping-Faul). Returns a dict of normalised
    quantities; ``elbo`` holds the penalised log evidence.
    """
    t0 = time.perf_counter()
    n_m, n_t = (int(v) for v in yn.shape)
    n_atoms = int(phin.shape[1])
    phy = xp.conj(phin.T) @ yn                                               # (N, T)
    e_y = float(xp.sum(xp.real(yn * xp.conj(yn))))
    fe = to_numpy(xp.sum(xp.real(phy * xp.conj(phy)), axis=1))               # |phi_i^H Y|^2
    if init is not None and init["active"].size:
        active = np.asarray(init["active"], dtype=np.int64)
        alpha = np.asarray(init["alpha"], dtype=float)
        gamma = float(init["gamma"])
    else:
        gamma = 10.0                                                          # sigma^2 = 0.1 x mean power
        i0 = int(np.argmax(fe))
        active = np.array([i0], dtype=np.int64)
        alpha = np.array([n_t / max(fe[i0] - n_t / gamma, 1e-6 * fe[i0])])
    hist, sizes = [], []
    converged = False
    it = -1
    dlog_tol = max(10.0 * tol, 1e-9)
    for it in range(max_iter):
        pa, sig, logdet_p, ay, mu = _posterior(phin, yn, phy, active, alpha, gamma, xp)
        # noise re-estimate (MacKay / Tipping-Faul), then the posterior at the new noise level
        r = yn - pa @ mu
        e_r = float(xp.sum(xp.real(r * xp.conj(r))))
        dof = n_m - active.size + float(np.sum(alpha * to_numpy(xp.real(xp.linalg.diagonal(sig)))))
        gamma_new = 1.0 / max(e_r / (n_t * max(dof, 1e-6)), _NOISE_FLOOR)
        noise_stable = abs(math.log(gamma_new / gamma)) <= dlog_tol
        gamma = gamma_new
        pa, sig, logdet_p, ay, mu = _posterior(phin, yn, phy, active, alpha, gamma, xp)
        # log evidence: ln p(Y) = -T ln det C - tr(Y^H C^-1 Y) - M T ln pi
        logdet_c = -n_m * math.log(gamma) - float(np.sum(np.log(alpha))) + logdet_p
        quad = gamma * e_y - gamma * float(xp.real(xp.sum(xp.conj(ay) * mu)))
        logev = -n_t * logdet_c - quad - n_m * n_t * LOG_PI - atom_penalty * active.size
        hist.append(logev)
        sizes.append(int(active.size))
        # S, Q for every atom (non-leave-one-out), then the leave-one-out s, q
        ga = xp.conj(phin.T) @ pa                                               # (N, |A|)
        big_s = to_numpy(gamma - gamma ** 2 * xp.real(xp.sum((ga @ sig) * xp.conj(ga), axis=1)))
        big_q = gamma * phy - gamma * (ga @ mu)                                 # (N, T)
        q2_big = to_numpy(xp.sum(xp.real(big_q * xp.conj(big_q)), axis=1))
        s_l, q2 = big_s.copy(), q2_big.copy()
        fac = alpha / (alpha - big_s[active])
        s_l[active] = fac * big_s[active]
        q2[active] = fac ** 2 * q2_big[active]
        s_l = np.maximum(s_l, 1e-300)
        theta = q2 - n_t * s_l
        in_a = np.zeros(n_atoms, bool)
        in_a[active] = True
        gain = np.full(n_atoms, -np.inf)
        new_alpha = np.full(n_atoms, np.inf)
        pos = theta > 0
        new_alpha[pos] = n_t * s_l[pos] ** 2 / theta[pos]

        def ell(a, i):
            return n_t * np.log(a / (a + s_l[i])) + q2[i] / (a + s_l[i])

        add = pos & ~in_a
        gain[add] = theta[add] / s_l[add] - n_t * np.log(q2[add] / (n_t * s_l[add])) - atom_penalty
        cur = ell(alpha, active)
        re = pos[active]
        ia = active[re]
        gain[ia] = ell(new_alpha[ia], ia) - cur[re]
        if active.size > 1:          # delete: also when the atom no longer pays its penalty
            dele = -cur + atom_penalty
            gain[active[~re]] = dele[~re]
            weak = np.zeros(active.size, bool)
            weak[re] = ell(new_alpha[ia], ia) - cur[re] < dele[re]
            gain[active[weak]] = dele[weak]
            new_alpha[active[weak]] = np.inf

        dlog = np.abs(np.log(new_alpha[ia] / alpha[re])) if ia.size else np.zeros(0)
        dlog = dlog[np.isfinite(dlog)]
        stop = False
        if callback is not None:
            coef = xp.zeros((n_atoms, n_t), dtype=xp.complex128)
            coef[xp.asarray(active)] = mu
            coef = coef * (scale_y / xp.astype(colnorm, xp.complex128))[:, None]
            stop = bool(callback(IterationInfo(it, logev, int(active.size), scale_y ** 2 / gamma,
                                               time.perf_counter() - t0, coef, {"log_evidence": logev})))
        no_struct = not np.any(add & (gain > 0)) and (active.size == 1 or not np.any(np.isinf(new_alpha[active])))
        if no_struct and (dlog.size == 0 or dlog.max() <= dlog_tol) and noise_stable:
            converged = True
            break
        if stop:
            break
        k = int(np.argmax(gain))
        if not gain[k] > 0:
            if noise_stable:
                converged = True
                break
            continue
        if in_a[k]:
            pos_k = int(np.flatnonzero(active == k)[0])
            if np.isfinite(new_alpha[k]):
                alpha[pos_k] = new_alpha[k]
            else:
                active = np.delete(active, pos_k)
                alpha = np.delete(alpha, pos_k)
        else:
            order = np.searchsorted(active, k)
            active = np.insert(active, order, k)
            alpha = np.insert(alpha, order, new_alpha[k])
    pa, sig, logdet_p, ay, mu = _posterior(phin, yn, phy, active, alpha, gamma, xp)
    return dict(active=active, alpha=alpha, gamma=gamma, mu=mu, var=to_numpy(xp.real(xp.linalg.diagonal(sig))),
                elbo=np.asarray(hist), n_iter=it + 1, converged=converged, sizes=np.asarray(sizes, dtype=np.int64))
