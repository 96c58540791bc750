r"""Bilinear subspace-constrained VBI (BiSVBI) and EM-Turbo-BiSVBI for uplink multi-user ISAC.

Model (``docs/BISVBI.md`` §4, a reconstruction of Liu, Xu, Xu, Caire, arXiv:2502.00811): on
resource element (RE) :math:`(n, t)` the BS receives

.. math::
    \mathbf y_{n,t} = \sum_{k=1}^{K}\boldsymbol\Phi_{k,n}(\boldsymbol\xi)\,\mathbf x_k\,s_{k,n,t}
                      + \mathbf w_{n,t},\qquad
    \boldsymbol\Phi_{k,n} = \mathbf A\,\mathrm{diag}(\mathbf D_{k,n,:}),

with the location-domain dictionary of :func:`channels.location_dictionary` (shared steering
:math:`\mathbf A`, per-user delay factors :math:`\mathbf D`), sparse coefficients
:math:`\mathbf x_k` under the three-layer prior of :mod:`estimators._vbi` with a support prior
handled by Module B (:mod:`estimators._turbo`), known pilots :math:`s_{k,n,t}` on the pilot REs
and unknown constellation symbols (uniform prior) on the data REs.

Mean field :math:`q(\mathbf x)\,q(\mathbf s_{\rm data})\,q(\boldsymbol\rho)\,q(\text{support})\,q(\gamma)`
with :math:`q(\mathbf x) = \prod_k q(\mathbf x_k)`; every update is the exact coordinate step
(``docs/BISVBI.md`` §6.3–6.5): the user-:math:`k` Gaussian factor on its support
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

EM-Turbo-BiSVBI wraps this E-step in an EM loop whose M-step moves the active grid points, the
clock offsets and the user positions along the analytic gradient of the expected log-likelihood
(Armijo backtracking), and starts from the MUSIC-SCVBI coarse estimate (§7).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace

import numpy as np

from sensing import (
    HostCopy,
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    asarray_like,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_rng,
    get_xp,
    to_numpy,
)

from ._turbo import common_support_posterior, support_messages
from ._vbi import (
    IterationInfo,
    SparsePrior,
    _admission_threshold,
    _cinv_logdet,
    _logit,
    _noise_update,
    _precision_update,
    _prior_elbo,
    _sigmoid,
    _support_loglik,
    _take,
)

__all__ = ["BiSVBIResult", "EMTurboResult", "bisvbi", "em_turbo_bisvbi"]

_LOG_PI = math.log(math.pi)


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------

def _host_fields(obj):
    return replace(obj, **{f.name: to_numpy(getattr(obj, f.name)) for f in fields(obj)
                           if hasattr(getattr(obj, f.name), "shape")})


@dataclass(frozen=True)
class BiSVBIResult(HostCopy):
    r"""Result of :func:`bisvbi`.

    Attributes
    ----------
    channels : array, shape (n_users, n_antennas, n_subcarriers), complex
        :math:`\hat{\mathbf h}_{k,n} = \boldsymbol\Phi_{k,n}\boldsymbol\mu_k` (input scale).
    coefficients : array, shape (n_users, n_columns), complex
        :math:`\boldsymbol\mu_k` (zero off the support).
    support : array of bool, shape (n_users, n_columns)
        :math:`\hat S_k`.
    support_probability : array, shape (n_users, n_columns)
        :math:`q(s_{k,j} = 1)` (0 off the support in subspace mode).
    symbols : array, shape (n_users, n_subcarriers, n_symbols), complex
        Pilots on pilot REs, posterior means :math:`\langle s\rangle` on data REs (0 on data REs
        when ``use_data=False``).
    symbol_labels : ndarray of int, shape (n_users, n_data)
        MAP constellation index per data RE (host), in the order of ``data_index``; -1 when
        the data were not used.
    data_index : ndarray of int, shape (2, n_data)
        ``(subcarrier, symbol)`` of each data RE (C order of ``~pilot_mask``).
    noise_variance : float
        :math:`1/\langle\gamma\rangle` (input scale).
    elbo : ndarray, shape (n_iter,)
        ELBO after each iteration (normalised units).
    n_iter : int
    converged : bool
    data_start : int
        First iteration that used the data REs (``n_iter`` if never).
    method : str
    """

    channels: Array
    coefficients: Array
    support: Array
    support_probability: Array
    symbols: Array
    symbol_labels: np.ndarray = field(repr=False)
    data_index: np.ndarray = field(repr=False)
    noise_variance: float = 0.0
    elbo: np.ndarray = field(default=None, repr=False)
    n_iter: int = 0
    converged: bool = False
    data_start: int = 0
    method: str = ""


@dataclass(frozen=True)
class EMTurboResult(HostCopy):
    r"""Result of :func:`em_turbo_bisvbi`.

    Attributes
    ----------
    channels : array, shape (n_users, n_antennas, n_subcarriers), complex
        Channel estimates on every subcarrier (input scale).
    scatterer_positions_m : ndarray, shape (n_found, 3)
        Estimated scatterers [m] (host): active grid points with common-support posterior > 1/2
        (any user's support with the i.i.d. prior), after merging points closer than
        ``merge_distance_m``.
    time_offsets_s : ndarray, shape (n_users,)
        :math:`\hat\delta_k` [s] (host; zeros when not learnt).
    user_positions_m : ndarray, shape (n_users, 3)
        :math:`\hat{\mathbf p}_k` [m] (host; nominal when not learnt).
    grid_m : ndarray, shape (n_grid, 3)
        The final dynamic grid [m] (host).
    coefficients, support : arrays, shape (n_users, n_grid + n_users)
        Location-domain coefficients and supports (grid columns, then one LoS column per user).
    symbols, symbol_labels, data_index
        As in :class:`BiSVBIResult`.
    noise_variance : float
    objective : ndarray, shape (n_iter,)
        ELBO after each E-step iteration (normalised units; jumps where the model changes).
    elapsed_s : ndarray, shape (n_iter,)
        Wall time at the end of each E-step iteration [s].
    n_iter : int
        E-step iterations in total (coarse stage included).
    n_outer : int
        EM iterations.
    converged : bool
    directions_rad : ndarray, shape (n_directions, 2)
        (azimuth, elevation) found by the coarse-stage MUSIC (empty without it).
    method : str
    """

    channels: Array
    scatterer_positions_m: np.ndarray
    time_offsets_s: np.ndarray
    user_positions_m: np.ndarray
    grid_m: np.ndarray = field(repr=False)
    coefficients: Array = field(default=None, repr=False)
    support: Array = field(default=None, repr=False)
    symbols: Array = field(default=None, repr=False)
    symbol_labels: np.ndarray = field(default=None, repr=False)
    data_index: np.ndarray = field(default=None, repr=False)
    noise_variance: float = 0.0
    objective: np.ndarray = field(default=None, repr=False)
    elapsed_s: np.ndarray = field(default=None, repr=False)
    n_iter: int = 0
    n_outer: int = 0
    converged: bool = False
    directions_rad: np.ndarray = field(default=None, repr=False)
    method: str = ""


# ---------------------------------------------------------------------------------------------
# the bilinear engine (private, shared by bisvbi and em_turbo_bisvbi)
# ---------------------------------------------------------------------------------------------

class _Engine:
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
        a_s = _take(xp, self.A, s, axis=1)
        d_s = _take(xp, self.D[k], s, axis=1)
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
        a_s = _take(xp, self.A, s, axis=1)
        d_s = _take(xp, self.D[k], s, axis=1)
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
        a_s = _take(xp, self.A, s, axis=1)                                   # (M, s)
        d_s = _take(xp, self.D[k], s, axis=1)                                # (N, s)
        ga = xp.conj(a_s.T) @ a_s
        gd = xp.conj(d_s.T) @ (d_s * xp.astype(self.E[k], xp.complex128)[:, None])
        gram = ga * gd
        r = self.Z[k]
        for j in range(self.K):
            if j != k:
                r = r - self.C[k, j][None, :] * self.H[j]
        b = xp.sum(xp.conj(d_s.T) * (xp.conj(a_s.T) @ r), axis=1)            # (s,)
        prec = self.gamma * gram + xp.eye(s.size, dtype=xp.complex128) * xp.astype(
            _take(xp, self.rho[k], s, axis=0), xp.complex128)[None, :]
        sig, logdet_p = _cinv_logdet(prec, xp)
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
        rho, lnrho, a_t, b_t = _precision_update(m2, self.pit, 1, prior.shape, b, bb, 3, xp)
        llr = _support_loglik(rho, prior.shape, b, bb)
        pit = _sigmoid(_logit(self.pib, xp) + llr, xp)
        msk_h = self.in_support_mask()
        msk = asarray_like(msk_h, xp)
        self.rho = xp.where(msk, rho, xp.full_like(rho, prior.shape / bb))
        self.pit = xp.where(msk, pit, xp.zeros_like(pit))
        self.gamma, lngamma, gterms = _noise_update(self.n_obs, max(eres, 1e-300), prior)
        pterms = _prior_elbo(m2[msk], rho[msk], lnrho[msk], a_t, b_t[msk], pit[msk], self.pib[msk], 1,
                             prior.shape, b, bb, 3, xp)
        ent_x = sum(s.size * (1 + _LOG_PI) - ld for s, ld in zip(self.S, self.logdet))
        elbo = (self.n_obs * (lngamma - _LOG_PI) - self.gamma * eres + ent_x + gterms + pterms + data_terms)
        # Module B: atoms off the support carry no local evidence (pi^A = 1/2)
        pia = xp.where(msk, _sigmoid(llr, xp), xp.full_like(llr, 0.5))
        if self.support_prior == "common":
            self.pib = self.module_b(pia)
        self.pia = pia
        changed = self.update_support() if (self.subspace and adapt_support) else False
        self.it += 1
        return elbo, changed

    def update_support(self):
        xp = self.xp
        changed = False
        thr_units = _admission_threshold(int(self.allowed.sum(1).max()), 1, self.false_alarm)
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
                self._resize(k, new_s)
        if changed:
            self.rho = asarray_like(rho_h, xp, dtype=xp.float64)
            self.pit = asarray_like(pit_new, xp, dtype=xp.float64)
        return changed

    def _resize(self, k, new_s):
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


def _run_estep(eng: _Engine, *, max_iter, tol, n_pilot_iter, callback, t0, history, adapt_support=True,
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


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def _frame_iv(received, pilots, pilot_mask, constellation, xp):
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


def _support_iv(support, k, j, allowed):
    if support is None:
        return None
    s = np.asarray(to_numpy(support))
    if s.dtype != bool or s.shape != (k, j):
        raise ValueError(f"`support` must be a bool array of shape ({k}, {j}); got {s.dtype} {s.shape}.")
    if np.any(s & ~allowed):
        raise ValueError("`support` selects columns outside a user's dictionary (`allowed`).")
    return s


def _prob_iv(common_probability, group_probability, los_probability, k):
    lc = check_float(common_probability, "common_probability", low=0.0, high=1.0, low_inclusive=False,
                     high_inclusive=False)
    lg = np.broadcast_to(np.asarray(group_probability, dtype=float), (k,)).copy()
    if np.any(~np.isfinite(lg)) or np.any(lg <= 0) or np.any(lg > 1):
        raise ValueError(f"`group_probability` must be in (0, 1]; got {np.asarray(group_probability).tolist()}.")
    ll = check_float(los_probability, "los_probability", low=0.0, high=1.0, low_inclusive=False,
                     high_inclusive=False)
    return lc, lg, ll


def _common_opts(prior, max_admit, false_alarm, prune_threshold, ban_iterations, max_support, tol):
    if prior is None:
        prior = SparsePrior()
    if not isinstance(prior, SparsePrior):
        raise TypeError(f"`prior` must be a SparsePrior; got {type(prior).__name__}.")
    return dict(prior=prior, max_admit=check_int(max_admit, "max_admit", low=0),
                false_alarm=check_float(false_alarm, "false_alarm", low=0.0, high=1.0, low_inclusive=False,
                                        high_inclusive=False),
                prune_threshold=check_float(prune_threshold, "prune_threshold", low=0.0, high=1.0,
                                            high_inclusive=False),
                ban_iterations=check_int(ban_iterations, "ban_iterations", low=0),
                max_support=None if max_support is None else check_int(max_support, "max_support", low=1)), \
        check_float(tol, "tol", low=0.0)


# ---------------------------------------------------------------------------------------------
# BiSVBI with a fixed dictionary
# ---------------------------------------------------------------------------------------------

def bisvbi(received, *, steering, delay, pilots, pilot_mask, constellation, allowed=None, n_grid=None,
           support_prior: str = "common", subspace: bool = True, use_data: bool = True, prior=None,
           common_probability: float = 0.1, group_probability=0.8, los_probability: float = 0.5,
           support=None, adapt_support: bool = True, max_support: int | None = None, max_admit: int = 1,
           false_alarm: float = 0.1, prune_threshold: float = 0.5, ban_iterations: int = 3,
           max_iter: int = 100, n_pilot_iter: int = 30, tol: float = 1e-4, callback=None) -> BiSVBIResult:
    r"""Joint channel estimation and data recovery by bilinear (subspace-constrained) VBI.

    Parameters
    ----------
    received : array, shape (n_antennas, n_subcarriers, n_symbols), complex
        :math:`\mathbf y_{n,t}` on every RE of the frame.
    steering : array, shape (n_antennas, n_columns), complex
        :math:`\mathbf A` (e.g. ``channels.location_dictionary(...).steering``).
    delay : array, shape (n_users, n_subcarriers, n_columns), complex
        :math:`\mathbf D` (unit modulus on allowed columns).
    pilots : array, shape (n_users, n_subcarriers, n_symbols), complex
        Known pilot symbols (read on ``pilot_mask`` REs only; 0 = silent).
    pilot_mask : bool array, shape (n_subcarriers, n_symbols)
        Pilot REs; the others carry unknown data from ``constellation``.
    constellation : array, shape (n_points,), complex
        Data alphabet :math:`\mathcal X` (e.g. ``sensing.constellation("qam", 16)``).
    allowed : bool array, shape (n_users, n_columns), optional
        Columns of each user's dictionary (default all).
    n_grid : int, optional
        Number of leading columns that are shared grid points (Module B's common support acts on
        them; the remaining columns, e.g. LoS, get the i.i.d. prior ``los_probability``).
        Default: all columns.
    support_prior : {"common", "iid"}, default="common"
        Joint sparsity across users, or per-user independent supports (the ablation).
    subspace : bool, default=True
        BiSVBI; False puts every allowed column in the support (full-inverse baseline).
    use_data : bool, default=True
        False: pilots only (the linear SC-VBI / Turbo-VBI special case).
    prior : SparsePrior, optional
    common_probability, group_probability : float, default=0.1, 0.8
        :math:`\lambda_c`, :math:`\lambda_k` of the common-support prior.
    los_probability : float, default=0.5
        Prior activity of the non-grid (LoS) columns.
    support : bool array (n_users, n_columns), optional
        Initial supports (default empty).
    adapt_support, max_support, max_admit, false_alarm, prune_threshold, ban_iterations
        As in :func:`estimators.sc_vbi`.
    max_iter : int, default=100
    n_pilot_iter : int, default=30
        Pilot-only iterations before the data REs join (earlier once the pilot-only estimate has
        converged).
    tol : float, default=1e-4
        Relative change of the channel estimate that ends the run (with a stable support).
    callback : callable(IterationInfo) -> bool, optional
        ``estimate`` is the current channel estimate (n_users, n_antennas, n_subcarriers).

    Returns
    -------
    BiSVBIResult

    Raises
    ------
    ValueError
        No pilot RE, a user without pilots, more users than antennas, an empty dictionary,
        NaN/inf input, shape mismatches.
    """
    xp = get_xp(received, steering, delay, pilots)
    y, pil, pm, pts = _frame_iv(received, pilots, pilot_mask, constellation, xp)
    m, n, t = (int(v) for v in y.shape)
    k = int(pil.shape[0])
    a = check_array(steering, "steering", ndim=2, kind=("complex floating",), xp=xp)
    d = check_array(delay, "delay", ndim=3, kind=("complex floating",), xp=xp)
    if a.shape[0] != m or a.shape[1] == 0:
        raise ValueError(f"`steering` must have shape ({m}, n_columns >= 1); got {tuple(a.shape)} "
                         "(an empty dictionary cannot represent a channel).")
    if tuple(d.shape) != (k, n, a.shape[1]):
        raise ValueError(f"`delay` must have shape ({k}, {n}, {a.shape[1]}); got {tuple(d.shape)}.")
    j = int(a.shape[1])
    allowed_h = np.ones((k, j), bool) if allowed is None else np.asarray(to_numpy(allowed))
    if allowed_h.dtype != bool or allowed_h.shape != (k, j):
        raise ValueError(f"`allowed` must be a bool array of shape ({k}, {j}); got {allowed_h.dtype} {allowed_h.shape}.")
    q = j if n_grid is None else check_int(n_grid, "n_grid", low=0, high=j)
    check_choice(support_prior, "support_prior", ("common", "iid"))
    lc, lg, ll = _prob_iv(common_probability, group_probability, los_probability, k)
    opts, tol = _common_opts(prior, max_admit, false_alarm, prune_threshold, ban_iterations, max_support, tol)
    sup = _support_iv(support, k, j, allowed_h)
    max_iter = check_int(max_iter, "max_iter", low=1)
    n_pilot_iter = check_int(n_pilot_iter, "n_pilot_iter", low=0)
    eng = _Engine(xp, y, pil, pm, pts, xp.astype(a, xp.complex128), xp.astype(d, xp.complex128), allowed_h,
                  n_grid=q, use_data=check_bool(use_data, "use_data"), subspace=check_bool(subspace, "subspace"),
                  support_prior=support_prior, lam_c=lc, lam_g=lg, lam_los=ll, **opts)
    if not subspace:
        eng.init_precisions()
    elif sup is not None:
        for kk in range(k):
            eng._resize(kk, np.flatnonzero(sup[kk]))
        eng.init_precisions()
    t0 = time.perf_counter()
    hist = {"elbo": [], "time": []}
    converged = _run_estep(eng, max_iter=max_iter, tol=tol, n_pilot_iter=n_pilot_iter, callback=callback, t0=t0,
                           history=hist, adapt_support=check_bool(adapt_support, "adapt_support"))
    return BiSVBIResult(
        channels=eng.H * eng.scale_y, coefficients=eng.coefficients(),
        support=asarray_like(eng.support_bool(), xp), support_probability=eng.pit, symbols=eng.ms,
        symbol_labels=eng.labels(), data_index=np.stack([eng.dn, eng.dt]),
        noise_variance=eng.scale_y ** 2 / eng.gamma, elbo=np.asarray(hist["elbo"]), n_iter=len(hist["elbo"]),
        converged=converged, data_start=int(hist.get("data_start", len(hist["elbo"]))),
        method=("bisvbi" if subspace else "bivbi-full") if eng.use_data else ("turbo-sc-vbi" if subspace else "turbo-vbi"))


# ---------------------------------------------------------------------------------------------
# EM-Turbo-BiSVBI
# ---------------------------------------------------------------------------------------------

def _pilot_ls(y, pil, pm, xp, *, return_index=False):
    """Ridge LS per subcarrier from the pilot REs: (K, M, N_p) channel estimates."""
    k = int(pil.shape[0])
    out, idx = [], []
    for n in range(pm.shape[0]):
        tt = np.flatnonzero(pm[n])
        if tt.size == 0:
            continue
        idx.append(n)
        yn = _take(xp, y[:, n, :], tt, axis=1)                                # (M, Tp)
        sn = _take(xp, pil[:, n, :], tt, axis=1)                              # (K, Tp)
        gram = sn @ xp.conj(sn.T)
        eps = 1e-2 * float(xp.real(xp.sum(xp.linalg.diagonal(gram)))) / k + 1e-12
        h = yn @ xp.conj(sn.T) @ xp.linalg.inv(gram + eps * xp.eye(k, dtype=gram.dtype))   # (M, K)
        out.append(h.T)
    h = xp.stack(out, axis=2)
    return (h, np.asarray(idx)) if return_index else h


def _coarse_offsets(y, pil, pm, freqs, users, pb, bs_array, lam, max_offset_s, xp):
    """Clock offsets from the direct paths: delay peak of the pilot LS channel beamformed towards
    each nominal user position, minus the nominal LoS delay (error ~ the user-position error / c)."""
    h, idx = _pilot_ls(y, pil, pm, xp, return_index=True)                     # (K, M, Np)
    f = freqs[idx]
    bw = float(f.max() - f.min()) + (float(np.min(np.diff(f))) if f.size > 1 else 1.0)
    taus = np.arange(-max_offset_s, max_offset_s + 1e-15, 1.0 / (16 * bw))
    out = np.zeros(users.shape[0])
    for k in range(users.shape[0]):
        v = users[k] - pb
        r0 = float(np.linalg.norm(v))
        a = np.exp(1j * 2 * np.pi / lam * (bs_array.positions_m @ (v / r0)))
        g = to_numpy(xp.conj(asarray_like(a, xp)) @ h[k]) / bs_array.n_elements      # (Np,)
        tau = r0 / SPEED_OF_LIGHT + taus
        spec = np.abs(np.exp(2j * np.pi * np.outer(tau, f)) @ g) ** 2
        # the direct path arrives first: take the earliest local maximum within 6 dB of the
        # strongest one (a scattered path seen in the same beam may be stronger)
        peaks = np.flatnonzero((spec[1:-1] >= spec[:-2]) & (spec[1:-1] >= spec[2:])) + 1
        peaks = peaks[spec[peaks] >= 0.25 * spec.max()]
        out[k] = taus[int(peaks[0]) if peaks.size else int(np.argmax(spec))]
    return out


def _music_directions(y, pil, pm, bs_array, lam, n_directions, max_directions, xp):
    """MUSIC-SCVBI step 1-2: directions (azimuth, elevation) [rad] from the pilot LS estimates."""
    # The subspace toolbox (estimators._music.music_2d, issue 3) does the 2-D search; the model
    # order comes from MDL on the covariance eigenvalues when not given.
    from ..subspace._music import music_2d
    from ..subspace._order import mdl

    h = _pilot_ls(y, pil, pm, xp)                                             # (K, M, Np)
    k, m, npil = (int(v) for v in h.shape)
    snaps = xp.reshape(xp.permute_dims(h, (1, 0, 2)), (m, k * npil))
    cov = snaps @ xp.conj(snaps.T) / (k * npil)
    if n_directions is None:
        vals = xp.linalg.eigvalsh(cov)
        nd = int(to_numpy(mdl(eigenvalues=vals, n_snapshots=k * npil).n_sources))
        nd = max(1, min(nd, max_directions, m - 1))
    else:
        nd = min(int(n_directions), m - 1)
    est = music_2d(cov, covariance=True, n_sources=nd, geometry=bs_array, wavelength_m=lam,
                   forward_backward=bs_array.kind == "upa", return_spectrum=False)
    return np.asarray(to_numpy(est.estimates), dtype=float).reshape(-1, 2)


def _ray_grid(directions, bs_array, bs_pos, region, spacing, range_spacing, users):
    """MUSIC-SCVBI step 3: grid points on and around the rays p_B + r u_i inside the region."""
    box = np.asarray(region, float)
    lo, hi = box[0] - spacing, box[1] + spacing
    corners = np.array([[x, y, z] for x in box[:, 0] for y in box[:, 1] for z in box[:, 2]])
    dist = np.linalg.norm(corners - bs_pos, axis=1)
    r_min = max(1.0, 0.0 if np.all((bs_pos >= box[0]) & (bs_pos <= box[1])) else
                float(np.linalg.norm(np.clip(bs_pos, box[0], box[1]) - bs_pos)))
    ranges = np.arange(r_min, dist.max() + range_spacing, range_spacing)
    if bs_array.kind == "upa":
        nr, nc = bs_array.shape
    else:
        nr = nc = max(2, int(round(math.sqrt(bs_array.n_elements))))
    haz, hel = 1.0 / max(nc, 1), 1.0 / max(nr, 1)
    pts = []
    for az, el in directions:
        for daz, de in ((0, 0), (haz, 0), (-haz, 0), (0, hel), (0, -hel)):
            a, e = az + daz / max(math.cos(el), 0.2), el + de
            u = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
            p = bs_pos + ranges[:, None] * u
            pts.append(p[np.all((p >= lo) & (p <= hi), axis=1)])
    g = np.concatenate(pts, axis=0) if pts else np.zeros((0, 3))
    return _clear(g, users, bs_pos)


def _clear(grid, users, bs_pos, min_dist=1.0):
    """Drop grid points within ``min_dist`` of a user or the BS (undefined or LoS-degenerate)."""
    if grid.size == 0:
        return grid
    d = np.linalg.norm(grid[:, None, :] - np.vstack([users, bs_pos[None]])[None], axis=-1)
    return grid[d.min(axis=1) > min_dist]


def _estimates_power(eng):
    p = np.zeros(eng.J)
    for k in range(eng.K):
        p[eng.S[k]] += np.abs(to_numpy(eng.mu[k])) ** 2
    return p


def _scatterers(eng, grid, support_prior, lc, lg, min_power, dist):
    """Scatterer list: active grid points (common-support posterior > 1/2 with the common prior)
    carrying at least ``min_power`` of some user's channel power, clustered greedily within
    ``dist`` [m] and replaced by their power-weighted centroids (the location dictionary is
    coherent, so one scatterer is often spread over neighbouring points)."""
    q = eng.n_grid
    act = np.unique(np.concatenate([s[s < q] for s in eng.S] + [np.zeros(0, np.int64)]))
    if act.size == 0:
        return np.zeros((0, 3))
    if support_prior == "common":
        pc = to_numpy(common_support_posterior(eng.pia[:, :q], common_probability=lc, group_probability=lg))
        act = act[pc[act] > 0.5]
    rel = np.zeros((eng.K, eng.J))
    for k in range(eng.K):
        p = np.zeros(eng.J)
        p[eng.S[k]] = np.abs(to_numpy(eng.mu[k])) ** 2
        rel[k] = p / max(p.sum(), 1e-300)
    strength = rel[:, act].max(axis=0)
    act, strength = act[strength >= min_power], strength[strength >= min_power]
    out = []
    free = np.ones(act.size, bool)
    for i in np.argsort(-strength):
        if not free[i]:
            continue
        near = free & (np.linalg.norm(grid[act] - grid[act[i]], axis=1) < dist)
        w = strength[near]
        out.append((w[:, None] * grid[act[near]]).sum(axis=0) / w.sum())
        free &= ~near
    return np.asarray(out).reshape(-1, 3)


def _merge_duplicates(eng, grid, dist):
    """Remove active grid points within ``dist`` of a stronger active point (from every support)."""
    q = eng.n_grid
    act = np.unique(np.concatenate([s[s < q] for s in eng.S])) if eng.K else np.zeros(0, int)
    if act.size < 2 or dist <= 0:
        return False
    pw = _estimates_power(eng)[act]
    order = act[np.argsort(-pw)]
    kept, removed = [], []
    for i in order:
        if kept and np.min(np.linalg.norm(grid[kept] - grid[i], axis=1)) < dist:
            removed.append(i)
        else:
            kept.append(i)
    if not removed:
        return False
    rem = np.asarray(removed)
    for k in range(eng.K):
        s = eng.S[k]
        if np.isin(s, rem).any():
            eng._resize(k, s[~np.isin(s, rem)])
            eng.banned[k, rem] = eng.it + eng.ban_iterations
    return True


class _MStep:
    r"""The M-step objective and its gradient (``docs/BISVBI.md`` §6.7).

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
        self.rho = [_take(xp, eng.rho[k], self.sel[k], axis=0) for k in range(eng.K)]
        self.freqs = asarray_like(static["frequencies_hz"], xp, dtype=xp.float64)

    def evaluate(self, r_act, users, offs_m, grad, profile=False):
        from channels import location_dictionary

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
            a_s = _take(xp, a_all, c, axis=1)
            d_s = _take(xp, d.delay[k], c, axis=1)
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
                sigs[k], _ = _cinv_logdet(prec, xp)
                mus[k] = eng.gamma * (sigs[k] @ b)
                hs[k] = phis[k] @ mus[k]
            if c.size:
                m2 = xp.real(mus[k] * xp.conj(mus[k])) + xp.real(xp.linalg.diagonal(sigs[k]))
                xterms += _cinv_logdet(sigs[k], xp)[1] - float(xp.sum(self.rho[k] * m2))
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
            ds = _take(xp, dsteer, c, axis=1)                                   # (M, s, 3)
            gs = to_numpy(2 * xp.real(xp.sum(ds * lam_d[:, :, None], axis=0)))  # (s, 3)
            ddu = _take(xp, d.d_delay_d_user[k], c, axis=1)                     # (N, s, 3)
            g_user[k] += to_numpy(2 * xp.real(xp.sum(ddu * lam_a[:, :, None], axis=(0, 1))))
            ddo = _take(xp, d.d_delay_d_offset[k], c, axis=1)                   # (N, s)
            g_off[k] += float(2 * xp.real(xp.sum(ddo * lam_a))) / SPEED_OF_LIGHT
            grid_cols = self.cols[k] < n_act
            if grid_cols.any():
                gc = self.cols[k][grid_cols]
                ddg = _take(xp, d.d_delay_d_grid[k], gc + shift, axis=1)        # (N, s_g, 3)
                lam_ag = _take(xp, lam_a, np.flatnonzero(grid_cols), axis=1)
                gg = to_numpy(2 * xp.real(xp.sum(ddg * lam_ag[:, :, None], axis=0)))
                np.add.at(g_grid, gc, gs[grid_cols] + gg)
            if (~grid_cols).any():
                g_user[k] += gs[~grid_cols].sum(axis=0)
        f = -eng.gamma
        return u, {"grid": f * g_grid, "user_position": f * g_user, "time_offset": f * g_off}


def _armijo(ms: _MStep, xi, learn, *, rounds, max_step_m, c1=1e-4, beta=0.5, max_tries=10, steps=None):
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


def em_turbo_bisvbi(received, *, pilots, pilot_mask, constellation, bs_array: ArrayGeometry, wavelength_m: float,
                    frequencies_hz, nominal_user_positions_m, region_m, bs_position_m=(0.0, 0.0, 0.0),
                    init: str = "music", grid_m=None, grid_spacing_m: float = 2.0,
                    range_spacing_m: float | None = None, n_directions: int | None = None, max_directions: int = 8,
                    support_prior: str = "common", subspace: bool = True, use_data: bool = True,
                    learn=("grid", "time_offset", "user_position"), los: bool = True, prior=None,
                    common_probability: float = 0.1, group_probability=0.8, los_probability: float = 0.5,
                    max_outer: int = 10, n_turbo: int = 6, n_pilot_iter: int = 20, armijo_rounds: int = 2,
                    max_step_m: float = 0.5, max_admit: int = 1, false_alarm: float = 0.1,
                    prune_threshold: float = 0.5, ban_iterations: int = 3, max_support: int | None = None,
                    merge_distance_m: float | None = None, cluster_distance_m: float | None = None,
                    min_scatterer_power: float = 0.01, max_time_offset_s: float = 20e-9,
                    tol: float = 1e-3, rng=None, callback=None) -> EMTurboResult:
    r"""EM-Turbo-BiSVBI: joint scattering-environment sensing, channel estimation and data recovery.

    Schedule (``docs/BISVBI.md`` §6.1, §7): a coarse stage builds the location grid (MUSIC-SCVBI:
    pilot least squares, 2-D MUSIC on the BS array, grid points on and around the detected rays
    inside ``region_m``; or a uniform grid), estimates the clock offsets from the direct paths and
    runs pilot-only Turbo-SC-VBI on that grid; then each EM iteration runs an M-step
    (``armijo_rounds`` rounds of block-wise Armijo gradient ascent of the expected log-likelihood
    over the active grid points, the clock offsets and the user positions: the blocks named in
    ``learn``) followed by ``n_turbo`` Turbo-BiSVBI iterations with the data REs.

    Parameters
    ----------
    received : array, shape (n_antennas, n_subcarriers, n_symbols), complex
        Received frame :math:`\mathbf y_{n,t}`.
    pilots : array, shape (n_users, n_subcarriers, n_symbols), complex
        Known pilots on the pilot REs.
    pilot_mask : bool array, shape (n_subcarriers, n_symbols)
    constellation : array, shape (n_points,), complex
        Data alphabet.
    bs_array : ArrayGeometry
        BS array (element positions relative to ``bs_position_m``, boresight +x).
    wavelength_m : float
        Carrier wavelength [m].
    frequencies_hz : array, shape (n_subcarriers,)
        Baseband subcarrier frequencies :math:`f_n` [Hz] (``Numerology.subcarrier_frequencies_hz``).
    nominal_user_positions_m : array, shape (n_users, 3)
        :math:`\bar{\mathbf p}_k` [m].
    region_m : pair of 3-vectors
        Box ``(min_corner, max_corner)`` [m] that contains the scatterers.
    bs_position_m : 3-vector, default=(0, 0, 0)
    init : {"music", "grid", "random"}, default="music"
        ``"music"``: MUSIC-SCVBI reduced grid; ``"grid"``: uniform grid over the region (or
        ``grid_m``); ``"random"``: the uniform grid with uniformly random offsets within a cell
        (drawn from ``rng``).
    grid_m : array (n_grid, 3), optional
        An explicit initial grid (with ``init="grid"``).
    grid_spacing_m : float, default=2
        Uniform-grid spacing [m] (also the MUSIC grid's box margin).
    range_spacing_m : float, optional
        Spacing along the MUSIC rays [m]; default :math:`c/(2B)` with :math:`B` the span of
        ``frequencies_hz``.
    n_directions : int, optional
        Number of MUSIC directions (default: MDL, at most ``max_directions``).
    support_prior : {"common", "iid"}, default="common"
        Joint sparsity across users, or per-user independent supports (ablation).
    subspace : bool, default=True
        False: full-inverse E-step over every grid point (baseline EM-Turbo-VBI).
    use_data : bool, default=True
        False: pilots only.
    learn : tuple of {"grid", "time_offset", "user_position"}
        Blocks refined by the M-step; ``()`` disables it (fixed grid, ignored offsets).
    los : bool, default=True
        Model a direct path per user.
    prior, common_probability, group_probability, los_probability
        As in :func:`bisvbi`.
    max_outer : int, default=10
    n_turbo : int, default=6
        E-step iterations per EM iteration.
    n_pilot_iter : int, default=20
        Iterations of the coarse stage's pilot-only SC-VBI (it ends earlier on convergence); the
        data REs join from the first EM iteration on.
    armijo_rounds : int, default=2
    max_step_m : float, default=0.5
        Largest first trial move of any coordinate in one Armijo step [m] (offsets as
        :math:`c\,\delta`).
    max_admit, false_alarm, prune_threshold, ban_iterations, max_support
        As in :func:`bisvbi`.
    cluster_distance_m : float, optional
        Output only: active points within this distance form one scatterer (their power-weighted
        centroid); default :math:`c/B`, the bistatic range resolution.
    min_scatterer_power : float, default=0.01
        Output only: points carrying less than this fraction of every user's channel power are
        not reported as scatterers (they still shape the channel estimate).
    max_time_offset_s : float, default=20e-9
        Search half-width of the coarse clock-offset estimate [s]: with ``"time_offset"`` in
        ``learn`` and ``los=True``, :math:`\delta_k` starts at the delay of the earliest strong
        peak (within 6 dB of the strongest) of the pilot response beamformed towards the nominal
        user position, minus its nominal LoS delay (0 disables).
    merge_distance_m : float, optional
        Active grid points closer than this are merged (default: a quarter of
        :math:`c/B`, about half the bistatic range resolution).
    tol : float, default=1e-3
        Relative channel change between EM iterations that ends the run.
    rng : None, int or Generator
        Only for ``init="random"``.
    callback : callable(IterationInfo) -> bool, optional
        After every E-step iteration; ``estimate`` is the channel (n_users, n_antennas, n_subcarriers).

    Returns
    -------
    EMTurboResult

    References
    ----------
    A. Liu, W. Xu, W. Xu, G. Caire, "Bilinear subspace variational Bayesian inference for joint
    scattering environment sensing and data recovery in ISAC systems," arXiv:2502.00811.
    """
    from channels import location_dictionary, uniform_location_grid

    xp = get_xp(received, pilots)
    y, pil, pm, pts = _frame_iv(received, pilots, pilot_mask, constellation, xp)
    m, n, t = (int(v) for v in y.shape)
    k = int(pil.shape[0])
    if not isinstance(bs_array, ArrayGeometry):
        raise TypeError(f"`bs_array` must be an ArrayGeometry; got {type(bs_array).__name__}.")
    if bs_array.n_elements != m:
        raise ValueError(f"`bs_array` has {bs_array.n_elements} elements but `received` has {m} antennas.")
    lam = check_float(wavelength_m, "wavelength_m", low=0.0, low_inclusive=False)
    freqs = np.asarray(to_numpy(check_array(frequencies_hz, "frequencies_hz", shape=(n,),
                                            kind=("real floating", "integral"))), dtype=float)
    users0 = np.asarray(to_numpy(check_array(nominal_user_positions_m, "nominal_user_positions_m", shape=(k, 3),
                                             kind=("real floating", "integral"))), dtype=float)
    box = np.asarray(to_numpy(check_array(region_m, "region_m", shape=(2, 3), kind=("real floating", "integral"))),
                     dtype=float)
    if np.any(box[1] < box[0]):
        raise ValueError(f"`region_m` must be (min_corner, max_corner) with min <= max; got {box.tolist()}.")
    pb = np.asarray(to_numpy(check_array(bs_position_m, "bs_position_m", shape=(3,),
                                         kind=("real floating", "integral"))), dtype=float)
    check_choice(init, "init", ("music", "grid", "random"))
    check_choice(support_prior, "support_prior", ("common", "iid"))
    spacing = check_float(grid_spacing_m, "grid_spacing_m", low=0.0, low_inclusive=False)
    bw = float(freqs.max() - freqs.min()) + (float(np.min(np.diff(np.sort(freqs)))) if n > 1 else 1.0)
    rspace = SPEED_OF_LIGHT / (2 * bw) if range_spacing_m is None else \
        check_float(range_spacing_m, "range_spacing_m", low=0.0, low_inclusive=False)
    merge = SPEED_OF_LIGHT / (4 * bw) if merge_distance_m is None else \
        check_float(merge_distance_m, "merge_distance_m", low=0.0)
    if cluster_distance_m is not None:
        check_float(cluster_distance_m, "cluster_distance_m", low=0.0)
    min_scatterer_power = check_float(min_scatterer_power, "min_scatterer_power", low=0.0, high=1.0)
    learn = tuple(learn)
    for b in learn:
        check_choice(b, "learn", ("grid", "time_offset", "user_position"))
    subspace = check_bool(subspace, "subspace")
    use_data = check_bool(use_data, "use_data")
    los = check_bool(los, "los")
    lc, lg, ll = _prob_iv(common_probability, group_probability, los_probability, k)
    opts, tol = _common_opts(prior, max_admit, false_alarm, prune_threshold, ban_iterations, max_support, tol)
    max_outer = check_int(max_outer, "max_outer", low=1)
    n_turbo = check_int(n_turbo, "n_turbo", low=1)
    n_pilot_iter = check_int(n_pilot_iter, "n_pilot_iter", low=0)
    armijo_rounds = check_int(armijo_rounds, "armijo_rounds", low=0)
    max_step_m = check_float(max_step_m, "max_step_m", low=0.0, low_inclusive=False)
    max_directions = check_int(max_directions, "max_directions", low=1)
    if n_directions is not None:
        check_int(n_directions, "n_directions", low=1, high=m - 1)
    t0 = time.perf_counter()

    # -- coarse stage: the location grid ------------------------------------------------------------
    directions = np.zeros((0, 2))
    if init == "music":
        directions = _music_directions(y, pil, pm, bs_array, lam, n_directions, max_directions, xp)
        grid = _ray_grid(directions, bs_array, pb, box, spacing, rspace, users0)
    else:
        grid = uniform_location_grid(box, spacing) if grid_m is None else np.asarray(
            to_numpy(check_array(grid_m, "grid_m", ndim=2, kind=("real floating",))), dtype=float)
        if init == "random":
            r = check_rng(rng)
            grid = np.clip(grid + spacing * (r.random(grid.shape) - 0.5), box[0], box[1])
        grid = _clear(grid, users0, pb)
    if grid.shape[0] == 0:
        raise ValueError("the location grid is empty: no grid point lies inside `region_m` (for init='music', "
                         "no MUSIC ray crosses it); enlarge the region or use init='grid'.")
    if not subspace and grid.shape[0] > 4000:
        raise ValueError(f"the full-inverse E-step on {grid.shape[0]} grid points would invert "
                         f"{grid.shape[0]}x{grid.shape[0]} matrices; use init='music' or a coarser grid.")
    static = dict(bs_array=bs_array, wavelength_m=lam, frequencies_hz=freqs, bs_position_m=pb, los=los,
                  dummy_point=box.mean(axis=0) + np.array([0.0, 0.0, 0.37]))
    xi = {"grid": grid, "user_position": users0.copy(), "time_offset": np.zeros(k)}
    max_off = check_float(max_time_offset_s, "max_time_offset_s", low=0.0)
    if "time_offset" in learn and los and max_off > 0:
        xi["time_offset"] = SPEED_OF_LIGHT * _coarse_offsets(y, pil, pm, freqs, users0, pb, bs_array, lam, max_off, xp)

    def build(xi_):
        return location_dictionary(asarray_like(xi_["grid"], xp, dtype=xp.float64),
                                   user_positions_m=xi_["user_position"],
                                   time_offsets_s=xi_["time_offset"] / SPEED_OF_LIGHT, bs_array=bs_array,
                                   wavelength_m=lam, frequencies_hz=freqs, bs_position_m=pb, los=los)

    dic = build(xi)
    allowed = dic.allowed.copy()
    if los:
        # grid points (nearly) on the BS-user segment give the LoS delay and direction of that user:
        # indistinguishable from its LoS column, so they are left out of that user's dictionary
        excess = (np.linalg.norm(grid[None] - users0[:, None], axis=-1) + np.linalg.norm(grid - pb, axis=-1)[None]
                  - np.linalg.norm(users0 - pb, axis=-1)[:, None])
        allowed[:, : dic.n_grid] &= excess > rspace
    eng = _Engine(xp, y, pil, pm, pts, dic.steering, dic.delay, allowed, n_grid=dic.n_grid,
                  use_data=use_data, subspace=subspace, support_prior=support_prior, lam_c=lc, lam_g=lg,
                  lam_los=ll, **opts)
    if not subspace:
        eng.init_precisions()
    hist = {"elbo": [], "time": []}
    converged = False
    steps: dict = {}
    # coarse stage, last step: pilot-only (Turbo-)SC-VBI on the coarse grid (ends on convergence)
    _run_estep(eng, max_iter=n_pilot_iter, tol=tol * 0.1, n_pilot_iter=n_pilot_iter, callback=callback, t0=t0,
               history=hist)
    eng.switch_data_on()
    h_prev = eng.xp.asarray(eng.H, copy=True)
    outer = -1
    for outer in range(max_outer if not hist.get("stopped") else 0):
        # M-step on the current posterior, then the E-step (Turbo-BiSVBI iterations)
        if learn and armijo_rounds:
            ms = _MStep(eng, static)
            blocks = tuple(b for b in learn if not (b == "grid" and ms.act.size == 0))
            if blocks:
                xi, _ = _armijo(ms, xi, blocks, rounds=armijo_rounds, max_step_m=max_step_m, steps=steps)
                dic = build(xi)
                eng.set_dictionary(dic.steering, dic.delay)
        if _merge_duplicates(eng, xi["grid"], merge) or learn:
            eng.refresh()
        if eng.data_on:
            # restart q(s) from LMMSE detection with the refined channel: the mean-field data
            # factors otherwise keep decisions made with the earlier, poorer channel estimate
            eng.lmmse_init()
        _run_estep(eng, max_iter=n_turbo, tol=tol * 0.1, n_pilot_iter=0, callback=callback, t0=t0, history=hist)
        if hist.get("stopped"):
            break
        h_now = eng.xp.asarray(eng.H, copy=True)
        xpd = eng.xp
        dh = float(xpd.sqrt(xpd.sum(xpd.real((h_now - h_prev) * xpd.conj(h_now - h_prev)))))
        nh = float(xpd.sqrt(xpd.sum(xpd.real(h_now * xpd.conj(h_now)))))
        h_prev = h_now
        if outer > 0 and dh <= tol * max(nh, 1e-300):
            converged = True
            break

    # -- outputs ------------------------------------------------------------------------------------
    scat = _scatterers(eng, xi["grid"], support_prior, lc, lg, min_scatterer_power,
                       SPEED_OF_LIGHT / bw if cluster_distance_m is None else cluster_distance_m)
    return EMTurboResult(
        channels=eng.H * eng.scale_y, scatterer_positions_m=scat, time_offsets_s=xi["time_offset"] / SPEED_OF_LIGHT,
        user_positions_m=xi["user_position"], grid_m=xi["grid"], coefficients=eng.coefficients(),
        support=asarray_like(eng.support_bool(), xp), symbols=eng.ms, symbol_labels=eng.labels(),
        data_index=np.stack([eng.dn, eng.dt]), noise_variance=eng.scale_y ** 2 / eng.gamma,
        objective=np.asarray(hist["elbo"]), elapsed_s=np.asarray(hist["time"]), n_iter=len(hist["elbo"]),
        n_outer=max(outer + 1, 0), converged=converged, directions_rad=directions,
        method="em-turbo-" + ("bisvbi" if subspace else "bivbi-full") + ("" if use_data else "-pilots"))
