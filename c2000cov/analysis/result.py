"""What a run produces, as plain typed data: the one answer to "what does a run write?".

A :class:`RunResult` holds every product of a run (coverage per profile and
noise state, dead zones, per-area and N-1 tables, interference and what-if
outputs). :mod:`c2000cov.products.runfolder` writes it; nothing is added to
a result through callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from c2000cov.analysis.coverage import ProfileCoverage


@dataclass
class InterferenceOutputs:
    """Solar-panel interference of the configured (sunny) state.

    Attributes
    ----------
    sun_factor : float
        The state's ``[interference] sun_factor``.
    masts_table : DataFrame
        Uplink noise rise per mast with its top contributors
        (``masts_interference.csv``).
    noise_rise_dl_db : dict
        Downlink noise rise raster (dB, float32) per profile.
    pv_table : GeoDataFrame
        The installations as used (``pv_used.gpkg``).
    summary : dict
        Noise-rise summary recorded in ``run.json``.
    uplink : object
        The full :class:`c2000cov.radio.interference.UplinkResult`.
    """

    sun_factor: float
    masts_table: pd.DataFrame
    noise_rise_dl_db: dict[str, np.ndarray]
    pv_table: gpd.GeoDataFrame
    summary: dict[str, Any]
    uplink: Any = None


@dataclass
class WhatIfOutputs:
    """What a what-if changed against its base run.

    Attributes
    ----------
    delta : dict
        Per profile, the delta raster (float32 ``DELTA_*`` codes, NaN not evaluated).
    polygons : dict
        Per profile, the gained and lost polygons.
    changes_file : Path
        The CHANGES file.
    changes : dict
        Number of entries of each change kind.
    base_covered_pct : dict
        Covered share of the base run per profile (%).
    """

    delta: dict[str, np.ndarray]
    polygons: dict[str, gpd.GeoDataFrame]
    changes_file: Path
    changes: dict[str, int]
    base_covered_pct: dict[str, float]


@dataclass
class RunResult:
    """What a run computed, before or after writing."""

    inputs: Any  # c2000cov.pipeline.inputs.Inputs
    coverage: dict[str, ProfileCoverage]
    dead_zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    area_table: pd.DataFrame | None = None
    night: dict[str, ProfileCoverage] | None = None
    n1_table: pd.DataFrame | None = None
    delta_table: pd.DataFrame | None = None
    interference: InterferenceOutputs | None = None
    whatif: WhatIfOutputs | None = None
    cache: Any = None  # c2000cov.pipeline.cache.LossCache
    timings_s: dict[str, float] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    device: dict | None = None  # c2000cov.radio.device.ComputeDevice.manifest()
