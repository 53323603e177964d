"""Per-area coverage statistics.

Each area is rasterised on the analysis grid by the pixel-centre rule; the
statistics are pixel counts times the pixel area. (Exact, fraction-weighted
statistics for partial pixels are planned with the compliance reports.)
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.features import geometry_mask

from c2000cov.coverage import LIMITING_UL, ProfileCoverage

AREA_COLUMNS = ("area_name", "profile", "area_km2", "evaluated_km2", "covered_km2",
                "covered_pct", "p_cover_mean", "dead_zone_km2", "ul_limited_pct")


def area_statistics(covs: list[ProfileCoverage], areas: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Covered area and percentage per area and profile.

    ``covered_pct`` is the share of evaluated pixels (all pixels for outdoor
    profiles, building pixels for indoor ones) that reach the profile target;
    ``ul_limited_pct`` the share of below-target pixels limited by the uplink.
    Without an areas layer the whole grid is one area named ``all``.
    """
    rows = []
    if not covs:
        return pd.DataFrame(columns=list(AREA_COLUMNS))
    grid = covs[0].grid
    px_km2 = grid.pixel_area_m2 / 1e6
    if areas is None:
        masks = [("all", np.ones(grid.shape, dtype=bool))]
    else:
        masks = [(name, geometry_mask([geom], out_shape=grid.shape, transform=grid.transform,
                                      invert=True))
                 for name, geom in zip(areas["area_name"], areas.geometry, strict=True)]
    for name, inside in masks:
        for cov in covs:
            ev = inside & np.isfinite(cov.p_cover)
            p = cov.p_cover[ev]
            good = p >= cov.target_pct / 100.0
            below = ~good
            ul = (cov.limiting[ev] == LIMITING_UL) & below
            n_ev = int(ev.sum())
            rows.append({
                "area_name": name,
                "profile": cov.name,
                "area_km2": inside.sum() * px_km2,
                "evaluated_km2": n_ev * px_km2,
                "covered_km2": good.sum() * px_km2,
                "covered_pct": 100.0 * good.mean() if n_ev else np.nan,
                "p_cover_mean": float(p.mean()) if n_ev else np.nan,
                "dead_zone_km2": below.sum() * px_km2,
                "ul_limited_pct": 100.0 * ul.sum() / below.sum() if below.any() else 0.0,
            })
    return pd.DataFrame(rows, columns=list(AREA_COLUMNS))
