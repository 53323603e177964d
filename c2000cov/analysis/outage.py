"""Single-mast outage (N-1): the coverage lost when one mast fails, with no propagation.

The best-server reduction keeps the runner-up margin per pixel, so the
coverage without mast k is the runner-up's wherever k is the best server.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import geometry_mask

from c2000cov.analysis.coverage import ProfileCoverage, reaches_pct
from c2000cov.geo.grid import Grid, Window
from c2000cov.radio.probability import location_probability


def without_mast_p_cover(cov: ProfileCoverage, mast_index: int) -> np.ndarray:
    """p_cover if mast ``mast_index`` fails: the runner-up's probability where it served."""
    p = cov.p_cover.copy()
    served = cov.server == mast_index
    runner = cov.second_margin_db[served]
    sigma = (cov.sigma_total_db[served] if isinstance(cov.sigma_total_db, np.ndarray)
             else cov.sigma_total_db)
    alt = np.asarray(location_probability(runner, sigma), dtype="float32")
    p[served] = np.where(np.isfinite(runner), alt, 0.0)
    return p


#: Side (px) of the tiles N-1 counts its pixels in: its working memory is a tile's.
N1_TILE_PX = 2048


def n1_outage(covs: dict[str, ProfileCoverage], masts: pd.DataFrame,
              areas: gpd.GeoDataFrame | None, tile_px: int = N1_TILE_PX) -> pd.DataFrame:
    """Coverage lost per mast failure, per profile, ranked (largest loss first).

    Columns: ``rank, mast_id, profile, lost_km2, lost_pct`` (of the covered
    area) and ``areas_affected`` (area names with the km2 lost in each; a
    pixel is in an area when its centre is). The lost area is also where this
    mast is the only one reaching the target. Every pixel is looked at once,
    under its best server (the same result as :func:`without_mast_p_cover`),
    tile by tile: the lost pixels are counted per mast and area as integers,
    so the table does not depend on ``tile_px``, and no full-grid mask or
    index is built.
    """
    n_masts = len(masts)
    names, geoms = ([], []) if areas is None else (list(areas["area_name"]),
                                                     list(areas.geometry))
    area_bounds = [shapely.bounds(g) for g in geoms]
    rows = []
    for profile, cov in covs.items():
        grid = cov.grid
        px_km2 = grid.pixel_area_m2 / 1e6
        lost_px = np.zeros(n_masts, dtype=np.int64)
        lost_area_px = np.zeros((len(geoms), n_masts), dtype=np.int64)
        covered_px = 0
        for tile in grid.tiles(tile_px):
            lost_server, lost_rc = _lost_in_tile(cov, tile)
            covered_px += int(reaches_pct(cov.p_cover[tile.slices], cov.target_pct).sum())
            lost_px += np.bincount(lost_server, minlength=n_masts)[:n_masts]
            if lost_server.size == 0:
                continue
            tile_bounds = _bounds_of(grid, tile)
            for a, geom in enumerate(geoms):
                if not _overlaps(area_bounds[a], tile_bounds):
                    continue  # no pixel centre of the tile can lie in the area
                inside = geometry_mask([geom], out_shape=(tile.height, tile.width),
                                       transform=grid.window_transform(tile), invert=True)
                hit = inside[lost_rc]
                lost_area_px[a] += np.bincount(lost_server[hit], minlength=n_masts)[:n_masts]
        total = covered_px * px_km2
        for k, mast_id in enumerate(masts["mast_id"]):
            lost_km2 = lost_px[k] * px_km2
            affected = [f"{n} ({lost_area_px[a, k] * px_km2:.3f} km2)"
                        for a, n in enumerate(names) if lost_area_px[a, k] > 0]
            rows.append({"mast_id": mast_id, "profile": profile, "lost_km2": lost_km2,
                         "lost_pct": 100.0 * lost_km2 / total if total else 0.0,
                         "areas_affected": "; ".join(affected)})
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["profile", "lost_km2", "mast_id"],
                                  ascending=[True, False, True], kind="stable")
        table.insert(0, "rank", table.groupby("profile").cumcount() + 1)
    return table.reset_index(drop=True)


def _lost_in_tile(cov: ProfileCoverage, tile: Window) -> tuple[np.ndarray, tuple]:
    """Best server and (row, col) in the tile of each covered pixel its failure loses."""
    sl = tile.slices
    server = cov.server[sl]
    served = server >= 0
    runner = cov.second_margin_db[sl][served]
    sigma = cov.sigma_total_db
    sig = sigma[sl][served] if isinstance(sigma, np.ndarray) else sigma
    alt = np.where(np.isfinite(runner),
                   np.asarray(location_probability(runner, sig), dtype="float32"), 0.0)
    lost = reaches_pct(cov.p_cover[sl][served], cov.target_pct) & ~reaches_pct(
        alt, cov.target_pct)
    rows, cols = np.nonzero(served)
    return server[served][lost].astype(np.int64), (rows[lost], cols[lost])


def _bounds_of(grid: Grid, tile: Window) -> tuple[float, float, float, float]:
    t = grid.window_transform(tile)
    return (t.c, t.f - tile.height * grid.resolution_m, t.c + tile.width * grid.resolution_m,
            t.f)


def _overlaps(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
