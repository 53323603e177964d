"""Single-mast outage (N-1): the coverage lost when one mast fails, with no propagation.

The best-server reduction keeps the runner-up margin per pixel, so the
coverage without mast k is the runner-up's wherever k is the best server.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.features import geometry_mask

from c2000cov.analysis.coverage import ProfileCoverage, covered_mask, reaches_pct
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


def n1_outage(covs: dict[str, ProfileCoverage], masts: pd.DataFrame,
              areas: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Coverage lost per mast failure, per profile, ranked (largest loss first).

    Columns: ``rank, mast_id, profile, lost_km2, lost_pct`` (of the covered
    area) and ``areas_affected`` (area names with the km2 lost in each). The
    lost area is also where this mast is the only one reaching the target.
    Pixels are grouped by best server once, so each mast costs only the pixels
    it serves (the same result as :func:`without_mast_p_cover`).
    """
    rows = []
    area_masks = []
    if areas is not None and len(covs):
        grid = next(iter(covs.values())).grid
        area_masks = [(n, geometry_mask([g], out_shape=grid.shape, transform=grid.transform,
                                        invert=True).ravel())
                      for n, g in zip(areas["area_name"], areas.geometry, strict=True)]
    for profile, cov in covs.items():
        px_km2 = cov.grid.pixel_area_m2 / 1e6
        base = covered_mask(cov).ravel()
        total = base.sum() * px_km2
        server = cov.server.ravel()
        order = np.argsort(server, kind="stable")
        starts = np.searchsorted(server[order], np.arange(len(masts) + 1))
        sigma = cov.sigma_total_db
        for k, mast_id in enumerate(masts["mast_id"]):
            idx = order[starts[k]:starts[k + 1]]
            runner = cov.second_margin_db.ravel()[idx]
            sig = sigma.ravel()[idx] if isinstance(sigma, np.ndarray) else sigma
            alt = np.where(np.isfinite(runner),
                           np.asarray(location_probability(runner, sig), dtype="float32"), 0.0)
            lost = base[idx] & ~reaches_pct(alt, cov.target_pct)
            lost_km2 = lost.sum() * px_km2
            lost_idx = idx[lost]
            affected = [f"{n} ({m[lost_idx].sum() * px_km2:.3f} km2)" for n, m in area_masks
                        if m[lost_idx].any()]
            rows.append({"mast_id": mast_id, "profile": profile, "lost_km2": lost_km2,
                         "lost_pct": 100.0 * lost_km2 / total if total else 0.0,
                         "areas_affected": "; ".join(affected)})
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["profile", "lost_km2", "mast_id"],
                                  ascending=[True, False, True], kind="stable")
        table.insert(0, "rank", table.groupby("profile").cumcount() + 1)
    return table.reset_index(drop=True)
