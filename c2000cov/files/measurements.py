"""Measurement and field-report points: CSV or vector files, checked row by row.

Both are point files in the scenario CRS (``x_m``, ``y_m``) or in WGS84
(``lon_deg``, ``lat_deg``); a vector file (GeoPackage, GeoJSON) carries
point geometries in any CRS instead.

Measurements (``c2000cov calibrate``): ``rssi_dbm`` (median received
downlink level at the terminal antenna), optional ``mast_id`` (serving site),
``h_rx_m``, ``profile`` and ``time``. Field reports (``c2000cov validate``):
``status`` (``fail`` or ``ok``).

Rows that cannot be used are counted per reason, never dropped silently:
outside the grid, duplicates, a missing or absurd level (outside
:data:`RSSI_RANGE_DBM`), an unknown profile or mast, an unknown status. A file
without one usable row is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer
from rasterio.crs import CRS

from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import require_file
from c2000cov.files.vectors import VECTOR_SUFFIXES, read_vector
from c2000cov.geo.grid import Grid

#: Plausible received levels (dBm); outside is a logging error.
RSSI_RANGE_DBM = (-140.0, -20.0)
#: Reasons a row is not used, in the order they are checked.
REASONS = ("no_position", "outside_grid", "no_level", "absurd_level", "unknown_profile",
           "unknown_mast", "bad_h_rx", "unknown_status", "duplicate")
WGS84 = "EPSG:4326"


@dataclass
class PointSet:
    """The usable rows of a point file and the count of rows left out per reason."""

    path: Path
    frame: pd.DataFrame  # x_m, y_m, row (1-based data row) and the file's columns
    n_rows: int
    rejected: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts for files and reports."""
        return {"file": self.path.name, "n_rows": self.n_rows, "n_used": len(self.frame),
                "rejected": {k: v for k, v in self.rejected.items() if v}}


def read_point_table(path: Path, crs: CRS, what: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A point file as a table with ``x_m``, ``y_m`` in ``crs`` (NaN where no position).

    Returns the table and a boolean array: row has a position.
    """
    path = require_file(path, what)
    if path.suffix.lower() in VECTOR_SUFFIXES:
        gdf = read_vector(path, what, None, crs)
        if not (gdf.geom_type == "Point").all():
            i = int(np.flatnonzero((gdf.geom_type != "Point").to_numpy())[0])
            raise InvalidInputError(f"{path.name} row {i + 1}: the {what} file must hold "
                                    f"points, got a {gdf.geom_type.iloc[i]}")
        df = pd.DataFrame(gdf.drop(columns="geometry"))
        df["x_m"], df["y_m"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    elif path.suffix.lower() == ".csv":
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InvalidInputError(f"{path.name}: not a readable CSV table ({exc}); "
                                    "expected a header row and one row per point") from None
        df.columns = [str(c).strip() for c in df.columns]
        if {"x_m", "y_m"} <= set(df.columns):
            df["x_m"] = pd.to_numeric(df["x_m"], errors="coerce")
            df["y_m"] = pd.to_numeric(df["y_m"], errors="coerce")
        elif {"lon_deg", "lat_deg"} <= set(df.columns):
            lon = pd.to_numeric(df["lon_deg"], errors="coerce").to_numpy(dtype=float)
            lat = pd.to_numeric(df["lat_deg"], errors="coerce").to_numpy(dtype=float)
            x, y = Transformer.from_crs(WGS84, crs, always_xy=True).transform(lon, lat)
            df["x_m"], df["y_m"] = x, y
        else:
            raise InvalidInputError(
                f"{path.name}: the {what} file needs columns x_m, y_m (scenario CRS) or "
                f"lon_deg, lat_deg (WGS84); found: {', '.join(df.columns)}")
    else:
        raise InvalidInputError(f"{path.name}: unknown {what} file type {path.suffix!r}; use "
                                "CSV or " + ", ".join(VECTOR_SUFFIXES))
    if len(df) == 0:
        raise InvalidInputError(f"{path.name}: the {what} file has no data rows")
    df.insert(0, "row", np.arange(1, len(df) + 1))
    has_pos = np.isfinite(df["x_m"].to_numpy(dtype=float)) & np.isfinite(
        df["y_m"].to_numpy(dtype=float))
    return df.reset_index(drop=True), has_pos


def _finish(path: Path, df: pd.DataFrame, masks: dict[str, np.ndarray], what: str,
            key_columns: list[str]) -> PointSet:
    """Apply the rejection masks in :data:`REASONS` order; drop duplicates; refuse an empty set."""
    keep = np.ones(len(df), dtype=bool)
    rejected = dict.fromkeys(REASONS, 0)
    for reason in REASONS:
        if reason in masks:
            bad = keep & masks[reason]
            rejected[reason] = int(bad.sum())
            keep &= ~bad
    used = df[keep]
    cols = [c for c in key_columns if c in used.columns]
    dup = used.duplicated(subset=cols, keep="first").to_numpy()
    rejected["duplicate"] = int(dup.sum())
    used = used[~dup].reset_index(drop=True)
    if len(used) == 0:
        counts = ", ".join(f"{k} {v}" for k, v in rejected.items() if v)
        raise InvalidInputError(f"{path.name}: no usable {what} among {len(df)} rows "
                                f"({counts}); check the coordinates and columns")
    return PointSet(path, used, len(df), rejected)


def read_measurements(path: Path, grid: Grid, profiles: list[str], default_profile: str,
                      mast_ids: list[str]) -> PointSet:
    """Read measured levels; rows that cannot be used are counted per reason.

    Parameters
    ----------
    path : Path
        CSV or vector point file.
    grid : Grid
        The analysis grid (points outside are counted, not used).
    profiles : list of str
        Service profiles of the scenario (a ``profile`` column must name one).
    default_profile : str
        Profile of rows without a ``profile`` value.
    mast_ids : list of str
        Masts of the scenario (a ``mast_id`` must name one).
    """
    path = Path(path)
    df, has_pos = read_point_table(path, grid.crs, "measurements")
    if "rssi_dbm" not in df.columns:
        raise InvalidInputError(f"{path.name}: the measurements file lacks column rssi_dbm "
                                "(median received downlink level, dBm); found: "
                                + ", ".join(c for c in df.columns if c != "row"))
    level = pd.to_numeric(df["rssi_dbm"], errors="coerce").to_numpy(dtype=float)
    df["rssi_dbm"] = level
    prof = (df["profile"].astype("string").fillna(default_profile).str.strip()
            if "profile" in df.columns else pd.Series([default_profile] * len(df)))
    df["profile"] = prof.to_numpy(dtype=object)
    masks = {"no_position": ~has_pos,
             "outside_grid": has_pos & ~grid.contains(df["x_m"].to_numpy(dtype=float),
                                                      df["y_m"].to_numpy(dtype=float)),
             "no_level": ~np.isfinite(level),
             "absurd_level": np.isfinite(level) & ((level < RSSI_RANGE_DBM[0])
                                                   | (level > RSSI_RANGE_DBM[1])),
             "unknown_profile": ~df["profile"].isin(profiles).to_numpy()}
    if "mast_id" in df.columns:
        ids = df["mast_id"].astype("string").str.strip()
        df["mast_id"] = ids.to_numpy(dtype=object)
        masks["unknown_mast"] = (ids.notna() & ~ids.isin(mast_ids)).to_numpy(dtype=bool)
    if "h_rx_m" in df.columns:
        h = pd.to_numeric(df["h_rx_m"], errors="coerce").to_numpy(dtype=float)
        df["h_rx_m"] = h
        masks["bad_h_rx"] = np.isfinite(h) & ~((h > 0) & (h < 100))
    return _finish(path, df, masks, "measurement",
                   ["x_m", "y_m", "rssi_dbm", "mast_id", "profile", "time", "h_rx_m"])


def read_field_reports(path: Path, grid: Grid) -> PointSet:
    """Read field reports (points with ``status`` ``fail`` or ``ok``)."""
    path = Path(path)
    df, has_pos = read_point_table(path, grid.crs, "field reports")
    if "status" not in df.columns:
        raise InvalidInputError(f"{path.name}: the field reports lack column status (fail or "
                                "ok); found: " + ", ".join(c for c in df.columns if c != "row"))
    status = df["status"].astype("string").str.strip().str.lower()
    df["status"] = status.to_numpy(dtype=object)
    masks = {"no_position": ~has_pos,
             "outside_grid": has_pos & ~grid.contains(df["x_m"].to_numpy(dtype=float),
                                                      df["y_m"].to_numpy(dtype=float)),
             "unknown_status": ~status.isin(["fail", "ok"]).fillna(False).to_numpy(dtype=bool)}
    return _finish(path, df, masks, "field report", ["x_m", "y_m", "status", "time"])

