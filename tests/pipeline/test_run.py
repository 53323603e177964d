"""End-to-end run on a small synthetic scenario: every output read back."""

from __future__ import annotations

import hashlib
import json
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from c2000cov.cli import main
from tests.scenarios import write_scenario

PROFILES = ('[profiles.outdoor]\nextra_loss_db = 37.5\n\n'
            '[profiles.indoor]\nextra_loss_db = 20.0\nindoor = true\n'
            'building_class = "by_year"\nyear_threshold = 2000\n')


def _run(scen, out, monkeypatch, extra=()):
    monkeypatch.setattr(sys, "argv", ["c2000cov", "run", str(scen), "--out", str(out),
                                      "--quiet", "--map", str(out / "map.html"), *extra])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    scen = write_scenario(tmp, profiles=PROFILES, with_buildings=True, with_areas=True)
    mp = pytest.MonkeyPatch()
    try:
        _run(scen, tmp / "a", mp)
        _run(scen, tmp / "b", mp)
    finally:
        mp.undo()
    return tmp / "a", tmp / "b"


def test_outputs_exist_and_no_partial_files(run_dirs):
    out, _ = run_dirs
    names = sorted(p.name for p in out.iterdir())
    rasters = [f"{kind}_{p}.{ext}" for kind in ("best_server", "class", "limiting", "p_cover",
                                                  "redundancy")
               for p in ("indoor", "outdoor") for ext in ("qml", "tif")]
    assert names == sorted([".cache", "areas_coverage.csv", "areas_used.gpkg", "dead_zones.gpkg",
                            "map.html", "masts_used.csv", "n1_outage.csv", "report.html",
                            "run.json", *rasters])


def test_coverage_geotiff_read_back(run_dirs):
    out, _ = run_dirs
    with rasterio.open(out / "p_cover_outdoor.tif") as src:
        assert src.crs.to_epsg() == 28992
        assert src.descriptions == ("p_cover", "best_signal_dl_dbm")
        assert src.dtypes == ("float32", "float32")
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.transform.a == 20.0 and src.bounds.left == 150000.0
        p = src.read(1)
        assert np.nanmax(p) <= 1.0 and np.nanmin(p) >= 0.0
        assert src.tags(2)["unit"] == "dBm"
    with rasterio.open(out / "class_outdoor.tif") as src:
        assert src.descriptions == ("class",) and src.dtypes == ("uint8",)
        cls = src.read(1)
        # the class band is p_cover against the target and the class limits (p_cover is
        # stored to 1e-4, so pixels within 5e-5 of a limit may fall either side)
        edge = np.isclose(p, 0.95, atol=5e-5) | np.isclose(p, 0.5, atol=5e-5)
        assert ((cls == 3) == (p >= 0.95))[~edge].all()
        assert ((cls == 0) == (p < 0.5))[~edge].all()
        # the mast pixel (row 100, col 100) is covered; a far corner is not
        assert p[100, 100] > 0.99 and p[0, 0] < 0.95
    with rasterio.open(out / "p_cover_indoor.tif") as src:
        p_in = src.read(1)
        # indoor is evaluated on building pixels only: 2 buildings, 50 + 75 pixels of 20 m
        assert np.isfinite(p_in).sum() == pytest.approx(125, abs=10)


def test_dead_zones_read_back(run_dirs):
    out, _ = run_dirs
    layers = gpd.list_layers(out / "dead_zones.gpkg")["name"].tolist()
    assert sorted(layers) == ["indoor", "layer_styles", "outdoor"]  # + the QGIS styles
    dz = gpd.read_file(out / "dead_zones.gpkg", layer="outdoor")
    assert dz.crs.to_epsg() == 28992 and len(dz) >= 1
    assert dz.is_valid.all()
    with rasterio.open(out / "p_cover_outdoor.tif") as src:
        p = src.read(1)
    below_km2 = float((p < 0.95).sum()) * 400 / 1e6
    assert dz["area_km2"].sum() == pytest.approx(below_km2, rel=0.01)
    assert dz.area.sum() / 1e6 == pytest.approx(below_km2, rel=0.01)
    assert set(dz["nearest_mast_id"]) == {"M01"}


def test_area_table_read_back(run_dirs):
    out, _ = run_dirs
    table = pd.read_csv(out / "areas_coverage.csv")
    assert list(table.columns[:6]) == ["area_name", "profile", "area_km2", "evaluated_km2",
                                       "covered_km2", "covered_pct"]
    outdoor = table[table["profile"] == "outdoor"].set_index("area_name")
    assert outdoor.loc["West", "area_km2"] == pytest.approx(8.0)
    # the disc is centred 10 m east of the West/East border: the halves differ by at most
    # two pixel columns along the disc's diameter (2 * 2 * 1.1 km * 20 m = 0.09 km2)
    assert outdoor.loc["West", "covered_km2"] == pytest.approx(outdoor.loc["East", "covered_km2"],
                                                               abs=0.09)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["model"]["source"] == "ITU-R P.525-4"
    assert manifest["parameters"]["profiles.outdoor.extra_loss_db"] == 37.5


def test_reruns_are_bit_identical(run_dirs):
    a, b = run_dirs
    for name in ("p_cover_outdoor.tif", "p_cover_indoor.tif", "dead_zones.gpkg",
                 "areas_coverage.csv", "masts_used.csv"):
        ha = hashlib.sha256((a / name).read_bytes()).hexdigest()
        hb = hashlib.sha256((b / name).read_bytes()).hexdigest()
        assert ha == hb, name


def test_roads_and_population_layers_add_columns(tmp_path):
    from shapely.geometry import LineString, Point

    from c2000cov.pipeline.run import run_scenario
    from c2000cov.scenario.config import load_scenario

    roads = gpd.GeoDataFrame({"road_id": ["N1"]},
                             geometry=[LineString([(150000, 452010), (154000, 452010)])],
                             crs="EPSG:28992")
    people = gpd.GeoDataFrame({"inwoners": [100, 50]},
                              geometry=[Point(152010, 451990), Point(150030, 453970)],
                              crs="EPSG:28992")
    extra = ('[roads]\npath = "roads.gpkg"\n\n[population]\npath = "people.gpkg"\n'
             'column = "inwoners"\n\n[radio]\nbs_diversity_gain_db = 0.0\n')  # disc 3.1 km
    scen = write_scenario(tmp_path, profiles=PROFILES, extra=extra)
    roads.to_file(tmp_path / "roads.gpkg", driver="GPKG")
    people.to_file(tmp_path / "people.gpkg", driver="GPKG")
    result = run_scenario(load_scenario(scen), tmp_path / "out", cache_dir=False)
    row = result.area_table.set_index("profile").loc["outdoor"]
    assert row["road_km"] == pytest.approx(4.0)
    # the disc (about 3.1 km across) covers the road's middle, not its ends
    assert 0.5 < row["road_uncovered_km"] < 1.5
    assert row["population"] == 150
    assert row["population_covered"] == 100  # the centre point, not the far corner
