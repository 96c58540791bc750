"""CSI feedback: 3GPP codebooks and site-specific calibration-memory feedback (SiFo).

Input contract: per-user channels ``H[user, port, subband]`` on a dual-polarised panel. The
family:

* TS 38.214 Type-I, Type-II and enhanced Type-II codebooks (PMI search, coefficient
  quantisation, payload sizes) and DFT-subspace codebooks for panels beyond the standard's;
* SiFo: labels from beam powers, pretraining across sites, calibration memory, inference from
  SSB RSRP fingerprints, quantised feedback and the evaluation metrics (capture efficiency,
  beamforming gain, effective spectral efficiency, overhead).

The measurement side (SSB beam sweep, RSRP report) is in :mod:`sensing`: it is what a UE
measures, independent of how the feedback is then formed.
"""

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

__all__ = [
    "EType2Codebook",
    "EType2PMI",
    "FeedbackBits",
    "QuantizedCoefficients",
    "Type1Codebook",
    "Type1PMI",
    "Type2Codebook",
    "Type2PMI",
    "coefficient_feedback_bits",
    "dft_beams",
    "dft_subspace_codebook",
    "etype2_codebook",
    "quantize_coefficients",
    "supported_panel_configs",
    "type1_codebook",
    "type2_codebook",
    "CalibrationMemory",
    "LOSOResult",
    "SiFoConfig",
    "SiFoFeedback",
    "SiFoInference",
    "SiFoModel",
    "SiteData",
    "beam_power_labels",
    "beam_subspace",
    "beamforming_gain",
    "capture_efficiency",
    "effective_se_from_gains",
    "effective_spectral_efficiency",
    "eigen_subspace",
    "leave_one_site_out",
    "overhead_table",
    "per_site_baseline",
    "select_beams",
    "sifo",
    "sifo_calibrate",
    "sifo_feedback",
    "sifo_infer",
    "sifo_pretrain",
]
