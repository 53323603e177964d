"""Dead-zone polygons: connected pixels whose coverage probability is below the target.

Pixels are grouped into 4-connected components (the same connectivity as
rasterio's polygonisation, so one component gives exactly one polygon, with
holes), then summarised per component: area, minimum and median probability,
the limiting direction, the class mix (share of *reduced*, *poor* and *none*
pixels, in %), the dominant class (``class``: the largest share, ties to the
worse class) and the worst class (``class_worst``), the nearest mast and the
containing areas. A zone is labelled by its dominant class: one that is 61 %
*reduced* with a few *none* pixels is a reduced-coverage zone, not "none".
Polygons follow pixel edges, so their total area equals the count of
below-target pixels times the pixel area; components smaller than
``min_area_m2`` are dropped afterwards.

The work is done tile by tile (:func:`tiled_zones`): components are labelled
per tile and joined across tile edges with a union-find, the per-zone figures
are integer sums, minima and medians over the same pixels, and the zone
raster is written tile by tile into a temporary GeoTIFF that GDAL polygonises
from the file; numbers, figures and polygons equal those of one whole-grid
pass (``tests/analysis/test_deadzones_tiled.py``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import shapes
from rasterio.windows import Window as RioWindow
from scipy import ndimage

from c2000cov.analysis.coverage import (
    CLASS_NAMES,
    CLASS_NONE,
    CLASS_POOR,
    CLASS_REDUCED,
    LIMITING_DL,
    LIMITING_UL,
    ProfileCoverage,
)
from c2000cov.geo.grid import Window

_FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])

DEAD_ZONE_COLUMNS = ("zone_id", "profile", "area_km2", "n_pixels", "p_cover_min",
                     "p_cover_median", "limiting", "ul_limited_share", "share_reduced_pct",
                     "share_poor_pct", "share_none_pct", "class", "class_worst",
                     "nearest_mast_id", "nearest_mast_dist_m", "areas")


#: Side (px) of the tiles dead zones are labelled and summarised in.
DZ_TILE_PX = 2048


def dead_zones(cov: ProfileCoverage, masts: pd.DataFrame, areas: gpd.GeoDataFrame | None,
               min_area_m2: float = 0.0, simplify_m: float = 0.0,
               tile_px: int = DZ_TILE_PX) -> gpd.GeoDataFrame:
    """Dead-zone polygons of one profile with their attributes.

    Parameters
    ----------
    cov : ProfileCoverage
        Coverage of the profile.
    masts : DataFrame
        Masts with ``mast_id``, ``x_m``, ``y_m``.
    areas : GeoDataFrame or None
        Reporting areas (``area_name``); each zone lists the areas it touches.
    min_area_m2 : float
        Zones smaller than this (m^2) are dropped.
    simplify_m : float
        Topology-preserving simplification tolerance (m); 0 keeps pixel edges.
    tile_px : int
        Side (px) of the tiles the zones are labelled and summarised in
        (:func:`tiled_zones`); the result does not depend on it.
    """
    grid = cov.grid
    crs = grid.crs
    with tempfile.TemporaryDirectory(prefix="c2000cov-deadzones-") as tmp:
        z = tiled_zones(cov, tile_px, Path(tmp))
        n = z.n
        if n == 0:
            return gpd.GeoDataFrame({c: [] for c in DEAD_ZONE_COLUMNS}, geometry=[], crs=crs)
        geoms: dict[int, list] = {}
        with rasterio.open(z.path) as src, rasterio.open(z.mask_path) as below:
            for geom, value in shapes(rasterio.band(src, 1), mask=rasterio.band(below, 1),
                                      connectivity=4, transform=grid.transform):
                geoms.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    index = np.arange(1, n + 1)
    counts, p_min, p_med, ul, dl = z.counts, z.p_min, z.p_med, z.ul, z.dl
    worst_class = z.worst_class.astype(int)
    # class mix; ties of the dominant class go to the worse class (argmax takes the first)
    worst_first = (CLASS_NONE, CLASS_POOR, CLASS_REDUCED)
    n_cls = z.n_cls
    share_pct = 100.0 * n_cls / np.maximum(counts, 1)[:, None]
    dominant = np.asarray(worst_first)[np.argmax(n_cls, axis=-1)]
    polys = [shapely.union_all(geoms[i]) if len(geoms[i]) > 1 else geoms[i][0] for i in index]

    reached = ul + dl
    ul_share = np.divide(ul, reached, out=np.zeros(n), where=reached > 0)
    limiting = np.where(reached == 0, "unreached",
                        np.where(ul_share >= 0.9, "UL", np.where(ul_share <= 0.1, "DL", "both")))
    gdf = gpd.GeoDataFrame({
        "zone_id": [f"{cov.name}-{i:05d}" for i in index],
        "profile": cov.name,
        "area_km2": counts * grid.pixel_area_m2 / 1e6,
        "n_pixels": counts,
        "p_cover_min": p_min,
        "p_cover_median": p_med,
        "limiting": limiting,
        "ul_limited_share": ul_share,
        "share_reduced_pct": share_pct[:, 2],
        "share_poor_pct": share_pct[:, 1],
        "share_none_pct": share_pct[:, 0],
        "class": [CLASS_NAMES[int(c)] for c in dominant],
        "class_worst": [CLASS_NAMES.get(c, "none") for c in worst_class],
    }, geometry=polys, crs=crs)
    gdf = gdf[gdf["area_km2"] * 1e6 >= min_area_m2].reset_index(drop=True)
    if simplify_m > 0 and len(gdf):
        gdf["geometry"] = shapely.coverage_simplify(gdf.geometry.values, simplify_m)
    mast_pts = shapely.points(masts["x_m"].to_numpy(), masts["y_m"].to_numpy())
    if len(gdf):
        dist = shapely.distance(gdf.geometry.to_numpy()[:, None], mast_pts[None, :])
        nearest = np.argmin(dist, axis=1)
        gdf["nearest_mast_id"] = masts["mast_id"].to_numpy()[nearest]
        gdf["nearest_mast_dist_m"] = dist[np.arange(len(gdf)), nearest]
    else:
        gdf["nearest_mast_id"] = []
        gdf["nearest_mast_dist_m"] = []
    if areas is not None and len(gdf):
        hits = shapely.intersects(gdf.geometry.to_numpy()[:, None],
                                  areas.geometry.to_numpy()[None, :])
        names = areas["area_name"].to_numpy()
        gdf["areas"] = ["; ".join(names[row]) for row in hits]
    else:
        gdf["areas"] = ""
    return gdf[list(DEAD_ZONE_COLUMNS) + ["geometry"]]


@dataclass(frozen=True)
class TiledZones:
    """Per-zone sums of :func:`tiled_zones` (zone ``k`` at index ``k - 1``)."""

    n: int
    path: Path  # int32 zone numbers, 0 = none
    mask_path: Path  # uint8 1 = below the target (in a zone)
    counts: np.ndarray  # int64 pixels
    p_min: np.ndarray  # dtype of p_cover
    p_med: np.ndarray  # float64
    ul: np.ndarray  # float64 pixels limited by the uplink
    dl: np.ndarray  # float64 pixels limited by the downlink
    worst_class: np.ndarray  # uint8 lowest class code
    n_cls: np.ndarray  # float64 (n, 3) pixels of class none, poor, reduced


def _below(cov: ProfileCoverage, tile: Window) -> np.ndarray:
    p = cov.p_cover[tile.slices]
    return np.isfinite(p) & (p < cov.target_pct / 100.0)


def _find(parent: np.ndarray, i: np.ndarray) -> np.ndarray:
    while True:
        up = parent[i]
        if np.array_equal(up, i):
            return i
        i = up


def _number_zones(cov: ProfileCoverage, tiles: list[Window]) -> tuple[np.ndarray, list[int]]:
    """Zone number (1.., or 0) of every provisional tile label, and each tile's offset.

    Pass 1 of :func:`tiled_zones`: each tile is labelled on its own (4-connected);
    labels that meet across a tile edge are joined with a union-find; each zone is
    numbered by its first pixel in raster order over the whole grid, as
    :func:`scipy.ndimage.label` numbers them in one pass.
    """
    width = cov.grid.width
    offsets, firsts = [], [np.zeros(1, dtype=np.int64)]
    pairs_a, pairs_b = [], []
    last_row: dict[int, np.ndarray] = {}  # per tile column: the last row of the tile above
    last_col: dict[int, np.ndarray] = {}  # per tile row: the last column of the tile left
    n_prov = 0
    for tile in tiles:
        lab, m = ndimage.label(_below(cov, tile), structure=_FOUR_CONNECTED)
        prov = np.where(lab > 0, lab + n_prov, 0)
        offsets.append(n_prov)
        rows, cols = np.indices(lab.shape)
        flat = (rows + tile.row_off).astype(np.int64) * width + cols + tile.col_off
        firsts.append(np.asarray(ndimage.minimum(flat, lab, np.arange(1, m + 1)),
                                 dtype=np.int64).reshape(m))
        above = last_row.get(tile.col_off)
        if above is not None:  # the tile above: its last row meets this first row
            both = (above > 0) & (prov[0] > 0)
            pairs_a.append(above[both])
            pairs_b.append(prov[0][both])
        if tile.col_off > 0:  # the tile to the left
            left = last_col[tile.row_off]
            both = (left > 0) & (prov[:, 0] > 0)
            pairs_a.append(left[both])
            pairs_b.append(prov[:, 0][both])
        last_row[tile.col_off] = prov[-1].copy()
        last_col[tile.row_off] = prov[:, -1].copy()
        n_prov += m
    parent = np.arange(n_prov + 1)
    a = np.concatenate(pairs_a) if pairs_a else np.zeros(0, dtype=np.int64)
    b = np.concatenate(pairs_b) if pairs_b else np.zeros(0, dtype=np.int64)
    while a.size:  # union by the smaller root until every pair shares one
        ra, rb = _find(parent, a), _find(parent, b)
        differ = ra != rb
        if not differ.any():
            break
        lo, hi = np.minimum(ra, rb)[differ], np.maximum(ra, rb)[differ]
        np.minimum.at(parent, hi, lo)
    root = _find(parent, np.arange(n_prov + 1))
    first = np.concatenate(firsts)
    zone_first = np.full(n_prov + 1, np.iinfo(np.int64).max)
    np.minimum.at(zone_first, root[1:], first[1:])
    roots = np.flatnonzero(zone_first[1:] < np.iinfo(np.int64).max) + 1
    number = np.zeros(n_prov + 1, dtype=np.int64)
    number[roots[np.argsort(zone_first[roots], kind="stable")]] = np.arange(1, roots.size + 1)
    return number[root], offsets


def tiled_zones(cov: ProfileCoverage, tile_px: int, folder: Path) -> TiledZones:
    """Dead zones of ``cov`` labelled and summarised tile by tile.

    The zone numbers equal those of one :func:`scipy.ndimage.label` over the
    whole grid (4-connected, numbered in raster order); they are written, tile
    by tile, into tiled GeoTIFFs in ``folder`` (``zones.tif``, and
    ``below.tif`` the mask of zone pixels) for polygonising, which GDAL does
    scanline by scanline from the file. Counts are
    integer sums, minima are minima and each zone's median is taken over the
    same values, so every figure equals the whole-grid one.
    """
    grid = cov.grid
    tiles = list(grid.tiles(tile_px))
    number, offsets = _number_zones(cov, tiles)
    n = int(number.max(initial=0))
    counts = np.zeros(n + 1, dtype=np.int64)
    ul, dl = np.zeros(n + 1), np.zeros(n + 1)
    n_cls = np.zeros((n + 1, 3))
    p_min = np.full(n + 1, np.inf, dtype=cov.p_cover.dtype)
    worst = np.full(n + 1, 255, dtype=np.uint8)
    med_labels, med_values = [], []
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1,
                   crs=grid.crs, transform=grid.transform, tiled=True, blockxsize=256,
                   blockysize=256, compress="deflate")
    path, mask_path = Path(folder) / "zones.tif", Path(folder) / "below.tif"
    with (rasterio.open(path, "w", dtype="int32", **profile) as dst,
          rasterio.open(mask_path, "w", dtype="uint8", **profile) as dst_mask):
        for tile, off in zip(tiles, offsets, strict=True):
            below = _below(cov, tile)
            lab, _ = ndimage.label(below, structure=_FOUR_CONNECTED)
            zones = number[np.where(lab > 0, lab + off, 0)]  # number[0] is 0
            win = RioWindow(tile.col_off, tile.row_off, tile.width, tile.height)
            dst.write(zones.astype("int32"), 1, window=win)
            dst_mask.write(below.astype("uint8"), 1, window=win)
            z = zones[below]
            if z.size == 0:
                continue
            sl = tile.slices
            p = np.nan_to_num(cov.p_cover[sl], nan=0.0)[below]
            limiting, cls = cov.limiting[sl][below], cov.coverage_class[sl][below]
            counts += np.bincount(z, minlength=n + 1)
            ul += np.bincount(z, weights=limiting == LIMITING_UL, minlength=n + 1)
            dl += np.bincount(z, weights=limiting == LIMITING_DL, minlength=n + 1)
            for j, c in enumerate((CLASS_NONE, CLASS_POOR, CLASS_REDUCED)):
                n_cls[:, j] += np.bincount(z, weights=cls == c, minlength=n + 1)
            np.minimum.at(p_min, z, p)
            np.minimum.at(worst, z, cls)
            med_labels.append(z)
            med_values.append(p)
    index = np.arange(1, n + 1)
    p_med = (ndimage.labeled_comprehension(np.concatenate(med_values),
                                           np.concatenate(med_labels), index, np.median, float,
                                           np.nan) if n else np.zeros(0))
    return TiledZones(n, path, mask_path, counts[1:], p_min[1:], p_med, ul[1:], dl[1:], worst[1:],
                      n_cls[1:])
