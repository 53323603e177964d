"""The offline HTML map: self-contained, escaped, georeferenced; public maps hide masts."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from PIL import Image
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.features import rasterize

from c2000cov.cli import main
from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.products.maps import (
    CLASS_COLOURS,
    PUBLIC_BLOCK_M,
    BlockGrid,
    block_majority,
    build_map,
    build_map_from_run,
    overlay_rgba,
)
from c2000cov.products.maps.layers import choropleth_colour
from tests.products.maps.conftest import (
    AREA_NAME_B,
    AREA_NAME_XSS,
    MAST_NAME_XSS,
    MASTS,
    REGION_NAME,
    ROADS,
)

RD = CRS.from_epsg(28992)
TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
TO_RD = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)
MERC_TO_RD = Transformer.from_crs("EPSG:3857", "EPSG:28992", always_xy=True)
TO_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
DATA_RE = re.compile(r'<script id="c2k-data" type="application/json">(.*?)</script>', re.S)


def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def map_data(path) -> dict:
    """The JSON document a map page is built from."""
    return json.loads(DATA_RE.search(_text(path)).group(1))


def overlay(ov: dict) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """An image overlay as an RGBA array and (south, west, north, east)."""
    b64 = ov["png"].split(",", 1)[1]
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGBA"))
    (s, w), (n, e) = ov["bounds"]
    return img, (s, w, n, e)


def _popup(feature: dict) -> dict:
    return feature["properties"]["_p"]


def test_map_is_self_contained(maps):
    text = _text(maps["normal"])
    assert "Leaflet 1.9.4" in text  # the vendored library, inlined
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)
    assert not re.search(r"<link\b", text, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text, re.I)
    assert "@import" not in text
    assert "sourceMappingURL" not in text
    assert "cdn." not in text and "jquery" not in text.lower()


def test_same_run_gives_identical_html(run_dir, maps, tmp_path):
    again = build_map_from_run(run_dir, tmp_path / "again.html")
    assert again.read_bytes() == maps["normal"].read_bytes()


def test_profiles_have_plain_dutch_labels_and_one_switcher(maps):
    d = map_data(maps["normal"])
    assert d["lang"] == "nl"
    # handheld outdoors first; keys stay keys, people read labels
    assert [(p["key"], p["label"]) for p in d["profiles"]] == [
        ("outdoor", "portofoon buiten"), ("incar", "mobilofoon in voertuig")]
    assert [t["id"] for t in d["themes"]] == [
        "coverage", "delta", "areas", "outlines", "roads", "sunny", "deadzones", "pv", "masts",
        "places"]
    assert {t["id"]: t["label"] for t in d["themes"]}["deadzones"] == "Zones onder de doelwaarde"
    # each profile-dependent theme has one layer per profile, switched together
    assert set(d["perProfile"]["coverage"]) == set(d["perProfile"]["deadzones"]) \
        == set(d["perProfile"]["areas"]) == {"outdoor", "incar"}
    assert set(d["perProfile"]["delta"]) == set(d["perProfile"]["sunny"]) == {"outdoor"}
    mast = next(f for f in d["static"]["masts"]["features"]
                if "_p" in f["properties"] and _popup(f)["rows"][0][1] == MASTS[0][0])
    assert ["UL-ruisverhoging (zon)", "6.5 dB"] in _popup(mast)["rows"]
    assert "handheld_outdoor" not in _text(maps["normal"])


def test_english_map(maps):
    d = map_data(maps["english"])
    assert d["lang"] == "en" and d["title"] == "C2000 coverage: synthetic"
    assert [p["label"] for p in d["profiles"]] == ["handheld outdoors",
                                                   "in-car radio (mobilofoon)"]
    zone = d["perProfile"]["deadzones"]["outdoor"]["features"][0]
    assert _popup(zone)["noteTitle"] == "Advice"
    assert '<html lang="en">' in _text(maps["english"])


def test_legend_states_every_threshold(maps):
    legend = map_data(maps["normal"])["legend"]
    cov = next(s for s in legend
               if s.get("profile") == "outdoor" and "Dekkingsklasse" in s["title"])
    assert [i[1] for i in cov["items"]] == ["goed (≥ 95 %)", "verminderd (80–95 %)",
                                            "slecht (50–80 %)", "geen dekking (< 50 %)"]
    areas = next(s for s in legend if s.get("profile") == "outdoor" and "Gebied" in s["title"])
    assert [i[1] for i in areas["items"]][:5] == ["≥ 98 %", "95–98 %", "90–95 %", "80–90 %",
                                                  "< 80 %"]
    zones = next(s for s in legend if s.get("profile") == "outdoor" and "Zone" in s["title"])
    assert "95 %" in zones["title"] and len(zones["items"]) == 4
    # the dash patterns differ, so the limiting direction needs no colour vision
    assert len({i[0]["style"] for i in zones["items"]}) == 4


def test_hostile_text_is_never_markup(maps):
    for kind in ("normal", "public", "english"):
        text = _text(maps[kind])
        for raw in (MAST_NAME_XSS, AREA_NAME_XSS, AREA_NAME_B, "<i>1</i>"):
            assert raw not in text
        assert "<img" not in text.lower() and "<b>bold" not in text.lower()
    # the names are there as escaped JSON text
    text = _text(maps["normal"])
    assert json.dumps(MAST_NAME_XSS)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e") in text
    tips = [f["properties"].get("_t") for f in
            map_data(maps["normal"])["static"]["masts"]["features"]]
    assert f"{MASTS[0][0]} {MAST_NAME_XSS}" in tips


def test_zones_carry_class_mix_and_advice_computed_for_the_zone(maps, run_dir):
    """The popup's numbers equal those recomputed from the run's rasters."""
    zone = map_data(maps["normal"])["perProfile"]["deadzones"]["outdoor"]["features"][0]
    pop = _popup(zone)
    rows = dict(pop["rows"])
    exact = gpd.read_file(run_dir / "dead_zones.gpkg", layer="outdoor").iloc[0]
    with rasterio.open(run_dir / "p_cover_outdoor.tif") as src:
        p = src.read(1)
        tr = src.transform
    with rasterio.open(run_dir / "p_cover_incar.tif") as src:
        p_car = src.read(1)
    mask = rasterize([(exact.geometry, 1)], out_shape=p.shape, transform=tr).astype(bool)
    z = p[mask]
    shares = [100 * np.mean((z >= 0.8) & (z < 0.95)), 100 * np.mean((z >= 0.5) & (z < 0.8)),
              100 * np.mean(z < 0.5)]
    assert rows["Klassenmix"] == (f"{shares[0]:.0f} % verminderd, {shares[1]:.0f} % slecht, "
                                  f"{shares[2]:.0f} % geen dekking")
    dominant = ["verminderde", "slechte", "geen"][int(np.argmax(shares))]
    assert pop["title"].startswith(f"Zone {exact['zone_id']}: {dominant}")
    car_pct = 100 * np.mean(p_car[mask] >= 0.95)
    assert 0 < car_pct < 99  # the fixture's in-car radio covers part of the zone
    assert pop["note"][0] == (f"Mobilofoon (in voertuig) heeft dekking op {car_pct:.0f} % van "
                              "de zone, niet overal: controleer de dekking bij het voertuig.")
    assert any(s.startswith("Dichtstbijzijnde dekking vanaf het midden van de zone") for s in
               pop["note"])
    assert rows["Dichtstbijzijnde mast"].startswith("C2K-SITE-")
    assert rows["Oppervlakte"] == f"{exact['area_km2']:.3f} km²"


def test_zones_are_simplified_but_keep_their_area(maps, run_dir):
    exact = gpd.read_file(run_dir / "dead_zones.gpkg", layer="outdoor").to_crs(RD)
    feats = map_data(maps["normal"])["perProfile"]["deadzones"]["outdoor"]["features"]
    shown = gpd.GeoDataFrame(geometry=[shapely.geometry.shape(f["geometry"]) for f in feats],
                             crs=4326).to_crs(RD)
    assert len(shown) == len(exact)
    assert shown.is_valid.all()
    n_exact = shapely.get_num_coordinates(exact.geometry.values).sum()
    n_shown = shapely.get_num_coordinates(shown.geometry.values).sum()
    assert n_shown < 0.5 * n_exact  # the pixel staircase is gone
    assert shown.area.sum() == pytest.approx(exact.area.sum(), rel=0.03)
    # no simplified edge is more than 1.5 pixels (30 m) + rounding from the exact outline
    assert shown.boundary.hausdorff_distance(exact.boundary, align=False).max() <= 31.0


def test_nested_region_is_an_outline_and_choropleth_is_per_profile(maps):
    d = map_data(maps["normal"])
    for prof in ("outdoor", "incar"):
        feats = {_popup(f)["title"]: f["properties"] for f in
                 d["perProfile"]["areas"][prof]["features"]}
        assert feats[REGION_NAME]["_s"]["fill"] is False  # the region holds both areas
        for name in (AREA_NAME_XSS, AREA_NAME_B):
            assert feats[name]["_s"]["fillOpacity"] > 0
    # each profile's fill follows its own covered % (outdoor and in-car differ here)
    fills = {prof: [f["properties"]["_s"].get("fillColor") for f in
                    d["perProfile"]["areas"][prof]["features"]] for prof in ("outdoor", "incar")}
    pcts = {prof: [f["properties"]["pct"] for f in d["perProfile"]["areas"][prof]["features"]]
            for prof in ("outdoor", "incar")}
    assert pcts["outdoor"] != pcts["incar"]
    for prof in ("outdoor", "incar"):
        for pct, fill in zip(pcts[prof], fills[prof], strict=True):
            if fill is not None:  # not the region, which is an outline
                assert fill == choropleth_colour(pct)
    # place names: the two areas, not the region that holds them
    assert sorted(f["properties"]["name"] for f in d["static"]["places"]["features"]) == sorted(
        [AREA_NAME_XSS, AREA_NAME_B])


def test_roads_of_the_run_are_drawn(maps):
    feats = map_data(maps["normal"])["static"]["roads"]["features"]
    assert len(feats) == len(ROADS)
    shown = []
    for f in feats:
        coords = np.array(f["geometry"]["coordinates"])
        x, y = TO_RD.transform(coords[:, 0], coords[:, 1])
        shown.append(sorted([(round(x[0]), round(y[0])), (round(x[-1]), round(y[-1]))]))
    expected = [sorted((round(a), round(b)) for a, b in r) for r in ROADS]
    for road in expected:
        assert any(np.allclose(road, s, atol=1.5) for s in shown), (road, shown)


def _coordinate_patterns(x: float, y: float) -> list[str]:
    """Regexes for a position: RD metres alone, and lon/lat pairs (either order) to 3+ decimals.

    Single degrees are not checked: dense outlines hold many latitudes that
    match any one value at 4 decimals; a pair to 3 decimals is about 100 m.
    """
    lon, lat = TO_WGS84.transform(x, y)
    pats = []
    for v in (x, y):  # RD metres, exact and rounded to 10 m / 100 m
        for s in {f"{v:.0f}", f"{v:.1f}", f"{v:.2f}", f"{round(v, -1):.0f}",
                  f"{round(v, -2):.0f}"}:
            pats.append(rf"(?<![\d.]){re.escape(s)}(?![\d])")
    for d in (3, 4, 5, 6, 7):
        a, b = re.escape(f"{lon:.{d}f}"), re.escape(f"{lat:.{d}f}")
        pats.append(rf"(?<![\d.]){a}\d*,\s*{b}")
        pats.append(rf"(?<![\d.]){b}\d*,\s*{a}")
    return pats


def test_public_map_has_no_mast_information(maps):
    text = _text(maps["public"])
    normal = _text(maps["normal"])
    for mid, name, x, y, _, _ in MASTS:
        for s in (mid, name, json.dumps(name)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e"),
                  name.replace("<", "&lt;").replace(">", "&gt;")):
            assert s not in text
        for pat in _coordinate_patterns(x, y):
            assert not re.search(pat, text), pat
    # the checks are able to fail: the normal map holds the ids and the lon/lat pairs
    assert MASTS[0][0] in normal
    x, y = MASTS[0][2], MASTS[0][3]
    assert any(re.search(p, normal) for p in _coordinate_patterns(x, y))
    for word in ("Masten", "Dichtstbijzijnde mast", "C2K-SITE", "UL-ruisverhoging", "c2k-mast",
                 "c2k-sector"):
        assert word not in text
    assert "PUBLIEKE VERSIE" in text and "PUBLIEKE VERSIE" not in normal


def _edges_rd(img, bounds, row_frac=0.5):
    """RD x of the colour changes along one image row (metres)."""
    south, west, north, east = bounds
    x0, y0 = TO_MERC.transform(west, north)
    x1, y1 = TO_MERC.transform(east, south)
    h, w, _ = img.shape
    r = int(h * row_frac)
    row = img[r].astype(int)
    change = np.flatnonzero(np.any(row[1:] != row[:-1], axis=1)) + 1
    px = (x1 - x0) / w
    ym = y0 - (r + 0.5) * (y0 - y1) / h
    xs, _ = MERC_TO_RD.transform(x0 + change * px, np.full(change.size, ym))
    return np.asarray(xs), px


@pytest.mark.parametrize("kind, step_m", [("normal", 20.0), ("public", PUBLIC_BLOCK_M)])
def test_overlay_edges_fall_on_pixel_or_block_edges(maps, kind, step_m):
    """Reprojection check: colour changes in the Web Mercator image sit on RD cell edges."""
    img, bounds = overlay(map_data(maps[kind])["perProfile"]["coverage"]["outdoor"])
    xs, px_merc = _edges_rd(img, bounds)
    assert xs.size >= 2
    off = np.abs(xs - np.round(xs / step_m) * step_m)
    # one output pixel in ground metres (Mercator scale at 52 deg N is about 1.6)
    assert off.max() <= px_merc / 1.6 + 1.0


def test_overlay_colours_are_the_class_palette(maps, run_dir):
    img, _ = overlay(map_data(maps["normal"])["perProfile"]["coverage"]["outdoor"])
    colours = {tuple(int(v) for v in c) for c in np.unique(img.reshape(-1, 4), axis=0)}
    with rasterio.open(run_dir / "p_cover_outdoor.tif") as src:
        p = src.read(1)
    colours.discard((0, 0, 0, 0))  # outside the grid, if any
    expected = set()
    for code, lo, hi in ((3, 0.95, 2), (2, 0.8, 0.95), (1, 0.5, 0.8), (0, -1, 0.5)):
        if ((p >= lo) & (p < hi)).any():
            expected.add(CLASS_COLOURS[code])
    assert colours == expected


def test_public_map_has_no_pv_installations(maps):
    """A rooftop point identifies a household: public maps leave the PV layer out."""
    text, normal = _text(maps["public"]), _text(maps["normal"])
    assert "pv" in map_data(maps["normal"])["static"] and "PV-2" in normal  # can fail
    assert "pv" not in map_data(maps["public"])["static"]
    for pv_id in ("PV-2", "PV-3", "PV-\\u003ci\\u003e1"):
        assert pv_id not in text


def test_public_raster_is_coarser(maps):
    """Colour changes of the public overlay sit on at most 9 block edges across 4 km."""
    def edges(kind):
        img, bounds = overlay(map_data(maps[kind])["perProfile"]["coverage"]["outdoor"])
        xs = [_edges_rd(img, bounds, f)[0] for f in np.linspace(0.05, 0.95, 19)]
        return np.unique(np.round(np.concatenate(xs) / 20.0) * 20.0)
    assert edges("public").size <= 9 < edges("normal").size


def test_block_grid_aligns_to_crs_multiples():
    tr = Affine(20.0, 0, 150040.0, 0, -20.0, 453960.0)
    bg = BlockGrid.of((100, 100), tr, 500.0)
    assert bg.k == 25 and bg.pad_left == 2 and bg.pad_top == 2
    assert bg.transform.c == 150000.0 and bg.transform.f == 454000.0
    assert bg.block_shape == (5, 5)
    codes = np.full((100, 100), 3, dtype="uint8")
    codes[:23, :23] = 0  # the whole first block (23 x 23 real pixels)
    codes[23:30, 23:30] = 1  # a minority in block (1, 1)
    out = block_majority(codes, bg)
    assert out[0, 0] == 0 and out[1, 1] == 3 and (out[2:, 2:] == 3).all()
    assert np.array_equal(bg.to_pixels(out).shape, (100, 100))


def test_block_majority_ties_take_the_worse_code_and_skip_nodata():
    tr = Affine(250.0, 0, 0.0, 0, -250.0, 1000.0)
    bg = BlockGrid.of((2, 4), tr, 500.0)
    codes = np.array([[0, 3, 255, 255], [3, 0, 255, 2]], dtype="uint8")
    out = block_majority(codes, bg)
    assert out.tolist() == [[0, 2]]


def test_overlay_rgba_places_a_pixel_where_it_belongs():
    tr = Affine(20.0, 0, 150000.0, 0, -20.0, 454000.0)
    codes = np.full((200, 200), 3, dtype="uint8")
    codes[50:60, 120:130] = 0  # RD x 152400-152600, y 452800-453000
    rgba, ((s, w), (n, e)) = overlay_rgba(codes, tr, RD, CLASS_COLOURS)
    rows, cols = np.nonzero((rgba == CLASS_COLOURS[0]).all(axis=-1))
    h, wd, _ = rgba.shape
    x0, y0 = TO_MERC.transform(w, n)
    x1, y1 = TO_MERC.transform(e, s)
    xm = x0 + (cols.mean() + 0.5) * (x1 - x0) / wd
    ym = y0 - (rows.mean() + 0.5) * (y0 - y1) / h
    x, y = MERC_TO_RD.transform(xm, ym)
    assert x == pytest.approx(152500.0, abs=20) and y == pytest.approx(452900.0, abs=20)


def test_public_dead_zones_are_whole_blocks(maps):
    feats = map_data(maps["public"])["perProfile"]["deadzones"]["outdoor"]["features"]
    assert feats
    for f in feats:
        pop = _popup(f)
        assert "(blokken van 500 m, bij benadering)" in pop["title"]
        rows = dict(pop["rows"])
        assert "Dichtstbijzijnde mast" not in rows and "Klassenmix" in rows
        # distances in the advice are whole blocks
        near = next(s for s in pop["note"] if s.startswith("Dichtstbijzijnde dekking"))
        assert re.search(r": (500 m|\d+\.[05] km) naar", near), near
        coords = np.array([c for ring in f["geometry"]["coordinates"] for c in ring]
                          if f["geometry"]["type"] == "Polygon" else
                          [c for poly in f["geometry"]["coordinates"] for ring in poly
                           for c in ring])
        x, y = TO_RD.transform(coords[:, 0], coords[:, 1])
        for v in (np.asarray(x), np.asarray(y)):
            assert np.abs(v - np.round(v / 500.0) * 500.0).max() < 0.2


def test_plain_run_without_optional_files(plain_run_dir, tmp_path):
    path = build_map_from_run(plain_run_dir, tmp_path / "m.html", profiles=["outdoor"])
    d = map_data(path)
    assert [p["key"] for p in d["profiles"]] == ["outdoor"]
    assert "deadzones" in d["perProfile"] and "masts" in d["static"]
    assert "sunny" not in d["perProfile"] and "delta" not in d["perProfile"]
    assert "pv" not in d["static"]
    assert "incar" not in d["perProfile"]["coverage"]


def test_tile_basemap_is_optional(run_dir, tmp_path):
    d = map_data(build_map_from_run(run_dir, tmp_path / "osm.html", basemap="brt"))
    assert d["basemap"]["url"].startswith(
        "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857")
    none = build_map_from_run(run_dir, tmp_path / "none.html")
    assert map_data(none)["basemap"] is None and "openstreetmap" not in _text(none)


def test_errors_name_the_input_and_the_choices(run_dir, tmp_path):
    with pytest.raises(InvalidInputError, match="valid profiles: incar, outdoor"):
        build_map_from_run(run_dir, tmp_path / "m.html", profiles=["indoor"])
    with pytest.raises(InvalidInputError, match="none, osm, brt"):
        build_map_from_run(run_dir, tmp_path / "m.html", basemap="google")
    with pytest.raises(InvalidInputError, match="'fr'.*nl, en"):
        build_map_from_run(run_dir, tmp_path / "m.html", lang="fr")
    with pytest.raises(InputNotFoundError, match="no run.json"):
        build_map_from_run(tmp_path, tmp_path / "m.html")
    assert not (tmp_path / "m.html").exists()


def test_build_map_wrapper_uses_the_run_folder(run_dir, tmp_path):
    res = SimpleNamespace(files=[run_dir / "p_cover_outdoor.tif", run_dir / "run.json"])
    out = build_map(res, tmp_path / "w.html")
    assert "outdoor" in map_data(out)["perProfile"]["deadzones"]
    with pytest.raises(InvalidInputError, match="no run.json"):
        build_map(SimpleNamespace(files=[]), tmp_path / "x.html")


def _cli(monkeypatch, *args) -> int:
    monkeypatch.setattr(sys, "argv", ["c2000cov", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_map(run_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "cli.html"
    assert _cli(monkeypatch, "map", run_dir, "--out", out, "--profile", "outdoor", "--public",
                "--lang", "en") == 0
    d = map_data(out)
    assert d["publicNotice"].startswith("PUBLIC VERSION") and "incar" not in d["perProfile"][
        "coverage"]
    assert str(out) in capsys.readouterr().out
    assert _cli(monkeypatch, "map", run_dir, "--out", out, "--profile", "nope") == 2
    assert "valid profiles" in capsys.readouterr().err
    assert _cli(monkeypatch, "map", run_dir, "--basemap", "google") == 2
    assert _cli(monkeypatch, "map", run_dir, "--out", out, "--lang", "de") == 2
    assert "nl, en" in capsys.readouterr().err
    assert _cli(monkeypatch, "map", tmp_path / "missing") == 2
    assert "does not exist" in capsys.readouterr().err


def test_geotiff_of_the_fixture_has_dead_zones(run_dir):
    """Guard on the fixture itself: the disc is smaller than the grid."""
    with rasterio.open(run_dir / "p_cover_outdoor.tif") as src:
        p = src.read(1)
    below = np.isfinite(p) & (p < 0.95)
    assert 0.2 < below.mean() < 0.8
