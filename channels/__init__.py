"""channels: propagation paths from geometry, and paths -> channel frequency responses.

Imports only :mod:`sensing`.
"""

from ._paths import Paths
from ._cfr import array_phases, cfr_from_paths
from ._geometry import (
    free_space_amplitude,
    local_angles,
    monostatic_paths,
    uma_los_path_loss_db,
    uplink_paths,
)

__all__ = [
    "Paths",
    "array_phases",
    "cfr_from_paths",
    "free_space_amplitude",
    "local_angles",
    "monostatic_paths",
    "uma_los_path_loss_db",
    "uplink_paths",
]
