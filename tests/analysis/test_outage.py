"""N-1 outage counted tile by tile equals the whole-grid computation it replaced (#20).

The twin below is the whole-grid ``n1_outage`` as it was before the tiled one
(one argsort of the best-server raster, one full-grid mask per area), kept here
unchanged. Tiles of 64, 37 and 7 px cut through the areas and the served
regions of every mast.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import CRS
from rasterio.features import geometry_mask
from shapely.geometry import Polygon, box

from c2000cov.analysis.coverage import ProfileCoverage, covered_mask, reaches_pct
from c2000cov.analysis.outage import n1_outage, without_mast_p_cover
from c2000cov.geo.grid import Grid
from c2000cov.radio.probability import location_probability

X0, Y0, RES = 150000.0, 452000.0, 20.0


def _n1_whole_grid(covs, masts, areas):
    """The whole-grid N-1 of c2000cov before #20 (the twin)."""
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


def _coverage(name: str, seed: int, shape=(150, 170), n_masts: int = 7,
              sigma_array: bool = False) -> ProfileCoverage:
    """Random best servers in patches, runner-up margins around the target."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    grid = Grid(CRS.from_epsg(28992), Affine(RES, 0, X0, 0, -RES, Y0), *shape)
    patches = ndimage.zoom(rng.integers(-1, n_masts, (8, 9)), (shape[0] / 8, shape[1] / 9),
                           order=0)[:shape[0], :shape[1]]
    server = patches.astype("int16")
    sigma = (rng.uniform(5.0, 9.0, shape).astype("float32") if sigma_array else 8.0)
    margin = rng.normal(14.0, 6.0, shape).astype("float32")
    second = (margin - rng.exponential(6.0, shape)).astype("float32")
    second[rng.random(shape) < 0.1] = -np.inf  # no runner-up
    second[rng.random(shape) < 0.05] = np.nan
    p = np.asarray(location_probability(margin, sigma), dtype="float32")
    p[server < 0] = 0.0
    p[rng.random(shape) < 0.08] = np.nan  # not evaluated
    zeros = np.zeros(shape, dtype="uint8")
    return ProfileCoverage(name, grid, p, zeros, server, margin, zeros, zeros, margin, margin,
                           sigma, 95.0, second)


def _areas() -> gpd.GeoDataFrame:
    w, h = 170 * RES, 150 * RES
    y_bottom = Y0 - h
    geoms = [
        box(X0 + 3.3, y_bottom + 11.0, X0 + 0.55 * w, Y0 - 7.7),
        box(X0 + 0.4 * w, y_bottom, X0 + w, Y0),
        # edges through pixel centres, and a slanted one
        Polygon([(X0 + 30.0, y_bottom + 30.0), (X0 + 0.9 * w + 10.0, y_bottom + 50.0),
                 (X0 + 0.3 * w, Y0 - 10.0)]),
        box(X0 + w + 100.0, Y0 + 100.0, X0 + w + 200.0, Y0 + 200.0),  # off the grid
    ]
    return gpd.GeoDataFrame({"area_name": ["West", "East", "Triangle", "Away"]},
                            geometry=geoms, crs="EPSG:28992")


@pytest.mark.parametrize("seed,sigma_array", [(1, False), (2, True), (3, False)])
def test_tiled_n1_equals_the_whole_grid_twin(seed, sigma_array):
    covs = {"hh": _coverage("hh", seed, sigma_array=sigma_array),
            "car": _coverage("car", seed + 10, sigma_array=not sigma_array)}
    masts = pd.DataFrame({"mast_id": [f"M{k}" for k in range(7)]})
    areas = _areas()
    twin = _n1_whole_grid(covs, masts, areas)
    assert (twin["lost_km2"] > 0).sum() >= 8  # masts do lose coverage
    assert twin["areas_affected"].str.contains(";").any()  # losses span areas
    for tile_px in (64, 37, 7, 4096):
        table = n1_outage(covs, masts, areas, tile_px=tile_px)
        pd.testing.assert_frame_equal(table, twin, check_exact=True)
        assert table.to_csv() == twin.to_csv()
    pd.testing.assert_frame_equal(n1_outage(covs, masts, None, tile_px=37),
                                  _n1_whole_grid(covs, masts, None), check_exact=True)


def test_n1_lost_area_is_where_the_runner_up_falls_short():
    """Against :func:`without_mast_p_cover`: lost = covered now, not covered without k."""
    cov = _coverage("hh", 5)
    masts = pd.DataFrame({"mast_id": [f"M{k}" for k in range(7)]})
    table = n1_outage({"hh": cov}, masts, None, tile_px=37).set_index("mast_id")
    px_km2 = RES * RES / 1e6
    for k in range(7):
        lost = covered_mask(cov) & ~reaches_pct(without_mast_p_cover(cov, k), 95.0)
        assert table.loc[f"M{k}", "lost_km2"] == lost.sum() * px_km2
