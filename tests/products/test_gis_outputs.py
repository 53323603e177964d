"""GIS-ready run folders: what gdalinfo, GDAL's COG validator and QGIS see.

Categorical rasters are uint8 with a colour table and mode overviews that hold
only valid codes; continuous rasters are float32 with average overviews; every
GeoTIFF passes rio-cogeo's port of GDAL's COG validator; every raster has a
QGIS style beside it and the GeoPackages carry theirs in ``layer_styles``.
"""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from rio_cogeo.cogeo import cog_validate

from c2000cov.analysis.coverage import classify
from c2000cov.files.rasters import write_cog
from c2000cov.geo.grid import Grid
from c2000cov.products import runfolder as rf
from c2000cov.products import styles
from tests.scenarios import run_cli as cli
from tests.scenarios import write_scenario

CLASS_CODES = {0, 1, 2, 3, 255}
#: 640 x 640 pixels: large enough for COG overviews (the driver adds them above 512).
SIZE_PX = 640


def overview_levels(path: Path) -> list[np.ndarray]:
    """Band 1 of every overview level, as gdalinfo lists them."""
    out = []
    with rasterio.open(path) as src:
        n = len(src.overviews(1))
    for level in range(n):
        with rasterio.open(path, overview_level=level) as ov:
            out.append(ov.read(1))
    return out


def _grid(n: int = 1100) -> Grid:
    return Grid.from_bounds((150000.0, 450000.0, 150000.0 + 10 * n, 450000.0 + 10 * n), 10.0,
                            "EPSG:28992")


def _codes(n: int = 1100) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.choice(np.array([0, 1, 2, 3, 255], dtype="uint8"), size=(n, n),
                      p=[0.1, 0.2, 0.2, 0.4, 0.1])


# --------------------------------------------------------------------------- the writer
def test_categorical_cog_overviews_hold_only_valid_codes(tmp_path):
    cats = styles.class_categories(95.0, 80.0, 50.0)
    path = write_cog(tmp_path / "class.tif", [_codes()], _grid(), ["class"], nodata=255,
                     colormap=styles.colour_table(cats, 255))
    assert cog_validate(str(path), strict=True) == (True, [], [])
    with rasterio.open(path) as src:
        assert src.dtypes == ("uint8",) and src.nodata == 255
        assert src.colorinterp == (ColorInterp.palette,)
        cmap = src.colormap(1)
        assert src.overviews(1) == [2, 4, 8]  # down to one 256-pixel block
    for c in cats:
        assert cmap[c.value] == styles.hex_rgba(c.colour)
    assert cmap[255][3] == 0  # not evaluated: transparent
    levels = overview_levels(path)
    assert len(levels) == 3
    for ov in levels:
        assert set(np.unique(ov).tolist()) <= CLASS_CODES


def test_cubic_overviews_of_codes_are_what_the_check_catches(tmp_path):
    """The old layout (codes as float32, default cubic overviews) fails the same check."""
    codes = _codes().astype("float32")
    path = tmp_path / "old.tif"
    with rasterio.open(path, "w", driver="COG", width=1100, height=1100, count=1,
                       dtype="float32", crs="EPSG:28992", transform=_grid().transform) as dst:
        dst.write(codes, 1)
    bad = [set(np.unique(ov).tolist()) - CLASS_CODES for ov in overview_levels(path)]
    assert any(bad)


def test_continuous_cog_overviews_are_averages(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.uniform(0.0, 1.0, size=(1024, 1024)).astype("float32")
    values[:100, :100] = np.nan
    path = write_cog(tmp_path / "p.tif", [values], _grid(1024), ["p_cover"])
    assert cog_validate(str(path), strict=True)[0]
    ov = overview_levels(path)[0]
    blocks = values.reshape(512, 2, 512, 2).astype("float64").mean(axis=(1, 3))
    ok = np.isfinite(blocks)
    np.testing.assert_allclose(ov[ok], blocks[ok], atol=1e-6)
    assert np.isnan(ov[:50, :50]).all()


def test_colour_table_needs_codes(tmp_path):
    with pytest.raises(ValueError, match="uint8 or uint16"):
        write_cog(tmp_path / "x.tif", [np.zeros((4, 4), "float32")], _grid(4), ["x"],
                  colormap={0: (0, 0, 0, 255)})


# --------------------------------------------------------------------------- a real run
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gis")
    res = 10.0
    cx = 150000.0 + SIZE_PX * res / 2
    masts = [f"M01,West,{cx - 1500},{450000 + SIZE_PX * res / 2},30,44,11,8,3",
             f"M02,East,{cx + 1700},{450000 + SIZE_PX * res / 2 + 900},30,44,11,8,3"]
    scen = write_scenario(tmp, masts_rows=masts, size_px=SIZE_PX, res=res, radius_m=2500.0,
                          with_areas=True, with_buildings=True,
                          profiles='[profiles.outdoor]\nextra_loss_db = 30.0\n\n'
                                   '[profiles.indoor]\nextra_loss_db = 10.0\nindoor = true\n')
    mp = pytest.MonkeyPatch()
    try:
        assert cli(mp, "run", scen, "--out", tmp / "out", "--quiet", "--no-map") == 0
    finally:
        mp.undo()
    return tmp / "out"


def test_every_geotiff_is_a_valid_cog_with_a_style(run_dir):
    tifs = sorted(run_dir.glob("*.tif"))
    assert len(tifs) == 10  # 2 profiles x (p_cover + 4 categorical)
    for tif in tifs:
        valid, errors, warnings = cog_validate(str(tif), strict=True)
        assert valid and not errors and not warnings, (tif.name, errors, warnings)
        with rasterio.open(tif) as src:
            assert src.overviews(1), tif.name
        qml = run_dir / rf.style_name(tif.name)
        root = ET.parse(qml).getroot()
        assert root.tag == "qgis", qml.name
    listed = set(json.loads((run_dir / "run.json").read_text())["files"])
    assert {t.name for t in tifs} | {rf.style_name(t.name) for t in tifs} <= listed


def test_categorical_rasters_codes_colours_and_styles(run_dir):
    n_masts = 2
    valid = {"class": CLASS_CODES, "limiting": {0, 1, 2, 255},
             "best_server": set(range(n_masts)) | {255},
             "n_masts_at_target": set(range(n_masts + 1)) | {255}}
    for profile in ("outdoor", "indoor"):
        p, _, _ = rf.read_band(run_dir, profile, "p_cover")
        for band, codes in valid.items():
            path = run_dir / rf.band_name(profile, band)
            with rasterio.open(path) as src:
                assert src.count == 1 and src.dtypes == ("uint8",), path.name
                assert src.descriptions == (band,) and src.nodata == 255
                assert src.colorinterp == (ColorInterp.palette,)
                cmap = src.colormap(1)
                data = src.read(1)
            assert set(np.unique(data).tolist()) <= codes, path.name
            assert ((data == 255) == ~np.isfinite(p)).all() or band == "best_server"
            for ov in overview_levels(path):
                assert set(np.unique(ov).tolist()) <= codes, (path.name, "overview")
            # the style beside it: one palette entry per code, in the colour-table colour
            root = ET.parse(path.with_suffix(".qml")).getroot()
            renderer = root.find("pipe/rasterrenderer")
            assert renderer.get("type") == "paletted"
            entries = {int(e.get("value")): e for e in renderer.iter("paletteEntry")}
            assert set(np.unique(data).tolist()) - {255} <= set(entries), path.name
            for value, e in entries.items():
                assert styles.hex_rgba(e.get("color").upper()) == cmap[value]
                assert e.get("label")
        # the class raster is the classified p_cover, pixel for pixel (p_cover is stored to
        # 1e-4: pixels within 5e-5 of a class limit may fall either side)
        cls, _, _ = rf.read_band(run_dir, profile, "class")
        edge = np.zeros(p.shape, dtype=bool)
        for limit in (0.5, 0.8, 0.95):
            edge |= np.isclose(p, limit, atol=5e-5)
        np.testing.assert_array_equal(cls[~edge], classify(p, 95.0, 80.0, 50.0)[~edge])
    labels = [e.get("label") for e in ET.parse(run_dir / "class_outdoor.qml").iter("paletteEntry")]
    assert labels[0] == "goed: locatiekans ≥ 95 %" and labels[-1] == "geen: locatiekans < 50 %"
    servers = [e.get("label") for e in ET.parse(run_dir / "best_server_outdoor.qml")
               .iter("paletteEntry")]
    assert servers == ["M01", "M02"]


def test_band_sources_name_every_band(run_dir):
    src = rf.band_sources(run_dir, "outdoor")
    assert set(src) == set(rf.BAND_NAMES)
    assert src["p_cover"] == (run_dir / "p_cover_outdoor.tif", 1)
    assert src["best_signal_dl_dbm"] == (run_dir / "p_cover_outdoor.tif", 2)
    assert src["n_masts_at_target"] == (run_dir / "redundancy_outdoor.tif", 1)


def test_coverage_stack_reads_like_the_single_file_layout(run_dir):
    from rasterio.windows import Window

    with rf.CoverageStack(run_dir, "outdoor") as stack:
        desc = list(stack.descriptions)
        assert set(desc) == set(rf.BAND_NAMES)
        assert stack.tags()["target_pct"] == "95" and (stack.width, stack.height) == (640, 640)
        win = Window(100, 200, 40, 30)
        data = stack.read([desc.index(b) + 1 for b in desc], window=win)
        assert data.shape == (len(desc), 30, 40) and data.dtype == np.float32
        p = stack.read(desc.index("p_cover") + 1)
        cls = stack.read(desc.index("class") + 1)
    # evaluated exactly where the class band says so (outdoors: all but building pixels)
    assert np.isfinite(p).any() and np.array_equal(np.isfinite(p), cls != rf.CODE_NODATA)
    with rf.CoverageStack(run_dir, "indoor") as stack:
        desc = list(stack.descriptions)
        p_in = stack.read(desc.index("p_cover") + 1)
        for band, legacy in (("best_server", -1.0), ("limiting", 0.0),
                             ("n_masts_at_target", 0.0), ("class", 255.0)):
            stack_band = stack.read(desc.index(band) + 1)
            assert (stack_band[~np.isfinite(p_in)] == legacy).all(), band
        server = stack.read(desc.index("best_server") + 1)
    codes, _, _ = rf.read_band(run_dir, "indoor", "best_server")
    np.testing.assert_array_equal(server[codes != 255], codes[codes != 255])


def test_continuous_raster_style(run_dir):
    with rasterio.open(run_dir / "p_cover_outdoor.tif") as src:
        assert src.dtypes == ("float32", "float32")
        assert src.descriptions == ("p_cover", "best_signal_dl_dbm")
        assert src.colorinterp[0] != ColorInterp.red  # not an RGB composite
    root = ET.parse(run_dir / "p_cover_outdoor.qml").getroot()
    shader = root.find("pipe/rasterrenderer/rastershader/colorrampshader")
    assert shader.get("colorRampType") == "DISCRETE"
    bounds = [float(i.get("value")) for i in shader.iter("item")]
    assert bounds == [0.5, 0.8, 0.95, float("inf")]  # the class limits


def test_geopackages_carry_their_qgis_styles(run_dir):
    for gpkg, layers in (("dead_zones.gpkg", {"outdoor", "indoor"}),
                         ("areas_used.gpkg", {"areas"})):
        con = sqlite3.connect(run_dir / gpkg)
        try:
            rows = con.execute("SELECT f_table_name, f_geometry_column, useAsDefault, styleQML "
                               "FROM layer_styles").fetchall()
            contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
            geom_cols = dict(con.execute("SELECT table_name, column_name FROM "
                                         "gpkg_geometry_columns"))
        finally:
            con.close()
        assert {r[0] for r in rows} == layers, gpkg
        assert contents["layer_styles"] == "attributes"
        for table, geom, default, qml in rows:
            assert geom == geom_cols[table] and default == 1
            root = ET.fromstring(qml)
            assert root.find("renderer-v2") is not None
        assert set(rf.vector_layers(run_dir / gpkg)) == layers
    con = sqlite3.connect(run_dir / "dead_zones.gpkg")
    qml = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'outdoor'"
                      ).fetchone()[0]
    con.close()
    values = {c.get("value") for c in ET.fromstring(qml).iter("category")}
    assert values == {"reduced", "poor", "none"}  # the dead zones' class attribute


# --------------------------------------------------------------------------- earlier run folders
def test_read_band_reads_run_folders_of_earlier_versions(tmp_path):
    """Before the split every band was a float32 band of p_cover_<profile>.tif."""
    grid = _grid(8)
    p = np.linspace(0.0, 1.0, 64, dtype="float32").reshape(8, 8)
    cls = classify(p, 95.0, 80.0, 50.0).astype("float32")
    legacy = ["p_cover", "limiting", "best_server", "best_signal_dl_dbm", "n_masts_at_target",
              "class"]
    bands = [p, np.ones_like(p), np.zeros_like(p), np.full_like(p, -90.0), np.ones_like(p), cls]
    write_cog(tmp_path / "p_cover_hh.tif", bands, grid, legacy)
    assert rf.band_sources(tmp_path, "hh") == {b: (tmp_path / "p_cover_hh.tif", i)
                                               for i, b in enumerate(legacy, 1)}
    got, _, _ = rf.read_band(tmp_path, "hh", "class")
    np.testing.assert_array_equal(got, cls)
    assert rf.read_coverage(tmp_path / "p_cover_hh.tif").coverage_class.tolist() == \
        cls.astype("uint8").tolist()
    with pytest.raises(Exception, match="no band named 'nonsense'|not a coverage band"):
        rf.read_band(tmp_path, "hh", "nonsense")
