"""estimators: parameter estimation on sensing/channel data (NumPy or CuPy).

Imports :mod:`sensing` (and :mod:`channels` only where a model-based dictionary needs propagation
geometry). Every estimator is a pure function with keyword-only options that returns a frozen
result dataclass; array type in = array type out.
"""

__all__: list[str] = []

# --- foundation: classic OFDM radar (issue 2) ---------------------------------------------
from ._radar import RadarEstimate, ofdm_radar

__all__ += ["RadarEstimate", "ofdm_radar"]

# --- subspace toolbox: MUSIC / ESPRIT / smoothing / model order / OMP / CRB (issue 3) --------
from ._results import (
    BoundResult,
    LineEstimate,
    ModelOrder,
    MultiEstimate,
    SparseEstimate,
    SubspaceWarning,
    azimuth_from_frequency,
    delay_from_frequency,
    doppler_from_frequency,
    frequency_from_delay,
    frequency_from_doppler,
)
from ._covariance import forward_backward, multidimensional_smoothing, sample_covariance, spatial_smoothing
from ._order import aic, mdl
from ._music import music, music_2d, music_nd
from ._rootmusic import root_music
from ._esprit import esprit, esprit_nd, unitary_esprit
from ._omp import omp
from ._spectra import beamscan, capon
from ._crb import HarmonicMap, crb_deterministic, crb_harmonic, crb_stochastic, ofdm_harmonic_map
from ._registry import ESTIMATORS, EXAMPLES

__all__ += [
    "BoundResult", "LineEstimate", "ModelOrder", "MultiEstimate", "SparseEstimate", "SubspaceWarning",
    "azimuth_from_frequency", "delay_from_frequency", "doppler_from_frequency",
    "frequency_from_delay", "frequency_from_doppler",
    "forward_backward", "multidimensional_smoothing", "sample_covariance", "spatial_smoothing",
    "aic", "mdl", "music", "music_2d", "music_nd", "root_music", "esprit", "esprit_nd",
    "unitary_esprit", "omp", "beamscan", "capon",
    "HarmonicMap", "crb_deterministic", "crb_harmonic", "crb_stochastic", "ofdm_harmonic_map",
    "ESTIMATORS", "EXAMPLES",
]

# --- tensor methods and PLAIN (issue 4) ------------------------------------------------------
from ._tensor import CPResult, TuckerResult, cp_als, fold, hosvd, mode_dot, multi_mode_dot, tucker, unfold

__all__ += ["CPResult", "TuckerResult", "cp_als", "fold", "hosvd", "mode_dot", "multi_mode_dot",
            "tucker", "unfold"]
from ._plain import CompressedTensor, ModeCandidates, PlainResult, PlainTimings, plain, plain_compress

__all__ += ["CompressedTensor", "ModeCandidates", "PlainResult", "PlainTimings", "plain", "plain_compress"]
from ._plain_baselines import BaselineResult, joint_esprit_estimator, sequential_estimator
from ._plain_crb import PlainCrb, crb_plain_joint, crb_plain_per_dimension

__all__ += ["BaselineResult", "joint_esprit_estimator", "sequential_estimator", "PlainCrb", "crb_plain_joint", "crb_plain_per_dimension"]

# --- variational Bayes (issue 5) --------------------------------------------------------------
from ._vbi import IterationInfo, SparsePrior, VBIResult, sbl, sc_vbi, vbi
from ._turbo import common_support_posterior, support_messages, turbo_vbi
from ._bisvbi import BiSVBIResult, EMTurboResult, bisvbi, em_turbo_bisvbi
from ._location_omp import LocationOMPResult, location_omp

__all__ += ["IterationInfo", "SparsePrior", "VBIResult", "sbl", "sc_vbi", "vbi",
            "common_support_posterior", "support_messages", "turbo_vbi",
            "BiSVBIResult", "EMTurboResult", "bisvbi", "em_turbo_bisvbi", "LocationOMPResult", "location_omp"]

# --- CSI feedback: 3GPP codebooks and SiFo (issue 6) -----------------------------------------
from ._codebooks import (
    EType2Codebook,
    EType2PMI,
    FeedbackBits,
    QuantizedCoefficients,
    Type1Codebook,
    Type1PMI,
    Type2Codebook,
    Type2PMI,
    coefficient_feedback_bits,
    dft_beams,
    dft_subspace_codebook,
    etype2_codebook,
    quantize_coefficients,
    supported_panel_configs,
    type1_codebook,
    type2_codebook,
)

__all__ += ["EType2Codebook", "EType2PMI", "etype2_codebook", "FeedbackBits", "QuantizedCoefficients", "Type1Codebook", "Type1PMI", "Type2Codebook",
            "Type2PMI", "coefficient_feedback_bits", "dft_beams", "dft_subspace_codebook",
            "quantize_coefficients", "supported_panel_configs", "type1_codebook", "type2_codebook"]
from ._sifo import (
    CalibrationMemory,
    LOSOResult,
    SiFoConfig,
    SiFoFeedback,
    SiFoInference,
    SiFoModel,
    SiteData,
    beam_power_labels,
    beam_subspace,
    beamforming_gain,
    capture_efficiency,
    effective_se_from_gains,
    effective_spectral_efficiency,
    eigen_subspace,
    leave_one_site_out,
    overhead_table,
    per_site_baseline,
    select_beams,
    sifo,
    sifo_calibrate,
    sifo_feedback,
    sifo_infer,
    sifo_pretrain,
)

__all__ += ["CalibrationMemory", "LOSOResult", "SiFoConfig", "SiFoFeedback", "SiFoInference", "SiFoModel",
            "SiteData", "beam_power_labels", "beam_subspace", "beamforming_gain", "capture_efficiency",
            "effective_se_from_gains", "effective_spectral_efficiency", "eigen_subspace", "leave_one_site_out", "overhead_table",
            "per_site_baseline", "select_beams", "sifo", "sifo_calibrate", "sifo_feedback", "sifo_infer",
            "sifo_pretrain"]
