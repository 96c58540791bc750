r"""Complex-safe tensor algebra: unfolding, folding, mode products and mode Gram matrices.

Conventions (those of TensorLy and Kolda & Bader): the mode-:math:`n` unfolding
:math:`\mathbf X_{(n)} \in \mathbb C^{I_n \times \prod_{m\ne n} I_m}` keeps the remaining modes in
their original order, last index fastest (TensorLy's ``unfold``); the mode-:math:`n` product is
:math:`(\mathcal X \times_n \mathbf U)_{(n)} = \mathbf U \mathbf X_{(n)}`. An optional leading batch of
``batch_ndim`` axes is carried through; modes are counted after it. The batched helpers without
input checks (``*_batched``, :func:`mode_product`, :func:`multi_mode_product`, :func:`mode_gram`)
are what the decompositions and PLAIN use internally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sensing import (
    Array,
    check_array,
    check_int,
    get_xp,
    is_numpy_namespace,
)


__all__ = ["unfold", "fold", "mode_dot", "multi_mode_dot"]


def check_batch_ndim(batch_ndim, ndim: int, name: str = "tensor", min_modes: int = 1) -> int:
    b = check_int(batch_ndim, "batch_ndim", low=0)
    if ndim - b < min_modes:
        raise ValueError(
            f"`{name}` must have at least {min_modes} mode(s) after {b} batch axis/axes; "
            f"got {ndim} dimension(s)."
        )
    return b


def check_mode(mode, n_modes: int) -> int:
    return check_int(mode, "mode", low=0, high=n_modes - 1)


def float_tensor(tensor, name: str = "tensor"):
    return check_array(tensor, name, kind=("real floating", "complex floating"))


def mT(xp, a):
    return xp.matrix_transpose(a)


def mH(xp, a):
    return xp.conj(xp.matrix_transpose(a))


def is_complex(xp, x) -> bool:
    return xp.isdtype(x.dtype, "complex floating")


def real_dtype(xp, dtype):
    if dtype == xp.complex64 or dtype == xp.float32:
        return xp.float32
    return xp.float64


def unfold(tensor: Array, mode: int, *, batch_ndim: int = 0) -> Array:
    r"""Mode-``mode`` unfolding :math:`\mathbf X_{(n)}` (TensorLy's ordering).

    Parameters
    ----------
    tensor : array, shape ``batch + (I_0, ..., I_{N-1})``
        Real or complex tensor.
    mode : int
        Mode :math:`n \in [0, N-1]`, counted after the batch axes.
    batch_ndim : int, default=0
        Number of leading batch axes carried through unchanged.

    Returns
    -------
    array, shape ``batch + (I_n, prod_{m != n} I_m)``
        Columns are the mode-:math:`n` fibres, remaining modes in order, last index fastest.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import unfold
    >>> x = np.arange(24).reshape(2, 3, 4)
    >>> unfold(x, 1).shape                               # (I_1, I_0 * I_2)
    (3, 8)
    >>> unfold(x, 1)[0]
    array([ 0,  1,  2,  3, 12, 13, 14, 15])
    """
    xp = get_xp(tensor)
    x = check_array(tensor, "tensor", kind=("real floating", "complex floating", "integral"), xp=xp)
    b = check_batch_ndim(batch_ndim, x.ndim)
    n = check_mode(mode, x.ndim - b)
    return unfold_batched(xp, x, n, b)


def unfold_batched(xp, x, mode: int, b: int):
    batch = tuple(x.shape[:b])
    i_n = x.shape[b + mode]
    if mode != 0:
        x = xp.moveaxis(x, b + mode, b)
    return xp.reshape(x, batch + (i_n, -1))


def fold(matrix: Array, mode: int, shape: Sequence[int], *, batch_ndim: int = 0) -> Array:
    """Inverse of :func:`unfold`.

    Parameters
    ----------
    matrix : array, shape ``batch + (I_n, prod_{m != n} I_m)``
    mode : int
    shape : sequence of int
        The tensor shape ``(I_0, ..., I_{N-1})`` **without** the batch axes.
    batch_ndim : int, default=0

    Returns
    -------
    array, shape ``batch + shape``

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import fold, unfold
    >>> x = np.arange(24).reshape(2, 3, 4)
    >>> bool(np.array_equal(fold(unfold(x, 2), 2, x.shape), x))
    True
    """
    xp = get_xp(matrix)
    m = check_array(matrix, "matrix", kind=("real floating", "complex floating", "integral"), xp=xp)
    b = check_batch_ndim(batch_ndim, m.ndim, "matrix", min_modes=2)
    if m.ndim - b != 2:
        raise ValueError(f"`matrix` must have 2 dimensions after {b} batch axis/axes; got shape {tuple(m.shape)}.")
    shape = tuple(check_int(s, "shape", low=1) for s in shape)
    n = check_mode(mode, len(shape))
    if (m.shape[b], m.shape[b + 1]) != (shape[n], math.prod(shape) // shape[n]) or \
            math.prod(shape) != m.shape[b] * m.shape[b + 1]:
        raise ValueError(
            f"`matrix` of shape {tuple(m.shape)} is not a mode-{n} unfolding of a tensor of shape {shape}."
        )
    return fold_batched(xp, m, n, shape, b)


def fold_batched(xp, m, mode: int, shape, b: int):
    batch = tuple(m.shape[:b])
    moved = (shape[mode],) + tuple(s for i, s in enumerate(shape) if i != mode)
    x = xp.reshape(m, batch + moved)
    if mode != 0:
        x = xp.moveaxis(x, b, b + mode)
    return x


def mode_product(xp, x, u, mode: int, b: int, *, conj_transpose: bool = False):
    """x ×_mode u without transposing x: (prefix, I_n, suffix) viewed, matmul broadcast.

    ``u`` has shape (J, I_n) (or ``batch + (J, I_n)`` when it carries the batch axes).
    """
    if conj_transpose:
        u = mH(xp, u)
    shape = tuple(x.shape)
    batch = shape[:b]
    dims = shape[b:]
    pre = math.prod(dims[:mode])
    i_n = dims[mode]
    suf = math.prod(dims[mode + 1:])
    j = u.shape[-2]
    batched_u = u.ndim > 2
    if suf == 1:  # last mode: (..., I_n) @ U^T
        x3 = xp.reshape(x, batch + (pre, i_n))
        out = x3 @ mT(xp, u)
    else:
        x3 = xp.reshape(x, batch + (pre, i_n, suf))
        uu = xp.reshape(u, batch + (1, j, i_n)) if batched_u else u
        out = uu @ x3
    return xp.reshape(out, batch + dims[:mode] + (j,) + dims[mode + 1:])


def mode_dot(tensor: Array, matrix: Array, mode: int, *, transpose: bool = False,
             batch_ndim: int = 0) -> Array:
    r"""Mode-:math:`n` product :math:`\mathcal X \times_n \mathbf U`.

    Parameters
    ----------
    tensor : array, shape ``batch + (I_0, ..., I_{N-1})``
    matrix : array, shape ``(J, I_n)`` or ``batch + (J, I_n)``
        :math:`\mathbf U`; with ``transpose=True`` shape ``(I_n, J)`` and :math:`\mathbf U^H` is
        applied (conjugate transpose, as TensorLy's ``multi_mode_dot(transpose=True)``).
    mode : int
    transpose : bool, default=False
    batch_ndim : int, default=0

    Returns
    -------
    array, shape ``batch + (I_0, ..., J, ..., I_{N-1})``
        :math:`(\mathcal X\times_n\mathbf U)[\dots, j, \dots] = \sum_i U_{ji}\,\mathcal X[\dots, i, \dots]`.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import mode_dot
    >>> x = np.ones((2, 3, 4))
    >>> u = np.arange(15.0).reshape(5, 3)                # maps mode 1 from 3 to 5 entries
    >>> y = mode_dot(x, u, 1)
    >>> y.shape, y[0, :, 0]
    ((2, 5, 4), array([ 3., 12., 21., 30., 39.]))
    """
    xp = get_xp(tensor, matrix)
    x = float_tensor(tensor)
    u = check_array(matrix, "matrix", kind=("real floating", "complex floating"), xp=xp)
    b = check_batch_ndim(batch_ndim, x.ndim)
    n = check_mode(mode, x.ndim - b)
    if u.ndim not in (2, b + 2) or (u.ndim == b + 2 and b and tuple(u.shape[:b]) != tuple(x.shape[:b])):
        raise ValueError(
            f"`matrix` must have shape (J, I_n) or batch + (J, I_n) with batch {tuple(x.shape[:b])}; "
            f"got shape {tuple(u.shape)}."
        )
    i_axis = -2 if transpose else -1
    if u.shape[i_axis] != x.shape[b + n]:
        raise ValueError(
            f"`matrix` must have {x.shape[b + n]} {'rows' if transpose else 'columns'} "
            f"(size of mode {n}); got shape {tuple(u.shape)}."
        )
    x, u = common_dtype(xp, x, u)
    return mode_product(xp, x, u, n, b, conj_transpose=transpose)


def common_dtype(xp, *arrays):
    dt = xp.result_type(*arrays)
    return tuple(a if a.dtype == dt else xp.astype(a, dt) for a in arrays)


def multi_mode_dot(tensor: Array, matrices: Sequence[Array], modes: Sequence[int] | None = None, *,
                   skip: int | None = None, transpose: bool = False, batch_ndim: int = 0) -> Array:
    r"""Chain of mode products :math:`\mathcal X \times_{n_1}\mathbf U_1 \times_{n_2}\mathbf U_2 \cdots`.

    Parameters
    ----------
    tensor : array, shape ``batch + (I_0, ..., I_{N-1})``
    matrices : sequence of arrays
        One matrix per entry of ``modes`` (shapes as in :func:`mode_dot`).
    modes : sequence of int, optional
        Default ``0, ..., len(matrices) - 1``.
    skip : int, optional
        Leave out the product on this mode (as TensorLy's ``skip``).
    transpose : bool, default=False
        Apply :math:`\mathbf U^H` (conjugate transpose) instead of :math:`\mathbf U`.
    batch_ndim : int, default=0

    Returns
    -------
    array

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import mode_dot, multi_mode_dot
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 3, 4))
    >>> a, b = rng.standard_normal((5, 2)), rng.standard_normal((6, 4))
    >>> y = multi_mode_dot(x, [a, b], modes=[0, 2])
    >>> y.shape, bool(np.allclose(y, mode_dot(mode_dot(x, a, 0), b, 2)))
    ((5, 3, 6), True)
    """
    mats = list(matrices)
    modes = list(range(len(mats))) if modes is None else [int(m) for m in modes]
    if len(modes) != len(mats):
        raise ValueError(f"`modes` must have one entry per matrix ({len(mats)}); got {len(modes)}.")
    out = tensor
    # apply the products that shrink the tensor most first (fewest flops)
    order = sorted(range(len(mats)),
                   key=lambda i: (mats[i].shape[-1] if transpose else mats[i].shape[-2])
                   / max(1, (mats[i].shape[-2] if transpose else mats[i].shape[-1])))
    for i in order:
        if skip is not None and modes[i] == skip:
            continue
        out = mode_dot(out, mats[i], modes[i], transpose=transpose, batch_ndim=batch_ndim)
    return out


def multi_mode_product(xp, x, mats, b: int, *, conj_transpose: bool = False, skip: int | None = None):
    """Internal multi-mode product on modes 0..len(mats)-1 (no validation); None entries skipped."""
    idx = [i for i, u in enumerate(mats) if u is not None and i != skip]
    # shrink first
    idx.sort(key=lambda i: (mats[i].shape[-1] if conj_transpose else mats[i].shape[-2])
             / max(1, x.shape[b + i]))
    for i in idx:
        x = mode_product(xp, x, mats[i], i, b, conj_transpose=conj_transpose)
    return x


def gram(xp, x, mode: int, b: int):
    """X_(n) X_(n)^H, shape batch + (I_n, I_n)."""
    xn = unfold_batched(xp, x, mode, b)
    return xn @ mH(xp, xn)


def mode_gram(xp, x, mode: int, b: int):
    """Full Hermitian X_(n) X_(n)^H, shape batch + (I_n, I_n) (BLAS herk/syrk on NumPy)."""
    if not (is_numpy_namespace(xp) and x.dtype in (np.complex128, np.complex64, np.float64, np.float32)):
        return gram(xp, x, mode, b)
    from scipy.linalg import blas

    x = np.asarray(x)
    cplx = np.iscomplexobj(x)
    dims = x.shape[b:]
    i_n = dims[mode]
    rk = blas.get_blas_funcs("herk" if cplx else "syrk", (x,))
    flat = x.reshape((-1,) + dims)
    out = np.empty((flat.shape[0], i_n, i_n), dtype=x.dtype)
    for k in range(flat.shape[0]):
        xk = flat[k]
        if mode == len(dims) - 1 and len(dims) > 1:
            low = rk(1.0, xk.reshape(-1, i_n).T, trans=0, lower=1)           # G, lower triangle
        else:
            xn = np.ascontiguousarray(np.moveaxis(xk, mode, 0)).reshape(i_n, -1)
            low = rk(1.0, xn.T, trans=2 if cplx else 1, lower=1)            # conj(G), lower triangle
            if cplx:
                low = low.conj()
        strict = np.tril(low, -1)
        out[k] = np.tril(low) + strict.conj().T
    return out.reshape(x.shape[:b] + (i_n, i_n))
