"""HTML compliance report of a real run folder (synthetic scenario, `c2000cov run`).

Checks the verdicts against hand-worked margins and a slow per-pixel twin of the
sensitivity, the parameter origins, the bundle hash, rounding, both languages,
the class maps, and the A4 print (chromium --print-to-pdf, read back with pdftotext).
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import json
import math
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.products.report import (
    build_report,
    bundle_report_path,
    model_editions,
    shift_thresholds,
)
from c2000cov.products.report_format import column_unit, format_quantity, format_value
from c2000cov.products.report_plots import CLASS_COLOURS, block_worst_class, plot_class_map
from c2000cov.products.report_text import TEXT
from c2000cov.scenario.sources import DOMAIN_PATH, NO_SOURCE, is_assumed, parameter_source
from tests.scenarios import run_cli as cli
from tests.scenarios import write_scenario

# outdoor: no body loss (like an in-car radio), so the scenario overrides a default
PROFILES = ('[profiles.outdoor]\nextra_loss_db = 42.5\nbody_loss_db = 0.0\n\n'
            '[profiles.indoor]\nextra_loss_db = 20.0\nindoor = true\n'
            'building_class = "by_year"\nyear_threshold = 2000\n')
REQUIRED_PCT = 47.0  # between the two areas: West fails, East meets
REPORT_TOML = f"[report]\nrequired_covered_pct = {{ outdoor = {REQUIRED_PCT} }}\n"
EVIL = '<script>alert("x")</script>'
#: 2023-11-14T22:13:20Z
EPOCH = "1700000000"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    # without BS diversity, so that the requirement falls between the two areas
    scen = write_scenario(tmp, profiles=PROFILES, with_buildings=True, with_areas=True,
                          extra=REPORT_TOML + "\n[radio]\nbs_diversity_gain_db = 0.0\n")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        assert cli(mp, "run", scen, "--out", tmp / "out", "--quiet", "--no-map",
                   "--sun", "1") == 0
    finally:
        mp.undo()
    return tmp / "out"


@pytest.fixture
def fresh(run_dir, tmp_path):
    """A private copy of the run folder."""
    out = tmp_path / "run"
    shutil.copytree(run_dir, out)
    return out


def images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def visible_text(html: str) -> str:
    """The page's text as a reader sees it (no markup, styles or embedded images)."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    html = re.sub(r"<wbr>", "", html)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", html))
    return " ".join(text.split())


def png_chunk_types(png: bytes) -> list[bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        out.append(kind)
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            out.append(png[pos + 8:pos + 8 + length].split(b"\x00")[0])
        pos += 12 + length
    return out


def param_row(html: str, key: str) -> list[str]:
    """The cells (text) of a parameter's row."""
    html = html.replace("<wbr>", "")
    m = re.search(r"<tr[^>]*>\s*<td><code>" + re.escape(key) + r"</code></td>(.*?)</tr>", html,
                  re.S)
    assert m, key
    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1), re.S)]


def section(html: str, sid: str) -> str:
    start = html.index(f'<section id="{sid}"')
    return html[start:html.index("</section>", start)]


def table_rows(fragment: str) -> list[list[str]]:
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", fragment, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        rows.append([" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", c)).split())
                     for c in cells])
    return rows


def nl(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


# --------------------------------------------------------------------------- verdicts
def test_verdict_table_meets_fails_and_margin(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    table = pd.read_csv(run_dir / "areas_coverage.csv")
    outdoor = table[table["profile"] == "outdoor"].set_index("area_name")
    verdicts = section(html, "verdicts")
    part = verdicts[verdicts.index("Profiel outdoor"):]
    rows = {r[0]: r for r in table_rows(part)[1:3]}
    assert set(rows) == {"West", "East"}
    n_meet = 0
    for area, row in rows.items():
        covered = float(outdoor.loc[area, "covered_pct"])
        meets = covered >= REQUIRED_PCT
        n_meet += meets
        assert row[1] == nl(covered, 2)
        assert row[2] == nl(REQUIRED_PCT, 2)
        assert row[3] == nl(covered - REQUIRED_PCT, 2)
        assert row[4] == ("voldoet" if meets else "voldoet niet")
    assert [rows["West"][4], rows["East"][4]] == ["voldoet niet", "voldoet"]
    # the indoor profile has no stated requirement: figures without a verdict
    indoor = verdicts[verdicts.index("Profiel indoor"):verdicts.index("Profiel outdoor")]
    assert "geen eis gesteld" in indoor and "voldoet" not in indoor
    summary = table_rows(section(html, "summary"))
    by_profile = {r[0]: r for r in summary[1:]}
    assert by_profile["indoor"][5] == "geen eis gesteld"
    assert by_profile["outdoor"][6] == f"{n_meet} / 2"


def test_sensitivity_matches_a_per_pixel_twin(run_dir):
    """Shifting every level by -3/+3 dB, done pixel by pixel, gives the report's shares."""
    from scipy.special import ndtr, ndtri

    with rasterio.open(run_dir / "p_cover_outdoor.tif") as src:
        p = src.read(list(src.descriptions).index("p_cover") + 1).astype("float64")
    sigma, delta, target = 8.0, 3.0, 0.95
    ev = np.isfinite(p)
    half = p.shape[1] // 2  # the areas split the grid at its middle column (pixel edge)
    z = ndtri(np.clip(np.where(ev, p, 0.5), 0.0, 1.0))
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    part = section(html, "verdicts")
    rows = {r[0]: r for r in table_rows(part[part.index("Profiel outdoor"):])[1:3]}
    for area, cols in (("West", slice(0, half)), ("East", slice(half, None))):
        e = ev[:, cols]
        for shift, col in ((-delta, 5), (+delta, 6)):
            shifted = ndtr(z[:, cols] + shift / sigma)
            twin = 100.0 * float((shifted[e] >= target).mean())
            got = float(rows[area][col].replace(",", "."))
            assert got == pytest.approx(twin, abs=0.011), (area, shift)
        lo, hi = (float(rows[area][c].replace(",", ".")) for c in (5, 6))
        assert lo <= float(rows[area][1].replace(",", ".")) <= hi
        holds = (lo >= REQUIRED_PCT) == (hi >= REQUIRED_PCT)
        assert rows[area][7] == ("ja" if holds else "nee")


def test_shift_thresholds_hand_worked():
    # z(95 %) = 1.6449; 3 dB / 8 dB = 0.375 sigma: Phi(2.0199) and Phi(1.2699)
    def phi(x):
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    lo, hi = shift_thresholds(95.0, 8.0, 3.0)
    assert lo == pytest.approx(phi(1.644854 + 0.375), abs=1e-6)
    assert hi == pytest.approx(phi(1.644854 - 0.375), abs=1e-6)
    assert lo == pytest.approx(0.97830, abs=1e-4) and hi == pytest.approx(0.89794, abs=1e-4)


def test_shifted_shares_of_a_float32_band_are_the_float64_ones(tmp_path):
    """The shares come from the file's float32 band compared in float64, as the report
    always did (one float64 copy now, not two): values on the thresholds' float32
    neighbours, NaN (not evaluated), a weighted area and the whole grid."""
    from c2000cov.analysis.areas import area_weights
    from c2000cov.geo.grid import Grid
    from c2000cov.products.report import _float64_band, _shifted_shares, shifted_covered_pct
    from tests.scenarios import RD

    grid = Grid.from_bounds((150000.0, 450000.0, 150600.0, 450400.0), 10.0, RD)
    rng = np.random.default_rng(8)
    lo, hi = shift_thresholds(95.0, 8.0, 3.0)
    edges = np.float32([0.95, lo, hi])  # float32(0.95) < 0.95: not covered in float64
    p32 = rng.choice(np.concatenate([edges, np.nextafter(edges, np.float32(2)),
                                     rng.random(20, dtype="float32"), [np.nan]]),
                     size=grid.shape).astype("float32")
    areas = gpd.GeoDataFrame({"area_name": ["west"]},
                             geometry=[box(150000.0, 450000.0, 150333.0, 450400.0)], crs=RD)
    weights = area_weights(areas, grid)
    shifted, whole = _shifted_shares(*_float64_band(p32), weights, 95.0, 8.0, 3.0)
    # the twin: the report's earlier code, on a float64 copy
    p = p32.astype("float64")
    ev = np.isfinite(p)
    pw = np.where(ev, p, -1.0)
    w = weights[0]
    twin = tuple(100.0 * w.weighted_sum(m) / w.weighted_sum(ev)
                 for m in (pw >= lo, pw >= 0.95, pw >= hi))
    assert shifted == {"west": twin} == shifted_covered_pct(p, weights, 95.0, 8.0, 3.0)
    assert whole == tuple(100.0 * float((p[ev] >= thr).mean()) for thr in (lo, 0.95, hi))
    assert whole[1] != 100.0 * float((p32[ev] >= 0.95).mean())  # float32 would differ


# --------------------------------------------------------------------------- facts of the run
def test_run_time_and_bundle_hash(fresh, tmp_path, monkeypatch):
    manifest = json.loads((fresh / "run.json").read_text())
    assert manifest["run_utc"] == "2023-11-14T22:13:20Z"
    html = build_report(fresh).read_text(encoding="utf-8")
    assert "2023-11-14T22:13:20Z" in html
    assert "niet gebundeld" in html  # a report inside a bundle cannot hold its hash
    zip_path = tmp_path / "evidence.zip"
    assert cli(monkeypatch, "bundle", fresh, "--out", zip_path) == 0
    from c2000cov.products.verify import verify_bundle

    sha = verify_bundle(zip_path).manifest_sha256
    beside = bundle_report_path(zip_path)
    assert beside == tmp_path / "evidence.report.html"
    rows = dict(r for r in table_rows(section(beside.read_text(encoding="utf-8"), "run"))
                if len(r) == 2)
    assert rows["SHA-256 van MANIFEST.json"] == sha
    assert rows["bewijsbundel"] == "evidence.zip"
    # a bundle of another run is refused
    other = tmp_path / "other"
    shutil.copytree(fresh, other)
    m = json.loads((other / "run.json").read_text())
    m["scenario"] = "another run"
    (other / "run.json").write_text(json.dumps(m))
    with pytest.raises(InvalidInputError, match="holds another run"):
        build_report(other, tmp_path / "x.html", bundle=zip_path)


def test_parameters_show_value_origin_and_default(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((run_dir / "run.json").read_text())
    for key in manifest["parameters"]:
        param_row(html, key)
    # overridden in the scenario: the value used, where it came from, the default beside it
    value, origin, default = param_row(html, "profiles.outdoor.body_loss_db")
    assert value == "0 dB"
    assert origin == "scenariobestand; wijkt af van de standaard 5 dB"
    assert default.startswith("5 dB: (assumed) body loss 5 dB") and "aangenomen" in default
    # not in the scenario: the default, with its source
    value, origin, default = param_row(html, "profiles.indoor.ms_sensitivity_dbm")
    assert (value, origin) == ("-103 dBm", "standaardwaarde")
    assert "ETSI EN 300 392-2" in default
    # a command-line flag (--sun 1)
    assert param_row(html, "interference.sun_factor")[1].startswith("opdrachtregel")
    # the requirement, and numbers rounded by unit
    assert param_row(html, "report.required_covered_pct.outdoor")[:2] == ["47 %",
                                                                          "scenariobestand"]
    assert param_row(html, "model.k_factor")[0] == "1,342"  # 157 / (157 - 40)
    assert param_row(html, "radio.dl_freq_mhz")[0] == "392,5 MHz"
    assert param_row(html, "interference.limit_dbuv_m")[0] == "37 dBµV/m"
    assert manifest["parameter_origins"]["interference.sun_factor"] == "override"
    assert manifest["parameter_origins"]["profiles.outdoor.body_loss_db"] == "scenario"


def test_domain_facts_ship_with_the_package(run_dir):
    import hashlib

    text = DOMAIN_PATH.read_text(encoding="utf-8")
    assert "Provenance" in text and "/work/shared/DOMAIN.md" in text
    for fact in ("-103 dBm", "-106 dBm", "32.5 dBm (class 3L)", "-3 dBi, 5 dB", "37 dBuV/m",
                 "median 13.9 dB", "1.645 sigma"):
        assert fact in text, fact
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    sha = hashlib.sha256(DOMAIN_PATH.read_bytes()).hexdigest()
    assert f"c2000cov/data/DOMAIN.md (SHA-256 {sha[:16]}" in html


def test_numbers_are_rounded_by_unit(fresh):
    manifest = json.loads((fresh / "run.json").read_text())
    manifest["interference"] = {"sun_factor": 1.0, "d_ul_db_max": 45.33378982543945,
                                "d_dl_area_over_1db_pct": 12.345678901}
    (fresh / "run.json").write_text(json.dumps(manifest))
    table = pd.read_csv(fresh / "areas_coverage.csv")
    table["p_cover_mean"] = table["p_cover_mean"] + 1e-9
    table.to_csv(fresh / "areas_coverage.csv", index=False)
    text = visible_text(build_report(fresh).read_text(encoding="utf-8"))
    text = re.sub(r"\b[0-9a-f]{40,64}\b", "", text)  # hashes and commits
    assert "45.33378982543945" not in text and "45,33 dB" in text
    assert "12,35 %" in text
    long = re.findall(r"\d[.,]\d{5,}", text)
    assert long == []


# --------------------------------------------------------------------------- languages
def test_both_languages_and_every_text_in_both():
    for key, (nl_text, en_text) in TEXT.items():
        assert nl_text and en_text, key
        fields_nl = set(re.findall(r"\{(\w+)\}", nl_text))
        assert fields_nl == set(re.findall(r"\{(\w+)\}", en_text)), key


def test_english_report(fresh):
    html = build_report(fresh, fresh / "en.html", lang="en").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Verdict per area" in html
    assert "Oordeel per gebied" not in html and "12.35" not in html
    part = section(html, "verdicts")
    assert "meets" in part or "fails" in part
    with pytest.raises(InvalidInputError, match="choose one of: nl, en"):
        build_report(fresh, fresh / "x.html", lang="de")


# --------------------------------------------------------------------------- maps and plots
def test_one_class_map_per_profile(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    maps = images(section(html, "maps"))
    assert len(maps) == 2 and maps[0] != maps[1]  # indoor, outdoor
    for png in maps:
        chunks = png_chunk_types(png)
        assert b"tIME" not in chunks and b"Software" not in chunks
    assert len(images(html)) == 4  # + covered per area, CDF


def test_class_map_draws_each_class_in_its_colour():
    import matplotlib.image
    from affine import Affine

    cls = np.full((200, 200), 3, dtype="uint8")  # half good
    cls[:, 100:150] = 0  # a quarter none
    cls[:, 150:] = 255  # a quarter not evaluated
    png = base64.b64decode(plot_class_map(cls, Affine(10, 0, 150000, 0, -10, 452000),
                                          {"target_pct": 95, "reduced_pct": 80,
                                           "poor_pct": 50}))
    rgb = (matplotlib.image.imread(io.BytesIO(png))[..., :3] * 255).round().astype(int)

    def count(code):
        want = np.array([int(CLASS_COLOURS[code][i:i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(rgb - want).sum(axis=-1) == 0).sum())

    assert count(3) / count(0) == pytest.approx(2.0, rel=0.1)
    assert count(255) / count(0) == pytest.approx(1.0, rel=0.1)
    assert count(2) < 0.02 * count(3) and count(1) < 0.02 * count(3)  # legend patches only


def test_block_worst_class_keeps_dead_zones():
    cls = np.array([[3, 3, 255, 255],
                    [3, 0, 255, 255],
                    [2, 2, 3, 3],
                    [2, 1, 3, 3]], dtype="uint8")
    assert block_worst_class(cls, 2).tolist() == [[0, 255], [1, 3]]
    assert block_worst_class(cls, 1) is cls
    assert block_worst_class(cls, 3).tolist() == [[0, 3], [1, 3]]  # padding is 255


# --------------------------------------------------------------------------- other sections
def test_report_area_tables_and_dead_zones(fresh):
    html = build_report(fresh, top_n=1).read_text(encoding="utf-8")
    table = pd.read_csv(fresh / "areas_coverage.csv")
    west = table[(table["area_name"] == "West") & (table["profile"] == "outdoor")].iloc[0]
    assert '<th title="covered_pct">gedekt (%)</th>' in html
    assert '<th title="area_km2">oppervlakte (km²)</th>' in html
    areas = section(html, "areas")
    assert f'<td class="num">{nl(west["covered_pct"], 2)}</td>' in areas
    assert f'<td class="num">{nl(west["covered_km2"], 3)}</td>' in areas
    import geopandas as gpd

    dz = gpd.read_file(fresh / "dead_zones.gpkg", layer="outdoor")
    largest = dz.sort_values("area_km2", ascending=False).iloc[0]
    assert f"Profiel outdoor: {len(dz)} zones" in html
    assert f"<td>{largest['zone_id']}</td>" in html
    assert "(grootste 1 getoond)" in html
    dutch = {"none": "geen", "poor": "slecht", "reduced": "beperkt"}
    zones = section(html, "deadzones")
    assert f"<td>{dutch[largest['class']]}</td>" in zones
    assert '<th title="share_none_pct">aandeel geen (%)</th>' in zones


def test_report_is_bit_identical_and_escapes_inputs(fresh, tmp_path):
    manifest = json.loads((fresh / "run.json").read_text())
    manifest["scenario"] = EVIL
    manifest["parameters"]["scenario.name"] = EVIL
    (fresh / "run.json").write_text(json.dumps(manifest))
    table = pd.read_csv(fresh / "areas_coverage.csv")
    table.loc[table["area_name"] == "West", "area_name"] = EVIL
    table.to_csv(fresh / "areas_coverage.csv", index=False)
    a = build_report(fresh, tmp_path / "a.html").read_bytes()
    b = build_report(fresh, tmp_path / "b.html").read_bytes()
    assert a == b
    html = a.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def _add_optional_files(run: Path) -> pd.DataFrame:
    table = pd.read_csv(run / "areas_coverage.csv")
    table["covered_pct_night"] = table["covered_pct"] + 1.5
    table["sunny_loss_pp"] = 1.5
    table["population"] = 1234
    table["population_evaluated"] = 1200
    table["population_covered"] = 1000
    table["population_covered_pct"] = 83.3333333
    table["road_km"] = 12.5
    table["road_uncovered_km"] = 2.25
    table["road_uncovered_pct"] = 18.0
    table.to_csv(run / "areas_coverage.csv", index=False)
    pd.DataFrame({"area_name": ["West", "East"], "profile": ["outdoor", "outdoor"],
                  "delta_covered_km2": [0.5, -0.25], "delta_covered_pct": [6.25, -3.125]}
                 ).to_csv(run / "delta_areas.csv", index=False)
    pd.DataFrame({"mast_id": ["M01", "M02"], "d_ul_db": [1.25, 7.5], "i_dbm": [-131.0, -121.0],
                  "n_dbm": [-126.0, -126.0], "top1_pv_id": ["PV7", "PV9"],
                  "top1_share_pct": [80.0, 99.0]}).to_csv(run / "masts_interference.csv",
                                                           index=False)
    pd.DataFrame({"mast_id": ["M01", "M02"], "lost_km2": [1.5, 3.25], "lost_pct": [10.0, 20.0],
                  "areas_affected": ["West", "East; West"]}).to_csv(run / "n1_outage.csv",
                                                                    index=False)
    return table


def test_optional_sections(fresh):
    html = build_report(fresh).read_text(encoding="utf-8")
    for sid in ('id="whatif"', 'id="sunny"', 'id="interference"'):
        assert sid not in html
    table = _add_optional_files(fresh)
    html = build_report(fresh).read_text(encoding="utf-8")
    for sid in ('id="whatif"', 'id="sunny"', 'id="interference"', 'id="n1"'):
        assert sid in html
    assert len(images(html)) == 5  # + before/after
    west = table[(table["area_name"] == "West") & (table["profile"] == "outdoor")].iloc[0]
    # before = after - delta
    assert f'<td class="num">{nl(west["covered_pct"] - 6.25, 2)}</td>' in section(html,
                                                                                   "whatif")
    # noise rise sorted worst first; N-1 sorted by lost area
    assert html.index("<td>PV9</td>") < html.index("<td>PV7</td>")
    n1 = section(html, "n1")
    assert n1.index("<td>M02</td>") < n1.index("<td>M01</td>")
    assert "<td>East; West</td>" in n1
    # wide area tables are split into parts that each repeat the area column
    areas = section(html, "areas")
    for t in re.findall(r"<table.*?</table>", areas, re.S):
        heads = re.findall(r"<th title=", t)
        assert len(heads) <= 11 and '<th title="area_name">' in t
    assert '<th title="road_uncovered_pct">' in areas
    # the what-if module's delta_areas.csv carries base and new percentages: shown as they are
    pd.DataFrame({"area_name": ["West"], "profile": ["outdoor"], "covered_km2_base": [1.0],
                  "covered_km2_new": [1.5], "delta_covered_km2": [0.5],
                  "covered_pct_base": [12.5], "covered_pct_new": [18.75],
                  "delta_covered_pct": [6.25]}).to_csv(fresh / "delta_areas.csv", index=False)
    html = build_report(fresh).read_text(encoding="utf-8")
    assert re.search(r'<td>West</td><td>outdoor</td><td class="num">12,50</td>'
                     r'<td class="num">18,75</td><td class="num">6,25</td>',
                     section(html, "whatif"))


def test_report_cli_and_missing_run(fresh, tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    assert cli(monkeypatch, "report", fresh, "--out", out, "--lang", "en") == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="en">' in text
    with pytest.raises(InputNotFoundError, match="no run.json"):
        build_report(tmp_path)
    assert cli(monkeypatch, "report", tmp_path) == 2


def test_every_run_parameter_has_a_source(run_dir):
    params = json.loads((run_dir / "run.json").read_text())["parameters"]
    missing = [k for k in params if parameter_source(k) == NO_SOURCE]
    assert missing == []
    assert "report.required_covered_pct.outdoor" in params


@pytest.mark.parametrize("key, expected, assumed", [
    ("radio.dl_freq_mhz", "ETSI EN 300 392-2", False),
    ("profiles.in_car.ms_sensitivity_dbm", "-103 dBm", False),
    ("profiles.x.bs_sensitivity_dbm", "-106 dBm", False),
    ("profiles.x.body_loss_db", "(assumed)", True),
    ("profiles.x.ms_tx_power_dbm", "class 3L", False),
    ("model.k_factor", "157 / (157 - dN)", False),
    ("terrain.dtm", "user input data", False),
    ("classes.poor_pct", "(assumed)", True),
    ("report.required_covered_pct.in_car", "default: none stated", False),
    ("report.sensitivity_db", "(assumed)", True),
    ("nonsense.key", NO_SOURCE, True),
])
def test_parameter_sources(key, expected, assumed):
    assert expected in parameter_source(key)
    assert is_assumed(key) is assumed


def test_formatting_and_editions():
    assert column_unit("covered_km2") == "km²" and column_unit("road_km") == "km"
    assert column_unit("d_ul_db") == "dB" and column_unit("i_dbm") == "dBm"
    assert column_unit("area_name") == "" and column_unit("covered_pct_base") == "%"
    assert column_unit("sole_server_km2") == "km²" and column_unit("n_pixels") == ""
    assert column_unit("limit_dbuv_m") == "dBµV/m"
    assert format_value(12.3456, "%") == "12,35" and format_value(12.3456, "%", "en") == "12.35"
    assert format_value(np.nan, "km²") == "–"
    assert format_value(np.int64(3)) == "3" and format_value(True) == "ja"
    assert format_value(45.33378982543945) == "45,33" and format_value(-0.001, "%") == "0,00"
    assert format_quantity(392.5, "MHz", "en") == "392.5 MHz"
    assert format_quantity([150000.0, 450000.5], "m") == "150000; 450000,5 m"
    assert format_quantity((), "") == "–"
    recs = {e["edition"] for e in model_editions()}
    assert "ITU-R P.525-4" in recs and "ITU-R P.2109-2" in recs


def test_report_shows_validation_status_and_limitations(run_dir):
    text = visible_text((run_dir / "report.html").read_text())
    assert "Validatiestatus" in text and "Beperkingen" in text
    assert "ITU-R P.1812-8" in text and "45 van 45 gevallen" in text
    assert "troposcatter, ducting" in text
    # what the validation covers, stated honestly
    assert "zegt niets over hoe goed de aanbeveling het echte signaal" in text


# --------------------------------------------------------------------------- A4 print
class _Headers(HTMLParser):
    """Text of every table header cell."""

    def __init__(self):
        super().__init__()
        self.headers: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "th":
            self._in, self._text = True, ""

    def handle_endtag(self, tag):
        if tag == "th" and self._in:
            self.headers.append(" ".join(self._text.split()))
            self._in = False

    def handle_data(self, data):
        if self._in:
            self._text += data


def print_to_pdf(html_path: Path, pdf: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make venv` installs it (Debian package)"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={pdf.parent / 'chromium-profile'}",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                    html_path.resolve().as_uri()], check=True, capture_output=True,
                   timeout=180)
    assert pdf.stat().st_size > 0


def pdf_words(pdf: Path) -> list[tuple[int, float, float, str, float, float]]:
    """(page, page width, page height, word, xMin, xMax) of every word, via pdftotext -bbox."""
    assert shutil.which("pdftotext"), "pdftotext is missing: `make venv` installs poppler-utils"
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    words = []
    for i, page in enumerate(re.findall(r"<page (.*?)</page>", out, re.S)):
        w = float(re.search(r'width="([\d.]+)"', page).group(1))
        h = float(re.search(r'height="([\d.]+)"', page).group(1))
        for xmin, xmax, word in re.findall(
                r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)" yMax="[\d.-]+">'
                r"(.*?)</word>", page):
            words.append((i, w, h, html_lib.unescape(word), float(xmin), float(xmax)))
    return words


def clipped_headers(html_path: Path, pdf: Path) -> list[str]:
    """Header cells whose words do not all appear inside the printed pages."""
    parser = _Headers()
    parser.feed(html_path.read_text(encoding="utf-8"))
    words = pdf_words(pdf)
    inside = {word for _, w, _, word, x0, x1 in words if x0 >= 0 and x1 <= w + 0.5}
    return [h for h in parser.headers if not all(part in inside for part in h.split())]


@pytest.mark.browser
def test_a4_print_shows_every_column(fresh, tmp_path):
    _add_optional_files(fresh)
    report = build_report(fresh, tmp_path / "report.html")
    pdf = tmp_path / "report.pdf"
    print_to_pdf(report, pdf)
    words = pdf_words(pdf)
    pages = {(p, w, h) for p, w, h, *_ in words}
    assert all(round(min(w, h)) == 595 and round(max(w, h)) == 842 for _, w, h in pages)  # A4
    assert any(w > h for _, w, h in pages), "wide sections print on landscape pages"
    assert all(x0 >= 0 and x1 <= w + 0.5 for _, w, _, _, x0, x1 in words), "text off the page"
    assert clipped_headers(report, pdf) == []
    # the check catches a table that is too wide for the page
    wide = tmp_path / "wide.html"
    cells = "".join(f"<th>column_number_{i:02d}_with_a_long_name</th>" for i in range(30))
    wide.write_text(f"<!DOCTYPE html><html><body><table><tr>{cells}</tr></table></body></html>")
    print_to_pdf(wide, tmp_path / "wide.pdf")
    assert len(clipped_headers(wide, tmp_path / "wide.pdf")) > 10


# --------------------------------------------------------------------------- scenario keys
def _scenario(tmp_path, report_toml: str) -> Path:
    return write_scenario(tmp_path, profiles="[profiles.a]\n\n[profiles.b]\nsigma_db = 5.5\n",
                          extra=report_toml)


def test_required_covered_pct_number_table_and_default(tmp_path):
    from c2000cov.scenario.config import load_scenario, scenario_parameters, scenario_to_toml

    scen = load_scenario(_scenario(tmp_path, "[report]\nrequired_covered_pct = 90\n"))
    assert scen.report.required_covered_pct == {"a": 90.0, "b": 90.0}
    assert scen.report.sensitivity_db == 3.0
    scen = load_scenario(_scenario(tmp_path, "[report.required_covered_pct]\nb = 97.5\n"))
    assert scen.report.required_covered_pct == {"b": 97.5}
    params = scenario_parameters(scen)
    assert params["report.required_covered_pct.b"] == 97.5
    assert "report.required_covered_pct.a" not in params and "origins" not in params
    assert scen.origins["report.required_covered_pct.b"] == "scenario"
    assert "profiles.b.sigma_db" in scen.origins and "profiles.a.sigma_db" not in scen.origins
    # written back and read again (evidence bundles rerun from this text)
    again = tmp_path / "again.toml"
    again.write_text(scenario_to_toml(scen))
    assert load_scenario(again).report == scen.report
    # nothing stated by default
    assert load_scenario(_scenario(tmp_path, "")).report.required_covered_pct == {}


@pytest.mark.parametrize("toml, message", [
    ("[report]\nrequired_covered_pct = {c = 90.0}\n",
     "report.required_covered_pct.c names no profile; the profiles are: a, b"),
    ("[report]\nrequired_covered_pct = {a = 120.0}\n",
     r"report.required_covered_pct.a must be a share of the area in % \(0 < x <= 100\), got 120"),
    ("[report]\nrequired_covered_pct = {a = \"hoog\"}\n",
     "report.required_covered_pct.a must be a number, got 'hoog'"),
    ("[report]\nrequired_covered_pct = [90]\n",
     "report.required_covered_pct must be a table of numbers"),
    ("[report]\nsensitivity_db = -1.0\n", "report.sensitivity_db must be >= 0 dB, got -1.0"),
    ("[report]\nrequired_pct = 90\n", "unknown key report.required_pct; valid keys in "
     r"\[report\] are: required_covered_pct, sensitivity_db"),
])
def test_report_keys_are_checked(tmp_path, toml, message):
    from c2000cov.errors import ScenarioError
    from c2000cov.scenario.config import load_scenario

    with pytest.raises(ScenarioError, match=message):
        load_scenario(_scenario(tmp_path, toml))


def test_default_values():
    from c2000cov.scenario.config import default_value

    assert default_value("profiles.in_car.body_loss_db") == (True, 5.0)
    assert default_value("model.k_factor") == (True, 157.0 / 117.0)  # dN = 40
    assert default_value("output.dir") == (True, "out")
    assert default_value("terrain.dtm") == (False, None)
    assert default_value("report.required_covered_pct.in_car") == (False, None)
    assert default_value("report.sensitivity_db") == (True, 3.0)
