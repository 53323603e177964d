"""KMZ export, read back with GDAL (pyogrio's LIBKML driver) and checked against the run."""

from __future__ import annotations

import sys
import zipfile

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from c2000cov.cli import main
from c2000cov.products.kmz import export_kmz
from tests.products.maps.conftest import AREA_NAME_XSS, MASTS

LAYERS = ["portofoon buiten - dekkingsklassen", "portofoon buiten - zones onder de doelwaarde",
          "mobilofoon in voertuig - dekkingsklassen",
          "mobilofoon in voertuig - zones onder de doelwaarde"]


@pytest.fixture(scope="module")
def kmz(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("kmz") / "coverage.kmz"
    return export_kmz(run_dir, out)


def _layer(path, name) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path, layer=name)


def test_gdal_opens_one_layer_per_profile_and_kind(kmz):
    assert pyogrio.read_info(kmz, layer=LAYERS[0])["driver"] == "LIBKML"
    assert [str(n) for n in pyogrio.list_layers(kmz)[:, 0]] == LAYERS


def test_zones_match_the_run_and_carry_advice(kmz, run_dir):
    for prof, layer in (("outdoor", LAYERS[1]), ("incar", LAYERS[3])):
        got = _layer(kmz, layer)
        exact = gpd.read_file(run_dir / "dead_zones.gpkg", layer=prof)
        assert list(got["zone_id"]) == list(exact["zone_id"])
        for col in ("share_reduced_pct", "share_poor_pct", "share_none_pct", "area_km2"):
            assert np.allclose(got[col], exact[col], rtol=1e-6), col
        assert list(got["class"]) == list(exact["class"])
        assert got["advice"].str.len().min() > 40
        assert got["OGR_STYLE"].str.startswith("BRUSH(fc:#").all()
        area = got.set_crs(4326, allow_override=True).to_crs(exact.crs).area
        assert area.sum() == pytest.approx(exact.area.sum(), rel=0.03)
    # outdoor zones say how much of them the in-car radio covers; in-car zones do not
    assert _layer(kmz, LAYERS[1])["incar_covered_pct"].notna().all()
    assert _layer(kmz, LAYERS[3])["incar_covered_pct"].isna().all()


def test_class_polygons_cover_the_grid_by_class(kmz, run_dir):
    got = _layer(kmz, LAYERS[0]).set_crs(4326, allow_override=True).to_crs(28992)
    with rasterio.open(run_dir / "p_cover_outdoor.tif") as src:
        p = src.read(1)
        px_m2 = abs(src.transform.a * src.transform.e)
    expected = {"good": p >= 0.95, "reduced": (p >= 0.8) & (p < 0.95),
                "poor": (p >= 0.5) & (p < 0.8), "none": p < 0.5}
    assert set(got["class"]) == {k for k, m in expected.items() if m.any()}
    for _, row in got.iterrows():
        assert row.geometry.area == pytest.approx(expected[row["class"]].sum() * px_m2,
                                                  rel=0.03)
        assert row["Name"].startswith({"good": "goed (≥ 95 %)", "reduced": "verminderd (80–95 %)",
                                       "poor": "slecht (50–80 %)",
                                       "none": "geen dekking (< 50 %)"}[row["class"]])


def test_kmz_holds_no_mast_and_no_markup(kmz):
    with zipfile.ZipFile(kmz) as z:
        text = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".kml"))
    for mid, name, *_ in MASTS:
        assert mid not in text and name not in text
    assert AREA_NAME_XSS not in text
    desc = _layer(kmz, LAYERS[1])["description"].iloc[0]
    assert "&lt;img src=y" in desc  # the hostile area name, escaped in the HTML description


def test_public_kmz_is_in_blocks(run_dir, tmp_path, monkeypatch):
    out = tmp_path / "public.kmz"
    monkeypatch.setattr(sys, "argv", ["c2000cov", "export", str(run_dir), "--kmz", "--public",
                                      "--lang", "en", "--out", str(out)])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    names = [str(n) for n in pyogrio.list_layers(out)[:, 0]]
    assert names[1] == "handheld outdoors - below-target zones"
    zones = _layer(out, names[1]).set_crs(4326, allow_override=True).to_crs(28992)
    xy = shapely.get_coordinates(zones.geometry.values)
    assert np.abs(xy - np.round(xy / 500.0) * 500.0).max() < 0.5


def test_export_needs_a_format(run_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["c2000cov", "export", str(run_dir)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "--kmz" in capsys.readouterr().err


def test_map_command_writes_the_kmz_beside_the_map(run_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "kaart.html"
    monkeypatch.setattr(sys, "argv", ["c2000cov", "map", str(run_dir), "--out", str(out),
                                      "--profile", "incar", "--kmz"])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert str(tmp_path / "kaart.kmz") in capsys.readouterr().out
    assert [str(n) for n in pyogrio.list_layers(tmp_path / "kaart.kmz")[:, 0]] == LAYERS[2:]
