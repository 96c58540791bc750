r"""Panel conventions and oversampled 2-D DFT beams shared by the 3GPP NR CSI codebooks.

Channel convention: ``channel[u, p, s]`` is :math:`\mathbf h_s` of user ``u`` on subband ``s``
such that the received sample is :math:`y = \mathbf h_s^H\mathbf w\,x + z`, so the best rank-1
precoder is :math:`\mathbf w\propto\mathbf h_s`. Ports follow TS 38.214 §5.2.2.2.1: port
:math:`= \mathrm{pol}\cdot N_1N_2 + n_1N_2 + n_2` (``n2`` fastest). A multi-antenna UE adds a
trailing axis: ``channel[u, p, s, r]`` holds the columns of :math:`\mathbf H_s^H` (one "h" per
receive antenna).

Oversampled 2-D DFT beams (TS 38.214 §5.2.2.2.1): :math:`\mathbf v_{l,m} = \mathbf a_l\otimes\mathbf u_m`,
:math:`[\mathbf a_l]_{n_1} = e^{j2\pi l n_1/(O_1N_1)}`, :math:`[\mathbf u_m]_{n_2} = e^{j2\pi m n_2/(O_2N_2)}`,
:math:`\lVert\mathbf v_{l,m}\rVert^2 = N_1N_2`; dictionary column ``j = l * (N2 O2) + m``. The
supported :math:`(N_1, N_2, O_1, O_2)` are those of Table 5.2.2.2.1-2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sensing import (
    asarray_like,
    check_bool,
    check_choice,
    check_int,
    get_xp,
    is_cupy_namespace,
    is_numpy_namespace,
)

from ._codebook_tables import SUPPORTED_N1_N2_O1_O2

Array = Any

__all__ = [
    "supported_panel_configs", "array_namespace", "dft_beams", "check_channel", "project_on_beams",
    "check_panel", "default_oversampling", "combinatorial_index_xp",
]


def supported_panel_configs() -> dict[int, tuple[tuple[int, int, int, int], ...]]:
    """TS 38.214 Table 5.2.2.2.1-2: ``{n_ports: ((N1, N2, O1, O2), ...)}``.

    Examples
    --------
    >>> from estimators import supported_panel_configs
    >>> configs = supported_panel_configs()
    >>> configs[16]                                      # (N1, N2, O1, O2) for 16 CSI-RS ports
    ((4, 2, 4, 4), (8, 1, 4, 1))
    """
    return dict(SUPPORTED_N1_N2_O1_O2)


def array_namespace(x):
    xp = get_xp(x)
    if not (is_numpy_namespace(xp) or is_cupy_namespace(xp)):
        raise TypeError(f"codebook functions accept NumPy or CuPy arrays (they use advanced indexing); "
                        f"got an array of {xp.__name__}.")
    return xp


def dft_beams(n1: int, n2: int, o1: int, o2: int, *, like=None, dtype=None) -> Array:
    r"""Oversampled 2-D DFT dictionary :math:`[\mathbf v_{0,0}, \mathbf v_{0,1}, \dots]`.

    Parameters
    ----------
    n1, n2 : int
        Antenna columns (horizontal, :math:`N_1`) and rows (vertical, :math:`N_2`) per polarisation.
    o1, o2 : int
        Oversampling factors :math:`O_1, O_2`.
    like : array, optional
        Result goes to this array's namespace (default NumPy).
    dtype : dtype, optional
        Complex dtype (default complex128, or complex64 when ``like`` is complex64).

    Returns
    -------
    array, shape (n1 * n2, n1 * o1 * n2 * o2), complex
        Column ``j = l * (n2 * o2) + m`` is :math:`\mathbf v_{l,m}` (unnormalised, norm :math:`\sqrt{N_1N_2}`),
        rows in port order ``n1 * n2_size + n2``.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import dft_beams
    >>> v = dft_beams(4, 2, 4, 4)                        # N1 x N2 ports, O1 x O2 oversampling
    >>> v.shape                                          # (N1 N2, O1 N1 O2 N2)
    (8, 128)
    >>> bool(np.allclose(np.abs(v), 1.0))                # unit-modulus entries
    True
    """
    n1, n2 = check_int(n1, "n1", low=1), check_int(n2, "n2", low=1)
    o1, o2 = check_int(o1, "o1", low=1), check_int(o2, "o2", low=1)
    xp = get_xp(like) if like is not None else get_xp()
    if dtype is None:
        dtype = xp.complex64 if (like is not None and like.dtype == xp.complex64) else xp.complex128
    ll = np.arange(n1 * o1)
    mm = np.arange(n2 * o2)
    a = np.exp(2j * np.pi * np.outer(np.arange(n1), ll) / (o1 * n1))   # (N1, L)
    u = np.exp(2j * np.pi * np.outer(np.arange(n2), mm) / (o2 * n2))   # (N2, M)
    v = (a[:, None, :, None] * u[None, :, None, :]).reshape(n1 * n2, ll.size * mm.size)
    return asarray_like(v, xp, dtype=dtype)


def check_channel(channel, n_ports: int, name: str = "channel"):
    """Validate a channel tensor -> (xp, h (U, P, S, R), had_rx_axis)."""
    if not (hasattr(channel, "shape") and hasattr(channel, "dtype")):
        raise TypeError(f"`{name}` must be a complex array of shape (n_users, n_ports, n_subbands[, n_rx]); "
                        f"got {type(channel).__name__}.")
    xp = array_namespace(channel)
    if channel.ndim not in (3, 4):
        raise ValueError(f"`{name}` must have shape (n_users, n_ports, n_subbands[, n_rx]); "
                         f"got shape {tuple(channel.shape)}.")
    if channel.shape[1] != n_ports:
        raise ValueError(f"`{name}` must have {n_ports} ports on axis 1 (the codebook's 2*N1*N2 or "
                         f"n_polarizations*N1*N2); got shape {tuple(channel.shape)}.")
    if min(channel.shape) < 1:
        raise ValueError(f"`{name}` must be non-empty; got shape {tuple(channel.shape)}.")
    if not xp.isdtype(channel.dtype, ("complex floating", "real floating")):
        raise TypeError(f"`{name}` must have a floating dtype (complex); got {channel.dtype}.")
    if not bool(xp.all(xp.isfinite(channel))):
        raise ValueError(f"`{name}` must be finite; got NaN/inf entries. Remove those users first.")
    h = channel if channel.ndim == 4 else channel[..., None]
    if not xp.isdtype(h.dtype, "complex floating"):
        h = xp.astype(h, xp.complex64 if h.dtype == xp.float32 else xp.complex128)
    return xp, h, channel.ndim == 4


def project_on_beams(beams, h, n_pol: int, n_grid: int):
    """Per-polarisation projections V^H h_pol: (U, n_pol, J, S, R)."""
    xp = get_xp(h)
    vh = xp.conj(beams).T                                   # (J, N)
    u, p, s, r = h.shape
    out = []
    for pol in range(n_pol):
        hp = xp.reshape(h[:, pol * n_grid:(pol + 1) * n_grid], (u, n_grid, s * r))
        out.append(xp.reshape(vh @ hp, (u, vh.shape[0], s, r)))
    return xp.stack(out, axis=1)


def check_panel(n1, n2, o1, o2, n_pol, standard):
    check_int(n1, "n1", low=1)
    check_int(n2, "n2", low=1)
    check_int(o1, "o1", low=1)
    check_int(o2, "o2", low=1)
    check_choice(n_pol, "n_polarizations", (1, 2))
    check_bool(standard, "standard")
    if standard:
        ports = 2 * n1 * n2
        combos = SUPPORTED_N1_N2_O1_O2.get(ports, ())
        if n_pol != 2 or (n1, n2, o1, o2) not in combos:
            allowed = "; ".join(f"{p} ports: " + ", ".join(f"({a},{b}) ({c},{d})" for a, b, c, d in cs)
                                for p, cs in SUPPORTED_N1_N2_O1_O2.items())
            raise ValueError(
                f"(N1, N2) with (O1, O2) must be a supported combination of TS 38.214 Table 5.2.2.2.1-2 "
                f"({allowed}); got ({n1},{n2}) ({o1},{o2}) with {n_pol} polarisation(s). "
                "Use estimators.dft_subspace_codebook for other arrays.")
        if n1 * n2 < 2:
            raise ValueError("the standard codebooks need at least 4 CSI-RS ports.")


def default_oversampling(n2: int, o1, o2):
    return (4 if o1 is None else o1), ((4 if n2 > 1 else 1) if o2 is None else o2)



def combinatorial_index_xp(n, n_grid: int, xp):
    """i12 on the device (n sorted increasing, shape (U, L))."""
    lb = n.shape[-1]
    table = np.array([[math.comb(x, y) if x >= y else 0 for y in range(lb + 1)] for x in range(n_grid)])
    tab = asarray_like(table.ravel(), xp, dtype=xp.int64)
    out = xp.zeros(n.shape[0], dtype=xp.int64)
    for i in range(lb):
        out = out + xp.take(tab, (n_grid - 1 - n[:, i]) * (lb + 1) + (lb - i))
    return out
