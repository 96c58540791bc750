"""Multidimensional (antenna x subcarrier x symbol) channel tensors.

Input contract: a channel tensor ``(n_elements, n_subcarriers, n_symbols)`` with the receive
array and the OFDM numerology that produced it. The family:

* tensor tools: :func:`unfold`, :func:`fold`, :func:`mode_dot`, :func:`multi_mode_dot`,
  :func:`hosvd`, :func:`tucker` (HOOI), :func:`cp_als` (TensorLy interoperable);
* PLAIN (compression, per-mode subspace estimation, fusion) and its baselines
  (:func:`sequential_estimator`, :func:`joint_esprit_estimator`);
* the classic OFDM radar (periodogram range-Doppler map and beamscan): :func:`ofdm_radar`.
"""

from ._plain import FUSIONS, SELECTIONS, PlainResult, PlainTimings, plain, plain_from_compressed
from ._plain_baselines import (
    BaselineResult,
    joint_esprit_estimator,
    sequential_estimator,
)
from ._plain_compression import COMPRESSIONS, CompressedTensor, plain_compress
from ._plain_modes import ModeCandidates
from ._radar import RadarEstimate, ofdm_radar
from ._decompositions import CPResult, TuckerResult, cp_als, hosvd, tucker
from ._tensor_algebra import fold, mode_dot, multi_mode_dot, unfold

__all__ = [
    "CPResult", "TuckerResult", "cp_als", "fold", "hosvd", "mode_dot", "multi_mode_dot", "tucker", "unfold",
    "COMPRESSIONS", "FUSIONS", "SELECTIONS", "CompressedTensor", "ModeCandidates", "PlainResult",
    "PlainTimings", "plain", "plain_compress", "plain_from_compressed",
    "BaselineResult", "joint_esprit_estimator", "sequential_estimator",
    "RadarEstimate", "ofdm_radar",
]
