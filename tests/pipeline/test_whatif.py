"""What-ifs and N-1 on a flat free-space scenario with three masts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from c2000cov.analysis.coverage import covered_mask
from c2000cov.analysis.outage import without_mast_p_cover
from c2000cov.errors import InvalidInputError, ScenarioError
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.run import compute_result
from c2000cov.pipeline.whatif import apply_changes, run_whatif
from c2000cov.scenario.changes import load_changes
from c2000cov.scenario.config import load_scenario
from tests.scenarios import write_scenario

MASTS = ["M01,West,151010,451990,30,44,11,8,3",
         "M02,East,152810,451990,30,44,11,8,3",
         "M03,North,152010,453010,30,44,11,8,3"]
PROFILE = "[profiles.hh]\nextra_loss_db = 40.0\n"  # discs of about 1.1 km radius
ADD_ROW = ("mast_id = \"M09\"\nx_m = 152010.0\ny_m = 450610.0\nh_agl_m = 30.0\n"
           "tx_power_dbm = 44.0\ngain_dbi = 11.0\ntx_loss_db = 8.0\nrx_loss_db = 3.0\n")


@pytest.fixture
def base(tmp_path):
    # without BS diversity, so that the discs keep the radius the expectations are sized on
    path = write_scenario(tmp_path, masts_rows=MASTS, profiles=PROFILE, with_areas=True,
                          extra="[radio]\nbs_diversity_gain_db = 0.0\n")
    return load_scenario(path)


def _changes(tmp_path, text: str):
    path = tmp_path / "changes.toml"
    path.write_text(text)
    return path


def test_added_mast_in_dead_zone_gains_and_loses_nothing(base, tmp_path):
    scen = base
    result = run_whatif(scen, _changes(tmp_path, "[[add_mast]]\n" + ADD_ROW),
                        tmp_path / "wi")
    with rasterio.open(tmp_path / "wi" / "delta_hh.tif") as src:
        delta = src.read(1)
    gained = delta == 1
    assert gained.sum() > 1000  # about pi * 1.1^2 km2 at 20 m pixels, minus overlaps
    assert not (delta == -1).any()
    # the gain lies around the new mast (row 169, col 100 of the 20 m grid)
    rows, cols = np.nonzero(gained)
    assert abs(rows.mean() - 169) < 25 and abs(cols.mean() - 100) < 5
    table = pd.read_csv(tmp_path / "wi" / "delta_areas.csv")
    total = table["delta_covered_km2"].sum()
    assert total == pytest.approx(gained.sum() * 400 / 1e6, rel=1e-6)
    assert result.delta_table is not None


def test_remove_and_readd_restores_baseline(base, tmp_path):
    row = ("[[remove_mast]]\nmast_id = \"M02\"\n\n[[add_mast]]\nmast_id = \"M02\"\n"
           "name = \"East\"\nx_m = 152810.0\ny_m = 451990.0\nh_agl_m = 30.0\n"
           "tx_power_dbm = 44.0\ngain_dbi = 11.0\ntx_loss_db = 8.0\nrx_loss_db = 3.0\n")
    run_whatif(base, _changes(tmp_path, row), tmp_path / "wi")
    inputs = load_inputs(base)
    baseline = compute_result(inputs, LossCache(None), Executor())
    with rasterio.open(tmp_path / "wi" / "p_cover_hh.tif") as src:
        p = src.read(1)
    np.testing.assert_array_equal(p, np.round(baseline.coverage["hh"].p_cover, 4))
    with rasterio.open(tmp_path / "wi" / "delta_hh.tif") as src:
        assert not np.nan_to_num(src.read(1)).any()


@pytest.mark.parametrize("mast_id", ["M01", "M02", "M03"])
def test_n1_equals_removal_whatif(base, tmp_path, mast_id):
    inputs = load_inputs(base)
    cache = LossCache(tmp_path / "cache")
    baseline = compute_result(inputs, cache, Executor())
    k = list(inputs.masts["mast_id"]).index(mast_id)
    p_n1 = without_mast_p_cover(baseline.coverage["hh"], k)
    removed = apply_changes(inputs, load_changes(
        _changes(tmp_path, f"[[remove_mast]]\nmast_id = \"{mast_id}\"\n")))
    after = compute_result(removed, cache, Executor()).coverage["hh"]
    np.testing.assert_array_equal(p_n1, after.p_cover)
    row = baseline.n1_table.query("mast_id == @mast_id and profile == 'hh'").iloc[0]
    lost = covered_mask(baseline.coverage["hh"]) & ~covered_mask(after)
    assert row["lost_km2"] == pytest.approx(lost.sum() * 400 / 1e6)
    # the lost pixels are exactly those where this mast is the only one at target
    cov = baseline.coverage["hh"]
    sole = covered_mask(cov) & (cov.server == k) & (cov.n_at_target == 1)
    np.testing.assert_array_equal(lost, sole)
    assert cache.hits >= 2  # the removal what-if reused the base run's windows


def test_n1_ranking_and_areas(base):
    result = compute_result(load_inputs(base), LossCache(None), Executor())
    table = result.n1_table
    assert list(table["rank"]) == [1, 2, 3]
    assert table["lost_km2"].is_monotonic_decreasing
    # each disc (~1.1 km radius, ~3.8 km2) is partly shared or clipped by the grid edge
    assert (table["lost_km2"] > 1.5).all()
    assert table["lost_km2"].sum() <= covered_mask(result.coverage["hh"]).sum() * 400 / 1e6
    assert table["areas_affected"].str.contains("km2").all()


def test_whatif_unknown_mast_and_key(base, tmp_path):
    with pytest.raises(InvalidInputError, match=r"changes.toml \[\[remove_mast\]\] #1: no mast "
                       "with mast_id 'M99'"):
        run_whatif(base, _changes(tmp_path, "[[remove_mast]]\nmast_id = \"M99\"\n"),
                   tmp_path / "wi")
    with pytest.raises(ScenarioError, match=r"unknown change \[\[add_site\]\]"):
        load_changes(_changes(tmp_path, "[[add_site]]\nmast_id = \"X\"\n"))
    with pytest.raises(InvalidInputError, match=r"\[\[add_mast\]\] row 1 \(mast_id M09\): "
                       "h_agl_m must be > 0, got -5"):
        run_whatif(base, _changes(tmp_path, "[[add_mast]]\n" + ADD_ROW.replace(
            "h_agl_m = 30.0", "h_agl_m = -5.0")), tmp_path / "wi")
    assert not (tmp_path / "wi").exists()


def test_moved_mast_recomputes_only_that_mast(base, tmp_path):
    inputs = load_inputs(base)
    cache = LossCache(tmp_path / "cache")
    compute_result(inputs, cache, Executor())
    first_misses = cache.misses
    assert first_misses == 6  # 3 masts x (DL, UL)
    moved = apply_changes(inputs, load_changes(_changes(
        tmp_path, "[[move_mast]]\nmast_id = \"M03\"\nx_m = 152410.0\ny_m = 453010.0\n")))
    compute_result(moved, cache, Executor())
    assert cache.misses - first_misses == 2  # only the moved mast, DL and UL
