"""Tiled and untiled reductions are bit-identical (#20).

The twin is :func:`c2000cov.pipeline.compute.compute_coverage`, the whole-grid
reduction. Tiles of 64 px (and 37 px, which shares no edge with the 64 px
ones) cut through the mast windows, the dead zones and the area boundaries;
every band of every profile and noise state, the dead-zone polygons, the
per-area table and the N-1 table must equal the whole-grid run byte for byte.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from c2000cov.analysis.coverage import ProfileCoverage
from c2000cov.errors import ScenarioError
from c2000cov.files.spill import Spill, is_spilled
from c2000cov.geo.grid import window_overlap
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import compute_coverage, noise_states
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.run import run_scenario
from c2000cov.pipeline.tiles import mast_windows, tiled_coverage
from c2000cov.scenario.config import load_scenario
from tests.scenarios import RD, REPO, write_scenario

BANDS = ("p_cover", "limiting", "server", "signal_dl_dbm", "n_at_target", "coverage_class",
         "margin_dl_db", "margin_ul_db", "second_margin_db")
PROFILES = ("[profiles.hh]\nextra_loss_db = 22.0\n\n"
            "[profiles.car]\nms_tx_power_dbm = 34.8\nms_gain_dbi = 2.0\nbody_loss_db = 0.0\n"
            "extra_loss_db = 26.0\n")
GRID_OUTPUTS = (".tif", ".gpkg", ".csv")


def _hilly(n: int, seed: int) -> np.ndarray:
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    h = ndimage.gaussian_filter(rng.standard_normal((n, n)), 10) * 500
    return (h - h.min()).astype("float32")


def _random_scenario(tmp_path: Path, seed: int, n_px: int = 160, model: str = "hata",
                     with_pv: bool = True) -> Path:
    """Hilly ground, masts at random places, random areas and PV: dead zones everywhere."""
    rng = np.random.default_rng(seed)
    res = 20.0
    size_m = n_px * res
    x0, y0 = 150000.0, 450000.0
    masts = [f"M{i:02d},S{i},{x0 + x:.1f},{y0 + y:.1f},{h:.0f},44,11,8,3"
             for i, (x, y, h) in enumerate(zip(*(rng.uniform(0.05, 0.95, (2, 6)) * size_m),
                                               rng.choice([15.0, 30.0, 45.0], 6), strict=True))]
    scen = write_scenario(tmp_path, masts_rows=masts, model=model, profiles=PROFILES,
                          radius_m=1200.0, size_px=n_px, res=res, heights=_hilly(n_px, seed),
                          extra='[pv]\npath = "pv.gpkg"\n\n' if with_pv else "")
    # two sector masts with a pattern (their gain toward each pixel is cropped per tile)
    lines = (tmp_path / "masts.csv").read_text().splitlines()
    sector = ",120,2,sector.msi", ",300,0,sector.msi"
    lines = [lines[0] + ",azimuth_deg,tilt_deg,pattern"] + [
        row + (sector[k] if k < 2 else ",,,") for k, row in enumerate(lines[1:])]
    (tmp_path / "masts.csv").write_text("\n".join(lines) + "\n")
    angles = np.arange(360)
    h_att = np.minimum(12.0 * (np.minimum(angles, 360 - angles) / 65.0) ** 2, 25.0)
    v = np.where(angles < 180, angles, angles - 360)
    v_att = np.minimum(12.0 * ((v - 4.0) / 10.0) ** 2, 20.0)
    (tmp_path / "sector.msi").write_text("\n".join(
        ["NAME sector 65/4", "GAIN 10.0 dBd", "HORIZONTAL 360"]
        + [f"{k} {a:.4f}" for k, a in enumerate(h_att)] + ["VERTICAL 360"]
        + [f"{k} {a:.4f}" for k, a in enumerate(v_att)]) + "\n")
    # areas whose edges fall inside pixels and across the tiles, one of them two parts
    corners = rng.uniform(0.0, 1.0, (4, 4)) * size_m
    geoms = [box(x0 + min(a, c), y0 + min(b, d), x0 + max(a, c), y0 + max(b, d))
             for a, b, c, d in corners]
    geoms[3] = geoms[3].union(box(x0 + 3.3, y0 + 7.1, x0 + 0.4 * size_m, y0 + 0.3 * size_m))
    gpd.GeoDataFrame({"name": [f"A{i}" for i in range(4)]}, geometry=geoms, crs=RD).to_file(
        tmp_path / "areas.gpkg", driver="GPKG")
    text = scen.read_text().replace(
        "[profiles.hh]", '[areas]\npath = "areas.gpkg"\nname_column = "name"\n\n[profiles.hh]')
    scen.write_text(text)
    if with_pv:
        xy = rng.uniform(0.1, 0.9, (5, 2)) * size_m
        gpd.GeoDataFrame({"pv_id": list("ABCDE"), "kwp": rng.uniform(2.0, 8.0, 5),
                          "emission_db_over_limit": rng.uniform(10.0, 30.0, 5)},
                         geometry=[Point(x0 + x, y0 + y) for x, y in xy], crs=RD).to_file(
            tmp_path / "pv.gpkg", driver="GPKG")
    return scen


def _assert_identical(a: ProfileCoverage, b: ProfileCoverage) -> None:
    for band in BANDS:
        x, y = getattr(a, band), getattr(b, band)
        assert x.dtype == y.dtype and x.shape == y.shape, band
        assert x.tobytes() == y.tobytes(), f"{a.name}: band {band} differs"


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.suffix in GRID_OUTPUTS}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tiled_reduction_equals_the_whole_grid_twin(tmp_path, seed):
    scen = load_scenario(_random_scenario(tmp_path, seed))
    inputs = load_inputs(scen)
    assert len(inputs.patterns) == 1 and inputs.masts["pattern"].notna().sum() == 2
    cache = LossCache(tmp_path / "cache")
    states, _ = noise_states(inputs, None, cache)
    assert len(states) == 2  # sunny and night: both are reduced
    twin = compute_coverage(inputs, states, None, cache, Executor())
    windows = mast_windows(inputs)
    # 4096: one tile, the grid's own bands; 37 also with the bands in spill files
    for tile_px, spill in ((64, None), (37, None), (37, Spill(tmp_path / "spill")),
                           (4096, None)):
        tiles = list(inputs.grid.tiles(tile_px))
        # the small tiles do cut the mast windows: some mast touches four tiles or more
        assert tile_px > 160 or max(sum(window_overlap(w, t) is not None for t in tiles)
                                    for w in windows) >= 4
        tiled = tiled_coverage(inputs, states, cache, Executor(), tile_px=tile_px,
                               spill=spill)
        for st in states:
            for name, cov in twin[st.name].items():
                _assert_identical(tiled[st.name][name], cov)
                assert all(is_spilled(getattr(tiled[st.name][name], band)) == (spill is not None)
                           for band in BANDS)
    assert list((tmp_path / "spill").iterdir()) == []  # the spill files are unlinked
    ev = np.isfinite(twin["main"]["hh"].p_cover)
    below = twin["main"]["hh"].p_cover[ev] < 0.95
    assert 0.05 < below.mean() < 0.95  # dead zones and covered land both present


def test_tiled_run_writes_the_same_files(tmp_path):
    """Dead-zone polygons, per-area and N-1 tables and every raster, tiled or not (the
    reduction, dead zones and N-1 all in 64 px tiles); a multi-tile run without a cache
    folder reuses its losses from a temporary one."""
    toml = _random_scenario(tmp_path, 4)
    digests, results = {}, {}
    for tile_px in (64, 4096):
        scen = load_scenario(toml, {"output.tile_px": tile_px})
        results[tile_px] = run_scenario(scen, tmp_path / f"t{tile_px}", cache_dir=False)
        digests[tile_px] = _digests(tmp_path / f"t{tile_px}")
    assert digests[64] == digests[4096]
    # the tiled run held its bands in spill files (unlinked: none left beside the outputs)
    assert is_spilled(results[64].coverage["hh"].p_cover)
    assert not is_spilled(results[4096].coverage["hh"].p_cover)
    assert not any("spill" in p.name for p in tmp_path.iterdir())
    assert {"dead_zones.gpkg", "areas_coverage.csv", "n1_outage.csv"} <= set(digests[64])
    zones = results[64].dead_zones["hh"]
    grid = results[64].inputs.grid
    edges_x = grid.transform.c + 64 * grid.resolution_m * np.arange(1, 3)
    crossing = [(zones.bounds.minx < x) & (zones.bounds.maxx > x) for x in edges_x]
    assert np.logical_or.reduce(crossing).any()  # a dead zone spans a tile edge


@pytest.mark.slow
def test_demo_like_scenario_tiled_equals_untiled(tmp_path):
    """The demo's inputs (buildings, PV, areas, roads, indoor profile) at 100 m."""
    spec = importlib.util.spec_from_file_location("generate_demo",
                                                  REPO / "data" / "generate_demo.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.generate(tmp_path / "demo")
    (tmp_path / "demo.toml").write_text((REPO / "data" / "demo.toml").read_text())
    over = {"scenario.resolution_m": 100.0, "model.name": "hata", "model.radius_m": 6000.0}
    digests = {}
    for tile_px in (64, 4096):
        scen = load_scenario(tmp_path / "demo.toml", {**over, "output.tile_px": tile_px})
        run_scenario(scen, tmp_path / f"t{tile_px}", cache_dir=tmp_path / "cache")
        digests[tile_px] = _digests(tmp_path / f"t{tile_px}")
    assert digests[64] == digests[4096]
    assert any(n.endswith("_night.tif") for n in digests[64])  # the PV states are there


def test_tile_px_must_be_positive(tmp_path):
    toml = write_scenario(tmp_path)
    with pytest.raises(ScenarioError, match="output.tile_px"):
        load_scenario(toml, {"output.tile_px": 0})
