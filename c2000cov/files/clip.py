"""Vector inputs and masts of ``c2000cov prepare``, clipped to the prepared extent.

Each reader takes only the features inside the grid's bounding box from the
file (a spatial filter in the file's own CRS, so a national file costs what
the region holds), reprojects them to the grid CRS, clips them to the extent
and returns them with the standard columns the scenario reads: buildings
``roof_nap_m``, ``ground_nap_m``, ``height_m``, ``year``; population points
``population``; masts :data:`~c2000cov.files.masts.MAST_COLUMNS`. Height
columns are found by name (:data:`BUILDING_SCHEMAS`: 3D BAG, our own, a plain
height) unless named explicitly.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from rasterio.crs import CRS
from rasterio.warp import transform_bounds
from shapely.geometry import box

from c2000cov.errors import CRSError, InvalidInputError
from c2000cov.files.masts import MAST_COLUMNS, read_masts
from c2000cov.files.mosaic import expand_paths
from c2000cov.files.vectors import VECTOR_SUFFIXES, write_csv
from c2000cov.geo.grid import Grid

#: Building height schemas recognised, in order: (label, roof, ground, height, year) columns.
BUILDING_SCHEMAS = (
    ("3D BAG", "b3_h_dak_70p", "b3_h_maaiveld", None, "oorspronkelijkbouwjaar"),
    ("roof and ground NAP", "h_roof_nap_m", "h_ground_nap_m", None, "year"),
    ("height above ground", None, None, "height_m", "year"),
)

def vector_paths(specs: Sequence[str], what: str) -> list[Path]:
    return expand_paths(specs, what, VECTOR_SUFFIXES)


def _layers(path: Path, what: str) -> list[str]:
    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InvalidInputError(f"{path.name}: cannot read the {what} file: {exc}") from None


def _fields(path: Path, layer: str | None, what: str) -> list[str]:
    """Field names of one layer of a vector file, from its header only."""
    try:
        info = pyogrio.read_info(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InvalidInputError(f"{path.name}: cannot read the {what} layer: {exc}") from None
    return [str(f) for f in info["fields"]]


def single_layer(path: Path, what: str) -> str | None:
    layers = _layers(path, what)
    if len(layers) > 1:
        raise InvalidInputError(f"{path.name}: the {what} file has {len(layers)} layers "
                                f"({', '.join(layers)}); give a file with one layer")
    return None


@dataclass(frozen=True)
class BuildingColumns:
    """The columns of one buildings file that give heights and years."""

    label: str
    roof: str | None
    ground: str | None
    height: str | None
    year: str | None


def building_columns(path: Path, fields: Sequence[str], asked: BuildingColumns
                     ) -> BuildingColumns:
    """Pick the height columns of a buildings layer: the ones ``asked`` for (label
    ``given``), else a known schema (:data:`BUILDING_SCHEMAS`).

    Raises
    ------
    InvalidInputError
        The layer has none of the recognised height columns.
    """
    if asked.roof or asked.ground or asked.height:
        cols = asked
        if bool(cols.height) == bool(cols.roof and cols.ground) or (
                not cols.height and not (cols.roof and cols.ground)):
            raise InvalidInputError("buildings: give either --height-column or both "
                                    "--roof-column and --ground-column")
        missing = [c for c in (cols.roof, cols.ground, cols.height, cols.year)
                   if c and c not in fields]
        if missing:
            raise InvalidInputError(f"{path.name}: the buildings layer lacks column(s) "
                                    f"{', '.join(missing)}; found: {', '.join(fields)}")
        return cols
    for label, roof, ground, height, year in BUILDING_SCHEMAS:
        needed = [c for c in (roof, ground, height) if c]
        if all(c in fields for c in needed):
            yr = asked.year or (year if year in fields else None)
            return BuildingColumns(label, roof, ground, height, yr)
    known = "; ".join(" and ".join(c for c in s[1:4] if c) + f" ({s[0]})"
                      for s in BUILDING_SCHEMAS)
    raise InvalidInputError(f"{path.name}: the buildings layer has none of the height columns "
                            f"{known}; found: {', '.join(fields) or 'no attribute columns'} "
                            "(name them with --roof-column/--ground-column or --height-column)")


# --------------------------------------------------------------------------- vectors
def read_clipped(path: Path, layer: str | None, what: str, grid: Grid,
                  columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """Features of a vector file that touch the grid extent, clipped to it, in the grid CRS.

    Only the extent's bounding box is read from the file (a spatial filter in
    the file's own CRS), so a national file costs what the region holds.
    """
    try:
        info = pyogrio.read_info(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InvalidInputError(f"{path.name}: cannot read the {what} layer: {exc}") from None
    if info["crs"] is None:
        raise CRSError(f"{path.name}: the {what} layer has no CRS; set one (e.g. EPSG:28992)")
    file_crs = CRS.from_user_input(info["crs"])
    bbox = transform_bounds(grid.crs, file_crs, *grid.bounds_m)
    gdf = gpd.read_file(path, layer=layer, bbox=bbox, columns=list(columns) if columns else None,
                        engine="pyogrio")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if gdf.crs != grid.crs:
        gdf = gdf.to_crs(grid.crs)
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        i = int(np.flatnonzero(invalid.to_numpy())[0])
        raise InvalidInputError(f"{path.name} feature {gdf.index[i]}: invalid geometry in the "
                                f"{what} layer; repair it (e.g. QGIS 'Fix geometries')")
    clipped = gpd.clip(gdf, box(*grid.bounds_m), keep_geom_type=True)
    return clipped[~clipped.geometry.is_empty].sort_index()


def buildings_layer_columns(path: Path, layer: str | None, asked: BuildingColumns
                            ) -> tuple[str | None, BuildingColumns]:
    """(layer, columns) of a buildings file: ``layer``, else its only layer, else its
    first layer with recognised height columns (3D BAG tiles hold several)."""
    if layer is not None:
        return layer, building_columns(path, _fields(path, layer, "buildings"), asked)
    layers = _layers(path, "buildings")
    if len(layers) == 1:
        return None, building_columns(path, _fields(path, None, "buildings"), asked)
    for name in layers:
        try:
            return name, building_columns(path, _fields(path, name, "buildings"), asked)
        except InvalidInputError:
            continue
    raise InvalidInputError(f"{path.name}: none of the layers {', '.join(layers)} has building "
                            "height columns; choose one with --buildings-layer")


def prepare_buildings(paths: Sequence[Path], grid: Grid,
                      columns: Sequence[tuple[str | None, BuildingColumns]]
                      ) -> gpd.GeoDataFrame:
    """Footprints from every buildings file, clipped, with ``roof_nap_m``, ``ground_nap_m``,
    ``height_m`` (m) and ``year`` (0 unknown)."""
    parts = []
    for path, (layer, cols) in zip(paths, columns, strict=True):
        wanted = [c for c in (cols.roof, cols.ground, cols.height, cols.year) if c]
        gdf = read_clipped(path, layer, "buildings", grid, wanted)
        out = gpd.GeoDataFrame(geometry=gdf.geometry.to_numpy(), crs=grid.crs)
        num = {c: pd.to_numeric(gdf[c], errors="coerce").to_numpy(float) if c else None
               for c in wanted}
        if cols.height:
            out["height_m"] = num[cols.height]
        else:
            out["roof_nap_m"] = num[cols.roof]
            out["ground_nap_m"] = num[cols.ground]
            out["height_m"] = out["roof_nap_m"] - out["ground_nap_m"]
        year = num[cols.year] if cols.year else np.zeros(len(out))
        out["year"] = np.where(np.isfinite(year), year, 0).astype("int32")
        parts.append(out)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=grid.crs)


def prepare_population_points(paths: Sequence[Path], column: str, grid: Grid):
    """Population points (polygons become an interior point) with ``population`` >= 0.

    Returns the points and the number of negative values set to 0 (CBS marks
    secret counts with negative codes such as -99997).
    """
    parts = []
    for path in paths:
        fields = _fields(path, single_layer(path, "population"), "population")
        if column not in fields:
            raise InvalidInputError(f"{path.name}: the population layer lacks column {column}; "
                                    f"found: {', '.join(fields)} (choose with "
                                    "--population-column)")
        gdf = read_clipped(path, None, "population", grid, [column])
        pts = gdf.geometry.representative_point()
        people = pd.to_numeric(gdf[column], errors="coerce").to_numpy(float)
        parts.append(gpd.GeoDataFrame({"population": people}, geometry=pts.to_numpy(),
                                      crs=grid.crs))
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=grid.crs)
    negative = ~(gdf["population"].to_numpy() >= 0)
    gdf.loc[negative, "population"] = 0.0
    return gdf[grid.contains(gdf.geometry.x, gdf.geometry.y)].reset_index(drop=True), \
        int(negative.sum())


# --------------------------------------------------------------------------- masts
def select_masts(path: Path, grid: Grid) -> tuple[pd.DataFrame, int]:
    """The validated masts that lie on the grid, and how many were left out."""
    masts = read_masts(path, grid.crs)
    inside = grid.contains(masts["x_m"].to_numpy(), masts["y_m"].to_numpy())
    if not inside.any():
        xmin, ymin, xmax, ymax = grid.bounds_m
        raise InvalidInputError(f"{path.name}: none of the {len(masts)} masts lies in the "
                                f"prepared extent [{xmin:.0f}, {ymin:.0f}, {xmax:.0f}, "
                                f"{ymax:.0f}]; widen --margin-m or check the masts file")
    return masts[inside].reset_index(drop=True), int((~inside).sum())


def write_masts(masts: pd.DataFrame, path: Path, staging: Path) -> pd.DataFrame:
    """Write ``staging/masts.csv``; antenna patterns are copied under ``staging/patterns/``."""
    kept = masts.copy()
    rel_patterns = []
    for p in kept["pattern"]:
        if not isinstance(p, str):
            rel_patterns.append(None)
            continue
        src = Path(p)
        try:
            rel = src.relative_to(path.parent.resolve())
        except ValueError:
            rel = Path(src.name)
        target = staging / "patterns" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        rel_patterns.append((Path("patterns") / rel).as_posix())
    kept["pattern"] = rel_patterns
    kept = kept[list(MAST_COLUMNS)]
    write_csv(staging / "masts.csv", kept, float_format="%.17g")
    return kept
