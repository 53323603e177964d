"""Vector layers (GeoPackage, GeoJSON, Shapefile) and CSV tables: reading with checks that
name the file, row and column, and atomic writing."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from rasterio.crs import CRS
from shapely import is_empty, is_valid, is_valid_reason

from c2000cov.errors import CRSError, InvalidInputError
from c2000cov.files.atomic import atomic_path, require_file

#: Fixed timestamp written into GeoPackages so that reruns are bit-identical.
GPKG_FIXED_DATE = "2000-01-01T00:00:00.000Z"

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")

def read_vector(path: Path, what: str, layer: str | None, crs: CRS) -> gpd.GeoDataFrame:
    """Read a vector layer (GeoPackage, GeoJSON, Shapefile), reprojected to ``crs``.

    ``path`` may also be a folder or a glob (e.g. 3D BAG tiles): the layer of
    every file is read and the features are concatenated, in sorted file order.
    Layers without a CRS are rejected; invalid or empty geometries are errors that
    name the file and the feature's row (1-based).
    """
    from c2000cov.files.mosaic import expand_paths, is_glob

    if is_glob(str(path)) or Path(path).is_dir():
        parts = [read_vector(p, what, layer, crs)
                 for p in expand_paths([path], what, VECTOR_SUFFIXES)]
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=crs)
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
    bad |= np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        ident = f" ({id_column} {df[id_column].iloc[i]})" if id_column else ""
        raise InvalidInputError(
            f"{Path(path).name} row {i + 1}{ident}: {column} must be a "
            f"{'finite ' if np.isinf(values[i]) else ''}number, got {raw[i]!r}")
    return values


#: Spellings of true and false accepted in CSV and vector attribute columns.
TRUE_WORDS = ("true", "1", "yes", "ja")
FALSE_WORDS = ("false", "0", "no", "nee", "")


def boolean_column(df: pd.DataFrame, column: str, path: Path, what: str,
                   id_column: str | None = None) -> np.ndarray:
    """A column of true/false values; missing is false. Booleans, 0/1 and the words
    :data:`TRUE_WORDS` / :data:`FALSE_WORDS` (any case) only: ``"false"`` is false."""
    out = np.zeros(len(df), dtype=bool)
    for i, value in enumerate(df[column].to_numpy()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, bool | np.bool_):
            out[i] = bool(value)
            continue
        if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
            out[i] = bool(value)
            continue
        word = str(value).strip().lower() if isinstance(value, str) else None
        if word in TRUE_WORDS or word in FALSE_WORDS:
            out[i] = word in TRUE_WORDS
            continue
        ident = f" ({id_column} {df[id_column].iloc[i]})" if id_column else ""
        raise InvalidInputError(
            f"{Path(path).name} row {i + 1}{ident}: {column} must be true or false ("
            f"{'/'.join(TRUE_WORDS)} or {'/'.join(w for w in FALSE_WORDS if w)}), got {value!r}")
    return out


def id_column(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """An id column as trimmed strings, each present and unique (row numbers 1-based)."""
    raw = df[column]
    ids = raw.astype("string").str.strip()
    empty = (ids.isna() | (ids == "")).to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InvalidInputError(f"{Path(path).name} row {i + 1}: {column} is empty")
    seen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if ident in seen:
            raise InvalidInputError(f"{Path(path).name} row {i + 1}: duplicate {column} "
                                    f"{ident!r} (first at row {seen[ident] + 1}); {column} "
                                    "values must be unique")
        seen[ident] = i
    return ids.astype(str)


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame],
               styles: dict[str, str] | None = None) -> Path:
    """Write one or more layers to a GeoPackage atomically, with a fixed timestamp.

    ``styles`` maps layer names to QGIS style (QML) text, stored in the
    ``layer_styles`` table as each layer's default (:func:`add_layer_styles`).
    """
    path = Path(path)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_FIXED_DATE})
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio",
                        append=tmp.exists())
        if styles:
            add_layer_styles(tmp, {k: q for k, q in styles.items() if k in layers})
    return path


_LAYER_STYLES_SQL = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
  f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))
"""


def add_layer_styles(gpkg: Path, styles: dict[str, str], name: str = "c2000cov") -> None:
    """Store QGIS styles in a GeoPackage's ``layer_styles`` table, default for each layer.

    ``styles`` maps layer (table) names to QML text. The table is registered in
    ``gpkg_contents`` as attributes, as QGIS does, and every row carries the
    fixed :data:`GPKG_FIXED_DATE`, so that the file stays bit-identical
    between reruns.
    """
    import sqlite3

    con = sqlite3.connect(str(gpkg))
    try:
        con.execute(_LAYER_STYLES_SQL)
        con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                    "description, last_change) VALUES ('layer_styles', 'attributes', "
                    "'layer_styles', 'QGIS layer styles', ?)", (GPKG_FIXED_DATE,))
        for layer, qml in styles.items():
            geom = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE "
                               "table_name = ?", (layer,)).fetchone()
            con.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (layer,))
            con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, "
                        "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                        "useAsDefault, description, owner, ui, update_time) VALUES "
                        "('', '', ?, ?, ?, ?, '', 1, ?, '', '', ?)",
                        (layer, geom[0] if geom else "geom", name, qml,
                         f"c2000cov style of {layer}", GPKG_FIXED_DATE))
        con.commit()
    finally:
        con.close()


#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def escape_formula(value):
    """A text cell made safe to open in a spreadsheet (OWASP): a cell that starts with
    ``=``, ``+``, ``-``, ``@``, tab or carriage return and is not a number gets a leading
    ``'``, so Excel and LibreOffice show it as text instead of evaluating it."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _is_number(value):
        return "'" + value
    return value


def write_csv(path: Path, df: pd.DataFrame, float_format: str = "%.6g") -> Path:
    """Write a DataFrame as CSV atomically (no index), text cells formula-escaped.

    The one CSV writer of the package: every CSV output goes through it, so
    every text cell is escaped by :func:`escape_formula`.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        escaped_cells(df).to_csv(tmp, index=False, float_format=float_format,
                                 lineterminator="\n")
    return path


def escaped_cells(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell passed through :func:`escape_formula` (a copy)."""
    text_columns = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])
                    and not pd.api.types.is_bool_dtype(df[c])]
    if text_columns:
        df = df.copy()
        for c in text_columns:
            df[c] = df[c].map(escape_formula)
    return df


def csv_text(df: pd.DataFrame) -> str:
    """A DataFrame as CSV text (no index), text cells formula-escaped as in
    :func:`write_csv`: for CSV printed or written by a command."""
    return escaped_cells(df).to_csv(index=False, lineterminator="\n")


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
