"""The reduction memory benchmark (#20) on a tiny national scenario."""

from __future__ import annotations

from c2000cov.devtools.tiles_bench import reduction_records


def test_reduction_records_compare_tiled_with_the_whole_grid(tmp_path):
    records = reduction_records(tmp_path, scale=0.04, tiles_px=(64,))
    assert [r["variant"] for r in records] == ["whole-grid", "tiled-64"]
    assert all(r["bands_equal_whole_grid"] for r in records)
    whole, tiled = records
    assert whole["pixels"] == tiled["pixels"] == 368 * 288
    # the finished bands (25 bytes per pixel) are what the stage keeps, tiled or not
    assert tiled["kept_mb"] >= 25 * whole["pixels"] / 1e6
    assert tiled["masts"] == 4 and {"peak_traced_mb", "seconds"} <= set(tiled)
