r"""Tensor decompositions: HOSVD, Tucker (HOOI) and CP-ALS, complex-safe and batched.

All functions take NumPy or CuPy arrays (any array-API namespace for the pure algebra) and return
arrays of the same library; complex tensors are first-class. An optional leading batch of
``batch_ndim`` axes (e.g. Monte-Carlo trials) is carried through every function: modes are
counted after the batch axes, and the decompositions run on all items at once (stacked
``matmul``/``eigh``/``solve``), which is where batching pays.

Conventions (those of TensorLy and Kolda & Bader):

* mode-:math:`n` unfolding :math:`\mathbf X_{(n)} \in \mathbb C^{I_n \times \prod_{m\ne n} I_m}`
  with the remaining modes in their original order, last index fastest (TensorLy's ``unfold``);
* mode-:math:`n` product :math:`(\mathcal X \times_n \mathbf U)_{(n)} = \mathbf U \mathbf X_{(n)}`;
* CP: :math:`\mathcal X = \sum_r w_r\, \mathbf a^{(1)}_r \circ \cdots \circ \mathbf a^{(N)}_r`
  (no conjugation); Tucker: :math:`\mathcal X = \mathcal G \times_1 \mathbf U_1 \cdots \times_N \mathbf U_N`.

Why not only TensorLy (0.10; ``benchmarks/bench_tensor.py`` compares the two on a 64^3 complex
tensor of rank 4, figures in ``docs/performance.md``):

* ``tensorly.unfold``/``fold``/``tenalg.mode_dot``/``multi_mode_dot`` (``transpose=True`` takes the
  conjugate transpose) and ``cp_to_tensor``/``tucker_to_tensor`` are correct for complex data; the
  results here convert to TensorLy's ``CPTensor``/``TuckerTensor`` with ``to_tensorly()`` and the
  tests check TensorLy's reconstruction of them. TensorLy has no batch axis, so the versions here
  are used internally.
* ``tensorly.decomposition.parafac`` with ``init="random"`` draws **real** factors for complex
  data (the initial imaginary parts are zero); over 10 seeds it reached the SVD-init error 6-7
  times against 7-9 for complex random factors (single seeds end at a relative error of ~0.5).
  With ``init="svd"`` it is correct but computes full SVDs of the unfoldings.
  :func:`cp_als` draws complex random factors and by default initialises from a Gram-eigh HOSVD
  (cheaper than the full SVDs, same error).
* ``tensorly.decomposition.tucker`` is correct for complex data but computes full SVDs of the
  unfoldings; :func:`hosvd`/:func:`tucker` use the eigendecomposition of the mode Gram
  matrices :math:`\mathbf X_{(n)}\mathbf X_{(n)}^H` (one GEMM and a small ``eigh`` per mode).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sensing import (
    Array,
    HostCopy,
    asarray_like,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_rng,
    get_xp,
    is_numpy_namespace,
    tensorly_backend,
    to_numpy,
)

from ._tensor_algebra import (
    check_batch_ndim,
    float_tensor,
    gram,
    is_complex,
    mH,
    mode_product,
    mT,
    multi_mode_product,
    real_dtype,
    unfold_batched,
)


__all__ = ["hosvd", "tucker", "cp_als", "TuckerResult", "CPResult"]


@dataclass(frozen=True)
class TuckerResult(HostCopy):
    r"""Tucker decomposition :math:`\mathcal X \approx \mathcal G\times_0\mathbf U_0\cdots\times_{N-1}\mathbf U_{N-1}`.

    Attributes
    ----------
    core : array, shape ``batch + ranks``
        Core tensor :math:`\mathcal G`.
    factors : tuple of arrays, each ``batch + (I_n, r_n)``
        Factor matrices with orthonormal columns, ordered by decreasing mode-:math:`n` singular
        value.
    singular_values : tuple of arrays, each ``batch + (r_n,)``
        Mode-:math:`n` singular values (of :math:`\mathbf X_{(n)}` for the HOSVD, of the
        projected unfolding in the last HOOI sweep), descending.
    n_iter : int
        HOOI sweeps run (0 for the HOSVD).
    converged : bool
        True when the error change fell below ``tol`` (always True for the HOSVD).
    errors : ndarray, shape ``(n_iter + 1,) + batch``, host
        Relative reconstruction error :math:`\lVert\mathcal X - \hat{\mathcal X}\rVert_F /
        \lVert\mathcal X\rVert_F` after the initialisation and after each sweep.
    batch_ndim : int
        Number of leading batch axes.
    """

    core: Array
    factors: tuple
    singular_values: tuple
    n_iter: int
    converged: bool
    errors: np.ndarray
    batch_ndim: int = 0

    @property
    def rank(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.core.shape[self.batch_ndim:])

    def to_tensor(self) -> Array:
        """Full reconstruction, shape ``batch + (I_0, ..., I_{N-1})``."""
        xp = get_xp(self.core)
        return multi_mode_product(xp, self.core, list(self.factors), self.batch_ndim)

    def to_tensorly(self):
        """TensorLy ``TuckerTensor((core, factors))`` (unbatched results only)."""
        if self.batch_ndim:
            raise ValueError(f"`to_tensorly` needs an unbatched result; this one has batch_ndim={self.batch_ndim}. "
                             "Index one item with `item(i)` first.")
        xp = get_xp(self.core)
        with tensorly_backend(xp):
            from tensorly.tucker_tensor import TuckerTensor

            return TuckerTensor((self.core, list(self.factors)))

    def item(self, index: int) -> "TuckerResult":
        """Item ``index`` of a result with one batch axis."""
        if self.batch_ndim != 1:
            raise ValueError(f"`item` needs batch_ndim=1; got {self.batch_ndim}.")
        return replace(self, core=self.core[index, ...], factors=tuple(f[index, ...] for f in self.factors),
                       singular_values=tuple(s[index, ...] for s in self.singular_values),
                       errors=np.asarray(self.errors)[:, index], batch_ndim=0)


@dataclass(frozen=True)
class CPResult(HostCopy):
    r"""CP (PARAFAC) decomposition :math:`\mathcal X \approx \sum_r w_r\,\mathbf a^{(0)}_r\circ\cdots\circ\mathbf a^{(N-1)}_r`.

    Attributes
    ----------
    weights : array, shape ``batch + (rank,)``, real
        Component weights :math:`w_r \ge 0` (the factor columns have unit norm).
    factors : tuple of arrays, each ``batch + (I_n, rank)``
        Factor matrices :math:`\mathbf A^{(n)}` (complex for complex data; phases live here).
    n_iter : int
        ALS sweeps run.
    converged : bool
        True when the change in relative error fell below ``tol`` for every batch item.
    errors : ndarray, shape ``(n_iter,) + batch``, host
        Relative reconstruction error after each sweep.
    batch_ndim : int
    """

    weights: Array
    factors: tuple
    n_iter: int
    converged: bool
    errors: np.ndarray
    batch_ndim: int = 0

    @property
    def rank(self) -> int:
        return int(self.weights.shape[-1])

    def to_tensor(self) -> Array:
        """Full reconstruction, shape ``batch + (I_0, ..., I_{N-1})``."""
        xp = get_xp(self.weights)
        return _cp_to_tensor(xp, self.weights, self.factors, self.batch_ndim)

    def to_tensorly(self):
        """TensorLy ``CPTensor((weights, factors))`` (unbatched results only)."""
        if self.batch_ndim:
            raise ValueError(f"`to_tensorly` needs an unbatched result; this one has batch_ndim={self.batch_ndim}. "
                             "Index one item with `item(i)` first.")
        xp = get_xp(self.weights)
        with tensorly_backend(xp):
            from tensorly.cp_tensor import CPTensor

            return CPTensor((self.weights, list(self.factors)))

    def item(self, index: int) -> "CPResult":
        if self.batch_ndim != 1:
            raise ValueError(f"`item` needs batch_ndim=1; got {self.batch_ndim}.")
        return replace(self, weights=self.weights[index, ...], factors=tuple(f[index, ...] for f in self.factors),
                       errors=np.asarray(self.errors)[:, index], batch_ndim=0)


def _cp_to_tensor(xp, weights, factors, b: int):
    """sum_r w_r a_r o b_r o ... via one matmul per mode (Khatri-Rao built mode by mode)."""
    batch = tuple(weights.shape[:b])
    r = weights.shape[-1]
    kr = factors[-1] * xp.astype(weights, factors[-1].dtype)[..., None, :]   # batch + (I_last, R)
    for f in reversed(factors[1:-1]):                                          # Khatri-Rao, last fastest
        kr = xp.reshape(f[..., :, None, :] * kr[..., None, :, :], batch + (-1, r))
    full = factors[0] @ mT(xp, kr)                                            # batch + (I_0, prod)
    dims = tuple(f.shape[-2] for f in factors)
    return xp.reshape(full, batch + dims)


def _ranks(rank, dims, name: str = "rank", allow_none: bool = True) -> tuple[int, ...]:
    n = len(dims)
    if rank is None and allow_none:
        return tuple(dims)
    if isinstance(rank, numbers.Integral) and not isinstance(rank, bool):
        rank = [int(rank)] * n
    if not isinstance(rank, (list, tuple)) or len(rank) != n:
        raise ValueError(f"`{name}` must be an int or a sequence of {n} ints (one per mode); got {rank!r}.")
    out = []
    for i, (r, d) in enumerate(zip(rank, dims)):
        out.append(check_int(r, f"{name}[{i}]", low=1, high=d, why=f"mode {i} has size {d}"))
    return tuple(out)


def _top_eig(xp, gram, r: int):
    """Leading r eigenpairs of a Hermitian PSD (batched) matrix, descending."""
    w, v = xp.linalg.eigh(gram)
    n = w.shape[-1]
    w = xp.flip(w[..., n - r:], axis=-1)
    v = xp.flip(v[..., :, n - r:], axis=-1)
    return xp.sqrt(xp.clip(w, 0.0, None)), v


def _top_svd(xp, xn, r: int):
    u, s, _ = xp.linalg.svd(xn, full_matrices=False)
    return s[..., :r], u[..., :, :r]


def _gram_top_eig(xp, x, mode: int, b: int, r: int):
    """Leading r eigenpairs of X_(n) X_(n)^H (singular values and left singular vectors).

    On NumPy this calls BLAS ``herk``/``syrk`` (half the flops of a GEMM, no conjugated copy)
    instead of ``A @ A.conj().T``. Other namespaces use the generic GEMM.
    """
    if not (is_numpy_namespace(xp) and x.dtype in (np.complex128, np.complex64, np.float64, np.float32)):
        return _top_eig(xp, gram(xp, x, mode, b), r)
    from scipy.linalg import blas

    x = np.asarray(x)
    cplx = np.iscomplexobj(x)
    batch = x.shape[:b]
    dims = x.shape[b:]
    i_n = dims[mode]
    rk = blas.get_blas_funcs("herk" if cplx else "syrk", (x,))
    flat = x.reshape((-1,) + dims)
    grams = np.empty((flat.shape[0], i_n, i_n), dtype=x.dtype)
    conj_out = False
    for k in range(flat.shape[0]):
        xk = flat[k]
        if mode == len(dims) - 1 and len(dims) > 1:
            a = xk.reshape(-1, i_n).T                    # F-contiguous view of X_(n): herk(a) = G
            grams[k] = rk(1.0, a, trans=0, lower=1)
        else:
            xn = np.ascontiguousarray(np.moveaxis(xk, mode, 0)).reshape(i_n, -1)
            grams[k] = rk(1.0, xn.T, trans=2 if cplx else 1, lower=1)   # = conj(G)
            conj_out = cplx
    w, v = np.linalg.eigh(grams, UPLO="L")
    w = np.sqrt(np.clip(w[..., ::-1][..., :r], 0.0, None))
    v = v[..., :, ::-1][..., :, :r]
    if conj_out:
        v = v.conj()
    return w.reshape(batch + (r,)), np.ascontiguousarray(v).reshape(batch + (i_n, r))


def _leading_subspace(xp, x, mode, b, r, method):
    if method == "gram":
        return _gram_top_eig(xp, x, mode, b, r)
    return _top_svd(xp, unfold_batched(xp, x, mode, b), r)


def _sq_norm(xp, x, b: int):
    a = xp.abs(x) if is_complex(xp, x) else x
    return xp.sum(xp.reshape(a * a, tuple(x.shape[:b]) + (-1,)), axis=-1)


def hosvd(tensor: Array, rank: int | Sequence[int] | None = None, *, method: str = "gram",
          sequential: bool = False, batch_ndim: int = 0) -> TuckerResult:
    r"""Truncated higher-order SVD (De Lathauwer, De Moor, Vandewalle, 2000).

    :math:`\mathbf U_n` = the :math:`r_n` dominant left singular vectors of :math:`\mathbf X_{(n)}`,
    :math:`\mathcal G = \mathcal X\times_0\mathbf U_0^H\cdots\times_{N-1}\mathbf U_{N-1}^H`.

    Parameters
    ----------
    tensor : array, shape ``batch + (I_0, ..., I_{N-1})``, real or complex
    rank : int or sequence of int, optional
        Multilinear rank :math:`(r_0, \dots, r_{N-1})`, :math:`1 \le r_n \le I_n`; an int applies
        to every mode; default: full (no truncation).
    method : {"gram", "svd"}, default="gram"
        ``"gram"``: eigendecomposition of :math:`\mathbf X_{(n)}\mathbf X_{(n)}^H` (fast: one GEMM
        and an :math:`I_n\times I_n` ``eigh`` per mode; singular values below about
        :math:`\sqrt{\epsilon}\,\sigma_1` lose relative accuracy). ``"svd"``: thin SVD of the
        unfolding (slower, accurate for the whole spectrum).
    sequential : bool, default=False
        Sequentially truncated HOSVD (Vannieuwenhoven et al., 2012): project each mode before
        computing the next Gram matrix. Cheaper for strong truncation; a different (also
        quasi-optimal) decomposition.
    batch_ndim : int, default=0
        Leading batch axes, decomposed independently (stacked GEMM/``eigh``).

    Returns
    -------
    TuckerResult
        ``n_iter=0``, ``converged=True``, ``errors`` of shape ``(1,) + batch``.

    Raises
    ------
    ValueError
        A rank outside ``[1, I_n]``, or a tensor with fewer than one mode after the batch axes.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import hosvd, multi_mode_dot
    >>> rng = np.random.default_rng(0)
    >>> core = rng.standard_normal((2, 2, 2))
    >>> q = [np.linalg.qr(rng.standard_normal((n, 2)))[0] for n in (5, 6, 7)]
    >>> x = multi_mode_dot(core, q)                      # exact multilinear rank (2, 2, 2)
    >>> res = hosvd(x, rank=2)
    >>> res.core.shape, [u.shape for u in res.factors]
    ((2, 2, 2), [(5, 2), (6, 2), (7, 2)])
    >>> bool(np.allclose(multi_mode_dot(res.core, res.factors), x))
    True
    """
    xp = get_xp(tensor)
    x = float_tensor(tensor)
    b = check_batch_ndim(batch_ndim, x.ndim)
    check_choice(method, "method", ("gram", "svd"))
    dims = tuple(x.shape[b:])
    ranks = _ranks(rank, dims)
    factors, svals = [], []
    y = x
    for n in range(len(dims)):
        s, u = _leading_subspace(xp, y if sequential else x, n, b, ranks[n], method)
        factors.append(u)
        svals.append(s)
        if sequential:
            y = mode_product(xp, y, u, n, b, conj_transpose=True)
    core = y if sequential else multi_mode_product(xp, x, factors, b, conj_transpose=True)
    errors = _tucker_error(xp, x, core, b)[None, ...]
    return TuckerResult(core, tuple(factors), tuple(svals), 0, True, errors, b)


def _tucker_error(xp, x, core, b):
    nx = _sq_norm(xp, x, b)
    nc = _sq_norm(xp, core, b)
    err = xp.sqrt(xp.clip(nx - nc, 0.0, None))
    return to_numpy(err / xp.where(nx > 0, xp.sqrt(nx), xp.ones_like(nx)))


def tucker(tensor: Array, rank: int | Sequence[int], *, n_iter_max: int = 100, tol: float = 1e-8,
           init: Any = "hosvd", batch_ndim: int = 0,
           callback: Callable[[int, np.ndarray], bool | None] | None = None) -> TuckerResult:
    r"""Tucker decomposition by higher-order orthogonal iteration (HOOI).

    Each sweep updates :math:`\mathbf U_n` as the :math:`r_n` dominant eigenvectors of
    :math:`\mathbf Y_{(n)}\mathbf Y_{(n)}^H` with
    :math:`\mathcal Y = \mathcal X\times_{m\ne n}\mathbf U_m^H`; the core is
    :math:`\mathcal X\times_0\mathbf U_0^H\cdots`. The error :math:`\lVert\mathcal X\rVert^2 -
    \lVert\mathcal G\rVert^2` never increases.

    Parameters
    ----------
    tensor : array, shape ``batch + (I_0, ..., I_{N-1})``, real or complex
    rank : int or sequence of int
        Multilinear rank, :math:`1 \le r_n \le I_n`.
    n_iter_max : int, default=100
        Maximum number of sweeps.
    tol : float, default=1e-8
        Stop when the relative error changes by less than ``tol`` (every batch item).
    init : {"hosvd"} or TuckerResult or tensorly TuckerTensor, default="hosvd"
        Initial factors (only the factors of a given decomposition are used).
    batch_ndim : int, default=0
    callback : callable, optional
        ``callback(iteration, errors)`` after each sweep (``errors``: host array of shape
        ``batch``); returning True stops the iteration.

    Returns
    -------
    TuckerResult

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import multi_mode_dot, tucker
    >>> rng = np.random.default_rng(0)
    >>> q = [np.linalg.qr(rng.standard_normal((n, 2)))[0] for n in (5, 6, 7)]
    >>> x = multi_mode_dot(rng.standard_normal((2, 2, 2)), q) + 1e-3 * rng.standard_normal((5, 6, 7))
    >>> res = tucker(x, rank=(2, 2, 2))
    >>> res.core.shape, res.converged
    ((2, 2, 2), True)
    >>> err = np.linalg.norm(x - multi_mode_dot(res.core, res.factors)) / np.linalg.norm(x)
    >>> bool(err < 0.01)                                 # the noise floor
    True
    """
    xp = get_xp(tensor)
    x = float_tensor(tensor)
    b = check_batch_ndim(batch_ndim, x.ndim)
    dims = tuple(x.shape[b:])
    ranks = _ranks(rank, dims, allow_none=False)
    n_iter_max = check_int(n_iter_max, "n_iter_max", low=0)
    tol = check_float(tol, "tol", low=0.0)
    if isinstance(init, str):
        check_choice(init, "init", ("hosvd",))
        factors = list(hosvd(x, ranks, batch_ndim=b).factors)
    else:
        factors = _factors_from(init, "init", xp, b, dims, ranks, tuple(x.shape[:b]))
    svals = [None] * len(dims)
    core = multi_mode_product(xp, x, factors, b, conj_transpose=True)
    errors = [_tucker_error(xp, x, core, b)]
    converged = False
    it = 0
    for it in range(1, n_iter_max + 1):
        for n in range(len(dims)):
            y = multi_mode_product(xp, x, factors, b, conj_transpose=True, skip=n)
            svals[n], factors[n] = _gram_top_eig(xp, y, n, b, ranks[n])
        core = mode_product(xp, y, factors[-1], len(dims) - 1, b, conj_transpose=True)
        errors.append(_tucker_error(xp, x, core, b))
        if callback is not None and callback(it, errors[-1]):
            break
        if np.all(np.abs(errors[-2] - errors[-1]) < tol):
            converged = True
            break
    if it == 0:  # no sweep: singular values of the projected unfoldings
        for n in range(len(dims)):
            svals[n], _ = _gram_top_eig(xp, multi_mode_product(xp, x, factors, b, conj_transpose=True, skip=n), n, b, ranks[n])
    return TuckerResult(core, tuple(factors), tuple(svals), it, converged, np.stack(errors), b)


def _factors_from(init, name, xp, b, dims, ranks, batch=()):
    facs = getattr(init, "factors", None)
    if facs is None and isinstance(init, (tuple, list)) and len(init) == 2:
        facs = init[1]
    if facs is None:
        raise TypeError(f"`{name}` must be a string option, a result of this module or a TensorLy "
                        f"CPTensor/TuckerTensor; got {type(init).__name__}.")
    facs = [f for f in facs]
    if len(facs) != len(dims):
        raise ValueError(f"`{name}` must hold {len(dims)} factors; got {len(facs)}.")
    out = []
    for n, f in enumerate(facs):
        f = check_array(f, f"{name}.factors[{n}]", kind=("real floating", "complex floating"), xp=xp)
        want_r = ranks[n] if ranks is not None else f.shape[-1]
        if f.shape[-2] != dims[n] or f.shape[-1] != want_r:
            raise ValueError(f"`{name}.factors[{n}]` must have shape (..., {dims[n]}, {want_r}); "
                             f"got {tuple(f.shape)}.")
        if f.ndim == 2 and b:  # one initial factor shared by every batch item
            f = xp.broadcast_to(f, batch + tuple(f.shape))
        elif f.ndim != b + 2 or tuple(f.shape[:b]) != batch:
            raise ValueError(f"`{name}.factors[{n}]` must have shape ({dims[n]}, r) or batch {batch} + "
                             f"({dims[n]}, r); got {tuple(f.shape)}.")
        out.append(f)
    return out


def _mttkrp(xp, x, factors, mode: int, b: int):
    r"""Matricised tensor times Khatri-Rao product with conjugated factors.

    :math:`\mathbf M = \mathbf X_{(n)}\,(\odot_{m\ne n}\mathbf A^{(m)})^*`, shape batch + (I_n, R),
    computed as one GEMM against the right Khatri-Rao block and one reduction against the left
    block (no unfolding copy).
    """
    batch = tuple(x.shape[:b])
    dims = tuple(x.shape[b:])
    r = factors[0].shape[-1]
    left = _kr(xp, [xp.conj(f) for f in factors[:mode]], batch, r)        # batch + (L, R) or None
    right = _kr(xp, [xp.conj(f) for f in factors[mode + 1:]], batch, r)   # batch + (S, R) or None
    lsz = math.prod(dims[:mode])
    ssz = math.prod(dims[mode + 1:])
    if left is None:                                                      # first mode: X_(0) @ KR
        return xp.reshape(x, batch + (dims[mode], ssz)) @ right
    if right is None:                                                     # last mode: X^T @ KR
        return mT(xp, xp.reshape(x, batch + (lsz, dims[mode]))) @ left
    x3 = xp.reshape(x, batch + (lsz, dims[mode], ssz))
    t = x3 @ (right[..., None, :, :] if batch else right)                 # batch + (L, I_n, R)
    return xp.sum(t * left[..., :, None, :], axis=-3)


def _kr(xp, mats, batch, r):
    """Khatri-Rao product, last matrix's index fastest; None for an empty list."""
    if not mats:
        return None
    out = mats[0]
    for m in mats[1:]:
        out = xp.reshape(out[..., :, None, :] * m[..., None, :, :], batch + (-1, r))
    return out


def _cp_iv(x, rank, n_iter_max, tol, batch_ndim):
    b = check_batch_ndim(batch_ndim, x.ndim, min_modes=2)
    r = check_int(rank, "rank", low=1)
    return b, r, check_int(n_iter_max, "n_iter_max", low=1), check_float(tol, "tol", low=0.0)


def cp_als(tensor: Array, rank: int, *, n_iter_max: int = 100, tol: float = 1e-8, init: Any = "svd",
           rng=None, batch_ndim: int = 0,
           callback: Callable[[int, np.ndarray], bool | None] | None = None) -> CPResult:
    r"""CP (PARAFAC) decomposition by alternating least squares, complex-safe.

    Model :math:`\mathcal X[i_0,\dots] \approx \sum_r w_r\prod_n A^{(n)}[i_n, r]` (no conjugation,
    so harmonic/Vandermonde factors come out as they are). Mode update:

    .. math::
        \mathbf A^{(n)} \leftarrow \mathbf X_{(n)}\big(\odot_{m\ne n}\mathbf A^{(m)}\big)^*\,
        \Big(\circledast_{m\ne n}\big(\mathbf A^{(m)H}\mathbf A^{(m)}\big)^*\Big)^{-1}.

    Parameters
    ----------
    tensor : array, shape ``batch + (I_0, ..., I_{N-1})``, N >= 2, real or complex
    rank : int
        Number of components :math:`R \ge 1`.
    n_iter_max : int, default=100
    tol : float, default=1e-8
        Stop when the relative error changes by less than ``tol`` (every batch item).
    init : {"svd", "random"} or CPResult or tensorly CPTensor, default="svd"
        ``"svd"``: the :math:`R` dominant left singular vectors of each unfolding (Gram-eigh;
        modes with :math:`I_n < R` are padded with complex Gaussian columns). ``"random"``:
        complex Gaussian factors (TensorLy's random init is real-valued for complex data). ALS
        from a random start can stall in a swamp; ``"svd"`` is the reliable choice.
    rng : None, int or numpy.random.Generator
        Randomness for ``"random"`` and for padding; drawn on the host.
    batch_ndim : int, default=0
    callback : callable, optional
        ``callback(iteration, errors)`` after each sweep; returning True stops.

    Returns
    -------
    CPResult
        Unit-norm factor columns, weights sorted in descending order.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import cp_als
    >>> rng = np.random.default_rng(0)
    >>> a, b, c = (rng.standard_normal((n, 2)) for n in (4, 5, 6))
    >>> x = np.einsum("ir,jr,kr->ijk", a, b, c)          # exact CP rank 2
    >>> res = cp_als(x, 2, rng=0)
    >>> res.weights.shape, [f.shape for f in res.factors], res.converged
    ((2,), [(4, 2), (5, 2), (6, 2)], True)
    >>> fit = np.einsum("r,ir,jr,kr->ijk", res.weights, *res.factors)
    >>> bool(np.allclose(fit, x, atol=1e-6))
    True
    """
    xp = get_xp(tensor)
    x = float_tensor(tensor)
    b, r, n_iter_max, tol = _cp_iv(x, rank, n_iter_max, tol, batch_ndim)
    batch = tuple(x.shape[:b])
    dims = tuple(x.shape[b:])
    cplx = is_complex(xp, x)
    if isinstance(init, str):
        check_choice(init, "init", ("svd", "random"))
        gen = check_rng(rng)
        factors = []
        for n, d in enumerate(dims):
            k = min(r, d) if init == "svd" else 0
            cols = []
            if k:
                cols.append(_gram_top_eig(xp, x, n, b, k)[1])
            if r - k:
                z = gen.standard_normal(batch + (d, r - k))
                if cplx:
                    z = (z + 1j * gen.standard_normal(batch + (d, r - k))) / math.sqrt(2.0)
                cols.append(xp.astype(asarray_like(z, xp), x.dtype))
            factors.append(cols[0] if len(cols) == 1 else xp.concat(cols, axis=-1))
    else:
        factors = _factors_from(init, "init", xp, b, dims, [r] * len(dims), batch)
        w0 = getattr(init, "weights", None)
        if w0 is None and isinstance(init, (tuple, list)):
            w0 = init[0]
        factors = [xp.astype(f, x.dtype) for f in factors]
        if w0 is not None:
            factors[0] = factors[0] * xp.astype(xp.asarray(w0), x.dtype)[..., None, :]
    nx2 = _sq_norm(xp, x, b)
    nx = xp.where(nx2 > 0, xp.sqrt(nx2), xp.ones_like(nx2))
    grams = [mH(xp, f) @ f for f in factors]
    errors = []
    converged = False
    it = 0
    for it in range(1, n_iter_max + 1):
        for n in range(len(dims)):
            g = None
            for m in range(len(dims)):
                if m != n:
                    g = xp.conj(grams[m]) if g is None else g * xp.conj(grams[m])
            mt = _mttkrp(xp, x, factors, n, b)                                 # batch + (I_n, R)
            # A_n G = M  ->  G^T A_n^T = M^T ; G Hermitian so G^T = conj(G)
            factors[n] = mT(xp, xp.linalg.solve(mT(xp, g), mT(xp, mt)))
            grams[n] = mH(xp, factors[n]) @ factors[n]
        # error from the last MTTKRP: ||X||^2 - 2 Re<Xhat, X> + ||Xhat||^2
        inner = xp.real(xp.sum(xp.reshape(xp.conj(factors[-1]) * mt, batch + (-1,)), axis=-1))
        gfull = xp.conj(g) * grams[-1]                                        # prod_m A_m^H A_m
        nhat2 = xp.real(xp.sum(xp.reshape(gfull, batch + (-1,)), axis=-1))
        e = to_numpy(xp.sqrt(xp.abs(nx2 - 2 * inner + nhat2)) / nx)
        if np.any(e < 1e-5):  # the expansion cancels below ~sqrt(eps): use the residual itself
            w_ones = xp.ones(batch + (r,), dtype=real_dtype(xp, x.dtype))
            resid = x - _cp_to_tensor(xp, w_ones, factors, b)
            e = to_numpy(xp.sqrt(_sq_norm(xp, resid, b)) / nx)
        errors.append(e)
        if callback is not None and callback(it, errors[-1]):
            break
        if len(errors) > 1 and np.all(np.abs(errors[-2] - errors[-1]) < tol):
            converged = True
            break
    weights, factors = _normalize(xp, factors, b)
    return CPResult(weights, tuple(factors), it, converged, np.stack(errors), b)


def _normalize(xp, factors, b):
    """Unit-norm columns; weights = product of norms; sorted by descending weight."""
    rdt = real_dtype(xp, factors[0].dtype)
    weights = None
    out = []
    for f in factors:
        nrm = xp.linalg.vector_norm(f, axis=-2)                                # batch + (R,)
        nrm = xp.astype(nrm, rdt)
        safe = xp.where(nrm > 0, nrm, xp.ones_like(nrm))
        out.append(f / xp.astype(safe, f.dtype)[..., None, :])
        weights = nrm if weights is None else weights * nrm
    order = xp.argsort(-weights, axis=-1)
    weights = xp.take_along_axis(weights, order, axis=-1)
    out = [xp.take_along_axis(f, xp.broadcast_to(order[..., None, :], f.shape), axis=-1) for f in out]
    return weights, out
