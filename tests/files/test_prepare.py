"""``c2000cov prepare``: mosaics equal the uncut raster, regions by name, the DSM rule on
real data, and bad inputs that exit 2 and write nothing."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.features import rasterize
from shapely.geometry import LineString, Point, box

from c2000cov.errors import InvalidInputError
from c2000cov.files.mosaic import build_mosaic
from c2000cov.files.prepare import RASTER_RULES
from c2000cov.files.region import region_from_areas, region_grid
from c2000cov.files.resample import resample_to_grid
from c2000cov.files.tiles import cut_tiles
from c2000cov.geo.grid import Grid
from c2000cov.scenario.config import load_scenario
from tests.scenarios import MAST_HEADER, run_cli

NL = Path(__file__).resolve().parents[1] / "data" / "nl"
DTM = NL / "delft_ahn3_dtm_1m.tif"
DSM = NL / "delft_ahn3_dsm_1m.tif"
BUILDINGS = NL / "delft_buildings_lod1_heights_rd.geojson"
VR = NL / "veiligheidsregio_2023_rd.geojson"
RD = CRS.from_epsg(28992)
# inside the 1 m sample (84808..85073, 447412..447642) on its lattice and on a 5 m lattice
BOUNDS = "84810,447415,85070,447640"
MAST_ROW = "M1,Synthetic,85023.6,447485.2,18,44,8,3,3"
AHN_NODATA = 3.4028234663852886e38


def _masts(tmp: Path) -> Path:
    path = tmp / "masts.csv"
    path.write_text(f"{MAST_HEADER}\n{MAST_ROW}\n")
    return path


def _with_water(src: Path, dst: Path) -> Path:
    """A copy of ``src`` with a 14 x 12 m block of nodata (a canal, as AHN leaves it)."""
    with rasterio.open(src) as s:
        data, profile = s.read(1), s.profile
    data[100:112, 150:164] = s.nodata
    with rasterio.open(dst, "w", **profile) as d:
        d.write(data, 1)
    return dst


def _band(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def _prepare(tmp: Path, out: str, dtm, dsm, monkeypatch, *extra) -> Path:
    args = ["prepare", tmp / out, "--dtm", dtm, "--dsm", dsm, "--masts", _masts(tmp),
            "--resolution-m", "5", "--bounds-m", BOUNDS, "--margin-m", "0", "--quiet", *extra]
    assert run_cli(monkeypatch, *args) == 0
    return tmp / out


# --------------------------------------------------------------------------- mosaics
def test_tiles_give_the_uncut_grid_bit_for_bit(tmp_path, monkeypatch, capsys):
    uncut = {k: _with_water(p, tmp_path / f"{k}.tif") for k, p in (("dtm", DTM), ("dsm", DSM))}
    overrides = {(1, 1): {"nodata": AHN_NODATA},  # holds the canal: AHN's own nodata value
                 (0, 2): {"blockxsize": 64, "blockysize": 32},
                 (1, 0): {"tiled": False, "blockysize": 5}}
    for k, src in uncut.items():
        tiles = cut_tiles(src, tmp_path / "tiles" / k, [0, 97, 183, 265], [0, 61, 230],
                          prefix=k, overrides=overrides)
        assert len(tiles) == 6
    with rasterio.open(tmp_path / "tiles" / "dtm" / "dtm_r1_c1.tif") as t:
        assert t.nodata == AHN_NODATA and (t.read(1) == np.float32(AHN_NODATA)).sum() == 168
    with rasterio.open(tmp_path / "tiles" / "dtm" / "dtm_r0_c2.tif") as t:
        assert t.block_shapes[0] == (32, 64)
    one = _prepare(tmp_path, "one", uncut["dtm"], uncut["dsm"], monkeypatch)
    many = _prepare(tmp_path, "many", tmp_path / "tiles" / "dtm",
                    tmp_path / "tiles" / "dsm" / "*.tif", monkeypatch)
    for name in ("dtm.tif", "dsm.tif"):
        a, b = _band(one / name), _band(many / name)
        assert a.shape == (45, 52)
        assert np.array_equal(a, b), name  # bit for bit: the 5 m windows hold whole 1 m cells
    rep_one = json.loads((one / "prepare.json").read_text())
    rep_many = json.loads((many / "prepare.json").read_text())
    assert rep_many["rasters"]["dtm"]["tiles"] == 6 and rep_one["rasters"]["dtm"]["tiles"] == 1
    # the canal leaves 2 x 2 grid pixels with no 1 m cell: filled and reported
    for rep in (rep_one, rep_many):
        assert rep["rasters"]["dtm"]["filled_region_pct"] == pytest.approx(100 * 4 / (45 * 52),
                                                                            abs=1e-4)
    # slow twin of the average rule: mean of the 5 x 5 valid 1 m cells of each grid pixel
    with rasterio.open(uncut["dtm"]) as s:
        src = s.read(1, masked=True).astype("float64").filled(np.nan)
    blocks = src[2:227, 2:262].reshape(45, 5, 52, 5)  # y 447640..447415, x 84810..85070
    with np.errstate(invalid="ignore"):
        twin = np.nanmean(blocks, axis=(1, 3))
    got = _band(many / "dtm.tif")
    valid = np.isfinite(twin)
    assert (~valid).sum() == 4
    np.testing.assert_allclose(got[valid], twin[valid], atol=1e-4)
    # filled pixels take a neighbour's value
    r, c = np.argwhere(~valid)[0]
    assert got[r, c] in {got[r + dr, c + dc] for dr in (-1, 0, 1, 2) for dc in (-1, 0, 1, 2)
                         if valid[r + dr, c + dc]}


def test_mosaic_rejects_tiles_off_the_lattice_and_mixed_crs(tmp_path):
    tiles = cut_tiles(DTM, tmp_path / "t", [0, 100, 265], [0, 230])
    with rasterio.open(tiles[1], "r+") as t:
        a = t.transform
        t.transform = rasterio.Affine(a.a, 0, a.c + 0.5, 0, a.e, a.f)
    with pytest.raises(InvalidInputError, match=r"t.*_c1.tif is shifted \+0.500 pixel in x"):
        build_mosaic([tmp_path / "t"], "terrain DTM")
    with rasterio.open(tiles[1], "r+") as t:
        t.crs = CRS.from_epsg(32631)
    with pytest.raises(InvalidInputError, match="is in EPSG:32631 but .* in EPSG:28992"):
        build_mosaic([tmp_path / "t"], "terrain DTM")


# --------------------------------------------------------------------------- regions
def test_safety_region_by_name_is_its_bounds_plus_margin():
    region = region_from_areas(VR, "  haaglanden ", RD)  # case and spaces do not matter
    assert region.name == "Haaglanden"
    vr = gpd.read_file(VR)
    expected = vr.loc[vr["statcode"] == "VR15"].total_bounds
    assert region.bounds_m == pytest.approx(tuple(expected))
    assert region.geometry.contains(Point(85000, 447500))  # Delft (PROVENANCE.md)
    grid = region_grid(region, 25.0, 15000.0)
    xmin, ymin, xmax, ymax = grid.bounds_m
    assert xmin <= expected[0] - 15000 < xmin + 25 and ymin <= expected[1] - 15000 < ymin + 25
    assert xmax - 25 < expected[2] + 15000 <= xmax and ymax - 25 < expected[3] + 15000 <= ymax
    assert xmin % 25 == 0 and ymax % 25 == 0


def test_prepare_named_region_default_margin_is_model_radius(tmp_path, monkeypatch, capsys):
    out = tmp_path / "vr15"
    masts = _masts(tmp_path)
    code = run_cli(monkeypatch, "prepare", out, "--dtm", DTM, "--masts", masts,
                   "--resolution-m", "100", "--areas", VR, "--area", "HAAGLANDEN",
                   "--radius-m", "10000")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == f"c2000cov run {out / 'scenario.toml'}"
    scen = load_scenario(out / "scenario.toml")
    vr = gpd.read_file(VR)
    b = vr.loc[vr["statcode"] == "VR15"].total_bounds
    snapped = (np.floor((b[0] - 1e4) / 100) * 100, np.floor((b[1] - 1e4) / 100) * 100,
               np.ceil((b[2] + 1e4) / 100) * 100, np.ceil((b[3] + 1e4) / 100) * 100)
    assert scen.scenario.bounds_m == pytest.approx(snapped)
    assert scen.model.radius_m == 10000.0 and scen.scenario.name == "haaglanden"
    assert scen.terrain.dtm == (out / "dtm.tif").resolve()
    areas = gpd.read_file(out / "areas.gpkg")
    assert areas["area_name"].tolist() == ["Haaglanden"]
    # the 265 x 230 m sample covers a sliver of the region: the rest is filled, loudly
    rep = json.loads((out / "prepare.json").read_text())
    assert rep["rasters"]["dtm"]["filled_region_pct"] > 99.0
    assert "of the region had no data and was filled with the value of the nearest" \
        in captured.err


def test_misspelt_region_lists_close_names(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code = run_cli(monkeypatch, "prepare", out, "--dtm", DTM, "--masts", _masts(tmp_path),
                   "--resolution-m", "500", "--areas", VR, "--area", "Hagelanden")
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("error: veiligheidsregio_2023_rd.geojson: no area named "
                           "'Hagelanden' in column statnaam; closest names: Haaglanden")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masts.csv"]


@pytest.mark.parametrize(("query", "close"), [
    ("Utrect", ["Utrecht"]),
    ("rotterdam", ["Rotterdam-Rijnmond"]),
    ("Brabant", ["Midden- en West-Brabant", "Brabant-Noord", "Brabant-Zuidoost"]),
])
def test_close_names_of_safety_regions(query, close):
    with pytest.raises(InvalidInputError) as exc:
        region_from_areas(VR, query, RD)
    assert str(exc.value).endswith("closest names: " + ", ".join(close))


# --------------------------------------------------------------------------- DSM rule
def _roof_difference_m(resampling: Resampling, res_m: float) -> float:
    """Median of (prepared surface - footprint roof height) over building pixels."""
    grid = Grid.from_bounds((84810.0, 447420.0, 85070.0, 447640.0), res_m, RD)
    surface = resample_to_grid(build_mosaic([DSM], "terrain DSM"), grid, resampling)
    b = gpd.read_file(BUILDINGS)
    ids = rasterize(((g, i + 1) for i, g in enumerate(b.geometry)), out_shape=grid.shape,
                    transform=grid.transform, fill=0, dtype="int32")
    roof = np.concatenate([[np.nan], b["h_roof_nap_m"].to_numpy(float)])[ids]
    return float(np.median((surface - roof)[ids > 0]))


@pytest.mark.parametrize(("res_m", "expected"), [
    # 5 m: 354 building pixels of 139 footprints; 10 m: 83 pixels
    (5.0, {"average": -1.11, "med": -0.74, "q3": -0.02, "max": 0.55}),
    (10.0, {"average": -1.70, "med": -1.02, "q3": 0.04, "max": 1.07}),
])
def test_dsm_rule_keeps_roof_level_on_the_delft_sample(res_m, expected):
    """AHN3 DSM resampled from 1 m vs the LoD1 roof heights of the same footprints.

    Averaging mixes the street along roof edges in (lower, more so at coarser
    pixels); the maximum takes every chimney and tree (higher, more so at
    coarser pixels); the third quartile stays at roof level.
    """
    measured = {r: _roof_difference_m(Resampling[r], res_m) for r in expected}
    assert measured == pytest.approx(expected, abs=0.005)
    chosen = RASTER_RULES["dsm"].resampling.name
    assert chosen == min(measured, key=lambda r: abs(measured[r]))


# --------------------------------------------------------------------------- bad inputs
def _bad(tmp: Path, monkeypatch, capsys, *args, expected: list[str]) -> None:
    out = tmp / "out"
    before = sorted(p.name for p in tmp.iterdir())
    code = run_cli(monkeypatch, "prepare", out, "--masts", _masts(tmp), "--resolution-m", "5",
                   *args, "--quiet")
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert not out.exists()
    assert sorted(p.name for p in tmp.iterdir()) == sorted(set(before) | {"masts.csv"})


def test_empty_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    _bad(tmp_path, monkeypatch, capsys, "--dtm", tmp_path / "empty", "--bounds-m", BOUNDS,
         expected=["terrain DTM: the folder", "empty holds no .tif/.tiff/.vrt file"])


def test_glob_matching_nothing(tmp_path, monkeypatch, capsys):
    _bad(tmp_path, monkeypatch, capsys, "--dtm", tmp_path / "nope" / "*.tif", "--bounds-m",
         BOUNDS, expected=["terrain DTM: the pattern", "matches no file"])


def test_geographic_tiles(tmp_path, monkeypatch, capsys):
    tiles = cut_tiles(DTM, tmp_path / "t", [0, 100, 265], [0, 230])
    with rasterio.open(tiles[1], "r+") as t:
        t.crs = CRS.from_epsg(4326)
    _bad(tmp_path, monkeypatch, capsys, "--dtm", tmp_path / "t", "--bounds-m", BOUNDS,
         expected=["tile_r0_c1.tif: raster CRS EPSG:4326 is geographic",
                   "reproject it, e.g. to EPSG:28992"])


def test_tiles_not_covering_the_region(tmp_path, monkeypatch, capsys):
    _bad(tmp_path, monkeypatch, capsys, "--dtm", DTM, "--bounds-m", "150000,450000,151000,451000",
         expected=["terrain DTM: the 1 tile(s) cover [84808, 447412, 85073, 447642]",
                   "region bounds is [150000, 450000, 151000, 451000]",
                   "give the tiles of the region"])


def test_buildings_without_height_columns(tmp_path, monkeypatch, capsys):
    b = gpd.read_file(BUILDINGS)[["id", "area_m2", "geometry"]]
    b.to_file(tmp_path / "bag.gpkg", driver="GPKG")
    _bad(tmp_path, monkeypatch, capsys, "--dtm", DTM, "--bounds-m", BOUNDS,
         "--buildings", tmp_path / "bag.gpkg",
         expected=["bag.gpkg: the buildings layer has none of the height columns",
                   "b3_h_dak_70p and b3_h_maaiveld (3D BAG)", "found: id, area_m2"])


def test_existing_output_is_kept(tmp_path, monkeypatch, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code = run_cli(monkeypatch, "prepare", tmp_path / "out", "--dtm", DTM, "--masts",
                   _masts(tmp_path), "--resolution-m", "5", "--bounds-m", BOUNDS)
    assert code == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_prepared_vectors_are_clipped_and_reprojected(tmp_path, monkeypatch, capsys):
    """Buildings in WGS84 and a road crossing the extent come back clipped, in RD."""
    b = gpd.read_file(BUILDINGS).to_crs(4326)
    b.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    ring = LineString(box(84700, 447500, 85200, 447501).exterior.coords)
    road = gpd.GeoDataFrame({"wegnummer": ["N1"]}, geometry=[ring], crs=RD)
    road.to_file(tmp_path / "nwb.gpkg", driver="GPKG")
    out = _prepare(tmp_path, "vec", DTM, DSM, monkeypatch, "--buildings", tmp_path / "b.geojson",
                   "--roads", tmp_path / "nwb.gpkg")
    got = gpd.read_file(out / "buildings.gpkg")
    assert got.crs == RD and len(got) == 160
    assert set(got.columns) >= {"roof_nap_m", "ground_nap_m", "height_m", "year"}
    assert got["roof_nap_m"].max() == pytest.approx(b["h_roof_nap_m"].max())
    roads = gpd.read_file(out / "roads.gpkg")
    xmin, xmax = 84810, 85070
    assert roads.total_bounds[0] >= xmin and roads.total_bounds[2] <= xmax
    # the ring's two long sides cross the 260 m wide extent (1 m apart)
    assert roads.length.sum() == pytest.approx(2 * (xmax - xmin), abs=1e-6)
    scen = tomllib.loads((out / "scenario.toml").read_text())
    assert scen["buildings"] == {"path": "buildings.gpkg", "roof_column": "roof_nap_m",
                                 "ground_column": "ground_nap_m", "year_column": "year"}
    assert scen["roads"] == {"path": "roads.gpkg"}


def test_3d_bag_layers_landcover_mode_and_population(tmp_path, monkeypatch, capsys):
    """A 3D BAG-like GeoPackage (height layer found among several), a land-cover raster in
    two tiles (mode), CBS 100 m squares with a secret count (set to 0, reported)."""
    b = gpd.read_file(BUILDINGS)
    bag = gpd.GeoDataFrame({"b3_h_dak_70p": b["h_roof_nap_m"],
                            "b3_h_maaiveld": b["h_ground_nap_m"],
                            "oorspronkelijkbouwjaar": np.arange(len(b)) + 1900},
                           geometry=b.geometry, crs=RD)
    gpd.GeoDataFrame({"note": ["index"]}, geometry=[box(84810, 447415, 84820, 447425)],
                     crs=RD).to_file(tmp_path / "bag.gpkg", layer="index", driver="GPKG")
    bag.to_file(tmp_path / "bag.gpkg", layer="pand", driver="GPKG")
    # land cover: 1 m classes, each 5 x 5 block holds 13 cells of one class and 12 of another
    rows, cols = np.indices((230, 265))
    major = (1 + (rows // 5 + cols // 5) % 3).astype("uint8")
    minor = ((rows % 5) * 5 + cols % 5) % 2 == 1  # 12 of the 25 cells of each 5 x 5 block
    classes = np.where(minor, 10, major).astype("uint8")
    lc = tmp_path / "lc_full.tif"
    # the sample starts at (84808, 447642): shift so that 5 x 5 blocks match the 5 m grid
    profile = dict(driver="GTiff", width=265, height=230, count=1, dtype="uint8", crs=RD,
                   nodata=0, transform=rasterio.Affine(1, 0, 84810, 0, -1, 447640))
    with rasterio.open(lc, "w", **profile) as dst:
        dst.write(classes, 1)
    cut_tiles(lc, tmp_path / "lc", [0, 130, 265], [0, 230], prefix="lc")
    lc.unlink()
    squares = gpd.GeoDataFrame(
        {"aantal_inwoners": [120, -99997, 40]},
        geometry=[box(84800, 447500, 84900, 447600), box(84900, 447500, 85000, 447600),
                  box(85000, 447400, 85100, 447500)], crs=RD)
    squares.to_file(tmp_path / "cbs.gpkg", driver="GPKG")
    out = _prepare(tmp_path, "bag", DTM, DSM, monkeypatch, "--buildings", tmp_path / "bag.gpkg",
                   "--landcover", tmp_path / "lc", "--population", tmp_path / "cbs.gpkg")
    rep = json.loads((out / "prepare.json").read_text())
    assert rep["vectors"]["buildings"]["columns"][0]["layer"] == "pand"
    assert rep["vectors"]["buildings"]["schema"] == ["3D BAG"]
    got = gpd.read_file(out / "buildings.gpkg")
    assert sorted(got["year"]) == sorted(bag["oorspronkelijkbouwjaar"])
    land = _band(out / "landcover.tif")
    assert land.shape == (45, 52)
    # mode of each 5 x 5 block is its majority class (13 of 25), never the minority 10
    expected = major[:225:5, :260:5]
    assert np.array_equal(land[:, :52], expected)
    assert rep["rasters"]["landcover"]["resampling"] == "mode"
    assert rep["vectors"]["population"] == {"files": 1, "points": 3, "people": 160.0,
                                            "negative_set_to_0": 1,
                                            "column": "aantal_inwoners"}
    scen = tomllib.loads((out / "scenario.toml").read_text())
    assert scen["population"] == {"path": "population.gpkg", "column": "population"}
    assert "landcover" not in json.dumps(scen)  # no scenario key reads land cover yet


def test_tiles_in_another_projected_crs(tmp_path, monkeypatch, capsys):
    """DTM tiles in UTM 31N (EPSG:32631) are warped onto the RD grid: within centimetres of
    the same tiles in RD where the terrain is smooth."""
    from rasterio.warp import calculate_default_transform, reproject

    utm = CRS.from_epsg(32631)
    with rasterio.open(DTM) as src:
        transform, width, height = calculate_default_transform(
            src.crs, utm, src.width, src.height, *src.bounds, resolution=1.0)
        data = np.full((height, width), -9999.0, dtype="float32")
        reproject(rasterio.band(src, 1), data, dst_transform=transform, dst_crs=utm,
                  dst_nodata=-9999.0, resampling=Resampling.bilinear)
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="float32",
                   crs=utm, transform=transform, nodata=-9999.0)
    with rasterio.open(tmp_path / "utm.tif", "w", **profile) as dst:
        dst.write(data, 1)
    cut_tiles(tmp_path / "utm.tif", tmp_path / "utm", [0, width // 2, width], [0, height])
    (tmp_path / "utm.tif").unlink()
    rd = _prepare(tmp_path, "rd", DTM, DSM, monkeypatch)
    ut = _prepare(tmp_path, "ut", tmp_path / "utm", DSM, monkeypatch)
    a, b = _band(rd / "dtm.tif"), _band(ut / "dtm.tif")
    inner = (slice(2, -2), slice(2, -2))  # the rotated tiles leave the edge pixels empty
    assert np.median(np.abs(a - b)[inner]) < 0.05
    rep = json.loads((ut / "prepare.json").read_text())
    assert rep["rasters"]["dtm"]["source_crs"] == "EPSG:32631"


def test_population_raster_keeps_its_total(tmp_path, monkeypatch, capsys):
    """A 100 m people-count raster is summed onto the 5 m grid: the people are kept."""
    counts = np.array([[120, 35, 0], [7, -1, 64], [3, 9, 1]], dtype="float32")  # -1: nodata
    profile = dict(driver="GTiff", width=3, height=3, count=1, dtype="float32", crs=RD,
                   nodata=-1, transform=rasterio.Affine(100, 0, 84800, 0, -100, 447700))
    with rasterio.open(tmp_path / "pop.tif", "w", **profile) as dst:
        dst.write(counts, 1)
    out = _prepare(tmp_path, "pop", DTM, DSM, monkeypatch, "--population", tmp_path / "pop.tif")
    pop = _band(out / "population.tif")
    # the grid (84810..85070, 447415..447640) holds parts of all eight counted squares
    inside = {(0, 0): 0.9 * 0.4, (0, 1): 1.0 * 0.4, (0, 2): 0.7 * 0.4,
              (1, 0): 0.9 * 1.0, (1, 2): 0.7 * 1.0,
              (2, 0): 0.9 * 0.85, (2, 1): 1.0 * 0.85, (2, 2): 0.7 * 0.85}
    expected = sum(counts[k] * f for k, f in inside.items())
    assert pop.sum(dtype="float64") == pytest.approx(expected, rel=1e-5)
    assert tomllib.loads((out / "scenario.toml").read_text())["population"]["path"] == \
        "population.tif"


def test_masts_on_the_grid_are_kept_with_their_patterns(tmp_path, monkeypatch, capsys):
    (tmp_path / "ant").mkdir()
    (tmp_path / "ant" / "sector.msi").write_text("NAME sector\n")
    (tmp_path / "m.csv").write_text(
        f"{MAST_HEADER},azimuth_deg,pattern\n{MAST_ROW},120,ant/sector.msi\n"
        "FAR,Elsewhere,150000,450000,30,44,8,3,3,,\n")
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "prepare", out, "--dtm", DTM, "--masts", tmp_path / "m.csv",
                   "--resolution-m", "5", "--bounds-m", BOUNDS, "--margin-m", "0",
                   "--quiet") == 0
    assert (out / "patterns" / "ant" / "sector.msi").read_text() == "NAME sector\n"
    from c2000cov.files.masts import read_masts

    masts = read_masts(out / "masts.csv", RD)
    assert masts["mast_id"].tolist() == ["M1"] and masts["azimuth_deg"][0] == 120
    assert masts["pattern"][0] == str((out / "patterns" / "ant" / "sector.msi").resolve())
    assert json.loads((out / "prepare.json").read_text())["masts"] == {"kept": 1,
                                                                      "outside_extent": 1}


def test_no_mast_on_the_grid(tmp_path, monkeypatch, capsys):
    (tmp_path / "far.csv").write_text(f"{MAST_HEADER}\nFAR,Elsewhere,150000,450000,30,44,8,3,3\n")
    _bad(tmp_path, monkeypatch, capsys, "--dtm", DTM, "--bounds-m", BOUNDS, "--masts",
         tmp_path / "far.csv",  # the default margin is the model radius, 15 km
         expected=["far.csv: none of the 1 masts lies in the prepared extent "
                   "[69810, 432415, 100070, 462640]; widen --margin-m"])
