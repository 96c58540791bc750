"""Sparse Bayesian and variational Bayesian inference on a linear (or bilinear) model.

Input contract: observations ``y = Phi x + n`` with a dictionary ``Phi`` (for the uplink
estimators: a location-domain dictionary from :mod:`channels`). The family:

* :func:`sbl`, :func:`vbi` (direct and Woodbury), :func:`sc_vbi` (subspace-constrained),
  :func:`turbo_vbi` with i.i.d., Markov-chain or common-support priors
  (:func:`support_messages`, :func:`common_support_posterior`);
* the bilinear data-aided estimators :func:`bisvbi` and :func:`em_turbo_bisvbi`;
* the greedy baseline :func:`location_omp`.

Modules: ``_variational`` (prior, per-iteration report, the mean-field updates shared by all),
``_linear_engine`` + ``_vbi`` + ``_turbo`` (linear model), ``_bilinear_engine`` (the BiSVBI
E-step) + ``_bisvbi``, ``_coarse_stage`` + ``_m_step`` + ``_em_turbo`` (EM-Turbo-BiSVBI),
``_location_omp``.
"""

from ._bisvbi import BiSVBIResult, bisvbi
from ._em_turbo import EMTurboResult, em_turbo_bisvbi
from ._linear_engine import VBIResult
from ._location_omp import LocationOMPResult, location_omp
from ._turbo import common_support_posterior, support_messages, turbo_vbi
from ._variational import IterationInfo, SparsePrior
from ._vbi import sbl, sc_vbi, vbi

__all__ = [
    "IterationInfo", "SparsePrior", "VBIResult", "sbl", "sc_vbi", "vbi",
    "common_support_posterior", "support_messages", "turbo_vbi",
    "BiSVBIResult", "EMTurboResult", "bisvbi", "em_turbo_bisvbi", "LocationOMPResult", "location_omp",
]
