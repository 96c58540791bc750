"""Line spectra and direction finding from snapshots or covariances.

Input contract: data ``(..., n_elements, n_snapshots)`` (or a covariance, or an R-D harmonic
tensor for the ``_nd`` variants); leading axes are independent problems. The family:

* covariance, forward-backward averaging and (multidimensional) spatial smoothing;
* model order: :func:`aic`, :func:`mdl`, :func:`sorte`;
* MUSIC (1-D, 2-D, N-D), root-MUSIC, Min-Norm (spectral and root), ESPRIT (LS/TLS, Unitary, R-D), OMP, beamscan and Capon;
* the result types and the maps between normalised frequencies and physical parameters.

The grid-search engine the estimators share (grids, peak finding, the signal subspace, Newton
refinement) is :mod:`estimators.subspace._grid_search`.
"""

from ._covariance import (
    forward_backward,
    multidimensional_smoothing,
    sample_covariance,
    spatial_smoothing,
)
from ._esprit import esprit, esprit_nd, unitary_esprit
from ._min_norm import min_norm
from ._music import music, music_2d, music_nd
from ._omp import omp
from ._order import aic, mdl, sorte
from ._results import (
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
from ._rootmusic import polynomial_roots, root_music
from ._spectra import beamscan, capon

__all__ = [
    "LineEstimate", "ModelOrder", "MultiEstimate", "SparseEstimate", "SubspaceWarning",
    "azimuth_from_frequency", "delay_from_frequency", "doppler_from_frequency",
    "frequency_from_delay", "frequency_from_doppler",
    "forward_backward", "multidimensional_smoothing", "sample_covariance", "spatial_smoothing",
    "aic", "mdl", "sorte", "min_norm", "music", "music_2d", "music_nd", "root_music", "polynomial_roots",
    "esprit", "esprit_nd", "unitary_esprit", "omp", "beamscan", "capon",
]
