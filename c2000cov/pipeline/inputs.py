"""Stage 1 of a run: read and validate every input onto the analysis grid.

Nothing is computed or written before all inputs are known to be good.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.crs import CRS

from c2000cov.analysis.areas import population_to_grid
from c2000cov.analysis.calibration import AppliedCalibration, apply_calibration
from c2000cov.errors import InvalidInputError
from c2000cov.files.calibration_file import calibration_landcover, read_calibration
from c2000cov.files.masts import check_masts_inside, read_masts
from c2000cov.files.msi import AntennaPattern, read_msi
from c2000cov.files.pv import read_pv
from c2000cov.files.rasters import raster_bounds_in, read_land_class, read_raster_to_grid
from c2000cov.files.vectors import read_areas, read_buildings, read_vector, require_columns
from c2000cov.geo.grid import Grid
from c2000cov.geo.surface import Surface, rasterize_buildings
from c2000cov.pipeline.memory import check_memory
from c2000cov.scenario.schema import Scenario


@dataclass
class Inputs:
    """Validated inputs of a run."""

    scenario: Scenario
    grid: Grid
    surface: Surface
    masts: pd.DataFrame
    patterns: dict[str, AntennaPattern]
    pv: gpd.GeoDataFrame | None
    areas: gpd.GeoDataFrame | None
    roads: gpd.GeoDataFrame | None = None
    population: np.ndarray | gpd.GeoDataFrame | None = None
    calibration: AppliedCalibration | None = None
    landcover: np.ndarray | None = None  # int32 class codes on the grid, -1 no data


def scenario_grid(scen: Scenario) -> Grid:
    """The analysis grid of a scenario: its bounds, or the DTM extent in its CRS."""
    crs = CRS.from_user_input(scen.scenario.crs)
    if not crs.is_projected:
        raise InvalidInputError(f"{scen.source.name}: scenario.crs {scen.scenario.crs} is not a "
                                "projected CRS in metres; use e.g. EPSG:28992")
    bounds = scen.scenario.bounds_m or raster_bounds_in(scen.terrain.dtm, crs, "terrain DTM")
    return Grid.from_bounds(bounds, scen.scenario.resolution_m, crs)



def build_surface(scen: Scenario, grid: Grid) -> Surface:
    """Read terrain and buildings of a scenario onto ``grid``."""
    ground = read_raster_to_grid(scen.terrain.dtm, grid, "terrain DTM")
    if np.isnan(ground).all():
        raise InvalidInputError(f"{scen.terrain.dtm.name}: the DTM has no data inside the "
                                f"scenario bounds {list(grid.bounds_m)}")
    mask = np.zeros(grid.shape, dtype=bool)
    year = np.zeros(grid.shape, dtype="int32")
    roof = None
    if scen.buildings is not None:
        b = scen.buildings
        buildings = read_buildings(b.path, grid.crs, b.layer, b.height_column, b.roof_column,
                                   b.ground_column, b.year_column)
        roof, mask, year = rasterize_buildings(buildings, grid, ground)
    if scen.terrain.dsm is not None:
        surface = read_raster_to_grid(scen.terrain.dsm, grid, "terrain DSM")
        surface = np.where(np.isnan(surface), ground, np.fmax(surface, ground))
    elif roof is not None:
        surface = np.where(mask, np.fmax(roof, ground), ground)
    else:  # the same heights: one array (no kernel or caller writes into either)
        surface = ground
    return Surface(grid, ground.astype("float32", copy=False),
                   surface.astype("float32", copy=False), mask, year)


def load_inputs(scen: Scenario, max_memory_gb: float | None = None) -> Inputs:
    """Read and validate every input of a scenario onto its grid.

    The memory the run will need is estimated first (from the grid and the masts) and
    a run beyond the limit refused (:func:`c2000cov.pipeline.memory.check_memory`),
    before any grid array is allocated.
    """
    grid = scenario_grid(scen)
    masts = read_masts(scen.masts.path, grid.crs, scen.masts.layer)  # they place the tiles
    check_memory(scen, grid, max_memory_gb, masts)
    surface = build_surface(scen, grid)
    check_masts_inside(masts, grid, surface.ground_m, scen.masts.path.name)
    patterns = {p: read_msi(Path(p)) for p in sorted(set(masts["pattern"].dropna()))}
    pv = read_pv(scen.pv.path, grid.crs, scen.pv.layer) if scen.pv else None
    areas = (read_areas(scen.areas.path, scen.areas.name_column, grid.crs, scen.areas.layer)
             if scen.areas else None)
    roads = (read_vector(scen.roads.path, "roads", scen.roads.layer, grid.crs)
             if scen.roads else None)
    population = None
    if scen.population is not None:
        pop = scen.population
        if pop.path.suffix.lower() in (".tif", ".tiff"):
            population = population_to_grid(pop.path, grid)
        else:
            population = read_vector(pop.path, "population", pop.layer, grid.crs)
            require_columns(population, [pop.column], pop.path, "population")
    calibration = None
    if scen.calibration is not None:
        cal = read_calibration(scen.calibration.path)
        cal_land = calibration_landcover(cal, scen.landcover.path if scen.landcover else None)
        land = read_land_class(cal_land, grid) if cal_land is not None else None
        calibration = apply_calibration(cal.summary(), land)
    landcover = read_land_class(scen.landcover.path, grid) if scen.landcover else None
    return Inputs(scen, grid, surface, masts, patterns, pv, areas, roads, population,
                  calibration, landcover)
