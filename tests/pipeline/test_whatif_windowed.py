"""A what-if that adds masts, computed from the base run's stored reduction inside the
new masts' windows, equals the what-if that recomputes both runs in full, bit for bit."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import Point

from c2000cov.pipeline import whatif, whatif_delta
from c2000cov.pipeline.basestate import base_key, load_base_state
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.run import run_scenario
from c2000cov.pipeline.whatif import run_whatif
from c2000cov.products.runfolder import (
    AREA_TABLE,
    DEAD_ZONES,
    DELTA_POLYGONS,
    DELTA_TABLE,
    MASTS_INTERFERENCE,
    N1_TABLE,
)
from c2000cov.radio.device import select_device
from c2000cov.scenario.config import load_scenario
from tests.scenarios import write_scenario

MASTS = ["M01,West,151010,451990,30,44,11,8,3",
         "M02,East,152810,451990,30,44,11,8,3",
         "M03,North,152010,453010,30,44,11,8,3"]
PROFILES = ("[profiles.hh]\nextra_loss_db = 40.0\n\n"
            "[profiles.indoor]\nextra_loss_db = 25.0\nindoor = true\n"
            "building_class = \"by_year\"\nyear_threshold = 2012\n")


def _add(mast_id: str, x_m: float, y_m: float) -> str:
    return (f"[[add_mast]]\nmast_id = \"{mast_id}\"\nx_m = {x_m}\ny_m = {y_m}\n"
            "h_agl_m = 30.0\ntx_power_dbm = 44.0\ngain_dbi = 11.0\ntx_loss_db = 8.0\n"
            "rx_loss_db = 3.0\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Three masts, buildings, areas and two PV installations (sunny and night states);
    a 1.5 km model radius, so a mast's window is part of the 4 km grid."""
    tmp = tmp_path_factory.mktemp("windowed")
    pv = gpd.GeoDataFrame({"pv_id": ["A", "B"], "kwp": [10.0, 2.0],
                           "emission_db_over_limit": [10.0, 0.0]},
                          geometry=[Point(151400, 452300), Point(152500, 451500)],
                          crs="EPSG:28992")
    pv.to_file(tmp / "pv.gpkg", driver="GPKG")
    path = write_scenario(tmp, masts_rows=MASTS, profiles=PROFILES, radius_m=1500.0,
                          with_buildings=True, with_areas=True,
                          extra="[pv]\npath = \"pv.gpkg\"\n\n[interference]\nsun_factor = 1.0\n")
    scen = load_scenario(path)
    cache = tmp / "cache"
    run_scenario(scen, tmp / "base", cache_dir=cache)  # stores the base reduction
    return scen, cache, tmp


def _rasters(folder):
    out = {}
    for path in sorted(folder.glob("*.tif")):
        with rasterio.open(path) as src:
            out[path.name] = src.read()
    return out


def _same_run_folders(a, b):
    ra, rb = _rasters(a), _rasters(b)
    assert sorted(ra) == sorted(rb)
    for name in ra:
        assert np.array_equal(ra[name], rb[name], equal_nan=True), name
    csvs = sorted(p.name for p in a.glob("*.csv"))
    assert {DELTA_TABLE, AREA_TABLE, N1_TABLE, MASTS_INTERFERENCE} <= set(csvs)
    assert csvs == sorted(p.name for p in b.glob("*.csv"))
    for name in csvs:
        assert (a / name).read_text() == (b / name).read_text(), name
    for name in (DELTA_POLYGONS, DEAD_ZONES):
        for layer in gpd.list_layers(a / name)["name"]:
            ga = gpd.read_file(a / name, layer=layer)
            gb = gpd.read_file(b / name, layer=layer)
            if "geometry" not in ga.columns:  # the style table of the GeoPackage
                pd.testing.assert_frame_equal(ga, gb)
                continue
            pd.testing.assert_frame_equal(ga.drop(columns="geometry"),
                                          gb.drop(columns="geometry"))
            assert ga.geometry.geom_equals_exact(gb.geometry, tolerance=0.0).all(), name


@pytest.mark.parametrize("adds", [
    [("M09", 152010.0, 450610.0)],  # in a dead zone inside the grid
    [("M10", 150030.0, 452010.0)],  # at the west edge: its window is clipped by the grid
    [("M09", 152010.0, 450610.0), ("M11", 153500.0, 453700.0)],  # two windows, a union
])
def test_windowed_equals_full(base, adds, monkeypatch):
    scen, cache, tmp = base
    name = "-".join(a[0] for a in adds)
    changes = tmp / f"{name}.toml"
    changes.write_text("\n".join(_add(*a) for a in adds))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    full = run_whatif(scen, changes, tmp / f"full-{name}", cache_dir=cache, windowed=False)

    def refuse(*args, **kwargs):  # the windowed path must not fold every mast again
        raise AssertionError("the windowed what-if recomputed a whole run")

    monkeypatch.setattr(whatif, "compute_result", refuse)
    monkeypatch.setattr(whatif_delta, "compute_result", refuse)  # base_state_or_run's
    fast = run_whatif(scen, changes, tmp / f"fast-{name}", cache_dir=cache)
    _same_run_folders(tmp / f"full-{name}", tmp / f"fast-{name}")
    assert fast.delta_table.equals(full.delta_table)
    assert fast.whatif.base_covered_pct == full.whatif.base_covered_pct
    gained = sum((d == 1).sum() for d in fast.whatif.delta.values())
    assert gained > 100  # the new masts do add coverage: the comparison is not vacuous


def test_removal_falls_back_to_full_runs(base, tmp_path):
    scen, cache, _ = base
    changes = tmp_path / "remove.toml"
    changes.write_text("[[remove_mast]]\nmast_id = \"M02\"\n")
    a = run_whatif(scen, changes, tmp_path / "a", cache_dir=cache)
    b = run_whatif(scen, changes, tmp_path / "b", cache_dir=cache, windowed=False)
    assert a.delta_table.equals(b.delta_table)
    assert (a.delta_table["delta_covered_km2"] < 0).any()


def test_stored_reduction_is_keyed_by_the_inputs(base):
    scen, cache, _ = base
    inputs = load_inputs(scen)
    device = select_device(scen.model).manifest()
    assert load_base_state(inputs, device, LossCache(cache), True) is not None
    masts = inputs.masts.copy()
    masts.loc[0, "tx_power_dbm"] = 43.0
    moved = replace(inputs, masts=masts)
    assert base_key(moved, device) != base_key(inputs, device)
    assert load_base_state(moved, device, LossCache(cache), True) is None
