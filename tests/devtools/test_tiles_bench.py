"""The reduction memory benchmark (#20) on a tiny national scenario."""

from __future__ import annotations

from c2000cov.devtools.tiles_bench import reduction_records


def test_reduction_records_compare_tiled_with_the_whole_grid(tmp_path):
    records = reduction_records(tmp_path, scale=0.04, tiles_px=(64,))
    assert [r["variant"] for r in records] == ["whole-grid", "tiled-64"]
    assert all(r["bands_equal_whole_grid"] for r in records)
    whole, tiled = records
    assert whole["pixels"] == tiled["pixels"] == 368 * 288
    # the tiled stage holds the finished bands (25 bytes per pixel) and one 64 px tile;
    # the whole-grid one also the 23 bytes per pixel of the reduction itself
    assert tiled["peak_traced_mb"] < whole["peak_traced_mb"]
    assert tiled["kept_mb"] >= 25 * whole["pixels"] / 1e6
