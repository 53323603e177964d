"""The delta-only what-if (``whatif --delta-only``) gives the full what-if's deltas: the
same delta codes inside the new masts' windows (and nothing changed outside them), the
same gained and lost polygons, and the same per-area table to rounding."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from c2000cov.analysis.areas import AreaWeights, area_weights, clipped_window_sum
from c2000cov.analysis.coverage import BestServer, finish
from c2000cov.analysis.delta import delta_of_reductions, delta_raster
from c2000cov.geo.grid import Grid, Window
from c2000cov.pipeline import whatif_delta
from c2000cov.pipeline.basestate import cached_area_weights
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.whatif import run_whatif
from c2000cov.products.runfolder import DELTA_POLYGONS, DELTA_TABLE, MANIFEST, delta_name
from c2000cov.scenario.schema import ClassesConfig
from tests.pipeline.test_whatif_windowed import _add, base  # noqa: F401 (fixture)
from tests.scenarios import run_cli


@pytest.mark.parametrize("adds", [
    [("M09", 152010.0, 450610.0)],  # in a dead zone inside the grid
    [("M10", 150030.0, 452010.0)],  # at the west edge: its window is clipped by the grid
    [("M09", 152010.0, 450610.0), ("M11", 153500.0, 453700.0)],  # two windows, a union
])
def test_delta_only_equals_full_whatif(base, adds, monkeypatch):  # noqa: F811
    scen, cache, tmp = base
    name = "-".join(a[0] for a in adds)
    changes = tmp / f"d-{name}.toml"
    changes.write_text("\n".join(_add(*a) for a in adds))
    full = run_whatif(scen, changes, tmp / f"dfull-{name}", cache_dir=cache)

    def refuse(*args, **kwargs):
        raise AssertionError("the delta-only what-if recomputed a whole run")

    monkeypatch.setattr(whatif_delta, "compute_result", refuse)
    out = tmp / f"delta-{name}"
    fast = run_whatif(scen, changes, out, cache_dir=cache, delta_only=True)
    win = fast.window
    gained = 0
    for p, d in full.whatif.delta.items():
        assert np.array_equal(d[win.slices], fast.delta[p], equal_nan=True), p
        outside = d.copy()
        outside[win.slices] = 0.0
        assert np.all(np.nan_to_num(outside) == 0.0), p  # nothing changes outside the window
        with rasterio.open(out / delta_name(p)) as src:  # the file: the window, georeferenced
            assert np.array_equal(src.read(1), fast.delta[p], equal_nan=True)
            grid = full.inputs.grid
            assert src.transform == grid.window_transform(win)
            assert src.crs == grid.crs
        gained += int((fast.delta[p] == 1).sum())
    assert gained > 100  # the comparison is not vacuous
    keys = ["area_name", "profile"]
    a = full.delta_table.set_index(keys)
    b = fast.delta_table.set_index(keys).loc[a.index]
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-9, atol=1e-9)
    written = pd.read_csv(out / DELTA_TABLE).set_index(keys).loc[a.index]  # rounded on write
    expect = pd.read_csv(tmp / f"dfull-{name}" / DELTA_TABLE).set_index(keys).loc[a.index]
    np.testing.assert_allclose(written.to_numpy(), expect.to_numpy(), rtol=0, atol=1e-6)
    assert (a["delta_covered_km2"] > 0).any()
    for layer in gpd.list_layers(tmp / f"dfull-{name}" / DELTA_POLYGONS)["name"]:
        ga = gpd.read_file(tmp / f"dfull-{name}" / DELTA_POLYGONS, layer=layer)
        if "geometry" not in ga.columns:
            continue
        gb = gpd.read_file(out / DELTA_POLYGONS, layer=layer)
        assert len(ga) == len(gb), layer
        np.testing.assert_allclose(sorted(gb["area_km2"]), sorted(ga["area_km2"]), rtol=1e-12)
        assert ga.union_all().symmetric_difference(gb.union_all()).area < 1e-6
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["whatif"]["delta_only"] is True
    assert manifest["whatif"]["window_px"] == {"row_off": win.row_off, "col_off": win.col_off,
                                               "height": win.height, "width": win.width}
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir())


def test_delta_only_refuses_other_changes(base, tmp_path, capsys, monkeypatch):  # noqa: F811
    scen, cache, _ = base
    changes = tmp_path / "remove.toml"
    changes.write_text(_add("M09", 152010.0, 450610.0) + "\n[[remove_mast]]\nmast_id = \"M02\"\n")
    code = run_cli(monkeypatch, "whatif", scen.source, changes, "--out", tmp_path / "out",
                   "--delta-only", "-q")
    err = capsys.readouterr().err
    assert code == 2, err
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "error: remove.toml: --delta-only answers added masts only, and this file has "
        "[[remove_mast]]; run the what-if without --delta-only"], err
    assert not (tmp_path / "out").exists()


def test_delta_of_reductions_equals_delta_of_finished_runs():
    rng = np.random.default_rng(7)
    shape = (40, 50)
    grid = Grid.from_bounds((0.0, 0.0, 500.0, 400.0), 10.0, "EPSG:28992")

    def reduction(margin, server):
        return BestServer(margin.astype("float32"), np.full(shape, -np.inf, "float32"),
                          margin.astype("float32"), margin.astype("float32") + 1,
                          server.astype("int16"), np.zeros(shape, "float32"),
                          np.zeros(shape, "uint8"))

    m0 = rng.normal(5.0, 8.0, shape)
    s0 = rng.integers(-1, 3, shape)
    m0[s0 < 0] = -np.inf
    m1, s1 = m0.copy(), s0.copy()
    better = rng.random(shape) < 0.3
    m1[better] = m0[better] + rng.uniform(0.1, 20.0, better.sum())
    m1[better & (s0 < 0)] = rng.normal(0.0, 8.0, (better & (s0 < 0)).sum())
    s1[better] = 5
    evaluated = rng.random(shape) < 0.8
    sigma = rng.uniform(5.0, 9.0, shape)
    classes = ClassesConfig()
    b, n = reduction(m0, s0), reduction(m1, s1)
    want = delta_raster(finish("p", grid, b, sigma, 95.0, classes, evaluated),
                        finish("p", grid, n, sigma, 95.0, classes, evaluated))
    got = delta_of_reductions(b, n, sigma, 95.0, evaluated)
    assert np.array_equal(got, want, equal_nan=True)
    assert (want == 1).sum() > 20 and np.isnan(want).sum() > 100


def test_clipped_window_sum_equals_the_weighted_sum_of_the_padded_array():
    grid = Grid.from_bounds((0.0, 0.0, 1000.0, 800.0), 10.0, "EPSG:28992")
    areas = gpd.GeoDataFrame({"area_name": ["a", "b"]}, geometry=[
        gpd.points_from_xy([300.0], [400.0])[0].buffer(260.0),
        gpd.points_from_xy([820.0], [200.0])[0].buffer(150.0)], crs="EPSG:28992")
    rng = np.random.default_rng(3)
    for window in (Window(10, 5, 50, 60), Window(0, 0, 80, 100), Window(70, 90, 10, 10)):
        v = rng.integers(-1, 2, (window.height, window.width)).astype("int8")
        padded = np.zeros(grid.shape)
        padded[window.slices] = v
        for aw in area_weights(areas, grid):
            assert isinstance(aw, AreaWeights)
            assert clipped_window_sum(aw, window, v) == pytest.approx(
                aw.weighted_sum(padded), rel=1e-12, abs=1e-12)


def test_area_weights_come_back_from_the_cache(base):  # noqa: F811
    scen, cache, _ = base
    inputs = load_inputs(scen)
    want = area_weights(inputs.areas, inputs.grid)
    cached_area_weights(inputs.areas, inputs.grid, LossCache(cache))  # stores
    got = cached_area_weights(inputs.areas, inputs.grid, LossCache(cache))
    assert [a.name for a in got] == [a.name for a in want]
    for a, b in zip(got, want, strict=True):
        assert a.window == b.window
        assert np.array_equal(a.full, b.full) and a.full.dtype == bool
        assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)
        assert np.array_equal(a.frac, b.frac)
        assert a.geometry.equals(b.geometry)


def test_shipped_add_mast_file_is_demo_changes_mast():
    """data/demo_add_mast.toml (the README's delta-only example) is demo_changes.toml's
    added mast alone, so the two what-ifs agree on it."""
    from pathlib import Path

    from c2000cov.scenario.changes import load_changes

    data = Path(__file__).resolve().parents[2] / "data"
    add, full = load_changes(data / "demo_add_mast.toml"), load_changes(data / "demo_changes.toml")
    whatif_delta.check_added_only(add)  # raises for anything but [[add_mast]]
    assert add.add_mast == full.add_mast and len(add.add_mast) == 1
    assert full.mitigate_pv  # the full file is the one --delta-only refuses
