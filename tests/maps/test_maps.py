"""The offline HTML map: self-contained, escaped, georeferenced; public maps hide masts."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image
from pyproj import Transformer
from rasterio.crs import CRS

from c2000cov.cli import main
from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.maps import (
    CLASS_COLOURS,
    PUBLIC_BLOCK_M,
    BlockGrid,
    block_majority,
    build_map,
    build_map_from_run,
    overlay_rgba,
)
from tests.maps.conftest import AREA_NAME_B, AREA_NAME_XSS, MAST_NAME_XSS, MASTS

RD = CRS.from_epsg(28992)
TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
MERC_TO_RD = Transformer.from_crs("EPSG:3857", "EPSG:28992", always_xy=True)
TO_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
NUM = r"-?\d+(?:\.\d+)?"
OVERLAY_RE = re.compile(r'L\.imageOverlay\(\s*"data:image/png;base64,([A-Za-z0-9+/=]+)",\s*'
                        rf"\[\[({NUM}),\s*({NUM})\],\s*\[({NUM}),\s*({NUM})\]\]")


def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def _overlays(text: str) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    """Image overlays of a map: RGBA array and (south, west, north, east)."""
    out = []
    for m in OVERLAY_RE.finditer(text):
        img = np.asarray(Image.open(io.BytesIO(base64.b64decode(m.group(1)))).convert("RGBA"))
        out.append((img, tuple(float(m.group(i)) for i in range(2, 6))))
    return out


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


def test_layers_and_data_present(maps):
    text = _text(maps["normal"])
    for key in ("deadzones:outdoor", "deadzones:incar", "sunny:outdoor", "pv", "masts",
                "areas", "outlines"):
        assert f'"key": "{key}"' in text
    for name in ("Coverage: outdoor", "Coverage: incar", "What-if gained/lost: outdoor",
                 "Dead zones: outdoor", "Sunny-day loss: outdoor", "Masts",
                 "PV installations (size: kWp)", "Areas: covered % (incar)"):
        assert f'"{name}"' in text
    # coverage (2 profiles) and what-if (1) image overlays
    assert len(_overlays(text)) == 3
    # the run's UL noise rise appears in the mast popup
    assert "UL noise rise (sun)" in text and "6.5 dB" in text


def test_hostile_text_is_never_markup(maps):
    for kind in ("normal", "public"):
        text = _text(maps[kind])
        for raw in (MAST_NAME_XSS, AREA_NAME_XSS, AREA_NAME_B, "<i>1</i>"):
            assert raw not in text
        assert "<img" not in text.lower() and "<b>bold" not in text.lower()
    # the names are there as escaped JSON text
    text = _text(maps["normal"])
    assert json.dumps(MAST_NAME_XSS)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e") in text


def test_dead_zone_popup_data(maps):
    text = _text(maps["normal"])
    assert "Nearest mast" in text and "C2K-SITE-0042" in text
    assert "uplink-limited: the mast cannot hear a handheld here" in text
    assert "sunny-day loss: covered at night" in text


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
    for word in ("Masts", "Nearest mast", "nearest", "C2K-SITE", "UL noise rise", "c2k-mast",
                 "c2k-sector"):
        assert word not in text
    assert "PUBLIC VERSION" in text and "PUBLIC VERSION" not in normal


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
    img, bounds = _overlays(_text(maps[kind]))[1]  # outdoor coverage (incar is first)
    xs, px_merc = _edges_rd(img, bounds)
    assert xs.size >= 2
    off = np.abs(xs - np.round(xs / step_m) * step_m)
    # one output pixel in ground metres (Mercator scale at 52 deg N is about 1.6)
    assert off.max() <= px_merc / 1.6 + 1.0


def test_public_map_has_no_pv_installations(maps):
    """A rooftop point identifies a household: public maps leave the PV layer out."""
    text, normal = _text(maps["public"]), _text(maps["normal"])
    assert "PV installations" in normal and "PV-2" in normal  # the check can fail
    assert "PV installations" not in text
    for pv_id in ("PV-2", "PV-3", "PV-&lt;i&gt;1"):
        assert pv_id not in text


def test_public_raster_is_coarser(maps):
    """Colour changes of the public overlay sit on at most 9 block edges across 4 km."""
    def edges(kind):
        img, bounds = _overlays(_text(maps[kind]))[1]
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
    text = _text(maps["public"])
    m = re.search(r'c2k\.geojson\((\{.*?\}),\s*\{"interactive": true, "key": '
                  r'"deadzones:outdoor"\}', text)
    if m is None:
        m = re.search(r'c2k\.geojson\((\{.*?\}),\s*\{"key": "deadzones:outdoor"', text)
    data = json.loads(m.group(1))
    assert data["features"]
    to_rd = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)
    for f in data["features"]:
        assert "(500 m blocks, approximate)" in f["properties"]["_p"]["title"]
        rows = dict(r for r in f["properties"]["_p"]["rows"])
        assert "Nearest mast" not in rows
        coords = np.array([c for ring in f["geometry"]["coordinates"] for c in ring]
                          if f["geometry"]["type"] == "Polygon" else
                          [c for poly in f["geometry"]["coordinates"] for ring in poly
                           for c in ring])
        x, y = to_rd.transform(coords[:, 0], coords[:, 1])
        for v in (np.asarray(x), np.asarray(y)):
            assert np.abs(v - np.round(v / 500.0) * 500.0).max() < 0.2


def test_plain_run_without_optional_files(plain_run_dir, tmp_path):
    path = build_map_from_run(plain_run_dir, tmp_path / "m.html", profiles=["outdoor"])
    text = _text(path)
    assert '"Dead zones: outdoor"' in text and '"Masts"' in text
    for absent in ("Sunny-day loss", "What-if", "PV installations", "Dead zones: incar",
                   "Coverage: incar"):
        assert absent not in text


def test_tile_basemap_is_optional(run_dir, tmp_path):
    text = _text(build_map_from_run(run_dir, tmp_path / "osm.html", basemap="brt"))
    assert "service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857" in text
    assert "tile.openstreetmap.org" not in text
    assert "tile.openstreetmap.org" not in _text(build_map_from_run(run_dir,
                                                                    tmp_path / "none.html"))


def test_errors_name_the_input_and_the_choices(run_dir, tmp_path):
    with pytest.raises(InvalidInputError, match="valid profiles: incar, outdoor"):
        build_map_from_run(run_dir, tmp_path / "m.html", profiles=["indoor"])
    with pytest.raises(InvalidInputError, match="none, osm, brt"):
        build_map_from_run(run_dir, tmp_path / "m.html", basemap="google")
    with pytest.raises(InputNotFoundError, match="no run.json"):
        build_map_from_run(tmp_path, tmp_path / "m.html")
    assert not (tmp_path / "m.html").exists()


def test_build_map_wrapper_uses_the_run_folder(run_dir, tmp_path):
    res = SimpleNamespace(files=[run_dir / "p_cover_outdoor.tif", run_dir / "run.json"])
    out = build_map(res, tmp_path / "w.html")
    assert '"Dead zones: outdoor"' in _text(out)
    with pytest.raises(InvalidInputError, match="no run.json"):
        build_map(SimpleNamespace(files=[]), tmp_path / "x.html")


def _cli(monkeypatch, *args) -> int:
    monkeypatch.setattr(sys, "argv", ["c2000cov", "map", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_map(run_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "cli.html"
    assert _cli(monkeypatch, run_dir, "--out", out, "--profile", "outdoor", "--public") == 0
    text = _text(out)
    assert "PUBLIC VERSION" in text and "Coverage: incar" not in text
    assert str(out) in capsys.readouterr().out
    assert _cli(monkeypatch, run_dir, "--out", out, "--profile", "nope") == 2
    assert "valid profiles" in capsys.readouterr().err
    assert _cli(monkeypatch, run_dir, "--basemap", "google") == 2
    assert _cli(monkeypatch, tmp_path / "missing") == 2
    assert "does not exist" in capsys.readouterr().err


def test_geotiff_of_the_fixture_has_dead_zones(run_dir):
    """Guard on the fixture itself: the disc is smaller than the grid."""
    with rasterio.open(run_dir / "p_cover_outdoor.tif") as src:
        p = src.read(1)
    below = np.isfinite(p) & (p < 0.95)
    assert 0.2 < below.mean() < 0.8
