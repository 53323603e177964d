"""Candidate mast sites for ``c2000cov optimise``: a file in the masts format, or a grid.

A candidates file has the columns of the masts file (``mast_id``, ``x_m``,
``y_m`` or ``lon_deg``, ``lat_deg``, ``h_agl_m``, ``tx_power_dbm``, ``gain_dbi``,
``tx_loss_db``, ``rx_loss_db``, optional pattern columns) and is validated by
:func:`c2000cov.files.masts.validate_masts`. With several antenna heights each
site becomes one candidate per height (``<mast_id>@<h>m``); ``site`` numbers
the sites so a chosen site's other heights leave the race.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.crs import CRS

from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import require_file
from c2000cov.files.masts import MAST_COLUMNS, _read_mast_table, check_masts_inside, validate_masts
from c2000cov.geo.grid import Grid
from c2000cov.geo.surface import Surface


def _expand_heights(df: pd.DataFrame, heights_m: Sequence[float] | None) -> pd.DataFrame:
    df = df.copy()
    df["site"] = np.arange(len(df))
    if not heights_m:
        return df
    parts = []
    for h in heights_m:
        part = df.copy()
        part["mast_id"] = [f"{m}@{h:g}m" for m in part["mast_id"]]
        part["h_agl_m"] = float(h)
        parts.append(part)
    return pd.concat(parts, ignore_index=True).sort_values(["site", "h_agl_m"],
                                                           kind="stable").reset_index(drop=True)


def read_candidates(path: Path, grid: Grid, surface: Surface, crs: CRS,
                    existing_ids: Sequence[str], heights_m: Sequence[float] | None = None
                    ) -> pd.DataFrame:
    """Read and validate a candidates file: the masts columns plus ``site``.

    Raises :class:`~c2000cov.errors.InvalidInputError` (one line: file, row,
    value, expectation) on missing columns, duplicate ids, ids of existing
    masts and sites outside the grid or on no-data terrain.
    """
    path = require_file(path, "candidates")
    raw = _read_mast_table(path)
    if heights_m and "h_agl_m" not in raw.columns:
        raw["h_agl_m"] = float(heights_m[0])
    cands = validate_masts(raw, path.name, crs, path.parent)
    check_masts_inside(cands, grid, surface.ground_m, path.name)
    clash = [m for m in cands["mast_id"] if m in set(existing_ids)]
    if clash:
        i = int(np.flatnonzero(cands["mast_id"].to_numpy() == clash[0])[0])
        raise InvalidInputError(f"{path.name} row {i + 1}: mast_id {clash[0]!r} is already a mast "
                                "of the scenario; give candidates their own ids")
    return _expand_heights(cands, heights_m)


def grid_candidates(grid: Grid, surface: Surface, spacing_m: float, template: dict,
                    heights_m: Sequence[float] | None = None,
                    inside: np.ndarray | None = None) -> pd.DataFrame:
    """Candidates on a regular grid of ``spacing_m``, on terrain pixels outside buildings.

    ``template`` gives the radio columns (``h_agl_m``, ``tx_power_dbm``,
    ``gain_dbi``, ``tx_loss_db``, ``rx_loss_db``); ``inside`` (bool raster)
    restricts the sites, e.g. to an area. Sites on no-data terrain (outside the
    DTM, open water left empty) or on a building pixel are skipped.
    """
    if not spacing_m > 0:
        raise InvalidInputError(f"--grid-m must be > 0 m, got {spacing_m:g}")
    xmin, ymin, xmax, ymax = grid.bounds_m
    xs = np.arange(xmin + spacing_m / 2, xmax, spacing_m)
    ys = np.arange(ymax - spacing_m / 2, ymin, -spacing_m)
    xx, yy = np.meshgrid(xs, ys)
    xx, yy = xx.ravel(), yy.ravel()
    rows, cols = grid.rowcol(xx, yy)
    ok = np.isfinite(surface.ground_m[rows, cols]) & ~surface.building_mask[rows, cols]
    if inside is not None:
        ok &= inside[rows, cols]
    if not ok.any():
        raise InvalidInputError(f"--grid-m {spacing_m:g}: no candidate site on open terrain "
                                "inside the region; use a smaller spacing")
    n = int(ok.sum())
    df = pd.DataFrame({"mast_id": [f"G{k + 1:04d}" for k in range(n)],
                       "x_m": xx[ok], "y_m": yy[ok]})
    df["name"] = df["mast_id"]
    for col in ("h_agl_m", "tx_power_dbm", "gain_dbi", "tx_loss_db", "rx_loss_db"):
        df[col] = float(template[col])
    df["azimuth_deg"] = np.nan
    df["tilt_deg"] = 0.0
    df["pattern"] = None
    div_db = template.get("rx_diversity_gain_db")  # none: the scenario's bs_diversity_gain_db
    df["rx_diversity_gain_db"] = np.nan if div_db is None else float(div_db)
    return _expand_heights(df[list(MAST_COLUMNS)], heights_m)
