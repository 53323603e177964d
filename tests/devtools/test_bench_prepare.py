"""The prepare benchmark: its tiles are the Delft sample mirrored, its record adds up."""

from __future__ import annotations

import numpy as np
import rasterio

from c2000cov.devtools.bench_prepare import TILE_RES_M, _sample, run_prepare_bench, write_tiles


def test_tiles_mirror_the_sample_across_edges(tmp_path):
    paths = write_tiles(tmp_path, n_side=2, tile_px=600)
    base = _sample("dtm")  # 460 x 530 cells at 0.5 m
    with rasterio.open(paths["dtm"] / "dtm_00_00.tif") as t:
        a = t.read(1)
        assert t.res == (TILE_RES_M, TILE_RES_M)
    np.testing.assert_array_equal(a[:460, :530], base)
    np.testing.assert_array_equal(a[:460, 530:600], base[:, ::-1][:, :70])  # mirrored
    np.testing.assert_array_equal(a[460:600, :530], base[::-1][:140])
    with rasterio.open(paths["dtm"] / "dtm_00_01.tif") as t:  # continues at col 600
        np.testing.assert_array_equal(t.read(1)[:460, :460], base[:, ::-1][:, 70:530])


def test_record_counts_cells_and_pixels(tmp_path):
    rec = run_prepare_bench(tmp_path, n_side=2, tile_px=200, resolution_m=10.0)
    assert rec["workload"] == "prepare-4-tiles" and rec["tiles"] == 4
    assert rec["source_cells"] == 2 * 4 * 200 * 200
    assert rec["grid_px"] == 20 * 20  # 200 m square at 10 m
    assert rec["peak_rss_mb"] > rec["import_rss_mb"] > 0
    with rasterio.open(tmp_path / "prepared" / "dtm.tif") as src:
        assert src.shape == (20, 20)
