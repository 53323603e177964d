"""The masts file: CSV, GeoJSON or GeoPackage, validated row by row."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.crs import CRS

from c2000cov.errors import CRSError, InputNotFoundError, InvalidInputError
from c2000cov.files.atomic import require_file
from c2000cov.files.vectors import id_column, numeric_column, require_columns
from c2000cov.geo.grid import Grid

MAST_REQUIRED = ("mast_id", "h_agl_m", "tx_power_dbm", "gain_dbi", "tx_loss_db", "rx_loss_db")
MAST_NUMERIC = ("h_agl_m", "tx_power_dbm", "gain_dbi", "tx_loss_db", "rx_loss_db")
MAST_OPTIONAL_NUMERIC = ("azimuth_deg", "tilt_deg", "rx_diversity_gain_db")
MAST_COLUMNS = ("mast_id", "name", "x_m", "y_m", "h_agl_m", "tx_power_dbm", "gain_dbi",
                "tx_loss_db", "rx_loss_db", "azimuth_deg", "tilt_deg", "pattern",
                "rx_diversity_gain_db")


def _read_mast_table(path: Path) -> pd.DataFrame:
    """Masts as a DataFrame of strings/values with x_m, y_m (or lon/lat) columns."""
    if path.suffix.lower() == ".csv":
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                rows = list(reader)
                header = reader.fieldnames or []
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the "
                                    "masts file as UTF-8 CSV") from None
        except csv.Error as exc:
            raise InvalidInputError(f"{path.name}: not a readable CSV file ({exc})") from None
        if not header:
            raise InvalidInputError(f"{path.name}: the masts file is empty (no header, no rows)")
        df = pd.DataFrame(rows, columns=[h.strip() for h in header])
        df = df.apply(lambda s: s.str.strip() if s.dtype == object else s)
        return df.replace({"": None})
    gdf = gpd.read_file(path)
    if len(gdf) == 0:
        return pd.DataFrame(columns=list(gdf.columns))
    if gdf.crs is None:
        raise CRSError(f"{path.name}: the masts layer has no CRS; set one (e.g. EPSG:28992)")
    if not (gdf.geom_type == "Point").all():
        i = int(np.flatnonzero((gdf.geom_type != "Point").to_numpy())[0])
        raise InvalidInputError(f"{path.name} row {i + 1}: mast geometry must be a Point, got "
                                f"{gdf.geom_type.iloc[i]}")
    df = pd.DataFrame(gdf.drop(columns="geometry"))
    df.attrs["crs"] = gdf.crs
    df["__x"] = gdf.geometry.x.to_numpy()
    df["__y"] = gdf.geometry.y.to_numpy()
    return df


def read_masts(path: Path, crs: CRS, layer: str | None = None) -> pd.DataFrame:
    """Read and validate the masts file (CSV, GeoJSON or GeoPackage).

    Returns a DataFrame with columns :data:`MAST_COLUMNS`: positions in the
    scenario CRS (``x_m``, ``y_m``), ``azimuth_deg`` NaN for omni masts and
    ``pattern`` an absolute path or None.
    """
    path = require_file(path, "masts")
    return validate_masts(_read_mast_table(path), path.name, crs, path.parent)


def validate_masts(df: pd.DataFrame, label: str, crs: CRS, base_dir: Path) -> pd.DataFrame:
    """Validate a table of masts (strings or values); ``label`` names it in messages.

    Pattern files are resolved relative to ``base_dir``.
    """
    path = Path(label)
    if len(df) == 0:
        raise InvalidInputError(f"{path.name}: no masts (the file has no data rows); "
                                "add at least one mast")
    require_columns(df, MAST_REQUIRED, path, "masts")
    ids = id_column(df, "mast_id", path)
    out = pd.DataFrame({"mast_id": ids.to_numpy()})
    out["name"] = (df["name"].fillna(out["mast_id"]).astype(str).to_numpy()
                   if "name" in df else out["mast_id"])
    if "__x" in df:
        x, y = df["__x"].to_numpy(float), df["__y"].to_numpy(float)
        src_crs = df.attrs["crs"]
    elif {"x_m", "y_m"} <= set(df.columns):
        x = numeric_column(df, "x_m", path, "masts", "mast_id")
        y = numeric_column(df, "y_m", path, "masts", "mast_id")
        src_crs = crs
    elif {"lon_deg", "lat_deg"} <= set(df.columns):
        x = numeric_column(df, "lon_deg", path, "masts", "mast_id")
        y = numeric_column(df, "lat_deg", path, "masts", "mast_id")
        bad = (np.abs(x) > 180) | (np.abs(y) > 90)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"{path.name} row {i + 1} (mast_id {ids.iloc[i]}): "
                                    f"lon_deg/lat_deg ({x[i]}, {y[i]}) are not WGS84 degrees")
        src_crs = CRS.from_epsg(4326)
    else:
        raise InvalidInputError(f"{path.name}: masts need a position: columns x_m, y_m (in the "
                                "scenario CRS) or lon_deg, lat_deg (WGS84)")
    if CRS.from_user_input(src_crs) != crs:
        pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=src_crs).to_crs(crs)
        x, y = pts.x.to_numpy(), pts.y.to_numpy()
    out["x_m"], out["y_m"] = x, y
    for col in MAST_NUMERIC:
        out[col] = numeric_column(df, col, path, "masts", "mast_id")
    for col in MAST_OPTIONAL_NUMERIC:
        out[col] = (numeric_column(df, col, path, "masts", "mast_id", required=False)
                    if col in df else np.nan)
    bad = ~(out["h_agl_m"].to_numpy() > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"{path.name} row {i + 1} (mast_id {out['mast_id'][i]}): "
                                f"h_agl_m must be > 0, got {out['h_agl_m'][i]:g}")
    for col in ("tx_loss_db", "rx_loss_db"):
        bad = out[col].to_numpy() < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"{path.name} row {i + 1} (mast_id {out['mast_id'][i]}): "
                                    f"{col} must be >= 0 dB, got {out[col][i]:g}")
    patterns: list[str | None] = []
    for i, p in enumerate(df["pattern"] if "pattern" in df else [None] * len(df)):
        if p is None or (isinstance(p, float) and math.isnan(p)) or str(p).strip() == "":
            patterns.append(None)
            continue
        ppath = (Path(base_dir) / str(p)).resolve()
        if not ppath.is_file():
            raise InputNotFoundError(f"{path.name} row {i + 1} (mast_id {out['mast_id'][i]}): "
                                     f"pattern file {p} not found next to {path.name}")
        # a pattern without azimuth_deg: an omni antenna with that vertical pattern
        patterns.append(str(ppath))
    out["pattern"] = patterns
    out["tilt_deg"] = out["tilt_deg"].fillna(0.0)
    return out[list(MAST_COLUMNS)]


def check_masts_inside(masts: pd.DataFrame, grid: Grid, terrain_m: np.ndarray,
                       source: str) -> None:
    """Raise when a mast lies outside the grid or on a no-data terrain cell."""
    inside = grid.contains(masts["x_m"].to_numpy(), masts["y_m"].to_numpy())
    xmin, ymin, xmax, ymax = grid.bounds_m
    for i in np.flatnonzero(~inside):
        m = masts.iloc[i]
        raise InvalidInputError(
            f"{source} row {i + 1} (mast_id {m.mast_id}): position ({m.x_m:.1f}, {m.y_m:.1f}) "
            f"lies outside the terrain extent [{xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f}]")
    rows, cols = grid.rowcol(masts["x_m"].to_numpy(), masts["y_m"].to_numpy())
    nodata = np.isnan(terrain_m[rows, cols])
    for i in np.flatnonzero(nodata):
        m = masts.iloc[i]
        raise InvalidInputError(
            f"{source} row {i + 1} (mast_id {m.mast_id}): the terrain has no data at "
            f"({m.x_m:.1f}, {m.y_m:.1f})")
