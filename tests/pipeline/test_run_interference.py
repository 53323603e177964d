"""Interference through the whole run: sunny vs night, monotonic, pruning on the demo."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.run import compute_result, run_scenario
from c2000cov.radio import interference as itf
from c2000cov.scenario.config import load_scenario
from tests.scenarios import REPO, write_scenario

MASTS = ["M01,West,151010,451990,30,44,11,8,3", "M02,East,152810,451990,30,44,11,8,3"]
PROFILES = ("[profiles.hh]\nextra_loss_db = 30.0\n\n"
            "[profiles.car]\nms_tx_power_dbm = 34.8\nms_gain_dbi = 2.0\nbody_loss_db = 0.0\n"
            "extra_loss_db = 31.0\n")


def _scenario(tmp_path: Path, emission_db: float, sun: float = 1.0):
    pv = gpd.GeoDataFrame({"pv_id": ["A", "B"], "kwp": [4.0, 2.0],
                           "emission_db_over_limit": [emission_db, 0.0]},
                          geometry=[Point(151400, 452300), Point(152500, 451500)],
                          crs="EPSG:28992")
    scen = write_scenario(tmp_path, masts_rows=MASTS, profiles=PROFILES,
                          extra=f"[pv]\npath = \"pv.gpkg\"\n\n[interference]\nsun_factor = {sun}\n")
    pv.to_file(tmp_path / "pv.gpkg", driver="GPKG")
    return load_scenario(scen)


def _result(scen):
    return compute_result(load_inputs(scen), LossCache(None), Executor())


def test_sun_factor_zero_is_exactly_the_night_baseline(tmp_path):
    result = _result(_scenario(tmp_path, 25.0, sun=0.0))
    for name, cov in result.coverage.items():
        np.testing.assert_array_equal(cov.p_cover, result.night[name].p_cover)
    assert (result.interference.uplink.d_ul_db == 0).all()


def test_sunny_day_costs_coverage_and_reports_it(tmp_path):
    result = _result(_scenario(tmp_path, 25.0))
    d_ul = result.interference.uplink.d_ul_db
    assert (d_ul > 1.0).all()  # a source 25 dB over the limit within 600 m of each mast
    table = result.area_table.set_index("profile")
    assert (table["sunny_loss_pp"] > 0).all()
    assert np.allclose(table["covered_pct_night"] - table["covered_pct"], table["sunny_loss_pp"])


@pytest.mark.parametrize("low, high", [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)])
def test_more_emission_never_gives_more_coverage(tmp_path, low, high):
    a = _result(_scenario(tmp_path / "a", low))
    b = _result(_scenario(tmp_path / "b", high))
    for name in a.coverage:
        pa, pb = a.coverage[name].p_cover, b.coverage[name].p_cover
        ok = np.isfinite(pa)
        assert (pb[ok] <= pa[ok]).all(), name
        assert (pb[ok] < pa[ok]).any(), name  # and it does cost something
    assert (b.interference.uplink.d_ul_db >= a.interference.uplink.d_ul_db).all()


def test_run_writes_interference_outputs(tmp_path):
    scen = _scenario(tmp_path, 25.0)
    result = run_scenario(scen, tmp_path / "out", cache_dir=False)
    names = {p.name for p in result.files}
    assert {"masts_interference.csv", "noise_rise_dl_db.tif", "pv_used.gpkg",
            "p_cover_hh_night.tif", "p_cover_car_night.tif"} <= names
    table = pd.read_csv(tmp_path / "out" / "masts_interference.csv")
    assert list(table["mast_id"]) == ["M01", "M02"]
    assert table.loc[0, "top1_pv_id"] in ("A", "B")
    assert table["top1_share_pct"].between(0, 100).all()


@pytest.mark.slow
def test_pruning_on_the_demo_changes_no_mast_by_more_than_0_01_db(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "generate_demo", REPO / "data" / "generate_demo.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.generate(tmp_path / "demo")
    demo_toml = (REPO / "data" / "demo.toml").read_text()
    (tmp_path / "demo.toml").write_text(demo_toml)
    scen = load_scenario(tmp_path / "demo.toml")
    inputs = load_inputs(scen)
    eff = itf.effective_pv(inputs.pv, scen.interference, scen.radio)
    sources = itf.pv_sources(eff, inputs.surface, scen.interference)
    args = (sources, inputs.masts, inputs.surface, scen.model, scen.radio, scen.interference,
            inputs.patterns)
    pruned = itf.uplink_interference(*args, prune=True)
    full = itf.uplink_interference(*args, prune=False)
    diff = np.abs(pruned.d_ul_db - full.d_ul_db)
    assert diff.max() <= 0.01, diff
    assert pruned.masts["n_pruned"].sum() > 0  # the bound did leave sources out


def test_downlink_noise_raster_is_cached_for_mast_only_changes(tmp_path):
    scen = _scenario(tmp_path, 25.0)
    cache = LossCache(tmp_path / "cache")
    first = compute_result(load_inputs(scen), cache, Executor())
    misses = cache.misses
    second = compute_result(load_inputs(scen), cache, Executor())
    assert cache.misses == misses  # path losses and the noise raster all came from the cache
    for name, cov in first.coverage.items():
        np.testing.assert_array_equal(cov.p_cover, second.coverage[name].p_cover)
