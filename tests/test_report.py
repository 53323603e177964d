"""HTML compliance report of a real run folder (synthetic scenario, `c2000cov run`)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct

import numpy as np
import pandas as pd
import pytest

from c2000cov.errors import InputNotFoundError
from c2000cov.report import build_report, column_unit, format_value, model_editions
from c2000cov.sources import NO_SOURCE, is_assumed, parameter_source
from tests.scenarios import run_cli as cli
from tests.scenarios import write_scenario

PROFILES = ('[profiles.outdoor]\nextra_loss_db = 37.5\n\n'
            '[profiles.indoor]\nextra_loss_db = 20.0\nindoor = true\n'
            'building_class = "by_year"\nyear_threshold = 2000\n')
EVIL = '<script>alert("x")</script>'




@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    scen = write_scenario(tmp, profiles=PROFILES, with_buildings=True, with_areas=True)
    mp = pytest.MonkeyPatch()
    try:
        assert cli(mp, "run", scen, "--out", tmp / "out", "--quiet", "--no-map") == 0
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


def test_report_lists_every_parameter_with_its_source(fresh):
    path = build_report(fresh)
    assert path == fresh / "report.html"
    html = path.read_text(encoding="utf-8")
    manifest = json.loads((fresh / "run.json").read_text())
    for key in manifest["parameters"]:
        assert f"<code>{key}</code>" in html, key
    row = re.search(r'<tr class="assumed">\s*<td><code>profiles\.outdoor\.body_loss_db</code>'
                    r'</td><td>5\.0</td>\s*<td>([^<]*)', html)
    assert row and "(assumed)" in row.group(1)
    row = re.search(r'<tr>\s*<td><code>profiles\.indoor\.ms_sensitivity_dbm</code></td>'
                    r'<td>-103\.0</td>\s*<td>([^<]*)', html)
    assert row and "ETSI EN 300 392-2" in row.group(1)
    # the scenario override is the value shown
    assert re.search(r"<code>profiles\.outdoor\.extra_loss_db</code></td><td>37\.5</td>", html)
    # model editions and software
    for rec in ("ITU-R P.525-4", "ITU-R P.1812-8", "ITU-R P.2108-1", "ITU-R P.2109-2"):
        assert rec in html
    assert "<code>model.k_factor</code></td><td>1.3333333333333333</td>" in html
    assert manifest["software"]["git_commit"] in html
    assert "@media print" in html


def test_report_area_tables_plots_and_dead_zones(fresh):
    html = build_report(fresh, top_n=1).read_text(encoding="utf-8")
    table = pd.read_csv(fresh / "areas_coverage.csv")
    west = table[(table["area_name"] == "West") & (table["profile"] == "outdoor")].iloc[0]
    assert "<th>covered_pct (%)</th>" in html and "<th>area_km2 (km²)</th>" in html
    assert f'<td class="num">{west["covered_pct"]:.2f}</td>' in html
    assert f'<td class="num">{west["covered_km2"]:.3f}</td>' in html
    pngs = images(html)
    assert len(pngs) == 2  # covered per area, CDF; no what-if in this run
    for png in pngs:
        chunks = png_chunk_types(png)
        assert b"tIME" not in chunks and b"Software" not in chunks
    # dead zones: top 1 per profile, the largest
    import geopandas as gpd

    dz = gpd.read_file(fresh / "dead_zones.gpkg", layer="outdoor")
    largest = dz.sort_values("area_km2", ascending=False).iloc[0]
    assert f"Profile outdoor: {len(dz)} zones" in html
    assert f"<td>{largest['zone_id']}</td>" in html
    assert "(largest 1 listed)" in html


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


def test_optional_sections(fresh):
    html = build_report(fresh).read_text(encoding="utf-8")
    for section in ('id="whatif"', 'id="sunny"', 'id="interference"'):
        assert section not in html
    table = pd.read_csv(fresh / "areas_coverage.csv")
    table["covered_pct_night"] = table["covered_pct"] + 1.5
    table["sunny_loss_pp"] = 1.5
    table.to_csv(fresh / "areas_coverage.csv", index=False)
    pd.DataFrame({"area_name": ["West", "East"], "profile": ["outdoor", "outdoor"],
                  "delta_covered_km2": [0.5, -0.25], "delta_covered_pct": [6.25, -3.125]}
                 ).to_csv(fresh / "delta_areas.csv", index=False)
    pd.DataFrame({"mast_id": ["M01", "M02"], "d_ul_db": [1.25, 7.5], "i_dbm": [-131.0, -121.0],
                  "n_dbm": [-126.0, -126.0], "top1_pv_id": ["PV7", "PV9"],
                  "top1_share_pct": [80.0, 99.0]}).to_csv(fresh / "masts_interference.csv",
                                                           index=False)
    pd.DataFrame({"mast_id": ["M01", "M02"], "lost_km2": [1.5, 3.25], "lost_pct": [10.0, 20.0],
                  "areas_affected": ["West", "East; West"]}).to_csv(fresh / "n1_outage.csv",
                                                                    index=False)
    html = build_report(fresh).read_text(encoding="utf-8")
    for section in ('id="whatif"', 'id="sunny"', 'id="interference"', 'id="n1"'):
        assert section in html
    assert len(images(html)) == 3  # + before/after
    west = table[(table["area_name"] == "West") & (table["profile"] == "outdoor")].iloc[0]
    # before = after - delta
    assert f'<td class="num">{west["covered_pct"] - 6.25:.2f}</td>' in html
    # noise rise sorted worst first; N-1 sorted by lost area
    assert html.index("<td>PV9</td>") < html.index("<td>PV7</td>")
    n1 = html[html.index('id="n1"'):]
    assert n1.index("<td>M02</td>") < n1.index("<td>M01</td>")
    assert "<td>East; West</td>" in n1
    # the what-if module's delta_areas.csv carries base and new percentages: shown as they are
    pd.DataFrame({"area_name": ["West"], "profile": ["outdoor"], "covered_km2_base": [1.0],
                  "covered_km2_new": [1.5], "delta_covered_km2": [0.5],
                  "covered_pct_base": [12.5], "covered_pct_new": [18.75],
                  "delta_covered_pct": [6.25]}).to_csv(fresh / "delta_areas.csv", index=False)
    html = build_report(fresh).read_text(encoding="utf-8")
    whatif = html[html.index('id="whatif"'):html.index('id="sunny"')]
    assert re.search(r'<td>West</td><td>outdoor</td><td class="num">12\.50</td>'
                     r'<td class="num">18\.75</td><td class="num">6\.25</td>', whatif)


def test_report_cli_and_missing_run(fresh, tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    assert cli(monkeypatch, "report", fresh, "--out", out) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(InputNotFoundError, match="no run.json"):
        build_report(tmp_path)
    assert cli(monkeypatch, "report", tmp_path) == 2


def test_every_run_parameter_has_a_source(run_dir):
    params = json.loads((run_dir / "run.json").read_text())["parameters"]
    missing = [k for k in params if parameter_source(k) == NO_SOURCE]
    assert missing == []


@pytest.mark.parametrize("key, expected, assumed", [
    ("radio.dl_freq_mhz", "ETSI EN 300 392-2", False),
    ("profiles.in_car.ms_sensitivity_dbm", "-103 dBm", False),
    ("profiles.x.bs_sensitivity_dbm", "-106 dBm", False),
    ("profiles.x.body_loss_db", "(assumed)", True),
    ("profiles.x.ms_tx_power_dbm", "class 3L", False),
    ("model.k_factor", "4/3", False),
    ("terrain.dtm", "user input data", False),
    ("classes.poor_pct", "(assumed)", True),
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
    assert format_value(12.3456, "%") == "12.35"
    assert format_value(np.nan, "km²") == "–"
    assert format_value(np.int64(3)) == "3" and format_value(True) == "yes"
    recs = {e["edition"] for e in model_editions()}
    assert "ITU-R P.525-4" in recs and "ITU-R P.2109-2" in recs


def test_report_shows_validation_status_and_limitations(run_dir):
    html_text = (run_dir / "report.html").read_text()
    assert "Validation status" in html_text and "Limitations" in html_text
    assert "ITU-R P.1812-8" in html_text
    assert "45 of\n45</b> cases" in html_text or "45 of 45" in " ".join(html_text.split())
    assert "troposcatter, ducting" in html_text
