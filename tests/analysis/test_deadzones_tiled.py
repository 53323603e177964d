"""Dead zones labelled and summarised tile by tile equal the whole-grid ones (#20).

The twin is the whole-grid ``dead_zones`` of c2000cov before #20 (one
``ndimage.label`` over the grid, ``ndimage`` statistics per label, one
polygonisation of the label raster), kept here unchanged. Tiles of 64, 37 and
7 px cut through the zones, their holes and the area boundaries: the zone
numbers, every attribute column (values and dtypes) and every polygon
(coordinates, ring order) must be equal.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from rasterio.features import shapes
from scipy import ndimage
from shapely.geometry import box

from c2000cov.analysis.coverage import (
    CLASS_NAMES,
    CLASS_NONE,
    CLASS_POOR,
    CLASS_REDUCED,
    LIMITING_DL,
    LIMITING_UL,
    BestServer,
    ProfileCoverage,
    finish,
)
from c2000cov.analysis.deadzones import DEAD_ZONE_COLUMNS, dead_zones, tiled_zones
from c2000cov.geo.grid import Grid, Window
from c2000cov.scenario.schema import ClassesConfig

RES_M = 10.0
_FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def _labels_whole_grid(cov):
    below = np.isfinite(cov.p_cover) & (cov.p_cover < cov.target_pct / 100.0)
    labels, n = ndimage.label(below, structure=_FOUR_CONNECTED)
    return labels.astype("int32"), int(n)


def _dead_zones_whole_grid(cov: ProfileCoverage, masts: pd.DataFrame,
                           areas: gpd.GeoDataFrame | None,
                           min_area_m2: float = 0.0, simplify_m: float = 0.0,
                           ) -> gpd.GeoDataFrame:
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
    """
    grid = cov.grid
    labels, n = _labels_whole_grid(cov)
    crs = grid.crs
    if n == 0:
        return gpd.GeoDataFrame({c: [] for c in DEAD_ZONE_COLUMNS}, geometry=[], crs=crs)
    index = np.arange(1, n + 1)
    counts = ndimage.sum_labels(np.ones_like(labels), labels, index).astype(int)
    p = np.nan_to_num(cov.p_cover, nan=0.0)
    p_min = ndimage.minimum(p, labels, index)
    p_med = ndimage.labeled_comprehension(p, labels, index, np.median, float, np.nan)
    ul = ndimage.sum_labels(cov.limiting == LIMITING_UL, labels, index)
    dl = ndimage.sum_labels(cov.limiting == LIMITING_DL, labels, index)
    worst_class = ndimage.minimum(cov.coverage_class, labels, index).astype(int)
    # class mix; ties of the dominant class go to the worse class (argmax takes the first)
    worst_first = (CLASS_NONE, CLASS_POOR, CLASS_REDUCED)
    n_cls = np.stack([ndimage.sum_labels(cov.coverage_class == c, labels, index)
                      for c in worst_first], axis=-1)
    share_pct = 100.0 * n_cls / np.maximum(counts, 1)[:, None]
    dominant = np.asarray(worst_first)[np.argmax(n_cls, axis=-1)]

    geoms: dict[int, list] = {}
    for geom, value in shapes(labels, mask=labels > 0, connectivity=4,
                              transform=grid.transform):
        geoms.setdefault(int(value), []).append(shapely.geometry.shape(geom))
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


def _coverage(seed: int, shape=(130, 150)):
    """Blobs of reduced, poor and no coverage, holes, NaN (not evaluated) and UL/DL mix."""
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.standard_normal(shape), 4.0)
    p = np.clip(0.97 + 0.9 * smooth / np.abs(smooth).max(), 0.0, 0.999)
    p[rng.random(shape) < 0.03] = 0.1  # speckle: one-pixel zones
    grid = Grid.from_bounds((0, 0, shape[1] * RES_M, shape[0] * RES_M), RES_M, "EPSG:28992")
    from scipy.special import ndtri

    margin = ndtri(np.clip(p, 1e-9, 1 - 1e-9)).astype("float32")
    ul = ndimage.gaussian_filter(rng.standard_normal(shape), 3.0) > 0
    m_dl = np.where(ul, margin + 1.0, margin).astype("float32")
    m_ul = np.where(ul, margin, margin + 1.0).astype("float32")
    best = BestServer.empty(shape)
    reach = rng.random(shape) > 0.05  # some pixels no mast reaches
    m_dl[~reach], m_ul[~reach] = np.nan, np.nan
    best.update(0, Window(0, 0, *shape), m_dl, m_ul, m_dl, 1.6448536)
    evaluated = rng.random(shape) > 0.04
    evaluated[60:70, :] = False  # a band not evaluated (water): zones end there
    return finish("hh", grid, best, 1.0, 95.0, ClassesConfig(), evaluated)


MASTS = pd.DataFrame({"mast_id": ["A", "B"], "x_m": [5.0, 1495.0], "y_m": [1295.0, 5.0]})
AREAS = gpd.GeoDataFrame({"area_name": ["West", "East"]},
                         geometry=[box(0, 0, 733.0, 1300.0), box(733.0, 0, 1500.0, 1300.0)],
                         crs="EPSG:28992")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("min_area_m2,simplify_m", [(0.0, 0.0), (500.0, 0.0), (0.0, 10.0)])
def test_tiled_dead_zones_equal_the_whole_grid_twin(seed, min_area_m2, simplify_m):
    cov = _coverage(seed)
    twin = _dead_zones_whole_grid(cov, MASTS, AREAS, min_area_m2, simplify_m)
    assert len(twin) >= 10 and (twin["n_pixels"] > 1).any()
    for tile_px in (64, 37, 7, 4096):
        got = dead_zones(cov, MASTS, AREAS, min_area_m2, simplify_m, tile_px=tile_px)
        pd.testing.assert_frame_equal(got.drop(columns="geometry"),
                                      twin.drop(columns="geometry"), check_exact=True)
        assert list(got.geometry.to_wkb()) == list(twin.geometry.to_wkb()), tile_px


def test_zone_numbers_equal_one_whole_grid_label(tmp_path):
    cov = _coverage(4)
    labels, n = _labels_whole_grid(cov)
    import rasterio

    for tile_px in (64, 7):
        (tmp_path / str(tile_px)).mkdir()
        z = tiled_zones(cov, tile_px, tmp_path / str(tile_px))
        assert z.n == n
        with rasterio.open(z.path) as src:
            assert np.array_equal(src.read(1), labels)
        assert np.array_equal(z.counts, np.bincount(labels.ravel())[1:])
    # the 64 px tiles cut zones: some zone spans more than one tile
    rows, cols = np.nonzero(labels)
    spans = pd.DataFrame({"z": labels[rows, cols], "t": (rows // 64) * 10 + cols // 64})
    assert (spans.groupby("z")["t"].nunique() > 1).sum() >= 3
