r"""PLAIN stage 1: compression of the channel tensor.

None, decimation, block averaging, shifted decimation (virtual snapshots) or multidimensional
smoothing, with an integer factor :math:`\Delta_m` per dimension (B. Tahir, P. Svoboda, M. Rupp,
"PLAIN: Scalable Estimation Architecture for Integrated Sensing and Communication,"
arXiv:2503.21242, Sec. III-A). The result, :class:`CompressedTensor`, is what stages 2 and 3 run on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sensing import (
    Array,
    HostCopy,
    check_array,
    check_choice,
    check_divides,
    check_int,
    check_rng,
    get_xp,
    is_numpy_namespace,
)

from ._plain_kernels import (
    block_average_kernel,
)

__all__ = ["plain_compress", "CompressedTensor", "COMPRESSIONS"]


COMPRESSIONS = ("none", "decimation", "averaging", "shifted_decimation", "smoothing")


MODE_NAMES = ("angle", "delay", "doppler")


SIZE_NAMES = ("n_antennas", "n_subcarriers", "n_symbols")


@dataclass(frozen=True)
class CompressedTensor(HostCopy):
    r"""Output of stage 1.

    Attributes
    ----------
    tensor : array, shape (n_snapshots', N'_1, N'_2, N'_3)
        Compressed tensor :math:`\mathcal H'`; virtual snapshots are stacked along axis 0 with the
        virtual index fastest (``s' = s * n_virtual + v``).
    method : str
        Compression method.
    deltas : tuple of 3 int
        Sample spacing of the compressed grid in original samples (1 after smoothing).
    offsets : ndarray, shape (n_virtual, 3), int, host
        Offset (in original samples) of the first sample of each virtual snapshot.
    n_input_snapshots : int
        :math:`S` of the input.
    input_shape : tuple of int or None
        Shape of the tensor that was compressed, as given (3-D, or 4-D with the snapshot mode);
        :func:`plain_from_compressed` checks it against the array and numerology. None for a
        hand-built instance (then only averaging, decimation, shifted decimation and none can be
        checked, through :math:`N'_m\Delta_m`).
    """

    tensor: Array
    method: str
    deltas: tuple[int, int, int]
    offsets: np.ndarray
    n_input_snapshots: int
    input_shape: tuple[int, ...] | None = None

    @property
    def n_virtual(self) -> int:
        return int(self.offsets.shape[0])


def tensor_iv(tensor, name: str = "tensor", *, finite: bool = True):
    xp = get_xp(tensor)
    x = check_array(tensor, name, kind=("complex floating", "real floating"), finite=finite, xp=xp)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"`{name}` must have 3 dimensions (antenna, subcarrier, symbol) or 4 (snapshot, antenna, "
            f"subcarrier, symbol); got shape {tuple(x.shape)} ({x.ndim} dimension(s))."
        )
    if not xp.isdtype(x.dtype, "complex floating"):
        x = xp.astype(x, xp.complex128 if x.dtype == xp.float64 else xp.complex64)
    squeeze = x.ndim == 3
    if squeeze:
        x = x[None, ...]
    return xp, x, squeeze


def deltas_iv(deltas, shape3, method) -> tuple[int, int, int]:
    if isinstance(deltas, (int, np.integer)) or not isinstance(deltas, Sequence) or len(deltas) != 3:
        raise ValueError(f"`deltas` must be a sequence of 3 integers (space, frequency, time); got {deltas!r}.")
    out = tuple(check_divides(d, n, f"deltas[{m}]", SIZE_NAMES[m]) for m, (d, n) in enumerate(zip(deltas, shape3)))
    if method == "none" and out != (1, 1, 1):
        raise ValueError(f"`deltas` must be (1, 1, 1) with compression='none' (no compression); got {tuple(deltas)}.")
    return out


def steps_iv(steps) -> tuple[int, int, int]:
    if not isinstance(steps, Sequence) or len(steps) != 3:
        raise ValueError(f"`smoothing_steps` must be a sequence of 3 positive integers; got {steps!r}.")
    return tuple(check_int(s, f"smoothing_steps[{m}]", low=1) for m, s in enumerate(steps))


def plain_compress(tensor: Array, *, method: str = "averaging", deltas: Sequence[int] = (1, 1, 1),
                   smoothing_steps: Sequence[int] = (1, 10, 30), max_virtual_snapshots: int = 100,
                   rng=None) -> CompressedTensor:
    r"""PLAIN stage 1: compress the channel tensor along space, frequency and time.

    With :math:`N'_m = N_m/\Delta_m`:

    * ``"none"``: :math:`\mathcal H' = \mathcal H` (``deltas`` must be ones);
    * ``"decimation"``: :math:`\mathcal H'[s,i,j,l] = \mathcal H[s,\Delta_1 i,\Delta_2 j,\Delta_3 l]`;
    * ``"averaging"`` (PLAIN's default): mean of :math:`\Delta_m` consecutive samples per dimension,
      :math:`\mathcal H\times_2\mathbf J_1\times_3\mathbf J_2\times_4\mathbf J_3` with
      :math:`\mathbf J_m = \frac1{\Delta_m}(\mathbf I_{N'_m}\otimes\mathbf 1^T_{\Delta_m})`. A harmonic
      :math:`e^{j\omega n}` becomes :math:`g_\Delta(\omega)e^{j\Delta\omega i}` with
      :math:`g_\Delta(\omega) = e^{j\omega(\Delta-1)/2}\frac{\sin(\Delta\omega/2)}{\Delta\sin(\omega/2)}`;
    * ``"shifted_decimation"``: decimations at offsets :math:`0 \le o_m < \Delta_m`, all
      :math:`\prod_m\Delta_m` of them or ``max_virtual_snapshots`` drawn at random without
      replacement, stacked as virtual snapshots;
    * ``"smoothing"``: subtensors of size :math:`(N'_1, N'_2, N'_3)` at shifts
      :math:`0, s_m, 2s_m, \dots` (``smoothing_steps``) while they fit, stacked as virtual
      snapshots; the sample spacing stays 1.

    Parameters
    ----------
    tensor : array, shape (N_R, N_K, N_T) or (S, N_R, N_K, N_T), complex
    method : {"none", "decimation", "averaging", "shifted_decimation", "smoothing"}, default="averaging"
    deltas : sequence of 3 int, default=(1, 1, 1)
        :math:`\Delta_m` for (space, frequency, time); each must divide the size of its dimension.
        The released PLAIN example uses (1, 4, 14).
    smoothing_steps : sequence of 3 int, default=(1, 10, 30)
        Shift steps for ``"smoothing"`` (the reference code's values).
    max_virtual_snapshots : int, default=100
        Cap on the number of offsets of ``"shifted_decimation"``.
    rng : None, int or numpy.random.Generator
        Draws the offsets of ``"shifted_decimation"`` when they are capped.

    Returns
    -------
    CompressedTensor

    Raises
    ------
    ValueError
        Wrong tensor rank, a :math:`\Delta_m` that does not divide :math:`N_m`, unknown method.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import plain_compress
    >>> rng = np.random.default_rng(0)
    >>> h = rng.standard_normal((8, 64, 32)) + 1j * rng.standard_normal((8, 64, 32))
    >>> c = plain_compress(h, method="averaging", deltas=(1, 2, 2))
    >>> c.tensor.shape, c.method, c.deltas              # (snapshots, space, frequency, time)
    ((1, 8, 32, 16), 'averaging', (1, 2, 2))
    """
    xp, x, squeeze = tensor_iv(tensor)
    check_choice(method, "method", COMPRESSIONS)
    dims = tuple(int(d) for d in x.shape[1:])
    d = deltas_iv(deltas, dims, method)
    steps = steps_iv(smoothing_steps)
    cap = check_int(max_virtual_snapshots, "max_virtual_snapshots", low=1)
    return compress(xp, x, method, d, steps, cap, rng, squeeze=squeeze)


def compress(xp, x, method, d, steps, cap, rng, *, squeeze: bool = False) -> CompressedTensor:
    """Stage 1 on a validated 4-D tensor; ``squeeze``: the caller's input was 3-D (recorded in
    ``input_shape``)."""
    shape_in = tuple(int(n) for n in (x.shape[1:] if squeeze else x.shape))
    out = _compress(xp, x, method, d, steps, cap, rng)
    return CompressedTensor(out.tensor, out.method, out.deltas, out.offsets, out.n_input_snapshots, shape_in)


def _compress(xp, x, method, d, steps, cap, rng) -> CompressedTensor:
    s_in = int(x.shape[0])
    dims = tuple(int(n) for n in x.shape[1:])
    small = tuple(n // dm for n, dm in zip(dims, d))
    zero = np.zeros((1, 3), dtype=np.int64)
    if method == "none" or d == (1, 1, 1) and method in ("decimation", "averaging", "shifted_decimation"):
        return CompressedTensor(x, method, d, zero, s_in)
    if method == "decimation":
        return CompressedTensor(x[:, ::d[0], ::d[1], ::d[2]], method, d, zero, s_in)
    if method == "averaging":
        if is_numpy_namespace(xp):                            # one-pass numba kernel (twin below)
            y = block_average_kernel(np.ascontiguousarray(x, dtype=np.complex128), *d)
            if x.dtype != np.complex128:                       # keep the input dtype, as the twin does
                y = (y if np.iscomplexobj(x) else y.real).astype(x.dtype)
            return CompressedTensor(y, method, d, zero, s_in)
        y = x
        for ax in (3, 2, 1):                                  # last (contiguous) axis first: shrinks most
            y = _block_mean(xp, y, ax, d[ax - 1])
        return CompressedTensor(y, method, d, zero, s_in)
    if method == "shifted_decimation":
        n_all = d[0] * d[1] * d[2]
        if n_all <= cap:
            pick = np.arange(n_all)
        else:
            pick = np.sort(check_rng(rng).choice(n_all, size=cap, replace=False))
        offs = np.stack(np.unravel_index(pick, d), axis=-1).astype(np.int64)
        parts = [x[:, o[0]::d[0], o[1]::d[1], o[2]::d[2]] for o in offs]
        y = xp.stack(parts, axis=1)
        return CompressedTensor(xp.reshape(y, (s_in * len(parts),) + small), method, d, offs, s_in)
    # smoothing: subtensors of size N/Delta at shifts 0, step, 2 step, ...
    shifts = [np.arange(0, n - m + 1, st) for n, m, st in zip(dims, small, steps)]
    grid = np.stack(np.meshgrid(*shifts, indexing="ij"), axis=-1).reshape(-1, 3).astype(np.int64)
    parts = [x[:, o[0]:o[0] + small[0], o[1]:o[1] + small[1], o[2]:o[2] + small[2]] for o in grid]
    y = xp.stack(parts, axis=1)
    return CompressedTensor(xp.reshape(y, (s_in * len(parts),) + small), method, (1, 1, 1), grid, s_in)


def _block_mean(xp, x, axis: int, delta: int):
    """Mean of ``delta`` consecutive samples along ``axis``.

    The last axis uses a GEMV with a ones vector, the others a sum of ``delta`` strided slices,
    instead of chained ``mean`` reductions.
    """
    if delta == 1:
        return x
    shape = tuple(int(s) for s in x.shape)
    n = shape[axis] // delta
    if axis == len(shape) - 1:
        w = xp.full((delta,), 1.0 / delta, dtype=x.dtype)
        return xp.reshape(xp.reshape(x, (-1, delta)) @ w, shape[:-1] + (n,))
    y = xp.reshape(x, shape[:axis] + (n, delta) + shape[axis + 1:])
    acc = y[(slice(None),) * (axis + 1) + (0, ...)]
    for i in range(1, delta):
        acc = acc + y[(slice(None),) * (axis + 1) + (i, ...)]
    return acc / delta
