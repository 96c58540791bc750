"""The scenario catalogue: command-line name -> module.

Each scenario module defines ``DESCRIPTION`` (one line), ``add_arguments(parser)`` for its own
options, and ``run(args) -> int`` that receives the parsed core options (see
:mod:`scenarios._cli`) plus its own. Modules are imported lazily so ``list`` stays fast.
"""

from __future__ import annotations

import importlib

SCENARIOS: dict[str, str] = {
    "isac-ofdm": "scenarios.isac_ofdm",
    "plain": "scenarios.plain_figure",
    "site-csi": "scenarios.site_csi",
    "doa-rmse": "scenarios.doa_rmse",
    "uplink-isac": "scenarios.uplink_isac",
}


def load(name: str):
    """Import and return the module of scenario ``name``."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(sorted(SCENARIOS))} "
                         "(see `subsense list`).")
    return importlib.import_module(SCENARIOS[name])
