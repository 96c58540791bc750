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

Modules: ``_codebook_tables`` (the TS 38.214 tables), ``_dft_beams`` (panel and channel
conventions, DFT beams), ``_quantization`` (Type-II coefficient quantiser, payload sizes),
``_type1``, ``_type2`` (with the generalised DFT-subspace codebooks), ``_etype2``; SiFo in
``_sifo_labels`` (config, labels, subspaces), ``_sifo_model`` (pretraining, calibration memory),
``_sifo_inference`` (inference, coefficient feedback), ``_sifo_metrics``, ``_sifo_evaluation``
(leave-one-site-out, overhead table).
"""

from ._dft_beams import dft_beams, supported_panel_configs
from ._etype2 import EType2Codebook, EType2PMI, etype2_codebook
from ._quantization import FeedbackBits, QuantizedCoefficients, coefficient_feedback_bits, quantize_coefficients
from ._sifo_evaluation import LOSOResult, leave_one_site_out, overhead_table
from ._sifo_inference import SiFoFeedback, SiFoInference, sifo, sifo_feedback, sifo_infer
from ._sifo_labels import SiFoConfig, beam_power_labels, beam_subspace, eigen_subspace, select_beams
from ._sifo_metrics import beamforming_gain, capture_efficiency, effective_se_from_gains, effective_spectral_efficiency
from ._sifo_model import CalibrationMemory, SiFoModel, SiteData, per_site_baseline, sifo_calibrate, sifo_pretrain
from ._type1 import Type1Codebook, Type1PMI, type1_codebook
from ._type2 import Type2Codebook, Type2PMI, dft_subspace_codebook, type2_codebook

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
