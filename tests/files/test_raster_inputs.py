"""Scenarios may name a raster as a file, a VRT, a folder of tiles or a glob, and a vector
layer as a file, a folder or a glob: all read the same data, and a run on tiles equals the
run on the uncut inputs bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

from c2000cov.errors import InputNotFoundError
from c2000cov.files.mosaic import write_vrt
from c2000cov.files.rasters import raster_bounds_in, read_raster_to_grid
from c2000cov.files.tiles import cut_tiles
from c2000cov.geo.grid import Grid
from tests.scenarios import run_cli, write_scenario

NL = Path(__file__).resolve().parents[1] / "data" / "nl"
DSM = NL / "delft_ahn3_dsm_1m.tif"
RD = CRS.from_epsg(28992)


@pytest.fixture
def tiles(tmp_path) -> Path:
    cut_tiles(DSM, tmp_path / "tiles", [0, 90, 200, 265], [0, 130, 230],
              overrides={(0, 0): {"nodata": 3.4028234663852886e38}})
    return tmp_path / "tiles"


@pytest.mark.parametrize("grid", [
    Grid.from_bounds((84830.0, 447430.0, 85050.0, 447620.0), 2.5, RD),  # inside the sample
    Grid.from_bounds((84700.0, 447300.0, 85200.0, 447700.0), 4.0, RD),  # beyond its edges
])
def test_folder_glob_and_vrt_read_like_the_file(tiles, tmp_path, grid):
    want = read_raster_to_grid(DSM, grid, "terrain DSM")
    vrt = write_vrt([tiles], tmp_path / "dsm.vrt", "terrain DSM")
    for spec in (tiles, tiles / "*.tif", vrt):
        got = read_raster_to_grid(spec, grid, "terrain DSM")
        assert np.array_equal(got, want, equal_nan=True), spec
    assert np.isfinite(want).any() and (np.isnan(want).any() == (grid.width == 125))


def test_bounds_of_a_folder(tiles):
    with rasterio.open(DSM) as src:
        assert raster_bounds_in(tiles, RD, "terrain DSM") == pytest.approx(tuple(src.bounds))


def test_missing_folder_names_what_is_missing(tmp_path):
    grid = Grid.from_bounds((84830.0, 447430.0, 85050.0, 447620.0), 5.0, RD)
    with pytest.raises(InputNotFoundError, match="terrain DTM file .*nope.* does not exist"):
        read_raster_to_grid(tmp_path / "nope", grid, "terrain DTM")


def test_run_on_tiles_equals_run_on_the_raster(tmp_path, monkeypatch):
    heights = np.random.default_rng(7).uniform(0, 40, (200, 200)).astype("float32")
    heights[50:70, 120:150] = -9999.0  # a lake without heights
    runs = {}
    for name in ("one", "tiles"):
        scen = write_scenario(tmp_path / name, heights=heights, model="p1812", radius_m=1500)
        if name == "tiles":
            cut_tiles(scen.parent / "dtm.tif", scen.parent / "dtm", [0, 70, 133, 200],
                      [0, 101, 200], overrides={(0, 1): {"nodata": -32768.0}})
            (scen.parent / "dtm.tif").unlink()
            scen.write_text(scen.read_text().replace('dtm = "dtm.tif"', 'dtm = "dtm/*.tif"'))
        assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--no-cache") == 0
        with rasterio.open(scen.parent / "out" / "p_cover_handheld_outdoor.tif") as src:
            runs[name] = src.read()
    assert np.array_equal(runs["one"], runs["tiles"], equal_nan=True)
    assert np.isnan(runs["one"][0]).any()  # the lake is not evaluated


def test_bundle_of_a_run_on_tiles_reruns_bit_for_bit(tmp_path, monkeypatch):
    from c2000cov.pipeline.rerun import rerun_bundle
    from c2000cov.products.bundle import make_bundle
    from c2000cov.products.verify import verify_bundle

    scen = write_scenario(tmp_path, heights=np.random.default_rng(3).uniform(0, 30, (200, 200)))
    cut_tiles(tmp_path / "dtm.tif", tmp_path / "dtm", [0, 120, 200], [0, 80, 200])
    (tmp_path / "dtm.tif").unlink()
    scen.write_text(scen.read_text().replace('dtm = "dtm.tif"', 'dtm = "dtm"'))
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--no-cache") == 0
    zip_path = make_bundle(tmp_path / "out")
    checked = verify_bundle(zip_path)
    assert checked.ok
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert "dtm = \"terrain.dtm\"" in zf.read("inputs/scenario.toml").decode()
    assert sorted(n for n in names if n.startswith("inputs/terrain.dtm/")) == [
        f"inputs/terrain.dtm/tile_r{r}_c{c}.tif" for r in (0, 1) for c in (0, 1)]
    assert rerun_bundle(zip_path, tmp_path) == []


def test_vector_folder_reads_every_file(tmp_path):
    import geopandas as gpd

    from c2000cov.files.vectors import read_buildings

    b = gpd.read_file(NL / "delft_buildings_lod1_heights_rd.geojson")
    (tmp_path / "bag").mkdir()
    b.iloc[:70].to_file(tmp_path / "bag" / "tile_a.gpkg", driver="GPKG")
    b.iloc[70:].to_crs(4326).to_file(tmp_path / "bag" / "tile_b.geojson", driver="GeoJSON")
    args = (RD, None, None, "h_roof_nap_m", "h_ground_nap_m", None)
    one = read_buildings(NL / "delft_buildings_lod1_heights_rd.geojson", *args)
    for spec in (tmp_path / "bag", tmp_path / "bag" / "tile_*"):
        got = read_buildings(spec, *args)
        assert len(got) == 160
        np.testing.assert_array_equal(got["roof_nap_m"], one["roof_nap_m"])
        assert got.geometry.iloc[:70].equals(one.geometry.iloc[:70])
        assert np.allclose(got.geometry.iloc[70:].area, one.geometry.iloc[70:].area, rtol=1e-6)


def test_run_with_buildings_in_tiles_equals_one_file(tmp_path, monkeypatch):
    import geopandas as gpd

    runs = {}
    for name in ("one", "tiles"):
        scen = write_scenario(tmp_path / name, with_buildings=True)
        if name == "tiles":
            b = gpd.read_file(scen.parent / "buildings.gpkg")
            (scen.parent / "bag").mkdir()
            for i in range(len(b)):
                b.iloc[[i]].to_file(scen.parent / "bag" / f"t{i}.gpkg", driver="GPKG")
            (scen.parent / "buildings.gpkg").unlink()
            scen.write_text(scen.read_text().replace('path = "buildings.gpkg"',
                                                     'path = "bag"'))
        assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--no-cache") == 0
        with rasterio.open(scen.parent / "out" / "p_cover_handheld_outdoor.tif") as src:
            runs[name] = src.read()
    assert np.array_equal(runs["one"], runs["tiles"], equal_nan=True)
    from c2000cov.pipeline.rerun import rerun_bundle
    from c2000cov.products.bundle import make_bundle

    zip_path = make_bundle(tmp_path / "tiles" / "out")
    assert rerun_bundle(zip_path, tmp_path) == []
