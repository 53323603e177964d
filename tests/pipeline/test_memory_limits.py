"""Memory bounded before it is spent: oversized scenarios are refused from metadata, and
rasters are read by window (issue #16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import rasterio
from affine import Affine

from c2000cov.files.rasters import read_raster_to_grid, source_window_pixels
from c2000cov.geo.grid import Grid
from c2000cov.pipeline.memory import check_memory, estimate_memory, open_tile_pixels
from c2000cov.scenario.config import load_scenario
from tests.scenarios import RD, REPO, run_cli, write_dtm, write_scenario


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(("bounds", "res"), [
    ("[0.0, 300000.0, 1000000.0, 1300000.0]", 1.0),      # 1e12 pixels
    ("[0.0, 300000.0, 200000.0, 500000.0]", 10.0),       # 4e8 pixels
])
def test_an_oversized_grid_is_refused_before_allocating(tmp_path, capsys, monkeypatch, bounds,
                                                        res):
    scen = write_scenario(tmp_path)
    scen.write_text(scen.read_text().replace("resolution_m = 20.0",
                                             f"resolution_m = {res}\nbounds_m = {bounds}"))
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map",
                   "--max-memory-gb", "4") == 2
    line = _one_line(capsys)
    assert "the run would need about" in line and "more than the limit of 4.0 GB" in line
    assert "reduce scenario.bounds_m" in line
    assert not (tmp_path / "out").exists()


def test_the_estimate_names_its_parts_and_grows_with_profiles(tmp_path):
    one = load_scenario(write_scenario(tmp_path / "one"))
    three = load_scenario(write_scenario(tmp_path / "three", profiles=(
        "[profiles.a]\n\n[profiles.b]\nh_rx_m = 1.0\n\n[profiles.c]\n")))
    grid = Grid.from_bounds((150000.0, 450000.0, 154000.0, 454000.0), 20.0, RD)
    e1, e3 = estimate_memory(one, grid), estimate_memory(three, grid)
    assert e1.grid_shape == (200, 200)
    assert e3.parts["coverage"] == 3 * e1.parts["coverage"]
    assert e3.parts["mast window"] > e1.parts["mast window"]  # two receiver heights
    # a 3 km radius at 20 m is wider than the grid: windows of the grid's 40 000 px. The one
    # folded: 4 + 4 + 46 bytes + 4 per loss window (DL and UL); the next one, computed
    # meanwhile: surface and ground copies, 4 + 4 bytes, and two float32 per loss window
    assert e1.parts["mast window"] == 40_000 * ((4 + 4 + 46 + 2 * 4) + (4 + 4 + 2 * 2 * 4))
    parts = e1.parts  # the surface stays, the stages' arrays follow each other
    assert e1.total_bytes == parts["process"] + parts["surface"] + max(
        parts["source raster block"], parts["coverage"] + parts["mast window"], parts["outputs"])
    assert check_memory(one, grid, 1.0).total_bytes == e1.total_bytes  # 40 000 px fit in 1 GB


def test_the_open_tiles_are_those_between_a_tiles_first_and_last_mast():
    # 100 x 100 px of 10 m in tiles of 40 px (3 x 3 tiles: 40, 40, 20 px a side); windows of
    # radius 100 m = 10 px around each mast
    grid = Grid.from_bounds((0.0, 0.0, 1000.0, 1000.0), 10.0, RD)

    def at(rc):  # the centre of pixel (row, col)
        x, y = grid.xy(*np.array(rc).T)
        return x, y

    # one mast in tile (0, 0) only: that tile, 40 x 40
    assert open_tile_pixels(grid, *at([(20, 20)]), 100.0, 40) == 1600
    # masts in row 0's tiles, listed west to east, each window inside its tile: one at a time
    assert open_tile_pixels(grid, *at([(20, 20), (20, 60), (20, 90)]), 100.0, 40) == 1600
    # the first and the last mast both reach tile (0, 0): it stays open beside each of the
    # others, the largest pair at the second mast (40 x 40 + 40 x 40; then 40 x 40 + 40 x 20)
    assert open_tile_pixels(grid, *at([(20, 20), (20, 60), (20, 90), (15, 15)]),
                            100.0, 40) == 3200
    # a mast on a tile corner opens its four tiles at once
    assert open_tile_pixels(grid, *at([(40, 40)]), 100.0, 40) == 4 * 1600
    # no mast in the grid: one (unreached) tile at a time
    assert open_tile_pixels(grid, [-5000.0], [-5000.0], 100.0, 40) == 1600


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_max_memory_must_be_positive(tmp_path, capsys, monkeypatch, value):
    scen = write_scenario(tmp_path)
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--max-memory-gb",
                   value) == 2
    assert "--max-memory-gb must be a positive number" in _one_line(capsys)


def _huge_sparse_dtm(path, n=60000):
    """A GeoTIFF declaring n x n float32 cells (13.4 GiB) in ~100 KB: sparse tiles."""
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=RD, transform=Affine(1.0, 0, 150000.0, 0, -1.0, 450000.0 + n),
                       nodata=-9999.0, tiled=True, blockxsize=512, blockysize=512,
                       compress="deflate", sparse_ok=True) as dst:
        dst.write(np.full((512, 512), 5.0, dtype="float32"), 1,
                  window=rasterio.windows.Window(0, n - 512, 512, 512))
    return path


def test_rasters_are_read_by_window(tmp_path):
    dtm = _huge_sparse_dtm(tmp_path / "huge.tif")
    assert dtm.stat().st_size < 1 << 20
    grid = Grid.from_bounds((150000.0, 450000.0, 150400.0, 450400.0), 4.0, RD)
    assert source_window_pixels(dtm, grid) < 500 * 500
    heights = read_raster_to_grid(dtm, grid, "terrain DTM")
    assert heights.shape == (100, 100) and np.all(heights == 5.0)


def test_windowed_read_equals_a_whole_read(tmp_path):
    rng = np.random.default_rng(7)
    dtm = write_dtm(tmp_path / "dtm.tif", rng.normal(10, 3, (300, 300)), res=5.0)
    grid = Grid.from_bounds((150203.0, 450311.0, 151007.0, 451013.0), 12.5, RD)
    windowed = read_raster_to_grid(dtm, grid, "terrain DTM")
    from rasterio.warp import reproject

    with rasterio.open(dtm) as src:
        whole = np.full(grid.shape, np.nan, dtype="float32")
        reproject(source=src.read(1).astype("float32"), destination=whole,
                  src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
                  dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=np.nan,
                  resampling=rasterio.enums.Resampling.bilinear)
    np.testing.assert_array_equal(windowed, whole)


PEAK = textwrap.dedent("""
    import json, sys
    from c2000cov.cli import main
    sys.argv = ["c2000cov", "run", sys.argv[1], "--quiet", "--no-map", "--max-memory-gb", "4"]
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status")
                  if line.startswith("VmHWM:"))
    print(json.dumps({"code": code, "peak_rss_mb": hwm_kb / 1024}))
""")


def test_a_refused_huge_dtm_scenario_stays_small(tmp_path):
    """A 100 KB GeoTIFF declaring 60 000 x 60 000 cells, no bounds: refused from metadata."""
    scen = write_scenario(tmp_path)
    _huge_sparse_dtm(tmp_path / "dtm.tif")
    scen.write_text(scen.read_text().replace("resolution_m = 20.0", "resolution_m = 1.0"))
    proc = subprocess.run([sys.executable, "-c", PEAK, str(scen)], capture_output=True,
                          text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 2 and "the run would need about" in proc.stderr, proc.stderr
    assert result["peak_rss_mb"] < 600, result
    print(f"refused 60000 x 60000 DTM scenario: peak {result['peak_rss_mb']:.0f} MB")
