"""The estimator registry: every family's estimators with a small example problem each.

:data:`REGISTRY` maps a name to an :class:`Entry`: the function, ``example(rng) -> (args,
kwargs)`` (a small, well-posed problem on the host; ``args[0]`` is the data), the family, the
result field that carries the estimate, and whether the estimator keeps single precision.
:data:`ESTIMATORS` (name -> function) and :data:`EXAMPLES` (name -> example) are views of it.

The common tests (tests/test_estimator_common.py) run over every entry: a frozen result dataclass
with ``to_numpy()``, deterministic, inputs unmodified, NaN rejected with a ValueError naming it,
the array namespace kept (or a TypeError naming the namespace it cannot run on), single
precision kept where the entry says so. The common test converts every NumPy array in
``args``/``kwargs`` (also inside lists and tuples) to the backend and precision under test.
**Whoever adds an estimator adds its entry here** (the common test fails with a clear message
otherwise).

Codebook PMI searches are methods of a codebook object; their entries call the method of the
codebook given as ``codebook=`` so that the channel stays the first argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from channels import Paths, cfr_from_paths
from sensing import Numerology, steering_vector, ula, upa

from .bayes import sbl, sc_vbi, turbo_vbi, vbi
from .feedback import etype2_codebook, type1_codebook, type2_codebook
from .subspace import (
    beamscan,
    capon,
    esprit,
    esprit_nd,
    min_norm,
    music,
    music_2d,
    music_nd,
    omp,
    root_music,
    unitary_esprit,
)
from .tensor import joint_esprit_estimator, ofdm_radar, plain, sequential_estimator

__all__ = ["ESTIMATORS", "EXAMPLES", "REGISTRY", "Entry"]


@dataclass(frozen=True)
class Entry:
    """One registered estimator.

    Attributes
    ----------
    function : callable
        ``function(data, *args, **kwargs) -> frozen result dataclass``.
    example : callable
        ``example(rng) -> (args, kwargs)``, a small well-posed problem with NumPy arrays.
    family : {"subspace", "tensor", "bayes", "feedback"}
    output : str
        The result field holding the estimate (compared across namespaces and precisions).
    keeps_precision : bool
        Whether single-precision input gives single-precision results (else float64 results).
    float64_fields : tuple of str
        Host diagnostic traces kept in float64 whatever the input precision (e.g. the ELBO).
    """

    function: Callable
    example: Callable
    family: str
    output: str = "estimates"
    keeps_precision: bool = True
    float64_fields: tuple = ()


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


def _ex_root_min_norm(rng):
    args, kwargs = _ex_line(rng)
    return args, dict(kwargs, method="root")


def _ex_sls_esprit(rng):
    args, kwargs = _ex_line(rng)
    return args, dict(kwargs, method="sls")


def _ex_esprit_nd(rng):
    return (_tensor(rng),), dict(n_sources=2, subarray_shape=(4, 4, 3))


def _ex_omp(rng):
    g, x = _ula_snapshots(rng, n=4)
    return (x,), dict(n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 121))


def _ex_spectrum(rng):
    g, x = _ula_snapshots(rng, az=(-0.6, 0.5))
    return (x,), dict(n_sources=2, geometry=g, wavelength_m=1.0, grid=np.linspace(-1.2, 1.2, 241))


_NUM = Numerology(26e9, 60e3, 24, 28)
_ULA8 = ula(8, _NUM.wavelength_m / 2)


def _ofdm_tensor(rng):
    """Three one-way paths through an 8-element ULA, 24 subcarriers x 28 symbols, 20 dB."""
    paths = Paths.from_arrays(np.array([1.0, 0.7j, -0.5]), np.array([80e-9, 150e-9, 260e-9]),
                              np.array([900.0, -1500.0, 300.0]), np.array([-0.5, 0.1, 0.6]))
    h = cfr_from_paths(paths, _ULA8, _NUM)
    return h + _noise(rng, h.shape, 0.1)


def _ex_plain(rng):
    return (_ofdm_tensor(rng),), dict(geometry=_ULA8, numerology=_NUM, deltas=(1, 2, 2), n_objects=3)


def _ex_radar(rng):
    return (_ofdm_tensor(rng),), dict(geometry=_ULA8, numerology=_NUM, n_targets=3, propagation="one-way")


def _ex_sparse(rng, m=32, n=64, k=3):
    phi = _noise(rng, (m, n), 1.0)
    x = np.zeros(n, complex)
    x[[5, 23, 50]] = [1.0, -0.8j, 0.6 + 0.6j]
    return (phi @ x + _noise(rng, m, 0.05), phi), {}


def _ex_sc_vbi(rng):
    args, _ = _ex_sparse(rng)
    return args, dict(max_iter=60)


def _channel(rng, n_users=3, n_ports=16, n_subbands=4):
    return _noise(rng, (n_users, n_ports, n_subbands), 1.0)


def _type1_pmi(channel, *, codebook, rank: int = 1):
    """Type-I PMI search of ``codebook`` (:meth:`Type1Codebook.pmi_search`)."""
    return codebook.pmi_search(channel, rank=rank)


def _type2_pmi(channel, *, codebook, rank: int = 1):
    """Type-II PMI search of ``codebook`` (:meth:`Type2Codebook.pmi_search`)."""
    return codebook.pmi_search(channel, rank=rank)


def _etype2_pmi(channel, *, codebook):
    """Enhanced Type-II PMI search of ``codebook`` (:meth:`EType2Codebook.pmi_search`)."""
    return codebook.pmi_search(channel)


def _ex_type1(rng):
    return (_channel(rng),), dict(codebook=type1_codebook(4, 2))


def _ex_type2(rng):
    return (_channel(rng),), dict(codebook=type2_codebook(4, 2, n_beams=2))


def _ex_etype2(rng):
    return (_channel(rng, n_subbands=8),), dict(codebook=etype2_codebook(4, 2, param_combination=1, n_subbands=8))


REGISTRY: dict[str, Entry] = {
    "music": Entry(music, _ex_music, "subspace"),
    "music_2d": Entry(music_2d, _ex_music_2d, "subspace"),
    "music_nd": Entry(music_nd, _ex_music_nd, "subspace"),
    "root_music": Entry(root_music, _ex_line, "subspace"),
    "min_norm": Entry(min_norm, _ex_music, "subspace"),
    "root_min_norm": Entry(min_norm, _ex_root_min_norm, "subspace"),
    "esprit": Entry(esprit, _ex_line, "subspace"),
    "unitary_esprit": Entry(unitary_esprit, _ex_line, "subspace"),
    "sls_esprit": Entry(esprit, _ex_sls_esprit, "subspace"),
    "sls_unitary_esprit": Entry(unitary_esprit, _ex_sls_esprit, "subspace"),
    "esprit_nd": Entry(esprit_nd, _ex_esprit_nd, "subspace"),
    "omp": Entry(omp, _ex_omp, "subspace"),
    "capon": Entry(capon, _ex_spectrum, "subspace"),
    "beamscan": Entry(beamscan, _ex_spectrum, "subspace"),
    "plain": Entry(plain, _ex_plain, "tensor", "azimuths_rad", keeps_precision=False),
    "sequential_estimator": Entry(sequential_estimator, _ex_plain, "tensor", "azimuths_rad", keeps_precision=False),
    "joint_esprit_estimator": Entry(joint_esprit_estimator, _ex_plain, "tensor", "azimuths_rad", keeps_precision=False),
    "ofdm_radar": Entry(ofdm_radar, _ex_radar, "tensor", "delays_s", keeps_precision=False),
    "sbl": Entry(sbl, _ex_sparse, "bayes", "coefficients", float64_fields=("elbo",)),
    "vbi": Entry(vbi, _ex_sparse, "bayes", "coefficients", float64_fields=("elbo",)),
    "sc_vbi": Entry(sc_vbi, _ex_sc_vbi, "bayes", "coefficients", float64_fields=("elbo",)),
    "turbo_vbi": Entry(turbo_vbi, _ex_sparse, "bayes", "coefficients", float64_fields=("elbo",)),
    "type1_pmi_search": Entry(_type1_pmi, _ex_type1, "feedback", "metric"),
    "type2_pmi_search": Entry(_type2_pmi, _ex_type2, "feedback", "metric"),
    "etype2_pmi_search": Entry(_etype2_pmi, _ex_etype2, "feedback", "metric"),
}

ESTIMATORS: dict[str, Callable] = {name: e.function for name, e in REGISTRY.items()}
EXAMPLES: dict[str, Callable] = {name: e.example for name, e in REGISTRY.items()}
