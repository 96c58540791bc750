"""sensing: the core of subspace-sensing.

Array backend and validation, antenna arrays and steering, OFDM numerology and modulation, the
measurement given a channel, metrics, dataset I/O, the sweep runner and plotting. It imports no
other package of this repository.
"""

from . import _numba_cache  # noqa: F401  (first: numba's cache folder, before any kernel module)

from ._backend import (
    Array,
    HostCopy,
    asarray_like,
    cupy_available,
    get_xp,
    host_copy,
    is_cupy_array,
    is_cupy_namespace,
    is_numpy_array,
    is_numpy_namespace,
    namespace_for_backend,
    tensorly_backend,
    to_numpy,
)
from ._files import atomic_write
from ._validation import (
    check_array,
    check_bool,
    check_choice,
    check_divides,
    check_finite,
    check_float,
    check_int,
    check_rng,
)
from ._arrays import (
    ArrayGeometry,
    custom_array,
    steering_derivatives,
    steering_from_directions,
    steering_vector,
    ula,
    ula_spatial_frequency,
    unit_vector,
    upa,
)
from ._ofdm import (
    SPEED_OF_LIGHT,
    Numerology,
    bits_to_symbols,
    constellation,
    hard_decision,
    random_symbols,
    symbols_to_bits,
)
from ._measurement import Measurement, complex_noise, ls_channel_estimate, measure, noise_variance_for_snr

from . import _version

__version__ = _version.__version__  # the one version source: sensing/_version.py

__all__ = [
    "Array", "HostCopy", "atomic_write", "asarray_like", "cupy_available", "get_xp", "host_copy", "is_cupy_array", "is_cupy_namespace",
    "is_numpy_array", "is_numpy_namespace", "namespace_for_backend", "tensorly_backend", "to_numpy",
    "check_array", "check_bool", "check_choice", "check_divides", "check_finite", "check_float",
    "check_int", "check_rng",
    "ArrayGeometry", "custom_array", "steering_derivatives", "steering_from_directions",
    "steering_vector", "ula", "ula_spatial_frequency", "unit_vector", "upa",
    "SPEED_OF_LIGHT", "Numerology", "bits_to_symbols", "constellation", "hard_decision",
    "random_symbols", "symbols_to_bits",
    "Measurement", "complex_noise", "ls_channel_estimate", "measure", "noise_variance_for_snr",
    "__version__",
]

# --- datasets, sweeps, metrics ---
from ._io import dataset_info, load_dataset, save_dataset
from ._sweep import SweepResult, TrialRngs, grid, load_results, run_sweep, trial_rngs
from ._metrics import Match, assigned_rmse, match_estimates, rmse

__all__ += [
    "dataset_info", "load_dataset", "save_dataset",
    "SweepResult", "TrialRngs", "grid", "load_results", "run_sweep", "trial_rngs",
    "Match", "assigned_rmse", "match_estimates", "rmse",
]
# plotting stays a submodule (sensing.plotting) so that importing sensing never loads matplotlib

# --- SSB beam sweep and L1-RSRP reports ---
from ._ssb import (
    RSRP_ABS_MAX_DBM,
    RSRP_ABS_MIN_DBM,
    RSRPReport,
    SSBCodebook,
    quantize_rsrp_absolute,
    quantize_rsrp_differential,
    rsrp_fingerprint,
    rsrp_report,
    ssb_codebook,
    ssb_rsrp,
)

__all__ += [
    "RSRP_ABS_MAX_DBM", "RSRP_ABS_MIN_DBM", "RSRPReport", "SSBCodebook", "quantize_rsrp_absolute",
    "quantize_rsrp_differential", "rsrp_fingerprint", "rsrp_report", "ssb_codebook", "ssb_rsrp",
]
