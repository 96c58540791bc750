r"""A native, spatially consistent geometric city model with ten-plus built-in sites.

Each site is a frozen layout: a BS (position, height,
boresight, downtilt, a dual-polarised UPA), buildings as axis-aligned boxes in the site frame
(footprint + height), a spatially correlated shadow-fading field, and a fixed set of scatterer
clusters, each with a visibility region (COST 2100). For a user position the model returns the
multipath :class:`~channels.Paths` — the line of sight (blocked by buildings), a ground
reflection, first-order specular facade reflections (image method, both legs tested for
blockage) and the rays of every cluster whose visibility region contains the user — and the CSI
through :func:`channels.cfr_from_paths`. Everything is a deterministic function of (site,
position): the same position gives the same channel, neighbours share walls and clusters, and
channels change smoothly with position (only the carrier phase varies on the wavelength scale).
Sites differ in layout (street grid, building size/height/density, open areas, BS placement),
not only in a seed.

Conventions
-----------
* Site frame: :math:`x, y` horizontal [m], :math:`z` up; buildings are boxes
  ``(x_min, x_max, y_min, y_max, height)``.
* BS array: a UPA of :math:`N_1` columns (horizontal, local :math:`y'`) by :math:`N_2` rows
  (vertical, local :math:`z'`) at half-wavelength spacing, boresight :math:`x'` at azimuth
  ``bs_azimuth_rad`` tilted down by ``bs_downtilt_rad``; ports in TS 38.214 order
  ``pol * N1 N2 + n1 N2 + n2`` (:meth:`CitySite.bs_array` gives the element positions in that order).
* Paths are stored in the reciprocal (uplink) orientation so that the BS array is the
  ``rx_array`` of :func:`channels.cfr_from_paths`: ``aoa_*`` are the angles at the BS in its local
  frame (the downlink departure angles), ``aod_*`` the angles at the UE in the site frame.
* CSI: ``csi[u, p, s]`` :math:`= \mathbf h_s` with :math:`y = \mathbf h_s^H\mathbf w x`
  (so the matched beam towards a path is its steering vector) on the subband centres.
* Polarisation [Recon]: ±45° slant BS elements and a single-antenna UE; each path carries a
  unit-power 2-vector of polarisation coefficients (LoS and ground: equal on both; reflections and
  cluster rays: drop-constant random split and phases), so ``gains * polarization[..., k]`` is the
  path gain seen by polarisation ``k``.
* Element pattern: TR 38.901 Table 7.3-1 (65° beamwidths, 30 dB floor, 8 dBi), applied to the gains.

Not modelled: diffraction, second-order reflections, terrain, moving users (Doppler is zero),
multi-antenna UEs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from scipy import ndimage

from sensing import (
    HostCopy,
    SPEED_OF_LIGHT,
    ArrayGeometry,
    Numerology,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_rng,
    custom_array,
)

from ._cfr import cfr_from_paths
from ._city_kernels import segments_blocked_kernel
from ._paths import Paths

__all__ = [
    "SiteSpec",
    "CitySite",
    "CityChannel",
    "SITE_SPECS",
    "city_site_names",
    "city_site",
    "sample_user_positions",
    "city_paths",
    "city_channel",
    "subband_frequencies",
    "segments_blocked",
]

Array = Any

UE_HEIGHT_M = 1.5
PATH_LOS, PATH_GROUND, PATH_WALL, PATH_CLUSTER = 1, 2, 3, 4


# ------------------------------------------------------------------------------ site specs

@dataclass(frozen=True)
class SiteSpec:
    """The layout recipe of a built-in site (one row of :data:`SITE_SPECS`).

    Lengths in metres, angles in degrees (terminal-facing table); :func:`city_site` converts.
    ``open_regions`` removes buildings: ``("circle", cx, cy, r)``, ``("strip_x", y_c, half_width)``
    (a strip along x), ``("strip_y", x_c, half_width)``, ``("half_y", sign, y0)`` (everything with
    ``sign * (y - y0) > 0``). ``bs_at_crossing`` moves the BS to the street crossing nearest
    to ``bs_xy_m`` (a mast or block-corner rooftop that looks down two streets).
    """

    name: str
    description: str
    extent_m: float = 400.0
    block_m: tuple[float, float] = (80.0, 60.0)
    street_m: float = 20.0
    fill: float = 1.0
    subdivide: tuple[int, int] = (2, 2)
    height_m: tuple[float, float] = (15.0, 40.0)
    jitter: float = 0.0
    open_regions: tuple = ()
    bs_xy_m: tuple[float, float] = (-170.0, -150.0)
    bs_height_m: float = 30.0
    bs_azimuth_deg: float = 40.0
    bs_downtilt_deg: float = 6.0
    n_local_clusters: int = 25
    n_far_clusters: int = 4
    cluster_spread_m: float = 3.0
    transition_m: float = 15.0
    sf_std_db: float = 6.0
    sf_corr_m: float = 40.0
    bs_at_crossing: bool = False
    seed: int = 0


SITE_SPECS: dict[str, SiteSpec] = {s.name: s for s in (
    SiteSpec("manhattan", "regular grid of 80x60 m blocks, 20-60 m buildings, rooftop BS at a corner",
             block_m=(80, 60), street_m=20, height_m=(20, 60), bs_xy_m=(-170, -150), bs_height_m=45,
             bs_azimuth_deg=40, bs_downtilt_deg=6, bs_at_crossing=True, seed=101),
    SiteSpec("old-town", "irregular small blocks, narrow 8 m streets, 10-20 m buildings",
             block_m=(35, 30), street_m=8, subdivide=(2, 1), height_m=(10, 20), jitter=0.25,
             bs_xy_m=(0, -185), bs_height_m=25, bs_azimuth_deg=90, bs_downtilt_deg=9,
             n_local_clusters=36, cluster_spread_m=2.0, transition_m=10, sf_corr_m=25, bs_at_crossing=True, seed=102),
    SiteSpec("suburb", "sparse detached houses 6-10 m high, wide gaps, 20 m mast",
             block_m=(15, 12), street_m=18, fill=0.45, subdivide=(1, 1), height_m=(6, 10), jitter=0.2,
             bs_xy_m=(-180, 0), bs_height_m=20, bs_azimuth_deg=0, bs_downtilt_deg=3,
             n_local_clusters=16, cluster_spread_m=4.0, sf_std_db=4.0, sf_corr_m=60, seed=103),
    SiteSpec("plaza", "grid with a 90 m open square in the middle, 15-30 m buildings",
             block_m=(60, 60), street_m=15, height_m=(15, 30), open_regions=(("circle", 20.0, 20.0, 90.0),),
             bs_xy_m=(-175, 175), bs_height_m=35, bs_azimuth_deg=-45, bs_downtilt_deg=7, bs_at_crossing=True, seed=104),
    SiteSpec("riverside", "a 70 m open river strip crossing the area, mid-rise on both banks",
             block_m=(70, 45), street_m=15, height_m=(15, 35), open_regions=(("strip_x", 30.0, 35.0),),
             bs_xy_m=(-185, 30), bs_height_m=32, bs_azimuth_deg=5, bs_downtilt_deg=4,
             n_far_clusters=6, seed=105),
    SiteSpec("campus", "few large low buildings in open space",
             block_m=(60, 40), street_m=45, fill=0.6, subdivide=(1, 1), height_m=(10, 25), jitter=0.1,
             bs_xy_m=(-60, -180), bs_height_m=28, bs_azimuth_deg=70, bs_downtilt_deg=5,
             n_local_clusters=20, cluster_spread_m=5.0, sf_std_db=5.0, seed=106),
    SiteSpec("cbd-towers", "30x30 m towers 60-150 m high on 20 m streets, BS on a mid-rise",
             block_m=(30, 30), street_m=20, subdivide=(1, 1), height_m=(60, 150),
             bs_xy_m=(-150, -185), bs_height_m=50, bs_azimuth_deg=60, bs_downtilt_deg=8,
             n_far_clusters=8, sf_std_db=8.0, bs_at_crossing=True, seed=107),
    SiteSpec("boulevard", "a 50 m avenue along the BS boresight lined by 25-40 m buildings",
             block_m=(70, 50), street_m=12, height_m=(25, 40), open_regions=(("strip_x", 0.0, 25.0),),
             bs_xy_m=(-190, 0), bs_height_m=30, bs_azimuth_deg=0, bs_downtilt_deg=5, seed=108),
    SiteSpec("harbour", "buildings on the landward half only, open water with far scatterers",
             block_m=(50, 40), street_m=15, height_m=(10, 30), open_regions=(("half_y", -1.0, 0.0),),
             bs_xy_m=(-180, 60), bs_height_m=30, bs_azimuth_deg=-20, bs_downtilt_deg=4,
             n_local_clusters=20, n_far_clusters=8, cluster_spread_m=6.0, seed=109),
    SiteSpec("industrial", "large 80x50 m warehouses 8-14 m high, wide roads",
             block_m=(80, 50), street_m=30, fill=0.85, subdivide=(1, 1), height_m=(8, 14),
             bs_xy_m=(170, -170), bs_height_m=30, bs_azimuth_deg=135, bs_downtilt_deg=5,
             n_local_clusters=18, cluster_spread_m=6.0, sf_std_db=5.0, sf_corr_m=60, seed=110),
    SiteSpec("rotated-grid", "Manhattan-like grid seen at 15 deg off the street axis from a street-level mast",
             block_m=(55, 90), street_m=18, height_m=(18, 45), jitter=0.05,
             bs_xy_m=(-195, -40), bs_height_m=22, bs_azimuth_deg=15, bs_downtilt_deg=3, bs_at_crossing=True, seed=111),
    SiteSpec("mixed-density", "dense mid-rise west, sparse low-rise east",
             block_m=(40, 40), street_m=14, fill=0.8, subdivide=(2, 2), height_m=(8, 35), jitter=0.15,
             open_regions=(("circle", 140.0, -120.0, 70.0),),
             bs_xy_m=(-20, 185), bs_height_m=35, bs_azimuth_deg=-90, bs_downtilt_deg=7,
             n_local_clusters=30, bs_at_crossing=True, seed=112),
)}


def city_site_names() -> tuple[str, ...]:
    """Names of the built-in sites (at least ten; layouts differ, see :data:`SITE_SPECS`).

    Examples
    --------
    >>> from channels import city_site_names
    >>> names = city_site_names()
    >>> len(names) >= 10, names[:3]
    (True, ('manhattan', 'old-town', 'suburb'))
    """
    return tuple(SITE_SPECS)


# ------------------------------------------------------------------------------ the site

@dataclass(frozen=True)
class CitySite:
    """A frozen site layout (see the module docstring for the conventions).

    Attributes
    ----------
    name, description : str
    carrier_hz : float
    n1, n2 : int
        BS UPA columns / rows per polarisation.
    n_polarizations : int
        1 or 2 (ports ``n_polarizations * n1 * n2``).
    bs_position_m : ndarray, shape (3,)
    bs_azimuth_rad, bs_downtilt_rad : float
    extent_m : float
        The site is the square ``[-extent/2, extent/2]^2``.
    buildings : ndarray, shape (n_buildings, 5)
        ``(x_min, x_max, y_min, y_max, height)`` [m].
    building_reflection : ndarray, shape (n_buildings,), complex
        Facade reflection coefficient per building (drop constant).
    face_polarization : ndarray, shape (n_buildings, 4, 2), complex
        Polarisation coefficients of a reflection off each face (x_min, x_max, y_min, y_max).
    cluster_rays_m : ndarray, shape (n_clusters, n_rays, 3)
        Scatterer positions of every cluster ray.
    cluster_ray_gains : ndarray, shape (n_clusters, n_rays), complex
        Ray amplitude (unit total power per cluster) times a drop-constant phase, times the
        cluster's power offset.
    cluster_ray_polarization : ndarray, shape (n_clusters, n_rays, 2), complex
    visibility_centers_m : ndarray, shape (n_clusters, 2)
    visibility_radius_m : ndarray, shape (n_clusters,)
        Visibility-region radius; the gain falls with a raised cosine over ``transition_m``
        towards the edge (COST 2100).
    transition_m : float
    shadow_db : ndarray, shape (n_grid, n_grid)
        Shadow fading [dB] on a grid of ``shadow_spacing_m`` over the site (NLoS components).
    shadow_spacing_m : float
    ground_reflection : complex
    """

    name: str
    description: str
    carrier_hz: float
    n1: int
    n2: int
    n_polarizations: int
    bs_position_m: np.ndarray = field(repr=False)
    bs_azimuth_rad: float
    bs_downtilt_rad: float
    extent_m: float
    buildings: np.ndarray = field(repr=False)
    building_reflection: np.ndarray = field(repr=False)
    face_polarization: np.ndarray = field(repr=False)
    cluster_rays_m: np.ndarray = field(repr=False)
    cluster_ray_gains: np.ndarray = field(repr=False)
    cluster_ray_polarization: np.ndarray = field(repr=False)
    visibility_centers_m: np.ndarray = field(repr=False)
    visibility_radius_m: np.ndarray = field(repr=False)
    transition_m: float
    shadow_db: np.ndarray = field(repr=False)
    shadow_spacing_m: float
    ground_reflection: complex

    @property
    def wavelength_m(self) -> float:
        return SPEED_OF_LIGHT / self.carrier_hz

    @property
    def n_ports(self) -> int:
        return self.n_polarizations * self.n1 * self.n2

    @property
    def n_clusters(self) -> int:
        return int(self.cluster_rays_m.shape[0])

    def bs_array(self) -> ArrayGeometry:
        """BS element positions (one polarisation) in TS 38.214 port order ``n1 * N2 + n2``,
        in the array's local frame (columns along y, rows along z, half-wavelength spacing)."""
        return port_array(self.n1, self.n2, self.wavelength_m)

    def bs_frame(self) -> np.ndarray:
        """Rows: the BS local axes x' (boresight), y' (horizontal, columns), z' (rows) in the site frame."""
        return frame(self.bs_azimuth_rad, self.bs_downtilt_rad)

    def inside_buildings(self, xy) -> np.ndarray:
        """True where the 2-D points ``xy`` (..., 2) lie inside a building footprint."""
        xy = np.asarray(xy, dtype=float)
        b = self.buildings
        x, y = xy[..., 0:1], xy[..., 1:2]
        return np.any((x > b[:, 0]) & (x < b[:, 1]) & (y > b[:, 2]) & (y < b[:, 3]), axis=-1)

    def shadow_at(self, xy) -> np.ndarray:
        """Shadow fading [dB] interpolated (bilinear) at 2-D points, shape ``xy.shape[:-1]``."""
        xy = np.asarray(xy, dtype=float)
        g = (xy + self.extent_m / 2) / self.shadow_spacing_m
        coords = np.stack([g[..., 0].ravel(), g[..., 1].ravel()])
        out = ndimage.map_coordinates(self.shadow_db, coords, order=1, mode="nearest")
        return out.reshape(xy.shape[:-1])


def port_array(n1: int, n2: int, wavelength_m: float) -> ArrayGeometry:
    d = wavelength_m / 2
    c, r = np.divmod(np.arange(n1 * n2), n2)
    pos = np.zeros((n1 * n2, 3))
    pos[:, 1] = c * d
    pos[:, 2] = r * d
    return custom_array(pos)


def frame(azimuth_rad: float, downtilt_rad: float) -> np.ndarray:
    psi, tau = azimuth_rad, downtilt_rad
    xl = np.array([math.cos(psi) * math.cos(tau), math.sin(psi) * math.cos(tau), -math.sin(tau)])
    yl = np.array([-math.sin(psi), math.cos(psi), 0.0])
    zl = np.array([math.sin(tau) * math.cos(psi), math.sin(tau) * math.sin(psi), math.cos(tau)])
    return np.stack([xl, yl, zl])


def _rot_boxes(spec: SiteSpec, rng: np.random.Generator):
    """Street-grid buildings of a spec: (n, 5), and the nearest street crossing to the BS spot."""
    half = spec.extent_m / 2
    bx, by = spec.block_m
    px, py = bx + spec.street_m, by + spec.street_m
    ox, oy = rng.uniform(0, px), rng.uniform(0, py)
    xs = np.arange(-half - px + ox, half, px)
    ys = np.arange(-half - py + oy, half, py)
    cx_all = xs + bx + spec.street_m / 2
    cy_all = ys + by + spec.street_m / 2
    crossing = (float(cx_all[np.argmin(np.abs(cx_all - spec.bs_xy_m[0]))]),
                float(cy_all[np.argmin(np.abs(cy_all - spec.bs_xy_m[1]))]))
    out = []
    nsx, nsy = spec.subdivide
    gap = 2.0
    for x0 in xs:
        for y0 in ys:
            if rng.uniform() > spec.fill:
                continue
            jx = spec.jitter * bx * rng.uniform(-1, 1, 2)
            jy = spec.jitter * by * rng.uniform(-1, 1, 2)
            bx0, bx1 = x0 + max(jx[0], 0), x0 + bx + min(jx[1], 0)
            by0, by1 = y0 + max(jy[0], 0), y0 + by + min(jy[1], 0)
            wx, wy = (bx1 - bx0) / nsx, (by1 - by0) / nsy
            for i in range(nsx):
                for j in range(nsy):
                    c = [bx0 + i * wx + (gap / 2 if i else 0), bx0 + (i + 1) * wx - (gap / 2 if i < nsx - 1 else 0),
                         by0 + j * wy + (gap / 2 if j else 0), by0 + (j + 1) * wy - (gap / 2 if j < nsy - 1 else 0)]
                    c = [max(c[0], -half), min(c[1], half), max(c[2], -half), min(c[3], half)]
                    if c[1] - c[0] < 4 or c[3] - c[2] < 4:
                        continue
                    out.append(c + [rng.uniform(*spec.height_m)])
    boxes = np.array(out, dtype=float).reshape(-1, 5)
    keep = np.ones(len(boxes), bool)
    cy = (boxes[:, 2] + boxes[:, 3]) / 2
    for reg in spec.open_regions:
        kind = reg[0]
        if kind == "circle":
            _, x0, y0, r = reg
            # remove boxes whose footprint intersects the circle
            dx = np.maximum(np.maximum(boxes[:, 0] - x0, 0), x0 - boxes[:, 1])
            dy = np.maximum(np.maximum(boxes[:, 2] - y0, 0), y0 - boxes[:, 3])
            keep &= dx ** 2 + dy ** 2 > r ** 2
        elif kind == "strip_x":
            _, yc, hw = reg
            keep &= (boxes[:, 3] < yc - hw) | (boxes[:, 2] > yc + hw)
        elif kind == "strip_y":
            _, xc, hw = reg
            keep &= (boxes[:, 1] < xc - hw) | (boxes[:, 0] > xc + hw)
        elif kind == "half_y":
            _, sign, y0 = reg
            keep &= sign * (cy - y0) <= 0
        else:  # pragma: no cover - specs are internal
            raise ValueError(f"unknown open region {kind!r}")
    return boxes[keep], crossing


def _raised_cosine_visibility(d, radius, transition):
    """COST 2100 visibility gain: 1 inside ``radius - transition``, raised cosine to 0 at ``radius``."""
    inner = radius - transition
    x = np.clip((d - inner) / transition, 0.0, 1.0)
    return 0.5 * (1 + np.cos(np.pi * x))


def city_site(name: str, *, n1: int = 4, n2: int = 4, dual_polarized: bool = True,
              carrier_hz: float = 3.5e9, n_rays: int = 8) -> CitySite:
    """Build a built-in site (deterministic: the layout depends only on the name and options).

    Parameters
    ----------
    name : str
        One of :func:`city_site_names`.
    n1, n2 : int, default=4, 4
        BS UPA columns (horizontal) and rows (vertical) per polarisation.
    dual_polarized : bool, default=True
        ±45° cross-polarised elements (``2 n1 n2`` ports) or one polarisation.
    carrier_hz : float, default=3.5e9
    n_rays : int, default=8
        Rays (point scatterers) per cluster.

    Returns
    -------
    CitySite

    Examples
    --------
    >>> from channels import city_site
    >>> site = city_site("manhattan", n1=2, n2=2)          # deterministic: same name, same layout
    >>> site.name, site.n_ports, site.buildings.shape[1], round(site.wavelength_m, 4)
    ('manhattan', 8, 5, 0.0857)
    >>> bool((city_site("manhattan", n1=2, n2=2).buildings == site.buildings).all())
    True
    >>> city_site("atlantis")
    Traceback (most recent call last):
        ...
    ValueError: `name` must be one of 'manhattan', ...; got 'atlantis'.
    """
    check_choice(name, "name", tuple(SITE_SPECS))
    n1, n2 = check_int(n1, "n1", low=1), check_int(n2, "n2", low=1)
    dual = check_bool(dual_polarized, "dual_polarized")
    fc = check_float(carrier_hz, "carrier_hz", low=0.0, low_inclusive=False)
    n_rays = check_int(n_rays, "n_rays", low=1)
    spec = SITE_SPECS[name]
    rng = np.random.default_rng(spec.seed)       # layout stream: independent of the array options
    boxes, crossing = _rot_boxes(spec, rng)
    half = spec.extent_m / 2
    bs_xy = crossing if spec.bs_at_crossing else spec.bs_xy_m
    bs = np.array([bs_xy[0], bs_xy[1], spec.bs_height_m], dtype=float)
    # a rooftop BS sits at the front edge of its host building, which stays below the antenna:
    # cut the host behind the BS (as seen along the boresight) and lower it
    psi = math.radians(spec.bs_azimuth_deg)
    host = (bs[0] > boxes[:, 0]) & (bs[0] < boxes[:, 1]) & (bs[1] > boxes[:, 2]) & (bs[1] < boxes[:, 3])
    for hb in np.nonzero(host)[0]:
        if math.cos(psi) > 0.3:
            boxes[hb, 1] = bs[0] - 1.0
        elif math.cos(psi) < -0.3:
            boxes[hb, 0] = bs[0] + 1.0
        if math.sin(psi) > 0.3:
            boxes[hb, 3] = bs[1] - 1.0
        elif math.sin(psi) < -0.3:
            boxes[hb, 2] = bs[1] + 1.0
        boxes[hb, 4] = min(boxes[hb, 4], bs[2] - 3.0)
    boxes = boxes[(boxes[:, 1] - boxes[:, 0] >= 4) & (boxes[:, 3] - boxes[:, 2] >= 4)]
    n_b = len(boxes)
    refl = -rng.uniform(0.3, 0.6, n_b) * np.exp(1j * rng.normal(0, 0.2, n_b))
    face_pol = _random_polarization(rng, (n_b, 4))

    # clusters: local ones tile the site with visibility regions, far ones sit on tall roofs
    n_loc = spec.n_local_clusters
    k = int(math.ceil(math.sqrt(n_loc)))
    s = spec.extent_m / k
    cells = [(i, j) for i in range(k) for j in range(k)]
    pick = rng.choice(len(cells), size=n_loc, replace=False)
    vc = np.array([[-half + (cells[p][0] + 0.5) * s, -half + (cells[p][1] + 0.5) * s] for p in pick])
    vc = vc + rng.uniform(-0.25 * s, 0.25 * s, vc.shape)
    vr = np.full(n_loc, 1.15 * s + spec.transition_m)
    centers = []
    for c in vc:
        centers.append(_cluster_position(c, boxes, rng))
    n_far = spec.n_far_clusters
    if n_far and n_b:
        tall = np.argsort(-boxes[:, 4])[: max(n_far * 2, 1)]
        chosen = rng.choice(tall, size=min(n_far, len(tall)), replace=False)
        for b in chosen:
            x = rng.uniform(boxes[b, 0], boxes[b, 1])
            y = rng.uniform(boxes[b, 2], boxes[b, 3])
            centers.append(np.array([x, y, boxes[b, 4] + 1.0]))
            # far clusters are seen from the whole site (they also guarantee every user some paths)
            vc = np.vstack([vc, [rng.uniform(-half / 2, half / 2), rng.uniform(-half / 2, half / 2)]])
            vr = np.append(vr, 1.5 * spec.extent_m)
    centers = np.array(centers).reshape(-1, 3)
    n_c = len(centers)
    spread = spec.cluster_spread_m
    rays = centers[:, None, :] + rng.normal(0.0, spread, (n_c, n_rays, 3)) * np.array([1.0, 1.0, 0.5])
    rays[..., 2] = np.maximum(rays[..., 2], 0.5)
    amp = rng.uniform(0.5, 1.5, (n_c, n_rays))
    amp /= np.sqrt(np.sum(amp ** 2, axis=1, keepdims=True))
    power_db = rng.normal(-4.0, 3.0, n_c)
    power_db[n_loc:] -= 4.0                                   # far clusters are weaker
    # a cluster the BS cannot see directly is reached by diffraction: 12 dB weaker
    blocked = segments_blocked(np.broadcast_to(bs, centers.shape).copy(), centers, boxes)
    power_db[blocked] -= 12.0
    gains = amp * 10 ** (power_db[:, None] / 20) * np.exp(2j * np.pi * rng.uniform(size=(n_c, n_rays)))
    ray_pol = _random_polarization(rng, (n_c, n_rays))
    # shadow fading: white noise smoothed to the correlation distance, unit variance
    spacing = 5.0
    n_grid = int(math.ceil(spec.extent_m / spacing)) + 1
    w = ndimage.gaussian_filter(rng.standard_normal((n_grid, n_grid)), spec.sf_corr_m / spacing / 2,
                                mode="wrap")
    shadow = spec.sf_std_db * w / w.std()
    ground = complex(-rng.uniform(0.3, 0.5))
    return CitySite(name, spec.description, fc, n1, n2, 2 if dual else 1, bs,
                    math.radians(spec.bs_azimuth_deg), math.radians(spec.bs_downtilt_deg), spec.extent_m,
                    boxes, refl, face_pol, rays, gains, ray_pol, vc, vr, spec.transition_m, shadow, spacing,
                    ground)


def _random_polarization(rng, shape):
    """Unit-power polarisation coefficients for the two slants: random split around 45° and phases."""
    psi = np.pi / 4 + rng.normal(0.0, 0.3, shape)
    ph = rng.uniform(0, 2 * np.pi, shape + (2,))
    return np.stack([np.cos(psi), np.sin(psi)], axis=-1) * np.exp(1j * ph)


def _cluster_position(c, boxes, rng):
    """A scatterer on the facade nearest to 2-D point ``c`` (or street furniture if none is near)."""
    if len(boxes):
        dx = np.maximum(np.maximum(boxes[:, 0] - c[0], 0), c[0] - boxes[:, 1])
        dy = np.maximum(np.maximum(boxes[:, 2] - c[1], 0), c[1] - boxes[:, 3])
        d = np.hypot(dx, dy)
        b = int(np.argmin(d))
        if d[b] < 40.0:
            x = np.clip(c[0], boxes[b, 0], boxes[b, 1])
            y = np.clip(c[1], boxes[b, 2], boxes[b, 3])
            return np.array([x, y, rng.uniform(3.0, max(min(boxes[b, 4], 25.0), 3.5))])
    return np.array([c[0] + rng.normal(0, 5), c[1] + rng.normal(0, 5), rng.uniform(2.0, 6.0)])


# --------------------------------------------------------------------------------- users

def sample_user_positions(site: CitySite, n_users: int, *, rng=None, min_distance_m: float = 20.0,
                          max_azimuth_rad: float = math.radians(60.0)) -> np.ndarray:
    """Outdoor user positions in the BS sector, uniform over the area.

    Parameters
    ----------
    site : CitySite
    n_users : int
    rng : None, int or Generator
    min_distance_m : float, default=20
        Minimum horizontal distance from the BS [m].
    max_azimuth_rad : float, default=60 deg
        Users lie within this azimuth of the BS boresight.

    Returns
    -------
    ndarray, shape (n_users, 3)
        ``(x, y, 1.5 m)``.

    Examples
    --------
    >>> import numpy as np
    >>> from channels import city_site, sample_user_positions
    >>> site = city_site("manhattan", n1=2, n2=2)
    >>> ue = sample_user_positions(site, 4, rng=0, min_distance_m=30.0)
    >>> ue.shape, ue[:, 2]                                 # outdoors, at 1.5 m
    ((4, 3), array([1.5, 1.5, 1.5, 1.5]))
    >>> bool(np.all(np.hypot(*(ue[:, :2] - site.bs_position_m[:2]).T) >= 30.0)), bool(site.inside_buildings(ue[:, :2]).any())
    (True, False)
    """
    _site_iv(site)
    n = check_int(n_users, "n_users", low=1)
    dmin = check_float(min_distance_m, "min_distance_m", low=0.0)
    amax = check_float(max_azimuth_rad, "max_azimuth_rad", low=0.0, low_inclusive=False, high=math.pi)
    rng = check_rng(rng)
    half = site.extent_m / 2
    out = np.empty((0, 2))
    for _ in range(1000):
        m = max(2 * (n - len(out)), 64)
        xy = rng.uniform(-half, half, (m, 2))
        d = xy - site.bs_position_m[:2]
        az = np.arctan2(d[:, 1], d[:, 0]) - site.bs_azimuth_rad
        az = (az + np.pi) % (2 * np.pi) - np.pi
        ok = (np.hypot(d[:, 0], d[:, 1]) >= dmin) & (np.abs(az) <= amax) & ~site.inside_buildings(xy)
        out = np.vstack([out, xy[ok]])
        if len(out) >= n:
            break
    else:  # pragma: no cover - every built-in site has open sector area
        raise ValueError(f"could not place {n} users in the sector of site {site.name!r}.")
    return np.column_stack([out[:n], np.full(n, UE_HEIGHT_M)])


# --------------------------------------------------------------------------------- paths

def segments_blocked(p0, p1, boxes, skip=None, *, method: str = "numba") -> np.ndarray:
    """True where segment ``p0[i] -> p1[i]`` crosses a building below its roof.

    Parameters
    ----------
    p0, p1 : ndarray, shape (n, 3) [m]
    boxes : ndarray, shape (n_buildings, 5)
    skip : ndarray of int, shape (n,), optional
        Building to ignore per segment (-1: none).
    method : {"numba", "numpy"}, default="numba"
        The parallel kernel or its NumPy twin (:mod:`channels._city_reference`).

    Examples
    --------
    >>> import numpy as np
    >>> from channels import segments_blocked
    >>> boxes = np.array([[0.0, 10.0, 0.0, 10.0, 20.0]])   # (x_min, x_max, y_min, y_max, height)
    >>> p0 = np.array([[-5.0, 5.0, 1.5], [-5.0, 5.0, 25.0], [-5.0, -5.0, 1.5]])
    >>> p1 = p0 + np.array([20.0, 0.0, 0.0])               # through, over, beside the building
    >>> segments_blocked(p0, p1, boxes)
    array([ True, False, False])
    >>> segments_blocked(p0, p1, boxes, skip=np.array([0, -1, -1]), method="numpy")   # ignore it
    array([False, False, False])
    """
    check_choice(method, "method", ("numba", "numpy"))
    p0 = np.ascontiguousarray(p0, dtype=np.float64)
    p1 = np.ascontiguousarray(p1, dtype=np.float64)
    boxes = np.ascontiguousarray(boxes, dtype=np.float64)
    skip = np.full(p0.shape[0], -1, np.int64) if skip is None else np.ascontiguousarray(skip, dtype=np.int64)
    if method == "numpy":
        from ._city_reference import segments_blocked_reference

        return segments_blocked_reference(p0, p1, boxes, skip)
    out = np.empty(p0.shape[0], dtype=np.bool_)
    if p0.shape[0] == 0:
        return out
    return segments_blocked_kernel(p0, p1, boxes, skip, out)


def _element_gain(site: CitySite, u_global):
    """TR 38.901 element amplitude gain and local (az, el) for unit vectors (..., 3) from the BS."""
    frame = site.bs_frame()
    ul = u_global @ frame.T
    az = np.arctan2(ul[..., 1], ul[..., 0])
    el = np.arcsin(np.clip(ul[..., 2], -1.0, 1.0))
    th = 90.0 - np.degrees(el)                       # zenith angle [deg]
    ph = np.degrees(az)
    a_v = -np.minimum(12 * ((th - 90.0) / 65.0) ** 2, 30.0)
    a_h = -np.minimum(12 * (ph / 65.0) ** 2, 30.0)
    a_db = -np.minimum(-(a_v + a_h), 30.0) + 8.0
    return 10 ** (a_db / 20), az, el


def _unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0), n[..., 0]


def _angles(u):
    return np.arctan2(u[..., 1], u[..., 0]), np.arcsin(np.clip(u[..., 2], -1.0, 1.0))


@dataclass(frozen=True)
class _PathSet:
    """Flat candidate paths: user index + per-path quantities."""

    user: np.ndarray
    gain: np.ndarray
    length: np.ndarray
    bs_dir: np.ndarray      # unit vectors from the BS towards the first interaction (site frame)
    ue_dir: np.ndarray      # unit vectors from the UE towards the last interaction
    pol: np.ndarray         # (n, 2)
    kind: np.ndarray


def _los_and_ground(site, ue, lam):
    bs = site.bs_position_m
    blocked = segments_blocked(np.broadcast_to(bs, ue.shape).copy(), ue, site.buildings)
    vis = np.nonzero(~blocked)[0]
    sets = []
    if len(vis):
        d_vec = ue[vis] - bs
        u_bs, dist = _unit(d_vec)
        g = lam / (4 * np.pi * dist) * np.exp(-2j * np.pi * dist / lam)
        pol = np.tile(np.array([1.0, 1.0]) / math.sqrt(2), (len(vis), 1)).astype(complex)
        sets.append(_PathSet(vis, g, dist, u_bs, -u_bs, pol, np.full(len(vis), PATH_LOS)))
        img = bs * np.array([1, 1, -1])
        d_img = ue[vis] - img
        _, dist_g = _unit(d_img)
        # reflection point on the ground: fraction bs_z / (bs_z + ue_z) of the way from the BS
        frac = bs[2] / (bs[2] + ue[vis, 2])
        refl_pt = bs + frac[:, None] * (np.column_stack([ue[vis, :2], -ue[vis, 2]]) - bs)
        u_bs_g, _ = _unit(refl_pt - bs)
        u_ue_g, _ = _unit(refl_pt - ue[vis])
        gg = site.ground_reflection * lam / (4 * np.pi * dist_g) * np.exp(-2j * np.pi * dist_g / lam)
        sets.append(_PathSet(vis, gg, dist_g, u_bs_g, u_ue_g, pol.copy(), np.full(len(vis), PATH_GROUND)))
    return sets, ~blocked


def _wall_reflections(site, ue, lam):
    bs = site.bs_position_m
    b = site.buildings
    n_b = len(b)
    if n_b == 0:
        return []
    users, blds, faces, pts, lens = [], [], [], [], []
    # faces: 0 x = x_min (outward -x), 1 x = x_max (+x), 2 y = y_min (-y), 3 y = y_max (+y)
    for face in range(4):
        axis = 0 if face < 2 else 1
        other = 1 - axis
        plane = b[:, face]                                            # (B,)
        sign = -1.0 if face % 2 == 0 else 1.0                         # outward normal direction
        lo, hi = (b[:, 2], b[:, 3]) if axis == 0 else (b[:, 0], b[:, 1])
        bs_out = sign * (bs[axis] - plane) > 0                        # (B,)
        ue_out = sign * (ue[:, axis:axis + 1] - plane[None, :]) > 0   # (U, B)
        img_a = 2 * plane - bs[axis]                                  # image coordinate along axis
        den = img_a[None, :] - ue[:, axis:axis + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (plane[None, :] - ue[:, axis:axis + 1]) / den
        q = ue[:, other:other + 1] + t * (bs[other] - ue[:, other:other + 1])
        z = ue[:, 2:3] + t * (bs[2] - ue[:, 2:3])
        ok = bs_out[None, :] & ue_out & (t > 0) & (t < 1) & (q > lo[None, :]) & (q < hi[None, :]) \
            & (z > 0) & (z < b[None, :, 4])
        uu, bb = np.nonzero(ok)
        if len(uu) == 0:
            continue
        p = np.empty((len(uu), 3))
        p[:, axis] = plane[bb]
        p[:, other] = q[uu, bb]
        p[:, 2] = z[uu, bb]
        img = np.broadcast_to(bs, (len(uu), 3)).copy()
        img[:, axis] = img_a[bb]
        users.append(uu)
        blds.append(bb)
        faces.append(np.full(len(uu), face))
        pts.append(p)
        lens.append(np.linalg.norm(ue[uu] - img, axis=1))
    if not users:
        return []
    uu, bb, ff = np.concatenate(users), np.concatenate(blds), np.concatenate(faces)
    p, length = np.concatenate(pts), np.concatenate(lens)
    bl1 = segments_blocked(np.broadcast_to(bs, p.shape).copy(), p, b, bb)
    keep = ~bl1
    bl2 = segments_blocked(p[keep], ue[uu[keep]], b, bb[keep])
    keep_idx = np.nonzero(keep)[0][~bl2]
    uu, bb, ff, p, length = uu[keep_idx], bb[keep_idx], ff[keep_idx], p[keep_idx], length[keep_idx]
    u_bs, _ = _unit(p - bs)
    u_ue, _ = _unit(p - ue[uu])
    g = site.building_reflection[bb] * lam / (4 * np.pi * length) * np.exp(-2j * np.pi * length / lam)
    return [_PathSet(uu, g, length, u_bs, u_ue, site.face_polarization[bb, ff], np.full(len(uu), PATH_WALL))]


def _cluster_paths(site, ue, lam):
    bs = site.bs_position_m
    d_vr = np.linalg.norm(ue[:, None, :2] - site.visibility_centers_m[None], axis=-1)   # (U, C)
    vis = _raised_cosine_visibility(d_vr, site.visibility_radius_m[None], site.transition_m)
    uu, cc = np.nonzero(vis > 0)
    if len(uu) == 0:
        return []
    n_r = site.cluster_rays_m.shape[1]
    rays = site.cluster_rays_m[cc]                                   # (n, R, 3)
    d1v = rays - bs
    u_bs, d1 = _unit(d1v)
    d2v = rays - ue[uu][:, None, :]
    u_ue, d2 = _unit(d2v)
    length = d1 + d2
    g = (site.cluster_ray_gains[cc] * np.sqrt(vis[uu, cc])[:, None] * lam / (4 * np.pi * length)
         * np.exp(-2j * np.pi * length / lam))
    return [_PathSet(np.repeat(uu, n_r), g.ravel(), length.ravel(), u_bs.reshape(-1, 3), u_ue.reshape(-1, 3),
                     site.cluster_ray_polarization[cc].reshape(-1, 2), np.full(len(uu) * n_r, PATH_CLUSTER))]


@dataclass(frozen=True)
class CityChannel(HostCopy):
    """CSI and ground truth of users in a city site.

    Attributes
    ----------
    csi : ndarray, shape (n_users, n_ports, n_subbands), complex128
        :math:`\\mathbf h_s` per user and subband (module conventions), or ``None`` from :func:`city_paths`.
    paths : Paths
        Batched ``(n_users, max_paths)``, zero-gain padded, strongest first; ``aoa_*`` at the BS
        (local frame), ``aod_*`` at the UE (site frame). Gains include the element pattern,
        shadowing and the carrier phase, not the polarisation.
    polarization : ndarray, shape (n_users, max_paths, 2), complex
        Per-path polarisation coefficients (unit power).
    path_kind : ndarray of int8, shape (n_users, max_paths)
        0 padding, 1 LoS, 2 ground, 3 facade reflection, 4 cluster ray.
    los : ndarray of bool, shape (n_users,)
    positions_m : ndarray, shape (n_users, 3)
    frequencies_hz : ndarray, shape (n_subbands,)
        Subband centres [Hz, baseband].
    site_name : str
    """

    csi: np.ndarray | None
    paths: Paths
    polarization: np.ndarray
    path_kind: np.ndarray
    los: np.ndarray
    positions_m: np.ndarray
    frequencies_hz: np.ndarray
    site_name: str

    @property
    def n_users(self) -> int:
        return int(self.positions_m.shape[0])


def _site_iv(site):
    if not isinstance(site, CitySite):
        raise TypeError(f"`site` must be a CitySite (channels.city_site(name)); got {type(site).__name__}.")


def positions_iv(positions_m):
    p = check_array(positions_m, "positions_m", ndim=2, kind=("real floating", "integral"))
    p = np.asarray(p, dtype=np.float64)
    if p.shape[1] != 3 or p.shape[0] < 1:
        raise ValueError(f"`positions_m` must have shape (n_users >= 1, 3); got shape {p.shape}.")
    if np.any(p[:, 2] <= 0):
        raise ValueError("`positions_m` heights (column 2) must be > 0 m; got a user at or below ground.")
    return p


def city_paths(site: CitySite, positions_m, *, max_paths: int = 64,
               frequencies_hz=None) -> CityChannel:
    """Multipath of every user (no CSI): LoS, ground, facade reflections and cluster rays.

    Parameters
    ----------
    site : CitySite
    positions_m : array, shape (n_users, 3)
        User positions [m] in the site frame.
    max_paths : int, default=64
        Keep the strongest ``max_paths`` paths per user (zero-gain padding below).

    Returns
    -------
    CityChannel
        With ``csi=None``.

    Examples
    --------
    >>> from channels import city_paths, city_site, sample_user_positions
    >>> site = city_site("manhattan", n1=2, n2=2)
    >>> out = city_paths(site, sample_user_positions(site, 3, rng=0), max_paths=16)
    >>> out.csi is None, out.paths.batch_shape, out.paths.n_paths, out.path_kind.shape
    (True, (3,), 16, (3, 16))
    >>> out.los.dtype, bool(((out.path_kind >= 0) & (out.path_kind <= 4)).all())   # 1 LoS ... 4 cluster ray
    (dtype('bool'), True)
    """
    _site_iv(site)
    ue = positions_iv(positions_m)
    max_paths = check_int(max_paths, "max_paths", low=1)
    lam = site.wavelength_m
    sets, los = _los_and_ground(site, ue, lam)
    sets += _wall_reflections(site, ue, lam)
    sets += _cluster_paths(site, ue, lam)
    cat = {f.name: np.concatenate([getattr(s, f.name) for s in sets]) if sets else None for f in fields(_PathSet)}
    if cat["user"] is None:
        cat = {"user": np.zeros(0, int), "gain": np.zeros(0, complex), "length": np.zeros(0),
               "bs_dir": np.zeros((0, 3)), "ue_dir": np.zeros((0, 3)), "pol": np.zeros((0, 2), complex),
               "kind": np.zeros(0, int)}
    # element pattern and shadowing (NLoS components)
    sf = site.shadow_at(ue[:, :2])
    shadow = np.where(cat["kind"] <= PATH_GROUND, 1.0, 10 ** (sf[cat["user"]] / 20))
    cat["gain"] = cat["gain"] * shadow
    f = np.zeros(0) if frequencies_hz is None else np.asarray(frequencies_hz, dtype=float)
    return assemble(site, ue, cat, los, max_paths, f)


def assemble(site, ue, cat, los, max_paths, frequencies_hz, element_pattern=True):
    """Candidate paths (flat, with user index) -> padded, strongest-first :class:`CityChannel`.

    ``cat``: user, gain, length [m], bs_dir, ue_dir (unit vectors, site frame), pol, kind.
    ``site`` needs ``bs_frame()`` and ``name``.
    """
    n_u = len(ue)
    if element_pattern:
        amp, az_bs, el_bs = _element_gain(site, cat["bs_dir"])
    else:
        amp, az_bs, el_bs = 1.0, *_local_angles(site, cat["bs_dir"])
    g = cat["gain"] * amp
    az_ue, el_ue = _angles(cat["ue_dir"])
    # per-user strongest max_paths: sort by (user, -power)
    order = np.lexsort((-np.abs(g), cat["user"]))
    user = cat["user"][order]
    counts = np.bincount(user, minlength=n_u)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - start[user]
    keep = rank < max_paths
    n_p = int(min(max_paths, counts.max() if n_u and len(order) else 1)) or 1
    sel = order[keep]
    ui, ri = user[keep], rank[keep]

    def grid(v, dtype, fill=0):
        out = np.full((n_u, n_p) + v.shape[1:], fill, dtype=dtype)
        out[ui, ri] = v[sel]
        return out

    delays = grid(cat["length"], float) / SPEED_OF_LIGHT
    paths = Paths(grid(g, complex), delays, np.zeros((n_u, n_p)), grid(az_bs, float), grid(el_bs, float),
                  grid(az_ue, float), grid(el_ue, float))
    pol = grid(cat["pol"], complex)
    kind = grid(cat["kind"], np.int8)
    return CityChannel(None, paths, pol, kind, np.asarray(los, dtype=bool), ue, frequencies_hz, site.name)


def _local_angles(site, u_global):
    ul = u_global @ site.bs_frame().T
    return np.arctan2(ul[..., 1], ul[..., 0]), np.arcsin(np.clip(ul[..., 2], -1.0, 1.0))


def synthesize_csi(site, out, n_subbands, prbs_per_subband, subcarrier_spacing_hz):
    """CSI of a :class:`CityChannel` through :func:`cfr_from_paths` (``site``: bs_array, carrier, pols)."""
    freqs = subband_frequencies(n_subbands, prbs_per_subband=prbs_per_subband,
                                subcarrier_spacing_hz=subcarrier_spacing_hz)
    n_sc = n_subbands * prbs_per_subband * 12
    num = Numerology(site.carrier_hz, subcarrier_spacing_hz, n_sc, 1)
    p = out.paths
    n_pol = site.n_polarizations
    if n_pol == 1:
        bp = p
    else:
        def b(v):
            return np.broadcast_to(v[:, None, :], (v.shape[0], n_pol, v.shape[1]))

        bp = Paths(p.gains[:, None, :] * np.moveaxis(out.polarization, -1, 1), b(p.delays_s), b(p.doppler_hz),
                   b(p.aoa_az_rad), b(p.aoa_el_rad), b(p.aod_az_rad), b(p.aod_el_rad))
    h = cfr_from_paths(bp, site.bs_array(), num, frequencies_hz=freqs, symbol_times_s=np.zeros(1))
    return replace(out, csi=h.reshape(out.n_users, site.n_ports, n_subbands), frequencies_hz=freqs)


def subband_frequencies(n_subbands: int, *, prbs_per_subband: int = 4,
                        subcarrier_spacing_hz: float = 30e3) -> np.ndarray:
    """Baseband centre frequencies [Hz] of ``n_subbands`` contiguous subbands of 12-subcarrier PRBs.

    Examples
    --------
    >>> from channels import subband_frequencies
    >>> subband_frequencies(3)                             # 4 PRBs of 12 x 30 kHz per subband
    array([ 720000., 2160000., 3600000.])
    """
    n = check_int(n_subbands, "n_subbands", low=1)
    prb = check_int(prbs_per_subband, "prbs_per_subband", low=1)
    scs = check_float(subcarrier_spacing_hz, "subcarrier_spacing_hz", low=0.0, low_inclusive=False)
    return (np.arange(n) + 0.5) * prb * 12 * scs


def city_channel(site: CitySite, positions_m, *, n_subbands: int = 13, prbs_per_subband: int = 4,
                 subcarrier_spacing_hz: float = 30e3, max_paths: int = 64) -> CityChannel:
    """CSI (BS ports x subbands) and ground-truth paths of users at ``positions_m``.

    .. math::
        h_{u,p,s} = \\sum_\\ell g_{u,\\ell}\\,\\chi_{u,\\ell,\\mathrm{pol}(p)}\\,
            e^{\\,j\\frac{2\\pi}{\\lambda}\\mathbf q_p^T\\mathbf u^{BS}_{u,\\ell}}\\,e^{-j2\\pi f_s\\tau_{u,\\ell}}

    via :func:`channels.cfr_from_paths` (the BS as ``rx_array``, reciprocity) on the subband centres.

    Parameters
    ----------
    site : CitySite
    positions_m : array, shape (n_users, 3)
    n_subbands : int, default=13
        :math:`N_{SB}` (13 subbands of 4 PRBs = 52 PRBs at 30 kHz, about 19 MHz).
    prbs_per_subband : int, default=4
    subcarrier_spacing_hz : float, default=30e3
    max_paths : int, default=64

    Returns
    -------
    CityChannel

    Examples
    --------
    >>> import numpy as np
    >>> from channels import city_channel, city_site, sample_user_positions
    >>> site = city_site("manhattan", n1=2, n2=2)          # 2 x 2 dual-polarised: 8 ports
    >>> ch = city_channel(site, sample_user_positions(site, 2, rng=0), n_subbands=4, max_paths=16)
    >>> ch.csi.shape, ch.csi.dtype, ch.site_name           # (users, ports, subbands)
    ((2, 8, 4), dtype('complex128'), 'manhattan')
    >>> ch.frequencies_hz
    array([ 720000., 2160000., 3600000., 5040000.])
    """
    check_int(n_subbands, "n_subbands", low=1)
    out = city_paths(site, positions_m, max_paths=max_paths)
    return synthesize_csi(site, out, n_subbands, prbs_per_subband, subcarrier_spacing_hz)
