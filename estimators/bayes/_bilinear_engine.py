r"""The E-step engine of bilinear subspace-constrained VBI (BiSVBI) for uplink multi-user ISAC.

Model (Liu, Xu, Xu, Caire, arXiv:2502.00811, Sec. II; the update equations are this package's
reconstruction, the paper's own govern where they differ): on resource element (RE) :math:`(n, t)`
the BS receives

.. math::
    \mathbf y_{n,t} = \sum_{k=1}^{K}\boldsymbol\Phi_{k,n}(\boldsymbol\xi)\,\mathbf x_k\,s_{k,n,t}
                      + \mathbf w_{n,t},\qquad
    \boldsymbol\Phi_{k,n} = \mathbf A\,\mathrm{diag}(\mathbf D_{k,n,:}),

with the location-domain dictionary of :func:`channels.location_dictionary` (shared steering
:math:`\mathbf A`, per-user delay factors :math:`\mathbf D`), sparse coefficients
:math:`\mathbf x_k` under the three-layer prior of :mod:`estimators.bayes._variational` with a
support prior handled by Module B (:mod:`estimators.bayes._turbo`), known pilots :math:`s_{k,n,t}`
on the pilot REs and unknown constellation symbols (uniform prior) on the data REs.

Mean field :math:`q(\mathbf x)\,q(\mathbf s_{\rm data})\,q(\boldsymbol\rho)\,q(\text{support})\,q(\gamma)`
with :math:`q(\mathbf x) = \prod_k q(\mathbf x_k)`; every update is the exact coordinate step
(arXiv:2502.00811, Sec. IV): the user-:math:`k` Gaussian factor on its support
:math:`\hat S_k` needs the :math:`|\hat S_k|\times|\hat S_k|` matrix

.. math::
    \boldsymbol\Sigma_k^{-1} = \langle\gamma\rangle\,(\mathbf A_S^H\mathbf A_S)\circ
        \Big(\sum_n E_{k,n}\,\mathbf D_{k,n,S}^{*}\mathbf D_{k,n,S}^T\Big)
        + \mathrm{diag}\langle\boldsymbol\rho_{k,S}\rangle, \qquad
    E_{k,n} = \sum_t\langle|s_{k,n,t}|^2\rangle,

(the separable structure makes it :math:`\mathcal O((M + N)|S|^2)`; never an :math:`N\times N`
inverse), and the data posteriors are categorical over the constellation,
:math:`q(s = \chi)\propto\exp(-\langle\gamma\rangle[|\chi|^2\langle\lVert\mathbf h\rVert^2\rangle
- 2\mathrm{Re}\{\chi^*\hat{\mathbf h}^H\mathbf r\}])`, users updated one after the other.

The engine holds the iteration state; :func:`run_estep` iterates it (pilots first, then the
data REs). :func:`bisvbi` runs it on a fixed dictionary, :func:`em_turbo_bisvbi` alternates it
with the M-step of :mod:`estimators.bayes._m_step`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from sensing import asarray_like, check_array, to_numpy

from ._turbo import support_messages
from ._variational import (
    LOG_PI,
    IterationInfo,
    admission_threshold,
    cinv_logdet,
    logit,
    noise_update,
    precision_update,
    prior_elbo,
    sigmoid,
    support_loglik,
    take,
)

__all__ = ["BilinearEngine", "run_estep", "check_frame"]


class BilinearEngine:
    """Mutable iteration state of the BiSVBI E-step (one instance per estimator call)."""

    def __init__(self, xp, received, pilots, pilot_mask, points, steering, delay, allowed, *, n_grid,
                 use_data, subspace, prior, support_prior, lam_c, lam_g, lam_los, max_admit,
                 false_alarm, prune_threshold, ban_iterations, max_support):
        self.xp = xp
        m, n, t = (int(v) for v in received.shape)
        k = int(pilots.shape[0])
        self.M, self.N, self.T, self.K = m, n, t, k
        self.pilot_mask = np.asarray(pilot_mask, bool)
        self.data_mask = ~self.pilot_mask
        self.dn, self.dt = np.nonzero(self.data_mask)
        self.use_data = bool(use_data) and self.dn.size > 0
        final_used = np.ones((n, t), bool) if self.use_data else self.pilot_mask
        self.n_used_final = int(final_used.sum())
        yu = received * asarray_like(final_used, xp, dtype=xp.float64)[None]
        p_pow = float(xp.sum(xp.real(yu * xp.conj(yu)))) / (m * self.n_used_final)
        if not p_pow > 0:
            raise ValueError("`received` is identically zero on the used resource elements; nothing to estimate.")
        self.scale_y = math.sqrt(p_pow)
        self.kappa = math.sqrt(m * self.n_used_final)
        self.Y = received / self.scale_y
        self.points = xp.asarray(points, dtype=xp.complex128)                    # (P,)
        self.pilots = pilots
        self.allowed = np.asarray(allowed, bool)
        self.n_grid = int(n_grid)
        self.J = int(steering.shape[1])
        self.set_dictionary(steering, delay)
        self.subspace, self.prior = subspace, prior
        self.support_prior = support_prior
        self.lam_c, self.lam_g, self.lam_los = lam_c, lam_g, lam_los
        self.lam_base = min(lam_c * float(np.mean(lam_g)), 1 - 1e-9) if support_prior == "common" else lam_c
        self.max_admit, self.false_alarm = max_admit, false_alarm
        self.prune_threshold, self.ban_iterations, self.max_support = prune_threshold, ban_iterations, max_support
        self.base = np.full((k, self.J), self.lam_base)
        self.base[:, self.n_grid:] = lam_los
        self.base[~self.allowed] = 1e-12
        rdt = xp.float64
        self.pib = asarray_like(self.base, xp, dtype=rdt)
        self.pit = asarray_like(self.base, xp, dtype=rdt)
        self.pia = xp.full((k, self.J), 0.5, dtype=rdt)       # Module A's last extrinsic message
        self.rho = xp.ones((k, self.J), dtype=rdt)
        self.gamma = 1.0
        self.banned = np.full((k, self.J), -1, dtype=np.int64)
        self.S = [np.zeros(0, np.int64) for _ in range(k)] if subspace else \
            [np.flatnonzero(self.allowed[i]) for i in range(k)]
        self.mu = [xp.zeros(s.size, dtype=xp.complex128) for s in self.S]
        self.sig = [xp.zeros((s.size, s.size), dtype=xp.complex128) for s in self.S]
        self.logdet = [0.0] * k
        self.tr = xp.zeros((k, n), dtype=rdt)
        self.H = xp.zeros((k, m, n), dtype=xp.complex128)
        # symbol moments: pilots known, data REs unused until the channel is good enough
        pm = asarray_like(self.pilot_mask, xp, dtype=rdt)
        self.ms = xp.astype(pilots, xp.complex128) * xp.astype(pm, xp.complex128)[None]
        self.es2 = xp.real(self.ms * xp.conj(self.ms))
        self.used = self.pilot_mask.copy()
        self.data_on = False
        self.probs = None
        self.it = 0
        self._dn = asarray_like(self.dn.astype(np.int64), xp)
        self._dt = asarray_like(self.dt.astype(np.int64), xp)

    # -- dictionary ------------------------------------------------------------------------------
    def set_dictionary(self, steering, delay):
        self.A = steering / self.kappa          # scaled so a column has unit norm over all used REs
        self.D = delay

    def channels_from_mu(self, k):
        xp = self.xp
        s = self.S[k]
        if s.size == 0:
            return xp.zeros((self.M, self.N), dtype=xp.complex128)
        a_s = take(xp, self.A, s, axis=1)
        d_s = take(xp, self.D[k], s, axis=1)
        return a_s @ xp.permute_dims(d_s * self.mu[k][None, :], (1, 0))

    def refresh(self):
        """Recompute the channel estimates and trace terms from (mu, Sigma) (after a dictionary change)."""
        xp = self.xp
        hs, trs = [], []
        for k in range(self.K):
            hs.append(self.channels_from_mu(k))
            trs.append(self._trace(k))
        self.H = xp.stack(hs, axis=0)
        self.tr = xp.stack(trs, axis=0)

    def _trace(self, k):
        """tr(Phi_{k,n} Sigma_k Phi_{k,n}^H) for every subcarrier, shape (N,)."""
        xp = self.xp
        s = self.S[k]
        if s.size == 0:
            return xp.zeros(self.N, dtype=xp.float64)
        a_s = take(xp, self.A, s, axis=1)
        d_s = take(xp, self.D[k], s, axis=1)
        w = xp.conj(a_s.T) @ a_s                                           # (s, s)
        mid = self.sig[k] * w.T
        return xp.real(xp.sum((d_s @ mid) * xp.conj(d_s), axis=1))

    # -- statistics of q(s) ------------------------------------------------------------------------
    def stats(self):
        xp = self.xp
        used = asarray_like(self.used, xp, dtype=xp.float64)
        yu = self.Y * xp.astype(used, xp.complex128)[None]
        msn = xp.permute_dims(xp.conj(self.ms), (1, 0, 2))                  # (N, K, T)
        z = msn @ xp.permute_dims(yu, (1, 2, 0))                             # (N, K, M)
        self.Z = xp.permute_dims(z, (1, 2, 0))                               # (K, M, N)
        c = msn @ xp.permute_dims(self.ms, (1, 2, 0))                        # (N, K, K)
        self.C = xp.permute_dims(c, (1, 2, 0))                               # (K, K, N)
        self.E = xp.sum(self.es2, axis=2)                                    # (K, N)
        self.yy = float(xp.sum(xp.real(yu * xp.conj(yu))))
        self.n_obs = self.M * int(self.used.sum())

    # -- Module A ----------------------------------------------------------------------------------
    def gauss(self, k):
        xp = self.xp
        s = self.S[k]
        if s.size == 0:
            self.mu[k] = xp.zeros(0, dtype=xp.complex128)
            self.sig[k] = xp.zeros((0, 0), dtype=xp.complex128)
            self.logdet[k] = 0.0
            self.H[k] = 0.0
            self.tr[k] = 0.0
            return
        a_s = take(xp, self.A, s, axis=1)                                   # (M, s)
        d_s = take(xp, self.D[k], s, axis=1)                                # (N, s)
        ga = xp.conj(a_s.T) @ a_s
        gd = xp.conj(d_s.T) @ (d_s * xp.astype(self.E[k], xp.complex128)[:, None])
        gram = ga * gd
        r = self.Z[k]
        for j in range(self.K):
            if j != k:
                r = r - self.C[k, j][None, :] * self.H[j]
        b = xp.sum(xp.conj(d_s.T) * (xp.conj(a_s.T) @ r), axis=1)            # (s,)
        prec = self.gamma * gram + xp.eye(s.size, dtype=xp.complex128) * xp.astype(
            take(xp, self.rho[k], s, axis=0), xp.complex128)[None, :]
        sig, logdet_p = cinv_logdet(prec, xp)
        self.sig[k] = sig
        self.mu[k] = self.gamma * (sig @ b)
        self.logdet[k] = logdet_p
        self.H[k] = a_s @ xp.permute_dims(d_s * self.mu[k][None, :], (1, 0))
        self.tr[k] = xp.real(xp.sum((d_s @ (sig * ga.T)) * xp.conj(d_s), axis=1))

    def data_update(self):
        """Categorical q(s) on the data REs, users in turn; returns the data ELBO terms."""
        xp = self.xp
        pts = self.points
        n_pts = int(pts.shape[0])
        hn = xp.permute_dims(self.H, (2, 0, 1))                              # (N, K, M)
        f = xp.conj(hn) @ xp.permute_dims(self.Y, (1, 0, 2))                 # (N, K, T)
        g = xp.conj(hn) @ xp.permute_dims(hn, (0, 2, 1))                     # (N, K, K)
        eh = xp.real(xp.linalg.diagonal(g)) + xp.permute_dims(self.tr, (1, 0))  # (N, K)
        dn, dt = self._dn, self._dt
        ms_d = xp.stack([self.ms[k][dn, dt] for k in range(self.K)], axis=0)   # (K, n_d)
        pabs = xp.real(pts * xp.conj(pts))
        probs, ent = [], 0.0
        for k in range(self.K):
            proj = f[dn, k, dt]
            for j in range(self.K):
                if j != k:
                    proj = proj - g[dn, k, j] * ms_d[j]
            logits = -self.gamma * (pabs[None, :] * eh[dn, k][:, None]
                                    - 2 * xp.real(xp.conj(pts)[None, :] * proj[:, None]))
            logits = logits - xp.max(logits, axis=1, keepdims=True)
            w = xp.exp(logits)
            w = w / xp.sum(w, axis=1, keepdims=True)
            ms_d_k = w @ pts
            es2_k = w @ xp.astype(pabs, xp.float64)
            ms_d = xp.concat([ms_d[:k], ms_d_k[None], ms_d[k + 1:]], axis=0)
            self.ms[k, dn, dt] = ms_d_k
            self.es2[k, dn, dt] = es2_k
            ent += float(-xp.sum(w * xp.log(xp.clip(w, 1e-300, 1.0))))
            probs.append(w)
        self.probs = xp.stack(probs, axis=0)                                 # (K, n_d, P)
        return ent - self.K * self.dn.size * math.log(n_pts)

    def expected_residual(self):
        xp = self.xp
        cross = xp.sum(xp.conj(self.H) * self.Z)                             # sum_k sum_n h^H z
        hn = xp.permute_dims(self.H, (2, 0, 1))
        g = xp.conj(hn) @ xp.permute_dims(hn, (0, 2, 1))                     # (N, K, K)
        cm = xp.permute_dims(self.C, (2, 0, 1))                              # (N, K, K)
        eye = xp.eye(self.K, dtype=xp.complex128)[None]
        off = xp.sum(cm * g * (1 - eye))
        diag = xp.sum(xp.permute_dims(self.E, (1, 0)) * (xp.real(xp.linalg.diagonal(g))
                                                          + xp.permute_dims(self.tr, (1, 0))))
        return self.yy - 2 * float(xp.real(cross)) + float(xp.real(off)) + float(diag)

    def in_support_mask(self):
        m = np.zeros((self.K, self.J), bool)
        for k in range(self.K):
            m[k, self.S[k]] = True
        return m

    def m2(self):
        xp = self.xp
        out = xp.zeros((self.K, self.J), dtype=xp.float64)
        for k in range(self.K):
            s = self.S[k]
            if s.size:
                v = xp.real(self.mu[k] * xp.conj(self.mu[k])) + xp.real(xp.linalg.diagonal(self.sig[k]))
                out[k, asarray_like(s, xp)] = v
        return out

    def module_b(self, pia):
        xp = self.xp
        q = self.n_grid
        grid_part = support_messages(pia[:, :q], prior="common" if self.support_prior == "common" else "iid",
                                     support_probability=self.lam_base, common_probability=self.lam_c,
                                     group_probability=self.lam_g)
        rest = asarray_like(self.base[:, q:], xp, dtype=xp.float64)
        return xp.concat([grid_part, rest], axis=1)

    def iterate(self, *, adapt_support=True):
        """One turbo iteration; returns (elbo, support_changed)."""
        xp = self.xp
        prior = self.prior
        self.stats()
        for k in range(self.K):
            self.gauss(k)
        data_terms = 0.0
        if self.data_on:
            data_terms = self.data_update()
            self.stats()
        eres = self.expected_residual()
        b, bb = prior.rates(1.0 / self.gamma, self.lam_base)
        m2 = self.m2()
        rho, lnrho, a_t, b_t = precision_update(m2, self.pit, 1, prior.shape, b, bb, 3, xp)
        llr = support_loglik(rho, prior.shape, b, bb)
        pit = sigmoid(logit(self.pib, xp) + llr, xp)
        msk_h = self.in_support_mask()
        msk = asarray_like(msk_h, xp)
        self.rho = xp.where(msk, rho, xp.full_like(rho, prior.shape / bb))
        self.pit = xp.where(msk, pit, xp.zeros_like(pit))
        self.gamma, lngamma, gterms = noise_update(self.n_obs, max(eres, 1e-300), prior)
        pterms = prior_elbo(m2[msk], rho[msk], lnrho[msk], a_t, b_t[msk], pit[msk], self.pib[msk], 1,
                            prior.shape, b, bb, 3, xp)
        ent_x = sum(s.size * (1 + LOG_PI) - ld for s, ld in zip(self.S, self.logdet))
        elbo = (self.n_obs * (lngamma - LOG_PI) - self.gamma * eres + ent_x + gterms + pterms + data_terms)
        # Module B: atoms off the support carry no local evidence (pi^A = 1/2)
        pia = xp.where(msk, sigmoid(llr, xp), xp.full_like(llr, 0.5))
        if self.support_prior == "common":
            self.pib = self.module_b(pia)
        self.pia = pia
        changed = self.update_support() if (self.subspace and adapt_support) else False
        self.it += 1
        return elbo, changed

    def update_support(self):
        xp = self.xp
        changed = False
        thr_units = admission_threshold(int(self.allowed.sum(1).max()), 1, self.false_alarm)
        pib_h = to_numpy(self.pib)
        logit_base = np.log(self.base / (1 - self.base))
        pit_h = to_numpy(self.pit)
        rho_h = to_numpy(self.rho).copy()
        pit_new = pit_h.copy()
        hsum = None
        for k in range(self.K):
            s = self.S[k]
            drop = s[pit_h[k, s] < self.prune_threshold]
            keep = s[pit_h[k, s] >= self.prune_threshold]
            self.banned[k, drop] = self.it + self.ban_iterations
            if self.max_support is not None and keep.size > self.max_support:
                m2 = to_numpy(self.m2()[k])
                keep = keep[np.argsort(-m2[keep])[: self.max_support]]
            room = self.J if self.max_support is None else self.max_support - keep.size
            new = np.zeros(0, np.int64)
            if room > 0 and self.max_admit > 0:
                if hsum is None:
                    hsum = [sum(self.C[k2, j][None, :] * self.H[j] for j in range(self.K)) for k2 in range(self.K)]
                r = self.Z[k] - hsum[k]                                      # residual, weighted by <s_k>^*
                corr = xp.sum(xp.conj(self.D[k].T) * (xp.conj(self.A.T) @ r), axis=1)   # (J,)
                ck = float(xp.sum(self.E[k])) * self.M / self.kappa ** 2
                energy = to_numpy(xp.real(corr * xp.conj(corr))) * self.gamma / max(ck, 1e-300)
                energy[~self.allowed[k]] = -np.inf
                energy[keep] = -np.inf
                energy[self.banned[k] >= self.it] = -np.inf
                boost = np.log(np.clip(pib_h[k], 1e-12, 1 - 1e-12) / np.clip(1 - pib_h[k], 1e-12, 1)) - logit_base[k]
                thr = np.maximum(thr_units - boost, 1.0)
                order = np.argsort(-(energy - thr))[: min(room, self.max_admit)]
                if keep.size == 0 and self.it == 0:
                    order = np.argsort(-energy)[:1]
                    new = order
                new = np.union1d(new, order[energy[order] > thr[order]]).astype(np.int64)
                if new.size:
                    pw = np.maximum(energy[new] - 1.0, 0.1) / self.gamma
                    rho_h[k, new] = 1.0 / pw
                    pit_new[k, new] = 0.5
            new_s = np.union1d(keep, new).astype(np.int64)
            if new_s.size != s.size or np.any(new_s != s):
                changed = True
                self.resize_support(k, new_s)
        if changed:
            self.rho = asarray_like(rho_h, xp, dtype=xp.float64)
            self.pit = asarray_like(pit_new, xp, dtype=xp.float64)
        return changed

    def resize_support(self, k, new_s):
        """Carry (mu, Sigma) over to a new support (new atoms start at zero mean)."""
        xp = self.xp
        old = self.S[k]
        mu = np.zeros(new_s.size, complex)
        pos = {int(v): i for i, v in enumerate(old)}
        mu_old = to_numpy(self.mu[k])
        for i, v in enumerate(new_s):
            if int(v) in pos:
                mu[i] = mu_old[pos[int(v)]]
        self.S[k] = new_s
        self.mu[k] = asarray_like(mu, xp, dtype=xp.complex128)
        self.sig[k] = xp.zeros((new_s.size, new_s.size), dtype=xp.complex128)
        self.logdet[k] = 0.0

    def init_precisions(self):
        """Matched-filter start for the full-inverse mode (every allowed atom in S)."""
        xp = self.xp
        self.stats()
        for k in range(self.K):
            corr = xp.sum(xp.conj(self.D[k].T) * (xp.conj(self.A.T) @ self.Z[k]), axis=1)
            ck = float(xp.sum(self.E[k])) * self.M / self.kappa ** 2
            e = xp.real(corr * xp.conj(corr)) / max(ck, 1e-300)
            self.rho[k] = 1.0 / xp.maximum(e - 1.0, 1e-3)

    def switch_data_on(self):
        """Let the data REs join: q(s) starts from soft LMMSE detection with the current channel.

        Mean-field updates alone, started from zero means, ignore the other users' symbol
        uncertainty and lock into poor fixed points when the users' channels are correlated; the
        LMMSE start (with the channel-estimation error as extra noise) avoids that, and the
        following coordinate-ascent updates only improve on it.
        """
        if not self.use_data or self.data_on:
            return
        self.data_on = True
        self.used = np.ones_like(self.pilot_mask)
        self.lmmse_init()
        self.stats()

    def lmmse_init(self):
        xp = self.xp
        k = self.K
        hn = xp.permute_dims(self.H, (2, 1, 0))                              # (N, M, K)
        gram = xp.conj(xp.permute_dims(hn, (0, 2, 1))) @ hn                  # (N, K, K)
        eye = xp.eye(k, dtype=xp.complex128)[None]
        reg = eye * xp.astype(xp.permute_dims(self.tr, (1, 0)), xp.complex128)[:, :, None] + eye / self.gamma
        w = xp.linalg.solve(gram + reg, xp.conj(xp.permute_dims(hn, (0, 2, 1))))   # (N, K, M)
        bias = xp.real(xp.linalg.diagonal(w @ hn))                           # (N, K)
        var = xp.maximum(bias * (1 - bias), 1e-6)
        dn, dt = self._dn, self._dt
        ys = xp.permute_dims(self.Y, (1, 0, 2))                              # (N, M, T)
        xh = w @ ys                                                          # (N, K, T)
        pts = self.points
        probs = []
        for kk in range(k):
            est = xh[dn, kk, dt]
            b = bias[dn, kk]
            v = var[dn, kk]
            d = est[:, None] - b[:, None] * pts[None, :]
            lg = -xp.real(d * xp.conj(d)) / v[:, None]
            lg = lg - xp.max(lg, axis=1, keepdims=True)
            p = xp.exp(lg)
            p = p / xp.sum(p, axis=1, keepdims=True)
            self.ms[kk, dn, dt] = p @ pts
            self.es2[kk, dn, dt] = p @ xp.astype(xp.real(pts * xp.conj(pts)), xp.float64)
            probs.append(p)
        self.probs = xp.stack(probs, axis=0)

    def labels(self):
        if self.probs is None:
            return np.full((self.K, self.dn.size), -1, dtype=np.int64)
        return to_numpy(self.xp.argmax(self.probs, axis=2)).astype(np.int64)

    def support_bool(self):
        return self.in_support_mask()

    def coefficients(self):
        """Full coefficient vectors (K, J) in input scale."""
        xp = self.xp
        out = np.zeros((self.K, self.J), complex)
        for k in range(self.K):
            out[k, self.S[k]] = to_numpy(self.mu[k])
        return asarray_like(out * self.scale_y / self.kappa, xp, dtype=xp.complex128)


def run_estep(eng: BilinearEngine, *, max_iter, tol, n_pilot_iter, callback, t0, history, adapt_support=True,
              channel_fn=None):
    """Iterate the engine; pilots only first (up to ``n_pilot_iter`` or convergence), then with data."""
    converged = False
    h_old = eng.xp.asarray(eng.H, copy=True)
    for i in range(max_iter):
        if eng.use_data and not eng.data_on and (eng.it >= n_pilot_iter):
            eng.switch_data_on()
            history.setdefault("data_start", len(history["elbo"]))
        elbo, changed = eng.iterate(adapt_support=adapt_support)
        history["elbo"].append(elbo)
        history["time"].append(time.perf_counter() - t0)
        xp = eng.xp
        dh = float(xp.sqrt(xp.sum(xp.real((eng.H - h_old) * xp.conj(eng.H - h_old)))))
        nh = float(xp.sqrt(xp.sum(xp.real(eng.H * xp.conj(eng.H)))))
        h_old = xp.asarray(eng.H, copy=True)
        stop = False
        if callback is not None:
            est = eng.H * eng.scale_y if channel_fn is None else channel_fn()
            stop = bool(callback(IterationInfo(len(history["elbo"]) - 1, elbo, int(sum(s.size for s in eng.S)),
                                               eng.scale_y ** 2 / eng.gamma, time.perf_counter() - t0, est)))
        small = i > 0 and not changed and dh <= tol * max(nh, 1e-300)
        if small and (eng.data_on or not eng.use_data):
            converged = True
            break
        if small and not eng.data_on:
            eng.switch_data_on()
            history.setdefault("data_start", len(history["elbo"]))
        if stop:
            history["stopped"] = True
            break
    return converged


def check_frame(received, pilots, pilot_mask, constellation, xp):
    y = check_array(received, "received", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    m, n, t = (int(v) for v in y.shape)
    p = check_array(pilots, "pilots", ndim=3, kind=("complex floating", "real floating"), xp=xp)
    if tuple(p.shape[1:]) != (n, t):
        raise ValueError(f"`pilots` must have shape (n_users, {n}, {t}) to match `received` {tuple(y.shape)}; "
                         f"got {tuple(p.shape)}.")
    k = int(p.shape[0])
    if k < 1:
        raise ValueError("`pilots` must describe at least one user; got n_users = 0.")
    if k > m:
        raise ValueError(f"the number of users ({k}) must not exceed the number of BS antennas ({m}): the "
                         "multi-user model is not identifiable otherwise; got more users than antennas.")
    pm = np.asarray(to_numpy(pilot_mask))
    if pm.dtype != bool or pm.shape != (n, t):
        raise ValueError(f"`pilot_mask` must be a bool array of shape ({n}, {t}); got {pm.dtype} {pm.shape}.")
    if not pm.any():
        raise ValueError("`pilot_mask` marks no pilot resource element; at least one pilot RE is needed to fix "
                         "the scale and phase of the channels (no pilots given).")
    pil_h = to_numpy(p)
    if not np.any(np.abs(pil_h[:, pm]) > 0, axis=1).all():
        bad = np.flatnonzero(~np.any(np.abs(pil_h[:, pm]) > 0, axis=1)).tolist()
        raise ValueError(f"users {bad} send no non-zero pilot; every user needs at least one pilot.")
    pts = np.asarray(to_numpy(check_array(constellation, "constellation", ndim=1,
                                          kind=("complex floating", "real floating"))), dtype=complex)
    if pts.size < 2:
        raise ValueError(f"`constellation` must hold at least 2 points; got {pts.size}.")
    return xp.astype(y, xp.complex128), xp.astype(p, xp.complex128), pm, pts
