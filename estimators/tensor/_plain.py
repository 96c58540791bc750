r"""PLAIN: compressed decoupled estimation and input-based fusion (Tahir, Svoboda, Rupp, 2025).

Three stages on the OFDM channel tensor :math:`\mathcal H \in \mathbb C^{S\times N_R\times N_K\times N_T}`
(snapshot × antenna × subcarrier × OFDM symbol; a 3-D input has :math:`S = 1`):

1. **compression** (:func:`plain_compress`): none, decimation, block averaging, shifted decimation
   (virtual snapshots) or multidimensional smoothing, with an integer factor :math:`\Delta_m` per
   dimension;
2. **decoupled per-mode estimation**: for each dimension independently, unfolding → sample
   covariance → normalisation → forward–backward averaging → EVD → AIC order → signal-subspace
   root-MUSIC → physical mapping (angle, one-way path length :math:`d = c\tau`, radial velocity);
3. **input-based fusion**: Tensor-OMP (default) or Tensor-LS over the Kronecker product of the
   per-mode candidate dictionaries, on the compressed tensor, giving paired triples and their
   gains.

Signal model (the package's conventions: ULA along :math:`y` with element 0 at the origin,
azimuth :math:`\phi` from broadside, :func:`channels.cfr_from_paths`):

.. math::
    \mathcal H[s, r, k, t] = \sum_p \alpha_{s,p}\, e^{\,j2\pi\frac{d_a}{\lambda} r\sin\phi_p}\,
    e^{-j2\pi f_k\tau_p}\, e^{\,j2\pi f_{D,p} tT_O} + \mathcal N[s, r, k, t],

with :math:`f_{D,p} = f_c v_p/c` (one-way, positive when the path shortens). PLAIN's paper measures
the angle from the array axis, :math:`\theta = \pi/2 - \phi`; the per-sample spatial frequency
:math:`2\pi\frac{d_a}{\lambda}\cos\theta` is the same number. Everything here is in SI units
(rad, m, m/s); PLAIN's reference code returns degrees, km and km/h.

Differences from the MATLAB reference code (https://github.com/bashar-tahir/PLAIN, commit
"PLAIN v1.0", cf150a9), all deliberate:

* gains are read from the fused core at each object's own triple (the reference returns the
  :math:`\hat N_P` largest powers sorted by power, not aligned with the triples);
* the returned gains are the physical path gains (the analytic compression factor
  :math:`g_\Delta(\omega)` of averaging, the shift phases of virtual snapshots and a non-zero first
  subcarrier frequency removed); the raw fused coefficients are kept as ``core_gains``;
* smoothing shifts are parameters (``smoothing_steps``);
* the AIC floors vanishing eigenvalues (in the subspace toolbox's :func:`aic`) so that noise-free
  inputs give the true order instead of ``log(0)``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from sensing import (
    SPEED_OF_LIGHT,
    Array,
    ArrayGeometry,
    HostCopy,
    Numerology,
    asarray_like,
    check_array,
    check_choice,
    check_finite,
    check_int,
    get_xp,
    is_cupy_array,
    is_numpy_namespace,
    to_numpy,
)

from ._plain_compression import COMPRESSIONS, CompressedTensor, compress, deltas_iv, steps_iv, tensor_iv
from ._plain_fusion import dictionary, physical_gains, tensor_ls, tensor_omp
from ._plain_modes import map_mode, mode_stage
from ._plain_refine import cp_refit, refine_objects

__all__ = ["plain", "plain_from_compressed", "PlainResult", "PlainTimings", "FUSIONS", "SELECTIONS"]


FUSIONS = ("omp", "ls")


SELECTIONS = ("aic", "aic_true_count", "true_count")


class PathLengthAlias:
    """``distances_m``, the deprecated name of a result's ``path_lengths_m``."""

    __slots__ = ()

    @property
    def distances_m(self):
        """Deprecated name of :attr:`path_lengths_m` (the one-way path length :math:`c\\tau`, not a range)."""
        warnings.warn(f"`{type(self).__name__}.distances_m` is deprecated: the value is the one-way path length "
                      "c*tau; use `path_lengths_m`.", DeprecationWarning, stacklevel=2)
        return self.path_lengths_m


@dataclass(frozen=True)
class PlainTimings:
    """Wall-clock time per stage [s] (``time.perf_counter``; CuPy work synchronised)."""

    compression_s: float
    modes_s: tuple[float, float, float]
    fusion_s: float
    total_s: float


@dataclass(frozen=True)
class PlainResult(PathLengthAlias, HostCopy):
    r"""Paired PLAIN estimates.

    Attributes
    ----------
    azimuths_rad : array, shape (n_objects,)
        Azimuth :math:`\phi` [rad] in the package convention (PLAIN's angle from the array axis is
        :math:`\pi/2 - \phi`).
    path_lengths_m : array, shape (n_objects,)
        One-way path length :math:`d = c\tau` [m].
    velocities_mps : array, shape (n_objects,)
        Radial velocity :math:`v = cf_D/f_c` [m/s], positive when the path shortens.
    delays_s, doppler_hz : array, shape (n_objects,)
        :math:`\tau` [s] and :math:`f_D` [Hz].
    gains : array, shape (n_objects,) or (S, n_objects), complex
        Physical path gains :math:`\alpha_p` (compression factor, virtual-snapshot shift phases
        and the first subcarrier's delay phase removed); 2-D for a 4-D input.
    core_gains : array, shape (n_snapshots', n_objects), complex
        Raw fused coefficients from the core at each object's triple (compressed domain).
    powers : array, shape (n_objects,)
        :math:`\frac1{S'}\sum_s|\mathcal B[s, \cdot]|^2` at the triple (selection metric).
    indices : array, shape (n_objects, 3), int
        Candidate index per dimension (into ``candidates[m]``), in the input's namespace.
    candidates : tuple of 3 ModeCandidates
        Stage-2 output per dimension (angle, delay, Doppler).
    residual : array, shape of the compressed tensor
        Tensor-OMP: :math:`\mathcal H'` minus the final Tucker refit on the selected atoms (the
        reference code's ``H_clean``). Tensor-LS: :math:`\mathcal H'` minus the selected objects.
    compression, fusion, selection : str
    deltas : tuple of 3 int
        Requested compression factors.
    compressed_shape : tuple of 4 int
    timings : PlainTimings
    """

    azimuths_rad: Array
    path_lengths_m: Array
    velocities_mps: Array
    delays_s: Array
    doppler_hz: Array
    gains: Array
    core_gains: Array
    powers: Array
    indices: np.ndarray
    candidates: tuple
    residual: Array
    compression: str
    fusion: str
    selection: str
    deltas: tuple[int, int, int]
    compressed_shape: tuple[int, ...]
    timings: PlainTimings

    @property
    def n_objects(self) -> int:
        return int(self.indices.shape[0])

    @property
    def candidate_counts(self) -> tuple[int, int, int]:
        return tuple(c.n_candidates for c in self.candidates)


def plain_iv(geometry, numerology, shape3, compression, fusion, selection, n_objects, name="`tensor` must have"):
    if not isinstance(geometry, ArrayGeometry):
        raise TypeError(f"`geometry` must be a sensing.ArrayGeometry (a ULA); got {type(geometry).__name__}.")
    if geometry.kind != "ula":
        raise ValueError(f"`geometry` must be a uniform linear array (sensing.ula); got kind {geometry.kind!r}.")
    pos = geometry.positions_m
    d = geometry.spacing_m[0]
    tol = 1e-12 * max(d, 1.0)
    # (plain max-deviation test, not np.allclose: same outcome, NaN included, less overhead per call)
    if not (np.abs(pos[:, 1] - d * np.arange(geometry.n_elements)).max() <= tol
            and np.abs(pos[:, [0, 2]]).max() <= tol):
        raise ValueError("`geometry` must lie along y with element 0 at the origin (sensing.ula(..., axis='y')), "
                         "the package's angle convention.")
    if not isinstance(numerology, Numerology):
        raise TypeError(f"`numerology` must be a sensing.Numerology; got {type(numerology).__name__}.")
    want = (geometry.n_elements, numerology.n_subcarriers, numerology.n_symbols)
    if tuple(shape3) != want:
        raise ValueError(f"{name} (antenna, subcarrier, symbol) sizes {want} (from `geometry` and "
                         f"`numerology`); got {tuple(shape3)}.")
    check_choice(compression, "compression", COMPRESSIONS)
    check_choice(fusion, "fusion", FUSIONS)
    if selection is None:
        selection = "aic" if n_objects is None else "aic_true_count"
    check_choice(selection, "selection", SELECTIONS)
    if selection == "aic" and n_objects is not None:
        raise ValueError("`n_objects` is only used with selection 'aic_true_count' or 'true_count'; "
                         "got selection='aic' with n_objects given.")
    if selection != "aic" and n_objects is None:
        raise ValueError(f"`n_objects` (the true number of objects) is required with selection={selection!r}; got None.")
    return selection


_HOST_STAGES_MAX = 1 << 18


def plain(tensor: Array, *, geometry: ArrayGeometry, numerology: Numerology, compression: str = "averaging",
          deltas: Sequence[int] = (1, 1, 1), fusion: str = "omp", selection: str | None = None,
          n_objects: int | None = None, smoothing_steps: Sequence[int] = (1, 10, 30),
          max_virtual_snapshots: int = 100, rng=None, workers: int = 1,
          root_finder: str = "aberth", refine: bool = False) -> PlainResult:
    r"""PLAIN: paired (angle, path length, velocity) estimates from one OFDM channel tensor.

    Parameters
    ----------
    tensor : array, shape (N_R, N_K, N_T) or (S, N_R, N_K, N_T), complex
        Per-RE channel estimate :math:`\mathcal H` (antenna × subcarrier × OFDM symbol), e.g.
        ``IsacDataset.channel_estimate``; an optional leading snapshot mode.
    geometry : sensing.ArrayGeometry
        The receive ULA (``sensing.ula(N_R, d_a)``, along :math:`y`).
    numerology : sensing.Numerology
        Gives :math:`\lambda`, :math:`\Delta f`, :math:`T_O` and the first subcarrier frequency.
    compression : {"averaging", "none", "decimation", "shifted_decimation", "smoothing"}, default="averaging"
        Stage 1 (see :func:`plain_compress`).
    deltas : sequence of 3 int, default=(1, 1, 1)
        :math:`\Delta` for (space, frequency, time); each divides its size. The released example
        uses (1, 4, 14). Unambiguous after compression: :math:`|\sin\phi| \le \lambda/(2d_a\Delta_1)`,
        path length :math:`< c/(\Delta f\Delta_2)`, :math:`|f_D| < 1/(2T_O\Delta_3)`.
    fusion : {"omp", "ls"}, default="omp"
        Tensor-OMP (greedy, Tucker refit) or Tensor-LS (one Tucker LS core, largest entries).
    selection : {"aic", "aic_true_count", "true_count"}, optional
        ``"aic"``: AIC per mode, report :math:`\max_m K_m` objects (reference mode 0);
        ``"aic_true_count"``: AIC per mode, report ``n_objects`` (mode 1, the released default);
        ``"true_count"``: ``n_objects`` candidates in every mode (mode 2). Default:
        ``"aic_true_count"`` when ``n_objects`` is given, else ``"aic"``.
    n_objects : int, optional
        True number of objects :math:`N_P` for the last two selection modes.
    smoothing_steps, max_virtual_snapshots, rng
        Passed to :func:`plain_compress`.
    workers : int, default=1
        Threads for the three independent per-mode estimations (NumPy/LAPACK release the GIL;
        pays off only without compression).
    root_finder : {"aberth", "numpy"}, default="aberth"
        Polynomial roots of root-MUSIC: an Aberth-Ehrlich iteration (PLAIN's Jacobi-form numba
        kernel; where it does not converge, the subspace toolbox's Gauss-Seidel one, then
        ``numpy.roots``) or ``numpy.roots`` (companion-matrix eigenvalues, as MATLAB's ``roots``
        in the reference code). Same roots; Aberth costs :math:`O(n^2)` per sweep against the
        companion matrix's :math:`O(n^3)`.
    refine : bool, default=False
        **Extension, not part of PLAIN.** After fusion, re-estimate every object's parameter in
        each dimension from its own component (the other objects projected out through the other
        two dimensions; single-tone ML within half a Rayleigh cell; two Gauss-Seidel sweeps), then
        refit the gains on the rank-:math:`P` CP model (:mod:`._plain_refine`). It repairs what
        the decoupled stage 2 cannot resolve: objects closer than about half a Rayleigh cell in
        one dimension (merged by the AIC, or pulled by the stronger neighbour's harmonic), which
        the fusion only pairs and never moves. The paired ``indices`` and the ``candidates`` stay
        those of stages 2-3; the values, ``core_gains``, ``powers`` and ``residual`` are the
        refined ones.

    Returns
    -------
    PlainResult
        Fewer than the requested objects when the candidate product holds fewer triples.

    Raises
    ------
    ValueError
        Wrong tensor rank or sizes, :math:`\Delta` not dividing a size, ``n_objects`` that no mode
        can resolve, inconsistent selection options.

    Notes
    -----
    For CuPy (and other non-NumPy) input, stage 1 runs on the device; a compressed tensor of at
    most :data:`_HOST_STAGES_MAX` entries (the released example's 16 x 45 x 40) then moves to the
    host for stages 2-3, where they are an order of magnitude faster than as hundreds of small
    GPU kernels, and the result arrays move back, so the estimates equal NumPy's. Larger
    compressed tensors stay on the device; there each mode's polynomial root-finding runs on the
    host (Aberth-Ehrlich iteration on a :math:`(2N'_m-1)`-term polynomial) and only the
    :math:`N'_m\times N'_m` covariances and the fusion's small correlation tensors' arg-max cross.

    On NumPy complex128 input the hot steps are numba kernels, each with a NumPy twin that the
    other namespaces run: block averaging, the real form of the FB covariance
    (:func:`_real_fb_eig`), the information criterion, root-MUSIC and the Tensor-OMP loop
    (inverse refits when every candidate Gram has a condition number up to
    :data:`_OMP_MAX_COND`).

    References
    ----------
    B. Tahir, P. Svoboda, M. Rupp, "PLAIN: Scalable Estimation Architecture for Integrated Sensing
    and Communication," arXiv:2503.21242, 2025.

    Examples
    --------
    Three one-way paths (delay, Doppler, azimuth) through an 8-element ULA, 64 subcarriers of
    120 kHz and 32 OFDM symbols:

    >>> import numpy as np
    >>> from channels import Paths, cfr_from_paths
    >>> from sensing import Numerology, ula
    >>> from estimators import plain
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0, 0.7j, -0.5]), np.array([100e-9, 400e-9, 700e-9]),
    ...                           np.array([2000.0, -3000.0, 500.0]), np.array([-0.5, 0.1, 0.6]))
    >>> h = cfr_from_paths(paths, g, num)
    >>> h = h + 0.05 * (np.random.default_rng(0).standard_normal(h.shape) + 0j)
    >>> res = plain(h, geometry=g, numerology=num, deltas=(1, 2, 2), n_objects=3)
    >>> np.round(res.azimuths_rad, 2), np.round(res.delays_s * 1e9), np.round(res.doppler_hz, -2)
    (array([-0.5,  0.1,  0.6]), array([100., 400., 700.]), array([ 2000., -3000.,   500.]))
    >>> np.round(res.path_lengths_m, 1)                  # c * delay
    array([ 30. , 119.9, 209.9])
    """
    t_start = time.perf_counter()
    # With NumPy averaging the finiteness check runs on the 1/prod(deltas) smaller averaged tensor
    # (NaN/inf propagate through block means); only a hit re-scans the input for the message.
    defer_finite = is_numpy_namespace(get_xp(tensor)) and compression == "averaging"
    xp, x, squeeze = tensor_iv(tensor, finite=not defer_finite)
    selection = plain_iv(geometry, numerology, x.shape[1:], compression, fusion, selection, n_objects)
    d = deltas_iv(deltas, tuple(int(s) for s in x.shape[1:]), compression)
    steps = steps_iv(smoothing_steps)
    cap = check_int(max_virtual_snapshots, "max_virtual_snapshots", low=1)
    workers = check_int(workers, "workers", low=1, high=3)
    check_choice(root_finder, "root_finder", ("aberth", "numpy"))
    refine = _refine_iv(refine)
    _sizes_iv(tuple(int(s) // dm for s, dm in zip(x.shape[1:], d)), selection, n_objects,
              f"(sizes {tuple(int(s) for s in x.shape[1:])}, deltas {d})")

    # ---- stage 1
    t0 = time.perf_counter()
    comp = compress(xp, x, compression, d, steps, cap, rng, squeeze=squeeze)
    y = comp.tensor
    if defer_finite and not bool(np.all(np.isfinite(y))):
        check_finite(x, "tensor")            # raises, naming the NaN/inf count of the input
        raise ValueError("`tensor` overflows to inf when block-averaged (entries near 1e308); scale it down.")
    sync(y)
    t_comp = time.perf_counter() - t0
    return _stages(xp, comp, squeeze, geometry=geometry, numerology=numerology, fusion=fusion, selection=selection,
                   n_objects=n_objects, workers=workers, root_finder=root_finder, refine=refine,
                   t_start=t_start, t_comp=t_comp)


def plain_from_compressed(compressed: CompressedTensor, *, geometry: ArrayGeometry, numerology: Numerology,
                          fusion: str = "omp", selection: str | None = None, n_objects: int | None = None,
                          workers: int = 1, root_finder: str = "aberth", refine: bool = False) -> PlainResult:
    r"""PLAIN stages 2 and 3 on an already compressed tensor (the output of :func:`plain_compress`).

    ``plain(h, compression=c, deltas=d, ...)`` equals
    ``plain_from_compressed(plain_compress(h, method=c, deltas=d), ...)`` exactly (same code
    after stage 1). Use it to reuse one compression for several fusion or selection settings, or
    to study stages 2-3 in isolation.

    Parameters
    ----------
    compressed : CompressedTensor
        From :func:`plain_compress` (any method). Its ``input_shape`` (antenna, subcarrier,
        symbol sizes of the tensor that was compressed) must match ``geometry`` and
        ``numerology``, and its tensor must have the sizes its method and ``deltas`` imply.
    geometry, numerology, fusion, selection, n_objects, workers, root_finder, refine
        As in :func:`plain`.

    Returns
    -------
    PlainResult
        ``timings.compression_s`` is 0; ``gains`` is 1-D when the compressed input was 3-D (for
        a hand-built CompressedTensor without ``input_shape``: when it has one input snapshot).

    Raises
    ------
    TypeError
        ``compressed`` is not a :class:`CompressedTensor`.
    ValueError
        A compressed tensor whose sizes do not fit the array/numerology (or its own method and
        deltas), and the checks of :func:`plain`.

    Examples
    --------
    One compression, both fusions:

    >>> import numpy as np
    >>> from channels import Paths, cfr_from_paths
    >>> from sensing import Numerology, ula
    >>> from estimators import plain, plain_compress, plain_from_compressed
    >>> num = Numerology(28e9, 120e3, 64, 32)
    >>> g = ula(8, num.wavelength_m / 2)
    >>> paths = Paths.from_arrays(np.array([1.0, 0.7j]), np.array([100e-9, 400e-9]),
    ...                           np.array([2000.0, -3000.0]), np.array([-0.5, 0.1]))
    >>> h = cfr_from_paths(paths, g, num)
    >>> comp = plain_compress(h, method="averaging", deltas=(1, 2, 2))
    >>> omp = plain_from_compressed(comp, geometry=g, numerology=num, n_objects=2)
    >>> ls = plain_from_compressed(comp, geometry=g, numerology=num, n_objects=2, fusion="ls")
    >>> np.round(omp.doppler_hz, -1), np.round(ls.doppler_hz, -1)
    (array([ 2000., -3000.]), array([ 2000., -3000.]))
    >>> ref = plain(h, geometry=g, numerology=num, deltas=(1, 2, 2), n_objects=2)
    >>> bool(np.array_equal(ref.velocities_mps, omp.velocities_mps))
    True
    """
    t_start = time.perf_counter()
    if not isinstance(compressed, CompressedTensor):
        raise TypeError("`compressed` must be a CompressedTensor (from estimators.plain_compress); "
                        f"got {type(compressed).__name__}.")
    y = compressed.tensor
    xp = get_xp(y)
    check_array(y, "compressed.tensor", kind=("complex floating",), finite=True, xp=xp)
    check_choice(compressed.method, "compressed.method", COMPRESSIONS)
    if y.ndim != 4:
        raise ValueError(f"`compressed.tensor` must have 4 dimensions (snapshot, antenna, subcarrier, symbol); "
                         f"got shape {tuple(y.shape)}.")
    small = tuple(int(s) for s in y.shape[1:])
    d = tuple(int(v) for v in compressed.deltas)
    shape_in = compressed.input_shape
    if shape_in is None:
        if compressed.method == "smoothing":
            raise ValueError("`compressed.input_shape` is required for method 'smoothing' (the original sizes "
                             "cannot be inferred from the subtensors); use plain_compress.")
        shape_in = tuple(n * dm for n, dm in zip(small, d))
        if int(compressed.n_input_snapshots) != 1:
            shape_in = (int(compressed.n_input_snapshots),) + shape_in
    shape_in = tuple(int(n) for n in shape_in)
    if len(shape_in) not in (3, 4):
        raise ValueError(f"`compressed.input_shape` must have 3 or 4 entries; got {shape_in}.")
    squeeze = len(shape_in) == 3
    dims = shape_in[-3:]
    selection = plain_iv(geometry, numerology, dims, compressed.method, fusion, selection, n_objects,
                         name="`compressed` must come from a tensor of")
    n_v = compressed.n_virtual
    s_in = int(compressed.n_input_snapshots)
    if int(y.shape[0]) != s_in * n_v or (not squeeze and shape_in[0] != s_in):
        raise ValueError(f"`compressed.tensor` has {int(y.shape[0])} snapshots; its {s_in} input snapshot(s) x "
                         f"{n_v} virtual snapshot(s) give {s_in * n_v}.")
    if compressed.method == "smoothing":
        offs = np.asarray(compressed.offsets)
        if d != (1, 1, 1) or np.any(offs.max(axis=0) + np.asarray(small) > np.asarray(dims)):
            raise ValueError(f"`compressed.tensor` subtensors of sizes {small} at the recorded shifts do not fit the "
                             f"(antenna, subcarrier, symbol) sizes {dims} of `geometry` and `numerology`.")
    else:
        want = tuple(n // dm if n % dm == 0 else None for n, dm in zip(dims, d))
        if want != small:
            raise ValueError(f"`compressed.tensor` has (antenna, subcarrier, symbol) sizes {small}; `geometry` and "
                             f"`numerology` with deltas {d} ({compressed.method}) give {want}.")
    workers = check_int(workers, "workers", low=1, high=3)
    check_choice(root_finder, "root_finder", ("aberth", "numpy"))
    refine = _refine_iv(refine)
    _sizes_iv(small, selection, n_objects, f"(deltas {d}, method {compressed.method!r})")
    return _stages(xp, compressed, squeeze, geometry=geometry, numerology=numerology, fusion=fusion,
                   selection=selection, n_objects=n_objects, workers=workers, root_finder=root_finder,
                   refine=refine, t_start=t_start, t_comp=0.0)


def _requested_deltas(comp: CompressedTensor) -> tuple[int, int, int]:
    """The deltas that produced a smoothing CompressedTensor: N_m // N'_m (its own deltas are 1)."""
    dims = comp.input_shape[-3:]
    return tuple(int(n) // int(s) for n, s in zip(dims, comp.tensor.shape[1:]))


def _refine_iv(refine) -> bool:
    if not isinstance(refine, (bool, np.bool_)):
        raise TypeError(f"`refine` must be True or False; got {refine!r}.")
    return bool(refine)


def _sizes_iv(small, selection, n_objects, where: str) -> None:
    if n_objects is not None:
        limit = min(small) - 1 if selection == "true_count" else math.prod(n - 1 for n in small)
        why = ("every mode needs a noise subspace: min(N'_m) - 1 with compressed sizes "
               f"{small}") if selection == "true_count" else \
            f"at most prod(N'_m - 1) triples with compressed sizes {small}"
        check_int(n_objects, "n_objects", low=1, high=max(limit, 1), why=why)
        if limit < 1:
            raise ValueError(f"`n_objects` cannot be resolved: a compressed size is 1 ({small}).")
    if min(small) < 2:
        raise ValueError(f"every compressed size must be >= 2 for subspace estimation; got {small} {where}.")


def _stages(xp, comp, squeeze, *, geometry, numerology, fusion, selection, n_objects, workers, root_finder,
            refine, t_start, t_comp) -> PlainResult:
    """Stages 2 and 3 (and the optional refinement) on a validated CompressedTensor."""
    y = comp.tensor
    # ---- stages 2 and 3 on the host when the compressed tensor is small (other namespaces)
    device_xp = xp
    host_stages = not is_numpy_namespace(xp) and math.prod(y.shape) <= _HOST_STAGES_MAX
    if host_stages:
        y = to_numpy(y)
        xp = get_xp(y)

    # ---- stage 2 (independent per mode)
    if is_numpy_namespace(xp) and y.dtype == np.complex128:
        y = np.ascontiguousarray(y)                # decimation gives a strided view: copy once
    order = n_objects if selection == "true_count" else None
    kw = dict(spacing_m=float(geometry.spacing_m[0]), numerology=numerology, root_finder=root_finder)
    jobs = [(m, dict(delta=comp.deltas[m], **kw)) for m in range(3)]
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outs = list(pool.map(lambda j: mode_stage(xp, y, j[0], order, **j[1]), jobs))
    else:
        outs = [mode_stage(xp, y, m, order, **kw_m) for m, kw_m in jobs]
    cands = tuple(o[0] for o in outs)
    t_modes = tuple(o[1] for o in outs)

    # ---- stage 3
    t0 = time.perf_counter()
    n_sel = max(c.n_candidates for c in cands) if selection == "aic" else int(n_objects)
    if any(c.n_candidates == 0 for c in cands):
        idx = np.zeros((0, 3), np.int64)
        core_gains = xp.zeros((y.shape[0], 0), dtype=y.dtype)
        powers = xp.zeros((0,), dtype=xp.float64)
        resid = y
    else:
        dicts = [dictionary(xp, c.omegas, int(y.shape[m + 1]), y.dtype) for m, c in enumerate(cands)]
        fuse = tensor_omp if fusion == "omp" else tensor_ls
        idx, core_gains, powers, resid = fuse(xp, y, dicts, n_sel)

    values = [cands[m].values[idx[:, m]] for m in range(3)]
    if refine and idx.shape[0]:
        # ---- extension: per-object refinement of the paired triples (host), then a CP LS refit
        yh = np.asarray(to_numpy(y), dtype=np.complex128)
        w0 = np.stack([cands[m].omegas[idx[:, m]] for m in range(3)])
        w = refine_objects(yh, w0)
        for m in range(3):
            om, vals, keep = map_mode(m, w[m], delta=comp.deltas[m], numerology=numerology, **{
                "spacing_m": float(geometry.spacing_m[0])})
            full = np.where(keep, 0.0, values[m])
            full[keep] = vals
            w[m, ~keep] = w0[m, ~keep]
            w[m, keep] = om
            values[m] = full
        g_cp, r_cp = cp_refit(yh, w)
        core_gains = asarray_like(g_cp, xp, dtype=xp.complex128)
        powers = xp.mean(xp.abs(core_gains) ** 2, axis=0)
        resid = asarray_like(r_cp, xp, dtype=xp.complex128)
    sync(resid)
    if host_stages:
        xp = device_xp
        core_gains, powers, resid = (asarray_like(a, xp) for a in (core_gains, powers, resid))
    t_fuse = time.perf_counter() - t0

    az, dist, vel = values
    tau = dist / SPEED_OF_LIGHT
    fd = vel * numerology.carrier_hz / SPEED_OF_LIGHT
    fine = np.stack([2 * np.pi * geometry.spacing_m[0] / numerology.wavelength_m * np.sin(az),
                     -2 * np.pi * numerology.subcarrier_spacing_hz * tau,
                     2 * np.pi * fd * numerology.symbol_duration_s])             # (3, P)
    f0 = float(numerology.subcarrier_frequencies_hz[0])
    g = physical_gains(to_numpy(core_gains), fine, comp, f0, tau)
    rdt = xp.float64

    def dev(a, dtype=rdt):
        return asarray_like(np.asarray(a), xp, dtype=dtype)

    gains = dev(g[0] if squeeze else g, xp.complex128)
    total = time.perf_counter() - t_start
    return PlainResult(
        azimuths_rad=dev(az), path_lengths_m=dev(dist), velocities_mps=dev(vel), delays_s=dev(tau),
        doppler_hz=dev(fd), gains=gains, core_gains=xp.astype(core_gains, xp.complex128),
        powers=xp.astype(powers, xp.float64), indices=dev(idx, xp.int64), candidates=cands,
        residual=xp.astype(resid, xp.complex128), compression=comp.method, fusion=fusion,
        selection=selection, deltas=tuple(int(v) for v in comp.deltas) if comp.method != "smoothing" else
        _requested_deltas(comp), compressed_shape=tuple(int(s) for s in y.shape),
        timings=PlainTimings(t_comp, t_modes, t_fuse, total))


def sync(a) -> None:
    """Wait for queued GPU work before reading the clock (no-op on the host)."""
    if is_cupy_array(a):
        a.device.synchronize()
