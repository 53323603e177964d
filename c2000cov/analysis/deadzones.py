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
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import shapes
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

_FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])

DEAD_ZONE_COLUMNS = ("zone_id", "profile", "area_km2", "n_pixels", "p_cover_min",
                     "p_cover_median", "limiting", "ul_limited_share", "share_reduced_pct",
                     "share_poor_pct", "share_none_pct", "class", "class_worst",
                     "nearest_mast_id", "nearest_mast_dist_m", "areas")


def dead_zone_labels(cov: ProfileCoverage) -> tuple[np.ndarray, int]:
    """Label 4-connected components of evaluated pixels below the target."""
    below = np.isfinite(cov.p_cover) & (cov.p_cover < cov.target_pct / 100.0)
    labels, n = ndimage.label(below, structure=_FOUR_CONNECTED)
    return labels.astype("int32"), int(n)


def dead_zones(cov: ProfileCoverage, masts: pd.DataFrame, areas: gpd.GeoDataFrame | None,
               min_area_m2: float = 0.0, simplify_m: float = 0.0) -> gpd.GeoDataFrame:
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
    labels, n = dead_zone_labels(cov)
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
