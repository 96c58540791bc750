r"""Optional ray-traced sites: Sionna RT scenes -> :class:`channels.Paths`, cached to HDF5.

Needs the ``rt`` extra (``pip install 'subspace-sensing[rt]'``, i.e. ``sionna-rt``) and, on a
CPU, an LLVM that Dr.Jit can use: on Debian 12 install ``libllvm19`` (``apt-get install -y
libllvm19``); older libLLVM versions (14/15) cannot lower the ``llvm.minimum`` intrinsic that
Dr.Jit 1.5 emits and abort the process at the first path computation. Nothing else in the
package imports Sionna.

The adapter traces with single isotropic antennas (``synthetic_array=True``; a ``"cross"``
polarised transmitter for dual polarisation), converts every valid path to the conventions of
the city model (:mod:`channels._city`) — BS-side angles in the BS's local frame as ``aoa_*``,
UE-side arrival directions as ``aod_*``, the complex coefficient times the carrier phase
:math:`e^{-j2\pi f_c\tau}` (Sionna's baseband-equivalent coefficient, as in ``Paths.cir``) as
the gain, the two polarisation coefficients as ``polarization`` — applies the same
TR 38.901 element pattern, and leaves the array response to :func:`channels.cfr_from_paths`, so
ray-traced and geometric sites share the CSI synthesis (:func:`sionna_rt_channel`).

Receivers are traced in batches (``batch_size``, default 40): in sionna-rt 2.2 a
``PathSolver`` call with thousands of receivers silently drops paths. Results are cached
in an HDF5 file together with the scene, solver parameters, seed and package versions; a cache
is reused only when all of them and the user positions match.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sensing import SPEED_OF_LIGHT, ArrayGeometry, check_bool, check_float, check_int

from ._city import PATH_LOS, PATH_WALL, CityChannel, assemble, frame, port_array, positions_iv, synthesize_csi

__all__ = ["RTSite", "sionna_rt_available", "sionna_rt_paths", "sionna_rt_channel", "surface_heights"]

_LLVM_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1", "/usr/lib/x86_64-linux-gnu/libLLVM-19.so",
                    "/usr/lib/aarch64-linux-gnu/libLLVM.so.19.1")


def _llvm_ok() -> bool:
    """True when an LLVM >= 17 is available to Dr.Jit's CPU backend (or DRJIT_LIBLLVM_PATH is set)."""
    if os.environ.get("DRJIT_LIBLLVM_PATH"):
        return True
    for c in _LLVM_CANDIDATES:
        if os.path.exists(c):
            os.environ["DRJIT_LIBLLVM_PATH"] = c
            return True
    for c in glob.glob("/usr/lib/*/libLLVM*.so*"):
        parts = [p for p in os.path.basename(c).replace("-", ".").split(".") if p.isdigit()]
        if parts and int(parts[0]) >= 17:
            os.environ["DRJIT_LIBLLVM_PATH"] = c
            return True
    return False


def sionna_rt_available() -> bool:
    """True when ``sionna.rt`` imports and a usable LLVM (or a CUDA GPU variant) is present.

    Examples
    --------
    >>> from channels import sionna_rt_available
    >>> isinstance(sionna_rt_available(), bool)           # False without the sionna-rt extra
    True
    """
    try:
        import importlib.util

        if importlib.util.find_spec("sionna") is None or importlib.util.find_spec("sionna.rt") is None:
            return False
    except (ImportError, ValueError):
        return False
    return _llvm_ok()


def _require():
    if not sionna_rt_available():
        raise ImportError("the Sionna RT adapter needs sionna-rt (pip install 'subspace-sensing[rt]') and, on "
                          "CPU, Debian's libllvm19 (apt-get install -y libllvm19).")
    import sionna.rt as rt

    return rt


@dataclass(frozen=True)
class RTSite:
    """A ray-traced site: a built-in Sionna RT scene and a BS.

    Parameters
    ----------
    scene : str
        Built-in scene name (``sionna.rt.scene.<name>``: munich, etoile, florence,
        san_francisco, simple_street_canyon, ...).
    bs_position_m : tuple of 3 float
        BS (array centre) position in the scene frame [m].
    bs_azimuth_rad, bs_downtilt_rad : float, default=0
        Boresight azimuth and mechanical downtilt (as :class:`channels.CitySite`).
    carrier_hz : float, default=3.5e9
    n1, n2 : int, default=4, 4
        UPA columns / rows per polarisation (the array is synthesised by cfr_from_paths).
    dual_polarized : bool, default=True
    max_depth : int, default=3
    samples_per_src : int, default=200_000
        Rays launched per source (state it with every dataset: diffraction is not converged).
    batch_size : int, default=40
        Receivers per PathSolver call.
    seed : int, default=42
    diffuse_reflection, diffraction : bool, default=False

    Examples
    --------
    >>> from channels import RTSite
    >>> site = RTSite("munich", (8.5, 21.0, 27.0), n1=4, n2=2)   # a description: needs no sionna
    >>> site.name, site.n_ports, site.bs_array().n_elements
    ('rt:munich', 16, 8)
    >>> RTSite("munich", (0.0, 0.0))
    Traceback (most recent call last):
        ...
    ValueError: `bs_position_m` must have 3 coordinates; got (0.0, 0.0).
    """

    scene: str
    bs_position_m: tuple[float, float, float]
    bs_azimuth_rad: float = 0.0
    bs_downtilt_rad: float = 0.0
    carrier_hz: float = 3.5e9
    n1: int = 4
    n2: int = 4
    dual_polarized: bool = True
    max_depth: int = 3
    samples_per_src: int = 200_000
    batch_size: int = 40
    seed: int = 42
    diffuse_reflection: bool = False
    diffraction: bool = False

    def __post_init__(self):
        if not isinstance(self.scene, str) or not self.scene:
            raise ValueError(f"`scene` must be a built-in Sionna RT scene name; got {self.scene!r}.")
        if len(self.bs_position_m) != 3:
            raise ValueError(f"`bs_position_m` must have 3 coordinates; got {self.bs_position_m!r}.")
        for v in self.bs_position_m:
            check_float(v, "bs_position_m")
        check_float(self.bs_azimuth_rad, "bs_azimuth_rad")
        check_float(self.bs_downtilt_rad, "bs_downtilt_rad", low=-math.pi / 2, high=math.pi / 2)
        check_float(self.carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
        check_int(self.n1, "n1", low=1)
        check_int(self.n2, "n2", low=1)
        check_bool(self.dual_polarized, "dual_polarized")
        check_int(self.max_depth, "max_depth", low=0)
        check_int(self.samples_per_src, "samples_per_src", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.seed, "seed", low=0)
        check_bool(self.diffuse_reflection, "diffuse_reflection")
        check_bool(self.diffraction, "diffraction")

    @property
    def name(self) -> str:
        return f"rt:{self.scene}"

    @property
    def n_polarizations(self) -> int:
        return 2 if self.dual_polarized else 1

    @property
    def n_ports(self) -> int:
        return self.n_polarizations * self.n1 * self.n2

    @property
    def wavelength_m(self) -> float:
        return SPEED_OF_LIGHT / self.carrier_hz

    def bs_array(self) -> ArrayGeometry:
        """Element positions (one polarisation) in TS 38.214 port order, element 0 at the origin."""
        return port_array(self.n1, self.n2, self.wavelength_m)

    def bs_frame(self) -> np.ndarray:
        return frame(self.bs_azimuth_rad, self.bs_downtilt_rad)


@dataclass(frozen=True)
class _RTCache:
    """HDF5 cache of traced paths (flat valid-path lists + the trace parameters)."""

    site: RTSite
    positions_m: np.ndarray = field(repr=False)
    user: np.ndarray = field(repr=False)
    gain: np.ndarray = field(repr=False)
    length: np.ndarray = field(repr=False)
    bs_dir: np.ndarray = field(repr=False)
    ue_dir: np.ndarray = field(repr=False)
    pol: np.ndarray = field(repr=False)
    kind: np.ndarray = field(repr=False)
    versions: str = ""


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("sionna-rt", "mitsuba", "drjit"):
        try:
            out.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:  # pragma: no cover
            out.append(f"{pkg}==?")
    return ";".join(out)


def _unit_from_angles(theta, phi):
    st = np.sin(theta)
    return np.stack([st * np.cos(phi), st * np.sin(phi), np.cos(theta)], axis=-1)


def _load_scene(rt, site: RTSite):
    if not hasattr(rt.scene, site.scene):
        raise ValueError(f"`scene` must be a built-in Sionna RT scene; got {site.scene!r}.")
    scene = rt.load_scene(getattr(rt.scene, site.scene), merge_shapes=True)
    scene.frequency = site.carrier_hz
    return scene


def _trace(site: RTSite, ue: np.ndarray) -> dict:
    """Trace every user (in batches); return flat valid paths as :func:`channels._city.assemble` takes
    them."""
    rt = _require()
    scene = _load_scene(rt, site)
    scene.tx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso",
                                    polarization="cross" if site.dual_polarized else "V")
    scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
    scene.add(rt.Transmitter("bs", position=[float(v) for v in site.bs_position_m]))
    solver = rt.PathSolver()
    out = {k: [] for k in ("user", "gain", "length", "bs_dir", "ue_dir", "pol", "kind")}
    names: list[str] = []
    for start in range(0, len(ue), site.batch_size):
        for n in names:
            scene.remove(n)
        batch = ue[start:start + site.batch_size]
        names = [f"ue{start + i}" for i in range(len(batch))]
        for n, p in zip(names, batch):
            scene.add(rt.Receiver(n, position=[float(v) for v in p]))
        paths = solver(scene, max_depth=site.max_depth, samples_per_src=site.samples_per_src,
                       synthetic_array=True, los=True, specular_reflection=True,
                       diffuse_reflection=site.diffuse_reflection, refraction=False,
                       diffraction=site.diffraction, seed=site.seed)
        ar, ai = paths.a
        a = np.array(ar, dtype=np.float64) + 1j * np.array(ai, dtype=np.float64)   # (R, 1, 1, n_txant, P)
        a = a[:, 0, 0]                                                              # (R, n_pol, P)
        valid = np.array(paths.valid, dtype=bool)[:, 0]                             # (R, P)
        tau = np.array(paths.tau, dtype=np.float64)[:, 0]
        # Sionna's `a` leaves out the propagation phase; our gains carry e^{-j 2 pi f_c tau}
        # (as Sionna's own baseband CIR, Paths.cir)
        a = a * np.exp(-2j * np.pi * site.carrier_hz * np.where(valid, tau, 0.0))[:, None, :]
        th_t = np.array(paths.theta_t, dtype=np.float64)[:, 0]
        ph_t = np.array(paths.phi_t, dtype=np.float64)[:, 0]
        th_r = np.array(paths.theta_r, dtype=np.float64)[:, 0]
        ph_r = np.array(paths.phi_r, dtype=np.float64)[:, 0]
        inter = np.array(paths.interactions)[:, :, 0]                               # (depth, R, P)
        r_idx, p_idx = np.nonzero(valid & (np.sum(np.abs(a) ** 2, axis=1) > 0))
        av = a[r_idx, :, p_idx]                                                     # (n, n_pol)
        out["user"].append(start + r_idx)
        if site.dual_polarized:  # gain = |a| and unit-power polarisation coefficients a / |a|
            norm = np.linalg.norm(av, axis=1)
            out["gain"].append(norm.astype(complex))
            out["pol"].append(av / norm[:, None])
        else:
            out["gain"].append(av[:, 0])
            out["pol"].append(np.column_stack([np.ones(len(av)), np.zeros(len(av))]).astype(complex))
        out["length"].append(tau[r_idx, p_idx] * SPEED_OF_LIGHT)
        out["bs_dir"].append(_unit_from_angles(th_t[r_idx, p_idx], ph_t[r_idx, p_idx]))
        out["ue_dir"].append(_unit_from_angles(th_r[r_idx, p_idx], ph_r[r_idx, p_idx]))
        los = np.all(inter[:, r_idx, p_idx] == 0, axis=0) if inter.size else np.ones(len(r_idx), bool)
        out["kind"].append(np.where(los, PATH_LOS, PATH_WALL))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def sionna_rt_paths(site: RTSite, positions_m, *, max_paths: int = 64, cache_path: str | os.PathLike | None = None,
                    element_pattern: bool = True) -> CityChannel:
    """Ray-traced multipath of users at ``positions_m`` (scene frame), as a :class:`CityChannel`.

    Parameters
    ----------
    site : RTSite
    positions_m : array, shape (n_users, 3)
        UE positions [m]; in hilly scenes place them on the terrain (:func:`surface_heights`).
    max_paths : int, default=64
        Strongest paths kept per user.
    cache_path : path, optional
        HDF5 cache: reused when the site parameters, positions and package versions match,
        written (atomically) otherwise.
    element_pattern : bool, default=True
        Apply the TR 38.901 element pattern of the city model (False: isotropic elements).

    Returns
    -------
    CityChannel
        ``csi=None``; ``path_kind`` 1 for LoS, 3 for every other traced path; ``los`` per user.
    """
    if not isinstance(site, RTSite):
        raise TypeError(f"`site` must be an RTSite; got {type(site).__name__}.")
    ue = positions_iv(positions_m)
    max_paths = check_int(max_paths, "max_paths", low=1)
    flat = None
    if cache_path is not None:
        flat = _read_cache(Path(cache_path), site, ue)
    if flat is None:
        flat = _trace(site, ue)
        if cache_path is not None:
            from sensing import save_dataset

            save_dataset(Path(cache_path), _RTCache(site, ue, versions=_versions(),
                                                    **{k: np.asarray(v) for k, v in flat.items()}),
                         attrs={"source": "sionna-rt"})
    flat = dict(flat)
    flat["user"] = np.asarray(flat["user"], dtype=np.int64)
    flat["kind"] = np.asarray(flat["kind"], dtype=np.int64)
    for k in ("bs_dir", "ue_dir"):
        flat[k] = np.asarray(flat[k], dtype=float).reshape(-1, 3)
    flat["pol"] = np.asarray(flat["pol"], dtype=complex).reshape(-1, 2)
    los = np.zeros(len(ue), bool)
    los[flat["user"][flat["kind"] == PATH_LOS]] = True
    return assemble(site, ue, flat, los, max_paths, np.zeros(0), element_pattern=element_pattern)


def _read_cache(path: Path, site: RTSite, ue: np.ndarray):
    if not path.exists():
        return None
    from sensing import load_dataset

    c = load_dataset(path, _RTCache, classes=(RTSite,))
    if asdict(c.site) != asdict(site) or c.versions != _versions() or c.positions_m.shape != ue.shape \
            or not np.array_equal(c.positions_m, ue):
        return None
    return {k: getattr(c, k) for k in ("user", "gain", "length", "bs_dir", "ue_dir", "pol", "kind")}


def sionna_rt_channel(site: RTSite, positions_m, *, n_subbands: int = 13, prbs_per_subband: int = 4,
                      subcarrier_spacing_hz: float = 30e3, max_paths: int = 64,
                      cache_path: str | os.PathLike | None = None) -> CityChannel:
    """Ray-traced CSI (BS ports x subbands) and paths, synthesised exactly as :func:`channels.city_channel`."""
    check_int(n_subbands, "n_subbands", low=1)
    out = sionna_rt_paths(site, positions_m, max_paths=max_paths, cache_path=cache_path)
    return synthesize_csi(site, out, n_subbands, prbs_per_subband, subcarrier_spacing_hz)


def surface_heights(scene: str, xy, *, carrier_hz: float = 3.5e9, top_m: float = 1e4) -> np.ndarray:
    """Height of the first surface below ``top_m`` at each 2-D point (ray cast straight down).

    Gives the terrain height in open areas of hilly scenes such as ``san_francisco`` (add the UE
    height to it); over buildings it returns the roof. NaN where nothing is hit.

    Parameters
    ----------
    scene : str
    xy : array, shape (n, 2) [m]
    """
    rt = _require()
    import mitsuba as mi

    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"`xy` must have shape (n, 2); got {xy.shape}.")
    sc = _load_scene(rt, RTSite(scene, (0.0, 0.0, 0.0), carrier_hz=carrier_hz))
    n = len(xy)
    o = mi.Point3f(mi.Float(xy[:, 0]), mi.Float(xy[:, 1]), mi.Float(np.full(n, top_m)))
    d = mi.Vector3f(mi.Float(np.zeros(n)), mi.Float(np.zeros(n)), mi.Float(-np.ones(n)))
    si = sc.mi_scene.ray_intersect(mi.Ray3f(o, d))
    t = np.array(si.t, dtype=float)
    hit = np.array(si.is_valid(), dtype=bool)
    return np.where(hit, top_m - t, np.nan)
