"""The estimator registry: name -> estimator function, plus a small example problem for each.

``ESTIMATORS`` feeds the command line and the common tests (tests/test_estimator_common.py):
every registered estimator must return a frozen result dataclass with ``to_numpy()``, be
deterministic, leave its inputs unmodified, reject NaN with a ValueError and keep the array
namespace and precision of its data.

``EXAMPLES`` maps the same names to ``example(rng) -> (args, kwargs)``: a small, well-posed
problem on the host (NumPy). The common test converts every NumPy array in ``args``/``kwargs``
(also inside lists and tuples) to the backend and precision under test; ``args[0]`` is the data.
**Whoever adds an estimator to ESTIMATORS adds its example here too** (the common test fails
with a clear message otherwise).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sensing import steering_vector, ula, upa

from .subspace._esprit import esprit, esprit_nd, unitary_esprit
from .subspace._music import music, music_2d, music_nd
from .subspace._omp import omp
from .subspace._rootmusic import root_music
from .subspace._spectra import beamscan, capon

__all__ = ["ESTIMATORS", "EXAMPLES"]

ESTIMATORS: dict[str, Callable] = {
    "music": music,
    "music_2d": music_2d,
    "music_nd": music_nd,
    "root_music": root_music,
    "esprit": esprit,
    "unitary_esprit": unitary_esprit,
    "esprit_nd": esprit_nd,
    "omp": omp,
    "capon": capon,
    "beamscan": beamscan,
}


def _noise(rng, shape, scale):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _ula_snapshots(rng, m=8, n=40, az=(-0.4, 0.3)):
    geom = ula(m, 0.5)
    a = steering_vector(geom, np.asarray(az), wavelength_m=1.0)
    s = _noise(rng, (len(az), n), 1.0)
    return geom, a @ s + _noise(rng, (m, n), 0.1)


def _tensor(rng, dims=(6, 7, 5), mus=((0.4, -1.0, 0.7), (-0.9, 0.6, -1.5))):
    t = np.zeros(dims, dtype=np.complex128)
    for mu in mus:
        t += np.einsum("i,j,k->ijk", *[np.exp(1j * m * np.arange(d)) for m, d in zip(mu, dims)])
    return t + _noise(rng, dims, 0.05)


def _ex_music(rng):
    g, x = _ula_snapshots(rng)
    return (x,), dict(n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 241))


def _ex_music_2d(rng):
    g = upa(4, 4, 0.5)
    a = steering_vector(g, np.array([-0.3, 0.4]), np.array([0.2, -0.3]), wavelength_m=1.0)
    x = a @ _noise(rng, (2, 40), 1.0) + _noise(rng, (16, 40), 0.1)
    return (x,), dict(n_sources=2, geometry=g, wavelength_m=1.0,
                      azimuth_grid_rad=np.linspace(-1.0, 1.0, 41), elevation_grid_rad=np.linspace(-1.0, 1.0, 41))


def _ex_music_nd(rng):
    grids = [np.linspace(-np.pi, np.pi, 48, endpoint=False)] * 3
    return (_tensor(rng),), dict(n_sources=2, grids=grids, subarray_shape=(4, 4, 3))


def _ex_line(rng):
    g, x = _ula_snapshots(rng)
    return (x,), dict(n_sources=2, geometry=g, wavelength_m=1.0)


def _ex_esprit_nd(rng):
    return (_tensor(rng),), dict(n_sources=2, subarray_shape=(4, 4, 3))


def _ex_omp(rng):
    g, x = _ula_snapshots(rng, n=4)
    return (x,), dict(n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 121))


def _ex_spectrum(rng):
    g, x = _ula_snapshots(rng, az=(-0.6, 0.5))
    return (x,), dict(n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 241))


EXAMPLES: dict[str, Callable] = {
    "music": _ex_music,
    "music_2d": _ex_music_2d,
    "music_nd": _ex_music_nd,
    "root_music": _ex_line,
    "esprit": _ex_line,
    "unitary_esprit": _ex_line,
    "esprit_nd": _ex_esprit_nd,
    "omp": _ex_omp,
    "capon": _ex_spectrum,
    "beamscan": _ex_spectrum,
}
