"""What a what-if changed: per-pixel gains and losses of coverage, as rasters, polygons
and per-area tables."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import shapes

from c2000cov.analysis.coverage import (
    BestServer,
    ProfileCoverage,
    covered_mask,
    p_cover_of,
    reaches_pct,
)

#: Codes of the ``delta`` band of ``delta_<profile>.tif`` (NaN: evaluated by neither run).
DELTA_GAINED, DELTA_LOST, DELTA_SAME = 1, -1, 0
DELTA_NAMES = {DELTA_GAINED: "gained", DELTA_LOST: "lost"}


def delta_raster(base: ProfileCoverage, new: ProfileCoverage) -> np.ndarray:
    """1 gained, -1 lost, 0 unchanged, NaN where neither run evaluates the pixel."""
    b, n = covered_mask(base), covered_mask(new)
    out = np.where(n & ~b, DELTA_GAINED, np.where(b & ~n, DELTA_LOST, DELTA_SAME))
    out = out.astype("float32")
    out[~(np.isfinite(base.p_cover) | np.isfinite(new.p_cover))] = np.nan
    return out


def delta_of_reductions(base: BestServer, new: BestServer, sigma_total_db, target_pct: float,
                        evaluated: np.ndarray) -> np.ndarray:
    """:func:`delta_raster` of the two reductions' :func:`~c2000cov.analysis.coverage.finish`,
    without finishing either.

    Whether a pixel is covered depends only on its best margin and whether a
    mast reaches it, so only the pixels whose best margin changed are
    evaluated; every other evaluated pixel is unchanged (0). ``evaluated`` is the
    profile's, the same for both runs (adding or moving masts does not change it).
    """
    out = np.where(evaluated, np.float32(DELTA_SAME), np.float32(np.nan)).astype("float32")
    idx = np.nonzero(evaluated & ~(new.margin_db == base.margin_db))
    sigma = sigma_total_db[idx] if isinstance(sigma_total_db, np.ndarray) else sigma_total_db
    every = np.ones(idx[0].size, dtype=bool)
    b = reaches_pct(p_cover_of(base.margin_db[idx], base.server[idx], sigma, every), target_pct)
    n = reaches_pct(p_cover_of(new.margin_db[idx], new.server[idx], sigma, every), target_pct)
    out[idx] = np.where(n & ~b, DELTA_GAINED, np.where(b & ~n, DELTA_LOST, DELTA_SAME))
    return out


def delta_polygons(delta: np.ndarray, grid, profile: str) -> gpd.GeoDataFrame:
    """Gained and lost polygons of one profile."""
    codes = np.nan_to_num(delta, nan=0.0).astype("int16")
    geoms, kinds = [], []
    for geom, value in shapes(codes, mask=codes != 0, connectivity=4, transform=grid.transform):
        geoms.append(shapely.geometry.shape(geom))
        kinds.append(DELTA_NAMES[int(value)])
    gdf = gpd.GeoDataFrame({"profile": profile, "change": kinds}, geometry=geoms, crs=grid.crs)
    gdf["area_km2"] = gdf.area / 1e6
    return gdf


def delta_area_table(base_table: pd.DataFrame, new_table: pd.DataFrame) -> pd.DataFrame:
    """Per-area change of covered km2 and percentage points, per profile."""
    keys = ["area_name", "profile"]
    merged = base_table[keys + ["covered_km2", "covered_pct"]].merge(
        new_table[keys + ["covered_km2", "covered_pct"]], on=keys, suffixes=("_base", "_new"))
    merged["delta_covered_km2"] = merged["covered_km2_new"] - merged["covered_km2_base"]
    merged["delta_covered_pct"] = merged["covered_pct_new"] - merged["covered_pct_base"]
    return merged[keys + ["covered_km2_base", "covered_km2_new", "delta_covered_km2",
                          "covered_pct_base", "covered_pct_new", "delta_covered_pct"]]
