"""The scenario catalogue: command-line name -> the module of its terminal program.

Each program module defines ``DESCRIPTION`` (one line), ``add_arguments(parser)`` for its own
options, and ``run(args) -> int`` that receives the parsed core options (see
:mod:`scenarios._cli`) plus its own. Modules are imported lazily; ``list`` reads each
description from :data:`DESCRIBED_BY` where the program itself would import the estimators.
"""

from __future__ import annotations

import importlib

__all__ = ["SCENARIOS", "DESCRIBED_BY", "load", "description"]

SCENARIOS: dict[str, str] = {
    "isac-ofdm": "scenarios._isac_sweep",
    "plain": "scenarios.plain_figure",
    "site-csi": "scenarios.site_csi",
    "doa-rmse": "scenarios.doa_rmse",
    "uplink-isac": "scenarios._uplink_sweep",
}

DESCRIBED_BY: dict[str, str] = {
    "isac-ofdm": "scenarios.isac_ofdm",
    "uplink-isac": "scenarios.uplink_isac",
}
"""Scenario -> the lighter module whose ``DESCRIPTION`` its program re-exports."""


def load(name: str):
    """Import and return the program module of scenario ``name``."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(sorted(SCENARIOS))} "
                         "(see `subsense list`).")
    return importlib.import_module(SCENARIOS[name])


def description(name: str) -> str:
    """One-line description of scenario ``name``."""
    mod = importlib.import_module(DESCRIBED_BY.get(name, SCENARIOS[name]))
    return getattr(mod, "DESCRIPTION", (mod.__doc__ or "").strip().splitlines()[0])
