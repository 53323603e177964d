"""``c2000cov prepare``: a runnable scenario folder from tiled real data.

What PDOK and CBS publish (AHN DTM/DSM tiles, 3D BAG buildings, CBS
population, NWB roads, safety-region boundaries) becomes one folder: rasters
resampled once onto the analysis grid (COGs), vectors clipped to its extent
and reprojected (GeoPackages), the masts that lie on it, a
``scenario.toml`` that names them by relative path, and ``prepare.json``
recording every rule and how much was filled.

Rules per raster input (:data:`RASTER_RULES`):

- DTM: ``average`` of the source cells in each grid pixel; gaps (AHN leaves
  water bodies empty; missing tiles) take the value of the nearest pixel
  with data.
- DSM: ``q3``, the third quartile (75th percentile) of the source cells.
  Measured on the Delft AHN3 sample (1 m) against the LoD1 footprint roof
  heights (pixels whose centre lies in a footprint), median of surface minus
  roof at 5 m (354 pixels): ``average`` -1.11 m, ``med`` -0.74 m, ``q3``
  -0.02 m, ``max`` +0.55 m; at 10 m: -1.70, -1.02, +0.04, +1.07 m.
  Averaging lowers roofs by mixing in the street along their edges, the
  maximum raises them and every tree and chimney, both more so at coarser
  pixels; the third quartile stays at roof level (off buildings the 5 m
  surface stands 6.0 m above the DTM on average with ``q3``, 8.1 m with
  ``max``, 4.7 m with ``average``). At 2 m (four cells a pixel) ``q3`` is
  -0.52 m and ``max`` -0.04 m, where the 1 m sample itself lies 0.71 m below
  the LoD1 roofs (``tests/files/test_prepare.py`` repeats the 5 and 10 m
  measurements). Gaps take the prepared DTM (no known obstacle).
- Land cover: ``mode`` (the most frequent class); gaps the nearest class.
- Population raster: ``sum`` (people are conserved); gaps hold 0 people.

Nothing is written to the output folder until everything has been read,
resampled and written into a staging folder next to it, which is then
renamed; on an error the staging folder is removed and the output folder is
left as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.warp import transform_bounds
from shapely.geometry import box

from c2000cov import __version__
from c2000cov.errors import CRSError, InvalidInputError
from c2000cov.files.clip import (
    BuildingColumns,
    buildings_layer_columns,
    prepare_buildings,
    prepare_population_points,
    read_clipped,
    select_masts,
    single_layer,
    vector_paths,
    write_masts,
)
from c2000cov.files.mosaic import Mosaic, build_mosaic, expand_paths
from c2000cov.files.rasters import write_cog
from c2000cov.files.region import Region, region_from_areas, region_from_bounds, region_grid
from c2000cov.files.resample import fill_nearest, resample_to_grid
from c2000cov.files.vectors import VECTOR_SUFFIXES, read_vector, write_gpkg
from c2000cov.geo.grid import Grid
from c2000cov.scenario.config import load_scenario
from c2000cov.scenario.schema import ModelConfig

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RasterRule:
    """How one raster input is resampled onto the grid and how its gaps are filled."""

    key: str
    what: str
    resampling: Resampling
    fill: str
    description: str
    unit: str


RASTER_RULES = {
    "dtm": RasterRule("dtm", "terrain DTM", Resampling.average, "nearest",
                      "terrain height", "m"),
    "dsm": RasterRule("dsm", "terrain DSM", Resampling.q3, "dtm", "surface height", "m"),
    "landcover": RasterRule("landcover", "land cover", Resampling.mode, "nearest",
                            "land-cover class", "class"),
    "population": RasterRule("population", "population", Resampling.sum, "zero",
                             "people per pixel", "people"),
}
FILL_RULES = {"nearest": "value of the nearest pixel with data",
              "dtm": "prepared DTM height (no known obstacle)",
              "zero": "0"}

#: Default population column (CBS 100 m squares: ``aantal_inwoners``).
POPULATION_COLUMN = "aantal_inwoners"
#: Land-cover nodata in the prepared raster.
LANDCOVER_NODATA = -1
#: Gaps above this share of the region (%) are reported as a warning line.
GAP_WARN_PCT = 5.0
SCENARIO_FILE = "scenario.toml"
REPORT_FILE = "prepare.json"


@dataclass
class PrepareRequest:
    """Everything ``c2000cov prepare`` is asked to do (paths may be files, folders, globs)."""

    out_dir: Path
    dtm: Sequence[str]
    masts: Path
    resolution_m: float
    dsm: Sequence[str] = ()
    buildings: Sequence[str] = ()
    areas: Path | None = None
    area: str | None = None
    name_column: str | None = None
    bounds_m: Sequence[float] | None = None
    margin_m: float | None = None
    radius_m: float = ModelConfig().radius_m
    population: Sequence[str] = ()
    population_column: str = POPULATION_COLUMN
    roads: Sequence[str] = ()
    landcover: Sequence[str] = ()
    crs: str = "EPSG:28992"
    buildings_layer: str | None = None
    roof_column: str | None = None
    ground_column: str | None = None
    height_column: str | None = None
    year_column: str | None = None
    overwrite: bool = False


@dataclass
class PrepareResult:
    """What prepare wrote: the folder, the scenario file and the report."""

    out_dir: Path
    scenario: Path
    report: dict
    warnings: list[str] = field(default_factory=list)

    @property
    def run_command(self) -> str:
        """The ``c2000cov run`` line to use next."""
        return f"c2000cov run {self.scenario}"


# --------------------------------------------------------------------------- checks
def _crs(text: str) -> CRS:
    try:
        crs = CRS.from_user_input(text)
    except Exception:  # rasterio raises its own CRSError for unparsable text
        raise CRSError(f"--crs {text!r} is not a CRS GDAL knows; use e.g. EPSG:28992") from None
    if not crs.is_projected:
        raise CRSError(f"--crs {text} is not a projected CRS in metres; use e.g. EPSG:28992")
    return crs


def _check_covers(mosaic: Mosaic, region: Region) -> None:
    """Raise when the tiles' extent misses the region altogether."""
    b = transform_bounds(mosaic.crs, region.crs, *mosaic.bounds)
    if not box(*b).intersects(region.geometry) or box(*b).intersection(
            region.geometry).area == 0:
        rb = region.bounds_m
        raise InvalidInputError(
            f"{mosaic.what}: the {len(mosaic.headers)} tile(s) cover "
            f"[{b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, {b[3]:.0f}] but the region {region.name} "
            f"is [{rb[0]:.0f}, {rb[1]:.0f}, {rb[2]:.0f}, {rb[3]:.0f}] "
            f"({region.crs.to_string()}); give the tiles of the region")


# --------------------------------------------------------------------------- rasters
def region_mask(region: Region, grid: Grid) -> np.ndarray:
    """Pixels whose centre lies in the region (the region's share of the grid)."""
    mask = rasterize([(region.geometry, 1)], out_shape=grid.shape, transform=grid.transform,
                     fill=0, dtype="uint8").astype(bool)
    if not mask.any():  # a region smaller than a pixel
        rows, cols = grid.rowcol(*region.geometry.representative_point().xy)
        mask[rows[0], cols[0]] = True
    return mask


def prepare_raster(rule: RasterRule, mosaic: Mosaic, grid: Grid, inside: np.ndarray,
                   dtm_m: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Resample a mosaic onto the grid and fill its gaps; return the array and its record."""
    values = resample_to_grid(mosaic, grid, rule.resampling)
    gaps = np.isnan(values)
    if rule.key in ("dtm", "dsm") and gaps[inside].all():
        raise InvalidInputError(f"{mosaic.what}: the tiles hold no data inside the region; "
                                "give the tiles of the region")
    record = {
        "tiles": len(mosaic.headers),
        "source_crs": mosaic.crs.to_string(),
        "source_resolution_m": mosaic.resolution_m,
        "resampling": rule.resampling.name,
        "gap_fill": FILL_RULES[rule.fill],
        "filled_region_pct": round(100.0 * float(gaps[inside].mean()), 4),
        "filled_grid_pct": round(100.0 * float(gaps.mean()), 4),
    }
    if rule.fill == "nearest":
        values = fill_nearest(values, gaps)
    elif rule.fill == "dtm":
        values = np.where(gaps, dtm_m, values).astype("float32")
    else:
        values = np.where(gaps, 0.0, values).astype("float32")
    return values, record


# --------------------------------------------------------------------------- scenario
def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def scenario_text(name: str, grid: Grid, radius_m: float, files: dict[str, str],
                  buildings: dict[str, str] | None) -> str:
    """The scenario TOML of a prepared folder (paths relative to it)."""
    b = grid.bounds_m
    lines = ["# Written by `c2000cov prepare`; paths are relative to this file.",
             "# Rules and filled shares: prepare.json.", "",
             "[scenario]", f"name = {_toml_str(name)}", f"resolution_m = {grid.resolution_m!r}",
             f"crs = {_toml_str(grid.crs.to_string())}",
             f"bounds_m = [{b[0]!r}, {b[1]!r}, {b[2]!r}, {b[3]!r}]", "",
             "[terrain]", f"dtm = {_toml_str(files['dtm'])}"]
    if "dsm" in files:
        lines.append(f"dsm = {_toml_str(files['dsm'])}")
    lines += ["", "[masts]", f"path = {_toml_str(files['masts'])}", "",
              "[model]", f"radius_m = {radius_m!r}", ""]
    if buildings is not None:
        lines += ["[buildings]", f"path = {_toml_str(files['buildings'])}"]
        lines += [f"{k} = {_toml_str(v)}" for k, v in buildings.items()]
        lines.append("")
    if "areas" in files:
        lines += ["[areas]", f"path = {_toml_str(files['areas'])}",
                  'name_column = "area_name"', ""]
    if "roads" in files:
        lines += ["[roads]", f"path = {_toml_str(files['roads'])}", ""]
    if "population" in files:
        lines += ["[population]", f"path = {_toml_str(files['population'])}",
                  'column = "population"', ""]
    lines += ["[output]", 'dir = "run"', 'map = "run/map.html"', ""]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "prepared"


# --------------------------------------------------------------------------- main entry
def prepare(req: PrepareRequest, progress: ProgressFn | None = None) -> PrepareResult:
    """Build a runnable scenario folder ``req.out_dir`` from tiled real data.

    Every input is checked (tiles' headers, region, columns, masts) before
    anything heavy starts; outputs go to a staging folder that is renamed to
    ``req.out_dir`` only when complete.

    Raises
    ------
    c2000cov.errors.C2000CovError
        Any bad input; nothing is left in or next to ``req.out_dir``.
    """
    t0 = time.perf_counter()
    out_dir = Path(req.out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) \
            and not req.overwrite:
        raise InvalidInputError(f"{out_dir} already exists and is not empty; choose another "
                                "folder or pass --overwrite to replace it")
    crs = _crs(req.crs)
    if not req.dtm:
        raise InvalidInputError("prepare needs --dtm (a file, a folder or a glob of tiles)")
    # region and grid
    if req.area is not None:
        if req.areas is None:
            raise InvalidInputError("--area NAME needs --areas FILE (e.g. the veiligheidsregio "
                                    "boundaries)")
        if req.bounds_m is not None:
            raise InvalidInputError("give either --area or --bounds-m, not both")
        region = region_from_areas(req.areas, req.area, crs, req.name_column)
    elif req.bounds_m is not None:
        region = region_from_bounds(req.bounds_m, crs)
    else:
        raise InvalidInputError("give the region: --areas FILE --area NAME, or --bounds-m "
                                "XMIN,YMIN,XMAX,YMAX")
    margin_m = req.radius_m if req.margin_m is None else req.margin_m
    grid = region_grid(region, req.resolution_m, margin_m)
    # headers of every raster input, checked against the region before any pixel is read
    mosaics: dict[str, Mosaic] = {"dtm": build_mosaic(req.dtm, "terrain DTM")}
    if req.dsm:
        mosaics["dsm"] = build_mosaic(req.dsm, "terrain DSM")
    if req.landcover:
        mosaics["landcover"] = build_mosaic(req.landcover, "land cover")
    pop_vectors: list[Path] = []
    if req.population:
        pop_paths = expand_paths(req.population, "population",
                                 (".tif", ".tiff", ".vrt", *VECTOR_SUFFIXES))
        if all(p.suffix.lower() in (".tif", ".tiff", ".vrt") for p in pop_paths):
            mosaics["population"] = build_mosaic([str(p) for p in pop_paths], "population")
        elif any(p.suffix.lower() in (".tif", ".tiff", ".vrt") for p in pop_paths):
            raise InvalidInputError("population: give rasters or vector files, not both")
        else:
            pop_vectors = pop_paths
    for key in ("dtm", "dsm"):
        if key in mosaics:
            _check_covers(mosaics[key], region)
    # vector inputs: columns from the headers
    building_paths = vector_paths(req.buildings, "buildings") if req.buildings else []
    asked = BuildingColumns("given", req.roof_column, req.ground_column, req.height_column,
                            req.year_column)
    building_cols = []
    for path in building_paths:
        building_cols.append(buildings_layer_columns(path, req.buildings_layer, asked))
    road_paths = vector_paths(req.roads, "roads") if req.roads else []
    for path in road_paths + pop_vectors:
        single_layer(path, "roads" if path in road_paths else "population")
    masts, dropped = select_masts(Path(req.masts), grid)

    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    warnings_out: list[str] = []
    try:
        report: dict = {
            "software": f"c2000cov {__version__}",
            "region": {"name": region.name, "bounds_m": list(region.bounds_m),
                       "margin_m": margin_m,
                       "source": str(req.areas) if req.area is not None else "--bounds-m"},
            "grid": {"crs": grid.crs.to_string(), "resolution_m": grid.resolution_m,
                     "bounds_m": list(grid.bounds_m), "width": grid.width,
                     "height": grid.height},
            "rasters": {}, "vectors": {},
        }
        files: dict[str, str] = {}
        inside = region_mask(region, grid)
        steps = list(mosaics) + (["buildings"] if building_paths else []) + \
            (["roads"] if road_paths else []) + (["population"] if pop_vectors else []) + \
            ["masts"]
        done = 0

        def step(name: str) -> None:
            nonlocal done
            done += 1
            if progress:
                progress("prepare", done, len(steps))

        dtm_m = None
        for key, mosaic in mosaics.items():
            rule = RASTER_RULES[key]
            t = time.perf_counter()
            values, record = prepare_raster(rule, mosaic, grid, inside, dtm_m)
            if key == "dtm":
                dtm_m = values
            name = f"{key}.tif"
            if key == "landcover":
                band = np.where(np.isnan(values), LANDCOVER_NODATA, values).astype("int32")
                write_cog(staging / name, [band], grid, [rule.description],
                          nodata=LANDCOVER_NODATA, units=[rule.unit])
            else:
                write_cog(staging / name, [values], grid, [rule.description],
                          units=[rule.unit])
            record["file"] = name
            record["seconds"] = round(time.perf_counter() - t, 3)
            report["rasters"][key] = record
            if key != "landcover":
                files[key] = name
            if record["filled_region_pct"] > GAP_WARN_PCT:
                warnings_out.append(
                    f"{rule.what}: {record['filled_region_pct']:.2f} % of the region had no "
                    f"data and was filled with the {FILL_RULES[rule.fill]}")
            step(key)
        if building_paths:
            buildings = prepare_buildings(building_paths, grid, building_cols)
            if len(buildings) == 0:
                raise InvalidInputError("buildings: no footprint lies in the prepared extent; "
                                        "give the buildings of the region")
            write_gpkg(staging / "buildings.gpkg", {"buildings": buildings})
            files["buildings"] = "buildings.gpkg"
            report["vectors"]["buildings"] = {
                "files": len(building_paths), "features": len(buildings),
                "schema": sorted({c.label for _, c in building_cols}),
                "columns": [dict(c.__dict__, layer=layer) for layer, c in building_cols],
                "without_height": int((~(buildings["height_m"].to_numpy() > 0)).sum())}
            step("buildings")
        if road_paths:
            roads = pd.concat([read_clipped(p, None, "roads", grid) for p in road_paths],
                              ignore_index=True)
            roads = gpd.GeoDataFrame(roads, crs=grid.crs)
            write_gpkg(staging / "roads.gpkg", {"roads": roads})
            files["roads"] = "roads.gpkg"
            report["vectors"]["roads"] = {"files": len(road_paths), "features": len(roads),
                                          "length_km": round(float(roads.length.sum()) / 1e3,
                                                             3)}
            step("roads")
        if pop_vectors:
            pop, negative = prepare_population_points(pop_vectors, req.population_column, grid)
            write_gpkg(staging / "population.gpkg", {"population": pop})
            files["population"] = "population.gpkg"
            report["vectors"]["population"] = {
                "files": len(pop_vectors), "points": len(pop),
                "people": float(pop["population"].sum()), "negative_set_to_0": negative,
                "column": req.population_column}
            step("population")
        if req.areas is not None:
            if req.area is not None:
                areas = gpd.GeoDataFrame({"area_name": [region.name]},
                                         geometry=[region.geometry], crs=crs)
            else:
                from c2000cov.files.region import pick_name_column

                all_areas = read_vector(req.areas, "areas", None, crs)
                col = pick_name_column(all_areas, req.areas, req.name_column)
                clipped = gpd.clip(all_areas, box(*region.bounds_m), keep_geom_type=True)
                areas = gpd.GeoDataFrame({"area_name": clipped[col].astype(str).to_numpy()},
                                         geometry=clipped.geometry.to_numpy(), crs=crs)
            if len(areas):
                write_gpkg(staging / "areas.gpkg", {"areas": areas})
                files["areas"] = "areas.gpkg"
                report["vectors"]["areas"] = {"features": len(areas),
                                              "names": areas["area_name"].tolist()}
        masts = write_masts(masts, Path(req.masts), staging)
        files["masts"] = "masts.csv"
        report["masts"] = {"kept": len(masts), "outside_extent": dropped}
        step("masts")
        bcols = None
        if building_paths:
            bcols = ({"height_column": "height_m"} if "roof_nap_m" not in buildings else
                     {"roof_column": "roof_nap_m", "ground_column": "ground_nap_m"})
            bcols["year_column"] = "year"
        name = _slug(region.name) if req.area is not None else "prepared"
        (staging / SCENARIO_FILE).write_text(
            scenario_text(name, grid, req.radius_m, files, bcols), encoding="utf-8")
        load_scenario(staging / SCENARIO_FILE)  # the written scenario must load
        report["files"] = files
        report["warnings"] = warnings_out
        report["seconds"] = round(time.perf_counter() - t0, 3)
        (staging / REPORT_FILE).write_text(json.dumps(report, indent=1) + "\n",
                                           encoding="utf-8")
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PrepareResult(out_dir, out_dir / SCENARIO_FILE, report, warnings_out)


def _replace_dir(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``, replacing an existing ``out_dir`` last."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

