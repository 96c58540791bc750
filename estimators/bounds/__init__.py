"""Cramér–Rao bounds.

* angles of a narrowband array: :func:`crb_deterministic` (conditional model),
  :func:`crb_stochastic` (unconditional model);
* multidimensional harmonics: :func:`crb_harmonic`, with :func:`ofdm_harmonic_map` mapping an
  OFDM channel's angles, delays and Dopplers to frequencies and back;
* PLAIN's channel model: :func:`crb_plain_per_dimension`, :func:`crb_plain_joint`.
"""

from ._crb import (
    HarmonicMap,
    crb_deterministic,
    crb_harmonic,
    crb_stochastic,
    ofdm_harmonic_map,
)
from ._plain_crb import PlainCrb, crb_plain_joint, crb_plain_per_dimension
from ._results import BoundResult

__all__ = [
    "BoundResult", "HarmonicMap", "crb_deterministic", "crb_harmonic", "crb_stochastic", "ofdm_harmonic_map",
    "PlainCrb", "crb_plain_joint", "crb_plain_per_dimension",
]
