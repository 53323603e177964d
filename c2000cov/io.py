"""Readers and writers for real formats.

Readers validate before anything is computed and raise errors that name the
file, the row or column, the value and what was expected. Writers go through
:func:`atomic_path`: data is written under a temporary name in the target
folder and renamed when complete, so a failed or killed run never leaves a
half-written file that looks whole.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds
from shapely import is_empty, is_valid, is_valid_reason

from c2000cov.errors import CRSError, InputNotFoundError, InvalidInputError
from c2000cov.grid import Grid

#: Fixed timestamp written into GeoPackages so that reruns are bit-identical.
GPKG_FIXED_DATE = "2000-01-01T00:00:00.000Z"

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")


# --------------------------------------------------------------------------- helpers
def require_file(path: Path, what: str) -> Path:
    """Raise InputNotFoundError naming ``what`` when ``path`` is not a file."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{what} file {path} does not exist; check the path in the "
                                 "scenario (relative paths are relative to the scenario file)")
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    if tmp.exists():
        tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# --------------------------------------------------------------------------- rasters
def read_raster_to_grid(path: Path, grid: Grid, what: str,
                        resampling: Resampling = Resampling.bilinear) -> np.ndarray:
    """Read band 1 of a GeoTIFF, reprojected onto ``grid`` (float32, NaN = no data).

    A raster in another projected CRS is reprojected (bilinear by default).
    """
    path = require_file(path, what)
    with rasterio.open(path) as src:
        check_raster_crs(src, path)
        band = src.read(1, masked=True).astype("float32")
        if band.mask.all() if np.ndim(band.mask) else bool(band.mask):
            raise InvalidInputError(
                f"{path.name}: every cell is nodata ({src.nodata}); the {what} holds no heights")
        data = band.filled(np.nan)
        out = np.full(grid.shape, np.nan, dtype="float32")
        reproject(source=data, destination=out, src_transform=src.transform, src_crs=src.crs,
                  src_nodata=np.nan, dst_transform=grid.transform, dst_crs=grid.crs,
                  dst_nodata=np.nan, resampling=resampling)
    return out


def check_raster_crs(src, path: Path) -> None:
    """Reject rasters without a CRS or with a geographic one."""
    if src.crs is None:
        raise CRSError(
            f"{Path(path).name}: raster has no CRS; assign one (for AHN: "
            f"gdal_edit.py -a_srs EPSG:28992 {Path(path).name})")
    if not src.crs.is_projected:
        raise CRSError(
            f"{Path(path).name}: raster CRS {src.crs.to_string()} is geographic; "
            "heights need a projected CRS in metres (reproject it, e.g. to EPSG:28992)")


def raster_bounds_in(path: Path, crs: CRS, what: str) -> tuple[float, float, float, float]:
    """Bounds of a raster in another CRS (for the default scenario extent)."""
    path = require_file(path, what)
    with rasterio.open(path) as src:
        check_raster_crs(src, path)
        return tuple(transform_bounds(src.crs, crs, *src.bounds))


def raster_resolution_m(path: Path) -> float:
    """Pixel size of a projected raster in its own units (m)."""
    with rasterio.open(path) as src:
        return float(abs(src.transform.a))


def write_cog(path: Path, bands: Sequence[np.ndarray], grid: Grid, descriptions: Sequence[str],
              nodata: float = float("nan"), tags: dict[str, str] | None = None,
              units: Sequence[str] | None = None) -> Path:
    """Write bands as a Cloud-Optimized GeoTIFF (deflate), atomically.

    All bands share one dtype (float32 unless every band is an integer type);
    each band gets a description and optional unit.
    """
    path = Path(path)
    dtype = np.result_type(*[b.dtype for b in bands])
    if not np.issubdtype(dtype, np.integer):
        dtype = np.dtype("float32")
    with atomic_path(path) as tmp:
        staging = tmp.with_name(tmp.name + ".gtiff")
        try:
            profile = dict(driver="GTiff", width=grid.width, height=grid.height,
                           count=len(bands), dtype=dtype, crs=grid.crs, transform=grid.transform,
                           nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
                           compress="deflate")
            with rasterio.open(staging, "w", **profile) as dst:
                for i, (band, desc) in enumerate(zip(bands, descriptions, strict=True), 1):
                    dst.write(band.astype(dtype, copy=False), i)
                    dst.set_band_description(i, desc)
                    if units is not None:
                        dst.update_tags(i, unit=units[i - 1])
                if tags:
                    dst.update_tags(**tags)
            rasterio.shutil.copy(staging, tmp, driver="COG", compress="DEFLATE",
                                 BLOCKSIZE=256, OVERVIEWS="AUTO")
        finally:
            if staging.exists():
                staging.unlink()
    return path


# --------------------------------------------------------------------------- vectors
def read_vector(path: Path, what: str, layer: str | None, crs: CRS) -> gpd.GeoDataFrame:
    """Read a vector layer (GeoPackage, GeoJSON, Shapefile), reprojected to ``crs``.

    Layers without a CRS are rejected; invalid or empty geometries are errors that
    name the feature's row (1-based).
    """
    path = require_file(path, what)
    try:
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InvalidInputError(f"{path.name}: cannot read the {what} layer: {exc}") from None
    if gdf.crs is None:
        raise CRSError(f"{path.name}: the {what} layer has no CRS; set one (e.g. EPSG:28992)")
    if len(gdf) == 0:
        raise InvalidInputError(f"{path.name}: the {what} layer holds no features")
    geoms = gdf.geometry.values
    empty = is_empty(geoms) | pd.isna(geoms)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InvalidInputError(f"{path.name} row {i + 1}: empty geometry in the {what} layer; "
                                "remove the feature or give it a geometry")
    valid = is_valid(geoms)
    if not valid.all():
        i = int(np.flatnonzero(~valid)[0])
        raise InvalidInputError(
            f"{path.name} row {i + 1}: invalid geometry in the {what} layer "
            f"({is_valid_reason(geoms[i])}); repair it (e.g. shapely.make_valid or QGIS "
            "'Fix geometries')")
    if gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    return gdf


def require_columns(df: pd.DataFrame, columns: Sequence[str], path: Path, what: str) -> None:
    """Raise naming the missing columns and the ones present."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{Path(path).name}: the {what} layer lacks column(s) {', '.join(missing)}; "
            f"found: {', '.join(str(c) for c in df.columns if c != 'geometry')}")


def numeric_column(df: pd.DataFrame, column: str, path: Path, what: str,
                   id_column: str | None = None, required: bool = True) -> np.ndarray:
    """A column as float64, raising on the first non-numeric (or missing) value."""
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    raw = df[column].to_numpy()
    bad = np.isnan(values) & ~pd.isna(raw) if not required else np.isnan(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        ident = f" ({id_column} {df[id_column].iloc[i]})" if id_column else ""
        raise InvalidInputError(
            f"{Path(path).name} row {i + 1}{ident}: {column} must be a number, got "
            f"{raw[i]!r}")
    return values


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Write one or more layers to a GeoPackage atomically, with a fixed timestamp."""
    path = Path(path)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_FIXED_DATE})
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio",
                        append=tmp.exists())
    return path


def write_csv(path: Path, df: pd.DataFrame, float_format: str = "%.6g") -> Path:
    """Write a DataFrame as CSV atomically (no index)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
    return path


# --------------------------------------------------------------------------- masts
MAST_REQUIRED = ("mast_id", "h_agl_m", "tx_power_dbm", "gain_dbi", "tx_loss_db", "rx_loss_db")
MAST_NUMERIC = ("h_agl_m", "tx_power_dbm", "gain_dbi", "tx_loss_db", "rx_loss_db")
MAST_OPTIONAL_NUMERIC = ("azimuth_deg", "tilt_deg")
MAST_COLUMNS = ("mast_id", "name", "x_m", "y_m", "h_agl_m", "tx_power_dbm", "gain_dbi",
                "tx_loss_db", "rx_loss_db", "azimuth_deg", "tilt_deg", "pattern")


def _read_mast_table(path: Path) -> pd.DataFrame:
    """Masts as a DataFrame of strings/values with x_m, y_m (or lon/lat) columns."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = reader.fieldnames or []
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
    ids = df["mast_id"].astype("string")
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InvalidInputError(f"{path.name} row {i + 1}: mast_id is empty")
    seen: dict[str, int] = {}
    for i, m in enumerate(ids):
        if m in seen:
            raise InvalidInputError(f"{path.name} row {i + 1}: duplicate mast_id {m!r} "
                                    f"(first at row {seen[m] + 1}); mast ids must be unique")
        seen[m] = i
    out = pd.DataFrame({"mast_id": ids.astype(str).to_numpy()})
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
        if np.isnan(out["azimuth_deg"][i]):
            raise InvalidInputError(f"{path.name} row {i + 1} (mast_id {out['mast_id'][i]}): "
                                    "a mast with a pattern needs azimuth_deg")
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


# --------------------------------------------------------------------------- PV and areas
PV_REQUIRED = ("pv_id", "kwp", "emission_db_over_limit")
#: Peak power of one panel, one optimizer per panel (DOMAIN.md, about 0.4 kWp).
KWP_PER_DEVICE = 0.4


def read_pv(path: Path, crs: CRS, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read solar installations (points or polygons) with their emission parameters.

    Columns: ``pv_id``, ``kwp``, ``emission_db_over_limit`` (required);
    ``n_devices`` (default ``kwp / 0.4``), ``eirp_dbm_per_25khz`` (measured,
    NaN when absent), ``h_agl_m`` (NaN: taken from the buildings), ``mitigated``
    (default False).
    """
    gdf = read_vector(path, "pv", layer, crs)
    require_columns(gdf, PV_REQUIRED, path, "pv")
    out = gpd.GeoDataFrame({"pv_id": gdf["pv_id"].astype(str).to_numpy()},
                           geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    dup = out["pv_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InvalidInputError(f"{Path(path).name} row {i + 1}: duplicate pv_id "
                                f"{out['pv_id'][i]!r}")
    out["kwp"] = numeric_column(gdf, "kwp", path, "pv", "pv_id")
    bad = ~(out["kwp"].to_numpy() > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"{Path(path).name} row {i + 1} (pv_id {out['pv_id'][i]}): "
                                f"kwp must be > 0, got {out['kwp'][i]:g}")
    out["emission_db_over_limit"] = numeric_column(gdf, "emission_db_over_limit", path, "pv",
                                                   "pv_id")
    if "n_devices" in gdf:
        n = numeric_column(gdf, "n_devices", path, "pv", "pv_id", required=False)
        default = np.maximum(1.0, np.round(out["kwp"].to_numpy() / KWP_PER_DEVICE))
        out["n_devices"] = np.where(np.isnan(n), default, n)
    else:
        out["n_devices"] = np.maximum(1.0, np.round(out["kwp"].to_numpy() / KWP_PER_DEVICE))
    for col in ("eirp_dbm_per_25khz", "h_agl_m"):
        out[col] = (numeric_column(gdf, col, path, "pv", "pv_id", required=False)
                    if col in gdf else np.nan)
    out["mitigated"] = (gdf["mitigated"].fillna(False).astype(bool).to_numpy()
                        if "mitigated" in gdf else False)
    return out


def read_areas(path: Path, name_column: str, crs: CRS,
               layer: str | None = None) -> gpd.GeoDataFrame:
    """Read the reporting areas (polygons) with their names, in the scenario CRS."""
    gdf = read_vector(path, "areas", layer, crs)
    require_columns(gdf, [name_column], path, "areas")
    poly = gdf.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if not poly.all():
        i = int(np.flatnonzero(~poly)[0])
        raise InvalidInputError(f"{Path(path).name} row {i + 1}: areas must be polygons, got "
                                f"{gdf.geom_type.iloc[i]}")
    out = gpd.GeoDataFrame({"area_name": gdf[name_column].astype(str).to_numpy()},
                           geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    return out


def read_buildings(path: Path, crs: CRS, layer: str | None, height_column: str | None,
                   roof_column: str | None, ground_column: str | None,
                   year_column: str | None) -> gpd.GeoDataFrame:
    """Read building footprints with heights, as ``height_m`` (above ground) and/or roof NAP.

    Returns columns ``roof_nap_m`` (NaN when only a height is given),
    ``height_m`` (NaN when only levels are given), ``year`` (0 when unknown).
    Buildings without a usable height are dropped with a warning naming the count.
    """
    gdf = read_vector(path, "buildings", layer, crs)
    cols = [c for c in (height_column, roof_column, ground_column, year_column) if c]
    require_columns(gdf, cols, path, "buildings")
    out = gpd.GeoDataFrame(geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    if height_column:
        h = pd.to_numeric(gdf[height_column], errors="coerce").to_numpy(float)
        out["height_m"] = h
        out["roof_nap_m"] = np.nan
        usable = h > 0
    else:
        roof = pd.to_numeric(gdf[roof_column], errors="coerce").to_numpy(float)
        ground = pd.to_numeric(gdf[ground_column], errors="coerce").to_numpy(float)
        out["roof_nap_m"] = roof
        out["height_m"] = roof - ground
        usable = np.isfinite(roof) & (roof - ground > 0)
    if year_column:
        year = pd.to_numeric(gdf[year_column], errors="coerce").to_numpy(float)
        out["year"] = np.where(np.isfinite(year), year, 0).astype("int32")
    else:
        out["year"] = np.zeros(len(out), dtype="int32")
    dropped = int((~usable).sum())
    if dropped:
        warnings.warn(f"{Path(path).name}: {dropped} of {len(out)} buildings have no usable "
                      "height and are left out of the surface", stacklevel=2)
    out = out[usable].reset_index(drop=True)
    if len(out) == 0:
        raise InvalidInputError(f"{Path(path).name}: no building has a usable height")
    return out


# --------------------------------------------------------------------------- run folders
def read_run_manifest(run_dir: Path) -> dict:
    """``run.json`` of a run folder, checked: the folder exists and the file is a JSON object."""
    import json

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputNotFoundError(f"run folder {run_dir} does not exist; give the output folder "
                                 "of `c2000cov run` (its --out)")
    manifest_path = run_dir / "run.json"
    if not manifest_path.is_file():
        raise InputNotFoundError(f"{run_dir}: no run.json; expected the output folder of "
                                 "`c2000cov run`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{manifest_path}: not valid JSON ({exc}); rerun "
                                "`c2000cov run` to rewrite the run folder") from None
    if not isinstance(manifest, dict):
        raise InvalidInputError(f"{manifest_path}: expected a JSON object")
    return manifest
