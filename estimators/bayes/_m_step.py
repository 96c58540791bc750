r"""The M-step of EM-Turbo-BiSVBI: expected log-likelihood, its analytic gradient, Armijo ascent.

Liu, Xu, Xu, Caire, arXiv:2502.00811, Sec. IV: the M-step refines the dynamic position grid (the
active grid points), the clock offsets and the user positions by gradient ascent of the part of
the ELBO that depends on them, with the E-step posterior of :mod:`estimators.bayes._bilinear_engine`
held fixed (or, for trial points, re-fitted: variable projection). The step size is chosen by
Armijo backtracking.
"""

from __future__ import annotations

import numpy as np

from channels import location_dictionary
from sensing import SPEED_OF_LIGHT, asarray_like, to_numpy

from ._variational import cinv_logdet, take

__all__ = ["MStep", "armijo_ascent"]


class MStep:
    r"""The M-step objective and its gradient (arXiv:2502.00811, Sec. IV).

    ``evaluate`` returns :math:`L(\boldsymbol\xi) = -\langle\gamma\rangle\langle\lVert\mathbf y -
    \sum_k s_k\boldsymbol\Phi_k(\boldsymbol\xi)\mathbf x_k\rVert^2\rangle + \sum_k(\ln\det\boldsymbol\Sigma_k
    - \langle\boldsymbol\rho_k\rangle^T\langle|\mathbf x_k|^2\rangle)`, the part of the ELBO that depends on
    :math:`\boldsymbol\xi` and :math:`q(\mathbf x)`. With ``profile=True`` the Gaussian factors are first
    re-fitted to the trial dictionary (one pass over the users; variable projection), which widens
    the basin of the line search; the gradient is that of the fixed-:math:`q(\mathbf x)` surrogate
    (equal to the profiled one at a fitted :math:`q(\mathbf x)`, by the envelope theorem). In the
    full-inverse mode only the columns with :math:`q(s) > 1/2` enter (the others carry no power).
    """

    def __init__(self, eng, static):
        self.eng, self.st = eng, static
        xp = eng.xp
        eng.stats()
        for k in range(eng.K):                  # consistent q(x) at the current dictionary
            eng.gauss(k)
        q = eng.n_grid
        pit = to_numpy(eng.pit)
        self.sel, self.mu, self.sig = [], [], []
        for k in range(eng.K):
            s = eng.S[k]
            keep = np.arange(s.size) if eng.subspace else np.flatnonzero(pit[k, s] > 0.5)
            self.sel.append(s[keep])
            idx = asarray_like(keep.astype(np.int64), xp)
            self.mu.append(xp.take(eng.mu[k], idx, axis=0))
            self.sig.append(xp.take(xp.take(eng.sig[k], idx, axis=0), idx, axis=1))
        self.act = np.unique(np.concatenate([s[s < q] for s in self.sel] + [np.zeros(0, np.int64)])).astype(np.int64)
        pos = {int(v): i for i, v in enumerate(self.act)}
        self.cols = [np.array([pos[int(v)] if v < q else len(self.act) + int(v) - q for v in s], dtype=np.int64)
                     for s in self.sel]
        self.rho = [take(xp, eng.rho[k], self.sel[k], axis=0) for k in range(eng.K)]
        self.freqs = asarray_like(static["frequencies_hz"], xp, dtype=xp.float64)

    def evaluate(self, r_act, users, offs_m, grad, profile=False):
        eng, st, xp = self.eng, self.st, self.eng.xp
        r_eval = r_act if r_act.shape[0] else np.asarray(st["dummy_point"], float)[None]
        d = location_dictionary(asarray_like(r_eval, xp, dtype=xp.float64), user_positions_m=users,
                                time_offsets_s=offs_m / SPEED_OF_LIGHT, bs_array=st["bs_array"],
                                wavelength_m=st["wavelength_m"], frequencies_hz=self.freqs,
                                bs_position_m=st["bs_position_m"], los=st["los"], gradients=grad)
        n_act = r_act.shape[0]
        shift = r_eval.shape[0] - n_act          # the dummy point occupies column 0 when nothing is active
        a_all = d.steering / eng.kappa
        facs, phis = [], []
        mus, sigs = list(self.mu), list(self.sig)
        hs = []
        for k in range(eng.K):
            c = self.cols[k] + np.where(self.cols[k] >= n_act, shift, 0)
            a_s = take(xp, a_all, c, axis=1)
            d_s = take(xp, d.delay[k], c, axis=1)
            facs.append((c, a_s, d_s))
            phi = a_s[None, :, :] * d_s[:, None, :]                            # (N, M, s)
            phis.append(phi)
            hs.append(phi @ mus[k])                                            # (N, M)
        xterms = 0.0
        for k in range(eng.K):
            c, a_s, d_s = facs[k]
            if profile and c.size:
                ga = xp.conj(a_s.T) @ a_s
                gd = xp.conj(d_s.T) @ (d_s * xp.astype(eng.E[k], xp.complex128)[:, None])
                r = xp.permute_dims(eng.Z[k], (1, 0))
                for j in range(eng.K):
                    if j != k:
                        r = r - eng.C[k, j][:, None] * hs[j]
                b = xp.sum(xp.conj(phis[k]) * r[:, :, None], axis=(0, 1))
                prec = eng.gamma * (ga * gd) + xp.eye(c.size, dtype=xp.complex128) * xp.astype(
                    self.rho[k], xp.complex128)[None, :]
                sigs[k], _ = cinv_logdet(prec, xp)
                mus[k] = eng.gamma * (sigs[k] @ b)
                hs[k] = phis[k] @ mus[k]
            if c.size:
                m2 = xp.real(mus[k] * xp.conj(mus[k])) + xp.real(xp.linalg.diagonal(sigs[k]))
                xterms += cinv_logdet(sigs[k], xp)[1] - float(xp.sum(self.rho[k] * m2))
        psigs = [phis[k] @ sigs[k] for k in range(eng.K)]
        trs = [xp.real(xp.sum(psigs[k] * xp.conj(phis[k]), axis=(1, 2))) for k in range(eng.K)]
        e_res = eng.yy
        for k in range(eng.K):
            e_res -= 2 * float(xp.real(xp.sum(xp.conj(hs[k]) * xp.permute_dims(eng.Z[k], (1, 0)))))
            e_res += float(xp.sum(eng.E[k] * (xp.real(xp.sum(hs[k] * xp.conj(hs[k]), axis=1)) + trs[k])))
            for j in range(eng.K):
                if j != k:
                    e_res += float(xp.real(xp.sum(eng.C[k, j] * xp.sum(xp.conj(hs[k]) * hs[j], axis=1))))
        u = -eng.gamma * e_res + xterms
        self.last_fit = (mus, sigs)
        if not grad:
            return u, None
        g_grid = np.zeros((n_act, 3))
        g_user = np.zeros((eng.K, 3))
        g_off = np.zeros(eng.K)
        dsteer = d.d_steering / eng.kappa
        for k in range(eng.K):
            c, a_s, d_s = facs[k]
            if c.size == 0:
                continue
            gk = -xp.permute_dims(eng.Z[k], (1, 0)) + eng.E[k][:, None] * hs[k]
            for j in range(eng.K):
                if j != k:
                    gk = gk + eng.C[k, j][:, None] * hs[j]
            lam = xp.conj(gk)[:, :, None] * mus[k][None, None, :] + \
                xp.astype(eng.E[k], xp.complex128)[:, None, None] * xp.conj(psigs[k])   # (N, M, s)
            lam_d = xp.sum(d_s[:, None, :] * lam, axis=0)                       # (M, s)
            lam_a = xp.sum(a_s[None, :, :] * lam, axis=1)                       # (N, s)
            ds = take(xp, dsteer, c, axis=1)                                   # (M, s, 3)
            gs = to_numpy(2 * xp.real(xp.sum(ds * lam_d[:, :, None], axis=0)))  # (s, 3)
            ddu = take(xp, d.d_delay_d_user[k], c, axis=1)                     # (N, s, 3)
            g_user[k] += to_numpy(2 * xp.real(xp.sum(ddu * lam_a[:, :, None], axis=(0, 1))))
            ddo = take(xp, d.d_delay_d_offset[k], c, axis=1)                   # (N, s)
            g_off[k] += float(2 * xp.real(xp.sum(ddo * lam_a))) / SPEED_OF_LIGHT
            grid_cols = self.cols[k] < n_act
            if grid_cols.any():
                gc = self.cols[k][grid_cols]
                ddg = take(xp, d.d_delay_d_grid[k], gc + shift, axis=1)        # (N, s_g, 3)
                lam_ag = take(xp, lam_a, np.flatnonzero(grid_cols), axis=1)
                gg = to_numpy(2 * xp.real(xp.sum(ddg * lam_ag[:, :, None], axis=0)))
                np.add.at(g_grid, gc, gs[grid_cols] + gg)
            if (~grid_cols).any():
                g_user[k] += gs[~grid_cols].sum(axis=0)
        f = -eng.gamma
        return u, {"grid": f * g_grid, "user_position": f * g_user, "time_offset": f * g_off}


def armijo_ascent(ms: MStep, xi, learn, *, rounds, max_step_m, c1=1e-4, beta=0.5, max_tries=10, steps=None):
    """Block-wise Armijo gradient ascent on xi = {grid (active rows), user positions, offsets [m]}.

    Trial points are scored with the profiled objective (q(x) re-fitted), so every accepted step
    increases the ELBO; the step of each block starts from twice its last accepted value.
    """
    cur = {"grid": xi["grid"][ms.act].copy(), "user_position": xi["user_position"].copy(),
           "time_offset": xi["time_offset"].copy()}
    u0, g = ms.evaluate(cur["grid"], cur["user_position"], cur["time_offset"], True)
    trace = [u0]
    steps = {} if steps is None else steps
    for _ in range(rounds):
        moved = False
        for block in learn:
            gb = g[block]
            gmax = float(np.max(np.abs(gb))) if gb.size else 0.0
            if gmax == 0.0 or not np.isfinite(gmax):
                continue
            eps = min(steps.get(block, np.inf), max_step_m / gmax)
            g2 = float(np.sum(gb * gb))
            for _t in range(max_tries):
                trial = dict(cur)
                trial[block] = cur[block] + eps * gb
                u1, _ = ms.evaluate(trial["grid"], trial["user_position"], trial["time_offset"], False, profile=True)
                if u1 >= u0 + c1 * eps * g2:
                    cur = trial
                    mus, sigs = ms.last_fit
                    ms.mu, ms.sig = list(mus), list(sigs)
                    steps[block] = 2 * eps
                    moved = True
                    u0, g = ms.evaluate(cur["grid"], cur["user_position"], cur["time_offset"], True)
                    trace.append(u0)
                    break
                eps *= beta
            else:
                steps[block] = eps
        if not moved:
            break
    out = {"grid": xi["grid"].copy(), "user_position": cur["user_position"], "time_offset": cur["time_offset"]}
    out["grid"][ms.act] = cur["grid"]
    return out, trace
