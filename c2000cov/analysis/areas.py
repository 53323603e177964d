"""Per-area coverage statistics with exact, area-weighted partial pixels.

Every statistic weights a pixel by the fraction of its square that lies inside
the area polygon, so an area's ``area_km2`` is the polygon's exact area inside
the grid extent, whatever the pixel size, and neighbouring areas that tile a
region sum to the region's area.

How the fractions are found (:func:`pixel_fractions`): a pixel that the
polygon boundary does not pass through is either wholly inside or wholly
outside, and its centre tells which. Only the pixels the boundary touches
(rasterised with ``all_touched``, widened by one pixel so that a boundary lying
exactly on pixel edges cannot be missed) get an exact polygon-square
intersection area from shapely, computed block by block against the polygon
clipped to the block so that long boundaries stay cheap.

Columns of the table (per area and profile; km^2 are fraction-weighted):

- ``area_km2``: area of the polygon inside the grid extent;
- ``evaluated_km2``: of which evaluated (p_cover not NaN: valid pixels off
  buildings for outdoor profiles, building pixels for indoor ones);
- ``covered_km2``, ``covered_pct``: evaluated area reaching the profile target
  location probability, and its share of ``evaluated_km2`` (the *covered
  share*: the share of the area where a terminal has at least the target
  probability of service);
- ``area_reliability_pct``: area-weighted mean location probability over the
  evaluated area, in % (the *area reliability*: the probability of service at
  a random spot of the area); ``p_cover_mean`` is the same as a fraction (0-1).
  The two answer different questions: a covered share of 85 % and an area
  reliability of 97 % can describe the same run;
- ``dead_zone_km2``: evaluated area below the target (``evaluated_km2 =
  covered_km2 + dead_zone_km2``), whatever the size of the zone it belongs to;
- ``ul_limited_pct``: share of ``dead_zone_km2`` where the uplink is the
  limiting direction;
- ``dead_zone_count``, ``dead_zone_largest_km2``, ``dead_zone_largest_id``:
  dead zones overlapping the area (the dead-zone polygons when given, else the
  4-connected components of below-target pixels that are at least
  ``dead_zone_min_area_m2``, numbered as in :mod:`c2000cov.analysis.deadzones`); the
  largest is the one with the largest part inside the area, and its km^2 is
  that part;
- with a population input: ``population``, ``population_evaluated``,
  ``population_covered`` (people) and ``population_covered_pct`` (of the
  evaluated population);
- with a roads input: ``road_km`` (road length on evaluated pixels),
  ``road_uncovered_km`` (on evaluated pixels below the target) and
  ``road_uncovered_pct``.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.warp import reproject
from rasterio.windows import Window as RioWindow
from scipy import ndimage

from c2000cov.analysis.coverage import LIMITING_UL, ProfileCoverage, reaches_pct
from c2000cov.analysis.deadzones import DZ_TILE_PX, tiled_zones
from c2000cov.errors import CRSError, InputNotFoundError, InvalidInputError
from c2000cov.geo.grid import Grid, Window

AREA_COLUMNS = ("area_name", "profile", "area_km2", "evaluated_km2", "covered_km2",
                "covered_pct", "area_reliability_pct", "p_cover_mean", "dead_zone_km2",
                "ul_limited_pct")
DEAD_ZONE_COLUMNS = ("dead_zone_count", "dead_zone_largest_km2", "dead_zone_largest_id")
POPULATION_COLUMNS = ("population", "population_evaluated", "population_covered",
                      "population_covered_pct")
ROAD_COLUMNS = ("road_km", "road_uncovered_km", "road_uncovered_pct")

#: Side of the blocks (pixels) in which boundary pixels are intersected exactly.
BLOCK_PX = 64
#: Parts of a dead zone inside an area smaller than this (km^2) do not count it as present
#: there (a zone that only touches the area along an edge has a part of 0 km^2).
MIN_PART_KM2 = 1e-9
M2_PER_KM2 = 1e6
M_PER_KM = 1e3


@dataclass(frozen=True)
class AreaWeights:
    """The pixel fractions of one area, kept sparse.

    ``full`` marks the pixels of ``window`` wholly inside the area (fraction
    1); the pixels on its boundary are listed in ``rows``, ``cols`` (window
    coordinates) with their fraction ``frac`` (0-1]. One byte per window pixel
    plus the boundary list, so national grids at fine resolution stay small.
    """

    name: str
    geometry: shapely.Geometry
    window: Window
    full: np.ndarray  # bool, window shape
    rows: np.ndarray  # int64
    cols: np.ndarray  # int64
    frac: np.ndarray  # float64

    @classmethod
    def from_dense(cls, name: str, geometry, window: Window, fraction: np.ndarray
                   ) -> AreaWeights:
        """Split a dense fraction array into full pixels and a boundary list."""
        full = fraction >= 1.0
        rows, cols = np.nonzero((fraction > 0.0) & ~full)
        return cls(name, geometry, window, full, rows, cols, fraction[rows, cols])

    @property
    def fraction(self) -> np.ndarray:
        """Dense fraction array of the window (float64)."""
        out = self.full.astype("float64")
        out[self.rows, self.cols] = self.frac
        return out

    def weighted_sum(self, values: np.ndarray) -> float:
        """Sum of a full-grid array (bool or number, no NaN) weighted by the fractions."""
        return self.window_sum(values[self.window.slices])

    def window_sum(self, v: np.ndarray) -> float:
        """:meth:`weighted_sum` of an array of the window's shape (the same sum, same order)."""
        return float(v[self.full].sum(dtype="float64")
                     + np.dot(v[self.rows, self.cols].astype("float64"), self.frac))

    def weighted_bincount(self, labels: np.ndarray, minlength: int) -> np.ndarray:
        """Fraction-weighted pixel count per label of a full-grid integer array."""
        return self.window_bincount(labels[self.window.slices], minlength)

    def window_bincount(self, lab: np.ndarray, minlength: int) -> np.ndarray:
        """:meth:`weighted_bincount` of an array of the window's shape."""
        return (np.bincount(lab[self.full], minlength=minlength).astype("float64")
                + np.bincount(lab[self.rows, self.cols], weights=self.frac,
                              minlength=minlength))


def _window_of_bounds(grid: Grid, bounds: tuple[float, float, float, float]) -> Window:
    """Smallest window holding ``bounds`` (xmin, ymin, xmax, ymax), clipped to the grid."""
    res = grid.resolution_m
    x0, y0 = grid.transform.c, grid.transform.f
    xmin, ymin, xmax, ymax = bounds
    c0 = max(0, math.floor((xmin - x0) / res))
    c1 = min(grid.width, math.ceil((xmax - x0) / res))
    r0 = max(0, math.floor((y0 - ymax) / res))
    r1 = min(grid.height, math.ceil((y0 - ymin) / res))
    return Window(r0, c0, max(0, r1 - r0), max(0, c1 - c0))


def pixel_fractions(geom: shapely.Geometry, grid: Grid,
                    block_px: int = BLOCK_PX) -> tuple[Window, np.ndarray]:
    """Fraction of each grid pixel's area that lies inside a polygon.

    Parameters
    ----------
    geom : shapely Polygon or MultiPolygon
        The area, in the grid CRS (metres).
    grid : Grid
        The analysis grid.
    block_px : int
        Block size (pixels) for the exact intersections of boundary pixels.

    Returns
    -------
    window : Window
        The window of the grid holding the polygon's bounding box (clipped to
        the grid; zero-sized when they do not overlap).
    fraction : ndarray of float64, shape (window.height, window.width)
        Inside area of each pixel divided by the pixel area, 0-1.
    """
    if geom is None or shapely.is_empty(geom):
        return Window(0, 0, 0, 0), np.zeros((0, 0))
    window = _window_of_bounds(grid, shapely.bounds(geom))
    shape = (window.height, window.width)
    if window.height == 0 or window.width == 0:
        return window, np.zeros(shape)
    transform = grid.window_transform(window)
    centre_in = rasterize([(geom, 1)], out_shape=shape, transform=transform, fill=0,
                          all_touched=False, dtype="uint8").astype(bool)
    touched = rasterize([(shapely.boundary(geom), 1)], out_shape=shape, transform=transform,
                        fill=0, all_touched=True, dtype="uint8").astype(bool)
    boundary = ndimage.binary_dilation(touched, structure=np.ones((3, 3), dtype=bool))
    fraction = np.where(centre_in & ~boundary, 1.0, 0.0)
    rows, cols = np.nonzero(boundary)
    if rows.size == 0:
        return window, fraction
    res = grid.resolution_m
    px_area_m2 = grid.pixel_area_m2
    wx0, wy0 = transform.c, transform.f
    block = (rows // block_px) * (cols.max() // block_px + 1) + cols // block_px
    order = np.argsort(block, kind="stable")
    rows, cols, block = rows[order], cols[order], block[order]
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    ends = np.r_[starts[1:], block.size]
    for s, e in zip(starts, ends, strict=True):
        r, c = rows[s:e], cols[s:e]
        bx0, bx1 = wx0 + c.min() * res, wx0 + (c.max() + 1) * res
        by1, by0 = wy0 - r.min() * res, wy0 - (r.max() + 1) * res
        piece = shapely.intersection(geom, shapely.box(bx0, by0, bx1, by1))
        if shapely.is_empty(piece):
            continue
        shapely.prepare(piece)
        boxes = shapely.box(wx0 + c * res, wy0 - (r + 1) * res, wx0 + (c + 1) * res,
                            wy0 - r * res)
        inside_m2 = shapely.area(shapely.intersection(boxes, piece))
        fraction[r, c] = np.clip(inside_m2 / px_area_m2, 0.0, 1.0)
    return window, fraction


def area_weights(areas: gpd.GeoDataFrame | None, grid: Grid) -> list[AreaWeights]:
    """Pixel fractions of every reporting area (one area ``all`` = the grid when None).

    Parameters
    ----------
    areas : GeoDataFrame or None
        Polygons with an ``area_name`` column; reprojected to the grid CRS.
    grid : Grid
        The analysis grid.
    """
    if areas is None:
        window = Window(0, 0, grid.height, grid.width)
        empty = np.zeros(0, dtype=np.int64)
        return [AreaWeights("all", shapely.box(*grid.bounds_m), window,
                            np.ones(grid.shape, dtype=bool), empty, empty, np.zeros(0))]
    if "area_name" not in areas.columns:
        raise InvalidInputError("areas: column 'area_name' is missing; read the areas with "
                                "c2000cov.files.vectors.read_areas, which names it from the "
                                "scenario's "
                                "areas.name_column")
    areas = to_grid_crs(areas, grid, "areas")
    out = []
    for name, geom in zip(areas["area_name"], areas.geometry, strict=True):
        if geom is not None and not shapely.is_valid(geom):
            raise InvalidInputError(
                f"areas: area {name!r} has an invalid polygon ({shapely.is_valid_reason(geom)});"
                " repair it first, e.g. with shapely.make_valid or ogr2ogr -makevalid")
        window, frac = pixel_fractions(geom, grid)
        out.append(AreaWeights.from_dense(str(name), geom, window, frac))
    return out


def clipped_window_sum(aw: AreaWeights, window: Window, v: np.ndarray) -> float:
    """:meth:`AreaWeights.weighted_sum` of an array that is zero outside ``window``.

    ``v`` has the shape of ``window`` (grid pixels); only the area's pixels
    inside the window are read, so a change confined to a window is summed
    per area without a full-grid array.
    """
    a = aw.window
    r0, r1 = max(a.row_off, window.row_off), min(a.row_off + a.height,
                                                 window.row_off + window.height)
    c0, c1 = max(a.col_off, window.col_off), min(a.col_off + a.width,
                                                 window.col_off + window.width)
    if r0 >= r1 or c0 >= c1:
        return 0.0
    full = aw.full[r0 - a.row_off:r1 - a.row_off, c0 - a.col_off:c1 - a.col_off]
    part = v[r0 - window.row_off:r1 - window.row_off, c0 - window.col_off:c1 - window.col_off]
    rows, cols = aw.rows + a.row_off, aw.cols + a.col_off
    inside = (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)
    edge = v[rows[inside] - window.row_off, cols[inside] - window.col_off]
    return float(part[full].sum(dtype="float64")
                 + np.dot(edge.astype("float64"), aw.frac[inside]))


def to_grid_crs(gdf: gpd.GeoDataFrame, grid: Grid, what: str) -> gpd.GeoDataFrame:
    """``gdf`` in the grid's CRS (unchanged when it is already); a layer without a CRS is
    a :class:`CRSError` naming ``what``."""
    if gdf.crs is None:
        raise CRSError(f"{what}: the layer has no CRS; set it (e.g. gdf.set_crs('EPSG:28992'))")
    if not gdf.crs.equals(grid.crs):
        return gdf.to_crs(grid.crs)
    return gdf


# --------------------------------------------------------------------------- roads
def line_length_grid(lines, grid: Grid, window: Window) -> np.ndarray:
    """Length (m) of line geometries inside each pixel of a window (dense form of
    :func:`line_lengths`)."""
    out = np.zeros((window.height, window.width))
    rows, cols, length_m = line_lengths(lines, grid, window)
    np.add.at(out, (rows, cols), length_m)
    return out


def line_lengths(lines, grid: Grid, window: Window
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Length (m) of line geometries per pixel of a window, as (rows, cols, length_m).

    Each segment is cut at every pixel edge it crosses; each piece adds its
    length to the pixel holding its midpoint. Parts outside the window are
    dropped.

    Parameters
    ----------
    lines : array of shapely LineString / MultiLineString (grid CRS)
    grid : Grid
    window : Window

    Returns
    -------
    rows, cols : ndarray of int64
        Window coordinates of each piece (a pixel may repeat).
    length_m : ndarray of float64
    """
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    parts = shapely.get_parts(np.asarray(lines, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    if parts.size == 0 or window.height == 0 or window.width == 0:
        return empty
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[:-1] == index[1:]
    a, b = coords[:-1][same], coords[1:][same]
    res = grid.resolution_m
    transform = grid.window_transform(window)
    x0, y0 = transform.c, transform.f
    all_r, all_c, all_len = [], [], []
    for (ax, ay), (bx, by) in zip(a, b, strict=True):
        dx, dy = bx - ax, by - ay
        seg_m = math.hypot(dx, dy)
        if seg_m == 0.0:
            continue
        ts = [np.array([0.0, 1.0])]
        if dx != 0.0:
            k = np.arange(math.ceil((min(ax, bx) - x0) / res), math.floor((max(ax, bx) - x0)
                                                                          / res) + 1)
            ts.append((x0 + k * res - ax) / dx)
        if dy != 0.0:
            k = np.arange(math.ceil((y0 - max(ay, by)) / res), math.floor((y0 - min(ay, by))
                                                                          / res) + 1)
            ts.append((y0 - k * res - ay) / dy)
        t = np.unique(np.clip(np.concatenate(ts), 0.0, 1.0))
        tm = 0.5 * (t[1:] + t[:-1])
        col = np.floor((ax + tm * dx - x0) / res).astype(np.int64)
        row = np.floor((y0 - (ay + tm * dy)) / res).astype(np.int64)
        keep = (row >= 0) & (row < window.height) & (col >= 0) & (col < window.width)
        all_r.append(row[keep])
        all_c.append(col[keep])
        all_len.append(np.diff(t)[keep] * seg_m)
    if not all_r:
        return empty
    return np.concatenate(all_r), np.concatenate(all_c), np.concatenate(all_len)


def _road_lengths(roads: gpd.GeoDataFrame, weights: list[AreaWeights],
                  grid: Grid) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per area: (rows, cols, length_m) in grid coordinates of the roads clipped to the area."""
    roads = to_grid_crs(roads, grid, "roads")
    geoms = roads.geometry.to_numpy()
    kinds = set(shapely.get_type_id(geoms[~shapely.is_empty(geoms)]).tolist())
    if not kinds <= {1, 5}:
        raise InvalidInputError("roads: geometries must be LineString or MultiLineString")
    tree = shapely.STRtree(geoms)
    out = []
    for aw in weights:
        idx = tree.query(aw.geometry, predicate="intersects")
        clipped = shapely.intersection(geoms[idx], aw.geometry)
        r, c, length_m = line_lengths(clipped, grid, aw.window)
        out.append((r + aw.window.row_off, c + aw.window.col_off, length_m))
    return out


# --------------------------------------------------------------------------- population
def population_to_grid(path: Path, grid: Grid) -> np.ndarray:
    """Read a population-count raster (people per cell) onto the grid, conserving totals.

    Cells are summed into grid pixels (GDAL ``sum`` resampling), so a count
    raster coarser or finer than the grid keeps its total where it overlaps.
    NaN / nodata become 0 people.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"population raster {path} does not exist")
    with rasterio.open(path) as src:
        if src.crs is None:
            raise CRSError(f"{path.name}: population raster has no CRS; assign one")
        data = src.read(1, masked=True).astype("float64").filled(0.0)
        data = np.nan_to_num(data, nan=0.0)
        out = np.zeros(grid.shape, dtype="float64")
        reproject(source=data, destination=out, src_transform=src.transform, src_crs=src.crs,
                  dst_transform=grid.transform, dst_crs=grid.crs, src_nodata=None,
                  dst_nodata=None, resampling=Resampling.sum)
    return out


def _population_points(population: gpd.GeoDataFrame, column: str, grid: Grid,
                       weights: list[AreaWeights]):
    """Per area: (rows, cols, people) of the population points inside the area and the grid."""
    pts = to_grid_crs(population, grid, "population")
    if column not in pts.columns:
        raise InvalidInputError(f"population: column {column!r} is missing; columns are: "
                                + ", ".join(map(str, pts.columns)))
    if not (pts.geom_type == "Point").all():
        raise InvalidInputError("population: a points layer needs Point geometries (or give a "
                                "raster of people per pixel)")
    people = pd.to_numeric(pts[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(people) | (people < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"population row {i + 1}: {column} must be a number >= 0, got "
                                f"{pts[column].iloc[i]!r}")
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    on_grid = grid.contains(x, y)
    x, y, people = x[on_grid], y[on_grid], people[on_grid]
    row, col = grid.rowcol(x, y)
    out = []
    for aw in weights:
        shapely.prepare(aw.geometry)
        inside = shapely.contains_xy(aw.geometry, x, y)
        out.append((row[inside], col[inside], people[inside]))
    return out


# --------------------------------------------------------------------------- dead zones
def _zone_parts_from_labels(cov: ProfileCoverage, weights: list[AreaWeights],
                            min_area_m2: float) -> list[tuple[np.ndarray, list[str]]]:
    """Per area: km^2 of each dead zone inside it, and the zone ids (labelled pixels).

    The zones are labelled tile by tile into a temporary raster
    (:func:`c2000cov.analysis.deadzones.tiled_zones`); each area reads its window.
    """
    px_km2 = cov.grid.pixel_area_m2 / M2_PER_KM2
    out = []
    with tempfile.TemporaryDirectory(prefix="c2000cov-areas-") as tmp:
        z = tiled_zones(cov, DZ_TILE_PX, Path(tmp))
        n = z.n
        size_px = np.concatenate([[0], z.counts])
        keep = size_px * cov.grid.pixel_area_m2 >= min_area_m2
        keep[0] = False
        ids = [f"{cov.name}-{i:05d}" for i in range(n + 1)]
        with rasterio.open(z.path) as src:
            for aw in weights:
                w = aw.window
                labels = (src.read(1, window=RioWindow(w.col_off, w.row_off, w.width, w.height))
                          if w.height and w.width else np.zeros((0, 0), dtype="int32"))
                part = aw.window_bincount(labels, n + 1) * px_km2
                part[~keep] = 0.0
                out.append((part, ids))
    return out


def _zone_parts_from_polygons(zones: gpd.GeoDataFrame, grid: Grid,
                              weights: list[AreaWeights]) -> list[tuple[np.ndarray, list[str]]]:
    """Per area: km^2 of each dead-zone polygon inside it, and the zone ids."""
    zones = to_grid_crs(zones, grid, "dead zones")
    geoms = zones.geometry.to_numpy()
    ids = [str(z) for z in zones["zone_id"]] if "zone_id" in zones else [
        str(i) for i in range(len(zones))]
    tree = shapely.STRtree(geoms)
    out = []
    for aw in weights:
        part = np.zeros(len(zones))
        idx = tree.query(aw.geometry, predicate="intersects")
        part[idx] = shapely.area(shapely.intersection(geoms[idx], aw.geometry)) / M2_PER_KM2
        out.append((part, ids))
    return out


def _zone_stats(part_km2: np.ndarray, ids: list[str]) -> dict:
    present = part_km2 > MIN_PART_KM2
    if not present.any():
        return {"dead_zone_count": 0, "dead_zone_largest_km2": 0.0, "dead_zone_largest_id": ""}
    i = int(np.argmax(np.where(present, part_km2, -1.0)))
    return {"dead_zone_count": int(present.sum()), "dead_zone_largest_km2": float(part_km2[i]),
            "dead_zone_largest_id": ids[i]}


# --------------------------------------------------------------------------- the table
def _pct(num: float, den: float) -> float:
    return 100.0 * num / den if den > 0 else np.nan


def area_statistics(covs: list[ProfileCoverage], areas: gpd.GeoDataFrame | None, *,
                    dead_zones: dict[str, gpd.GeoDataFrame] | None = None,
                    dead_zone_min_area_m2: float = 0.0,
                    population: np.ndarray | gpd.GeoDataFrame | None = None,
                    population_column: str = "population",
                    roads: gpd.GeoDataFrame | None = None,
                    weights: list[AreaWeights] | None = None) -> pd.DataFrame:
    """Exact, area-weighted coverage statistics per area and profile.

    Parameters
    ----------
    covs : list of ProfileCoverage
        Coverage of each profile, all on the same grid.
    areas : GeoDataFrame or None
        Reporting areas with ``area_name``; None reports the whole grid as one
        area named ``all``.
    dead_zones : dict profile -> GeoDataFrame, optional
        Dead-zone polygons (``zone_id``) per profile, as written to
        ``dead_zones.gpkg``; used for the zone count and the largest zone.
        Without them the zones are the 4-connected components of below-target
        pixels.
    dead_zone_min_area_m2 : float
        Smallest component (m^2, whole zone) counted when zones come from pixels.
    population : ndarray or GeoDataFrame, optional
        People per pixel on the analysis grid (see :func:`population_to_grid`),
        taken as spread evenly over each pixel; or points with a
        ``population_column`` count, each counted in the area that contains it
        and covered when its pixel is. Adds the population columns.
    population_column : str
        Column of the people count in a points layer.
    roads : GeoDataFrame, optional
        Road centre lines; adds the road columns (length in km).
    weights : list of AreaWeights, optional
        Pixel fractions from :func:`area_weights` for ``areas`` on this grid,
        to reuse between calls (e.g. the sunny and night states).

    Returns
    -------
    DataFrame
        One row per area and profile (areas in input order, profiles in
        ``covs`` order) with the columns listed in the module docstring.
    """
    columns = list(AREA_COLUMNS) + list(DEAD_ZONE_COLUMNS)
    if population is not None:
        columns += list(POPULATION_COLUMNS)
    if roads is not None:
        columns += list(ROAD_COLUMNS)
    if not covs:
        return pd.DataFrame(columns=columns)
    grid = covs[0].grid
    for cov in covs[1:]:
        if cov.grid != grid:
            raise InvalidInputError(f"profile {cov.name!r} is on another grid than profile "
                                    f"{covs[0].name!r}; all profiles must share one grid")
    px_km2 = grid.pixel_area_m2 / M2_PER_KM2
    weights = area_weights(areas, grid) if weights is None else weights

    pop_grid = pop_points = None
    if isinstance(population, gpd.GeoDataFrame):
        pop_points = _population_points(population, population_column, grid, weights)
    elif population is not None:
        pop_grid = np.nan_to_num(np.asarray(population, dtype="float64"), nan=0.0)
        if pop_grid.shape != grid.shape:
            raise InvalidInputError(f"population raster has shape {pop_grid.shape}, the grid "
                                    f"{grid.shape}; resample it with population_to_grid")
    road_m = _road_lengths(roads, weights, grid) if roads is not None else None

    zone_parts = {}
    for cov in covs:
        if dead_zones is not None and cov.name in dead_zones:
            zone_parts[cov.name] = _zone_parts_from_polygons(dead_zones[cov.name], grid, weights)
        else:
            zone_parts[cov.name] = _zone_parts_from_labels(cov, weights, dead_zone_min_area_m2)

    cells: dict[tuple[int, int], dict] = {}
    for j, cov in enumerate(covs):
        for k, aw in enumerate(weights):  # masks over the area's window only, not the grid
            sl = aw.window.slices
            ev = np.isfinite(cov.p_cover[sl])
            p0 = np.where(ev, cov.p_cover[sl], 0.0).astype("float32")
            good = ev & reaches_pct(p0, cov.target_pct)
            below = ev & ~good
            ul = below & (cov.limiting[sl] == LIMITING_UL)
            area_w = float(aw.full.sum()) + float(aw.frac.sum())
            ev_w, good_w, below_w = (aw.window_sum(ev), aw.window_sum(good),
                                     aw.window_sum(below))
            row = {
                "area_name": aw.name,
                "profile": cov.name,
                "area_km2": area_w * px_km2,
                "evaluated_km2": ev_w * px_km2,
                "covered_km2": good_w * px_km2,
                "covered_pct": _pct(good_w, ev_w),
                "area_reliability_pct": (100.0 * aw.window_sum(p0) / ev_w if ev_w > 0
                                         else np.nan),
                "p_cover_mean": aw.window_sum(p0) / ev_w if ev_w > 0 else np.nan,
                "dead_zone_km2": below_w * px_km2,
                "ul_limited_pct": _pct(aw.window_sum(ul), below_w) if below_w > 0 else 0.0,
            }
            row.update(_zone_stats(*zone_parts[cov.name][k]))
            if pop_grid is not None:
                pop = pop_grid[sl]
                tot, pev, pgood = (aw.window_sum(pop), aw.window_sum(np.where(ev, pop, 0.0)),
                                   aw.window_sum(np.where(good, pop, 0.0)))
                row.update(population=tot, population_evaluated=pev, population_covered=pgood,
                           population_covered_pct=_pct(pgood, pev))
            if pop_points is not None:
                r, c, people = pop_points[k]
                r, c = r - aw.window.row_off, c - aw.window.col_off
                tot, pev, pgood = (float(people.sum()), float(people[ev[r, c]].sum()),
                                   float(people[good[r, c]].sum()))
                row.update(population=tot, population_evaluated=pev, population_covered=pgood,
                           population_covered_pct=_pct(pgood, pev))
            if road_m is not None:
                r, c, length_m = road_m[k]
                r, c = r - aw.window.row_off, c - aw.window.col_off
                ev_km = float(length_m[ev[r, c]].sum()) / M_PER_KM
                unc_km = float(length_m[below[r, c]].sum()) / M_PER_KM
                row.update(road_km=ev_km, road_uncovered_km=unc_km,
                           road_uncovered_pct=_pct(unc_km, ev_km))
            cells[(k, j)] = row
    rows = [cells[(k, j)] for k in range(len(weights)) for j in range(len(covs))]
    return pd.DataFrame(rows, columns=columns)
