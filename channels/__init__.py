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

# --- uplink multi-user ISAC geometry and the location-domain dictionary ---------------------
from ._uplink import UplinkGeometry, draw_uplink_geometry, uplink_channel
from ._location_dictionary import LocationDictionary, location_dictionary, uniform_location_grid

__all__ += ["UplinkGeometry", "draw_uplink_geometry", "uplink_channel",
            "LocationDictionary", "location_dictionary", "uniform_location_grid"]

# --- geometric city model: site-specific, spatially consistent CSI --------------------------
from ._city import (
    SITE_SPECS,
    CityChannel,
    CitySite,
    SiteSpec,
    city_channel,
    city_paths,
    city_site,
    city_site_names,
    sample_user_positions,
    segments_blocked,
    subband_frequencies,
)

from ._sionna_rt import RTSite, sionna_rt_available, sionna_rt_channel, sionna_rt_paths, surface_heights

__all__ += ["SITE_SPECS", "CityChannel", "CitySite", "SiteSpec", "city_channel", "city_paths", "city_site",
            "city_site_names", "sample_user_positions", "segments_blocked", "subband_frequencies",
            "RTSite", "sionna_rt_available", "sionna_rt_channel", "sionna_rt_paths", "surface_heights"]
