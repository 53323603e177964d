"""The map's drive-test and field-report layers, from a calibrated and validated run.

The drive test is built with known residuals: each point is the run's own predicted
level plus one of seven residuals (5 points each, mean 0, so the fitted global offset
is 0 and the calibrated run predicts the uncalibrated levels); the map must colour
each point by that residual. The field reports are pixel centres of known class, so
which lie in a dead zone is known.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from c2000cov.analysis.coverage import CLASS_GOOD, CLASS_NONE
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.calibrate import calibrate, validate
from c2000cov.pipeline.run import run_scenario
from c2000cov.products.maps import build_map_from_run, map_data
from c2000cov.products.maps.field import RESIDUAL_BINS_DB, residual_colour
from c2000cov.products.runfolder import read_run_folder
from c2000cov.scenario.config import load_scenario
from tests.products.maps.test_browser import MapPage, browser  # noqa: F401 (fixture)
from tests.scenarios import run_cli, write_scenario

PROFILES = "[profiles.in_car]\nh_rx_m = 1.5\nextra_loss_db = 58.0\n"
#: The designed residuals (dB), one per colour bin, away from the bin edges.
RESIDUALS_DB = (-15.0, -9.0, -4.0, 0.0, 4.0, 9.0, 15.0)
PER_BIN = 5
#: Expected colour of each designed residual: the bins of RdBu, red (weaker) to blue.
EXPECTED = {-15.0: "#b2182b", -9.0: "#ef8a62", -4.0: "#fddbc7", 0.0: "#f7f7f7",
            4.0: "#d1e5f0", 9.0: "#67a9cf", 15.0: "#2166ac"}
N_FAIL_IN, N_FAIL_OUT, N_OK_IN, N_OK_OUT = 3, 2, 1, 4


def _band(run_dir, name):
    with rasterio.open(run_dir / "p_cover_in_car.tif") as src:
        return src.read(list(src.descriptions).index(name) + 1), src.transform


@pytest.fixture(scope="module")
def field_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fieldmap")
    scen_path = write_scenario(tmp, profiles=PROFILES)
    scen = load_scenario(scen_path)
    run_scenario(scen, tmp / "base", cache_dir=tmp / "cache")
    level, transform = _band(tmp / "base", "best_signal_dl_dbm")
    rng = np.random.default_rng(7)
    rows, cols = np.nonzero(np.isfinite(level))
    pick = rng.choice(len(rows), len(RESIDUALS_DB) * PER_BIN, replace=False)
    r, c = rows[pick], cols[pick]
    designed = np.repeat(RESIDUALS_DB, PER_BIN)
    x, y = transform @ (c + 0.5, r + 0.5)
    pd.DataFrame({"x_m": x, "y_m": y, "rssi_dbm": np.round(level[r, c] + designed, 2),
                  "mast_id": "M01"}).to_csv(tmp / "drive.csv", index=False)
    cal = calibrate(scen, tmp / "drive.csv", tmp / "cal", cache_dir=tmp / "cache")
    run_dir = tmp / "run"
    assert run_cli(pytest.MonkeyPatch(), "run", scen_path, "--out", run_dir, "--quiet",
                   "--no-map", "--cache-dir", tmp / "cache", "--calibration",
                   tmp / "cal" / "calibration.toml") == 0
    # field reports: pixel centres of class none (in a dead zone) and good (outside)
    with rasterio.open(run_dir / "class_in_car.tif") as src:
        cls = src.read(1)
    dz = gpd.read_file(run_dir / "dead_zones.gpkg", layer="in_car")
    zone = shapely.union_all(dz.geometry.values)

    def centres(code, n):
        rr, cc = np.nonzero(cls == code)
        k = rng.choice(len(rr), n, replace=False)
        return np.column_stack(transform @ (cc[k] + 0.5, rr[k] + 0.5))

    none_pts = centres(CLASS_NONE, N_FAIL_IN + N_OK_IN)
    good_pts = centres(CLASS_GOOD, N_FAIL_OUT + N_OK_OUT)
    pts = np.vstack([none_pts, good_pts])
    status = (["fail"] * N_FAIL_IN + ["ok"] * N_OK_IN + ["fail"] * N_FAIL_OUT
              + ["ok"] * N_OK_OUT)
    ids = [f"MK-{i:03d}" for i in range(len(status))]
    pd.DataFrame({"x_m": pts[:, 0], "y_m": pts[:, 1], "status": status, "report_id": ids}).to_csv(
        tmp / "reports.csv", index=False)
    validate(run_dir, tmp / "reports.csv")
    inside = shapely.contains_xy(zone, pts[:, 0], pts[:, 1])
    return {"tmp": tmp, "run": run_dir, "base": tmp / "base", "cal": cal, "designed": designed,
            "rssi": np.round(level[r, c] + designed, 2), "status": status, "inside": inside}


def test_fit_is_zero_offset_by_design(field_run):
    assert field_run["cal"].summary["offsets_db"]["global"] == pytest.approx(0.0, abs=0.01)
    assert field_run["cal"].summary["n_pixels"] == len(RESIDUALS_DB) * PER_BIN


def test_measurement_layer_colours_each_point_by_its_residual(field_run):
    data = map_data(read_run_folder(field_run["run"]))
    feats = data["static"]["measurements"]["features"]
    assert len(feats) == len(RESIDUALS_DB) * PER_BIN
    # points share their bin's style and the popup's labels (the page data's styles, popups)
    fill = [(f["properties"]["residual_db"], data["styles"][f["properties"]["_s"]]["fillColor"])
            for f in feats]
    assert Counter(c for _, c in fill) == Counter({EXPECTED[r]: PER_BIN for r in RESIDUALS_DB})
    by_res = sorted(fill)
    for (res, colour), want in zip(by_res, np.sort(field_run["designed"]), strict=True):
        assert res == pytest.approx(want, abs=0.02)
        assert colour == EXPECTED[want]
    # the popup gives measured and predicted in dBm, the residual in dB
    template = data["popups"][feats[0]["properties"]["_p"]["tpl"]]
    assert template["title"] == "Meetpunt rijmeting"
    rows = [(f["properties"]["residual_db"], dict(zip(template["labels"],
                                                      f["properties"]["_p"]["v"], strict=True)))
            for f in feats]
    measured = {f"{v:.1f} dBm" for v in field_run["rssi"]}
    for res, popup in rows:
        assert popup["Gemeten (mediaan)"] in measured
        m = float(popup["Gemeten (mediaan)"].split()[0])
        p = float(popup["Voorspeld (deze berekening)"].split()[0])
        assert m - p == pytest.approx(res, abs=0.11)
        text = popup["Gemeten − voorspeld"]
        assert text.endswith(" dB") and text[0] in "+-"
        assert float(text.split()[0]) == pytest.approx(res, abs=0.051)
        assert text != "-0.0 dB"
    themes = {t["id"]: t["on"] for t in data["themes"]}
    assert themes["measurements"] is False and themes["fieldreports"] is True


def test_field_report_layer_marks_failures_and_dead_zones(field_run):
    data = map_data(read_run_folder(field_run["run"]))
    feats = data["static"]["fieldreports"]["features"]
    assert len(feats) == len(field_run["status"])
    assert Counter(f["properties"]["status"] for f in feats) == Counter(field_run["status"])
    want = Counter(zip(field_run["status"], field_run["inside"].tolist(), strict=True))
    got = Counter((f["properties"]["status"], f["properties"]["in_dead_zone"]) for f in feats)
    assert got == want == Counter({("fail", True): N_FAIL_IN, ("ok", True): N_OK_IN,
                                   ("fail", False): N_FAIL_OUT, ("ok", False): N_OK_OUT})
    fail = [f for f in feats if f["properties"]["status"] == "fail"]
    assert {f["properties"]["_s"]["fillColor"] for f in fail} == {"#d7191c"}
    assert sorted(f["properties"]["_p"]["title"] for f in feats) == [
        f"Melding MK-{i:03d}" for i in range(len(feats))]
    popups = [dict(f["properties"]["_p"]["rows"]) for f in fail if f["properties"]["in_dead_zone"]]
    assert all(p["Melding"] == "geen bereik" and p["Voorspelde dekkingsklasse"] == "geen dekking"
               and p["In voorspelde zone onder de doelwaarde"] == "ja" for p in popups)
    legend = {s["theme"]: s for s in data["legend"] if s.get("theme") in (
        "measurements", "fieldreports")}
    assert [i[1] for i in legend["fieldreports"]["items"]] == [
        f"geen bereik gemeld ({N_FAIL_IN + N_FAIL_OUT})",
        f"verbinding in orde ({N_OK_IN + N_OK_OUT})"]
    assert len(legend["measurements"]["items"]) == len(RESIDUAL_BINS_DB)
    assert legend["measurements"]["items"][0][1] == "≥ +12 dB: sterker gemeten"


def test_public_and_uncalibrated_maps_have_no_field_layers(field_run):
    public = map_data(read_run_folder(field_run["run"]), public=True)
    assert "measurements" not in public["static"] and "fieldreports" not in public["static"]
    assert "styles" not in public and "popups" not in public
    base = map_data(read_run_folder(field_run["base"]))
    assert "measurements" not in base["static"]


def test_residual_colour_bins():
    assert residual_colour(12.0) == "#2166ac" and residual_colour(11.99) == "#67a9cf"
    assert residual_colour(-2.0) == "#f7f7f7" and residual_colour(-2.01) == "#fddbc7"
    assert residual_colour(-40.0) == "#b2182b"


def test_report_shows_calibration_and_validation(field_run):
    text = (field_run["run"] / "report.html").read_text(encoding="utf-8")
    table = pd.read_csv(field_run["run"] / "validation.csv")
    dead = table[table["zone"] == "dead_zones"].iloc[0]
    assert int(dead["n_fail_inside"]) == N_FAIL_IN and int(dead["n_fail"]) == 5
    assert f"{N_FAIL_IN}/{N_FAIL_IN + N_FAIL_OUT}" in text
    summary = json.loads((field_run["tmp"] / "cal" / "calibration.json").read_text())
    assert f"{summary['rmse_db_before']:.2f}".replace(".", ",") in text
    n = len(RESIDUALS_DB) * PER_BIN  # counts without decimals
    assert re.search(rf"<td>metingen</td>\s*<td[^>]*>{n}</td>", text)
    assert re.search(rf"<td>pixels met metingen</td>\s*<td[^>]*>{n}</td>", text)


@pytest.mark.browser
def test_field_layers_in_the_browser(field_run, browser, tmp_path):  # noqa: F811
    path = build_map_from_run(field_run["run"], tmp_path / "field.html")
    mp = MapPage(browser, path)
    try:
        mp.clean()
        assert "Rijmeting: gemeten − voorspeld" in mp.theme_labels()
        assert mp.page.locator("path.c2k-meas").count() == 0  # off when the page opens
        assert mp.page.locator("path.c2k-report-fail").count() == N_FAIL_IN + N_FAIL_OUT
        assert mp.page.locator("path.c2k-report-ok").count() == N_OK_IN + N_OK_OUT
        mp.toggle("measurements", True)
        paths = mp.page.locator("path.c2k-meas")
        assert paths.count() == len(RESIDUALS_DB) * PER_BIN
        fills = Counter(paths.evaluate_all("els => els.map(e => e.getAttribute('fill'))"))
        assert fills == Counter({EXPECTED[r]: PER_BIN for r in RESIDUALS_DB})
        legend = mp.page.locator("#c2k-legend").inner_text()
        assert "gemeten − voorspeld (dB), 35 punten" in legend
        assert "geen bereik gemeld (5)" in legend
        latlon = mp.page.evaluate(
            "() => { const l = c2k.layers.measurements.getLayers()[0].getLatLng();"
            " return [l.lat, l.lng]; }")
        mp.click_at(latlon, zoom=17)
        popup = mp.popup_text()
        assert "Meetpunt rijmeting" in popup and "Gemeten (mediaan)" in popup
        assert "Gemeten − voorspeld" in popup and "dBm" in popup and " dB" in popup
        mp.toggle("measurements", False)
        assert mp.page.locator("path.c2k-meas").count() == 0
        mp.clean()
    finally:
        mp.page.close()


def test_bundle_of_a_calibrated_validated_run_carries_the_calibration(field_run, tmp_path):
    import zipfile

    from c2000cov.products.bundle import make_bundle
    from c2000cov.products.verify import verify_bundle

    zip_path = make_bundle(field_run["run"], tmp_path / "evidence.zip")
    report = verify_bundle(zip_path)
    assert report.ok, report.problems
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        toml = zf.read("inputs/calibration.path/calibration.toml")
        table = zf.read("validation.csv")
    assert toml == (field_run["tmp"] / "cal" / "calibration.toml").read_bytes()
    assert table == (field_run["run"] / "validation.csv").read_bytes()
    assert {"validation.gpkg", "report.html", "run.json"} <= names
    # the run recomputed from the bundle alone (calibration applied) matches bit for bit;
    # validate's files are carried, not recomputed
    from c2000cov.pipeline.rerun import rerun_bundle

    assert rerun_bundle(zip_path, tmp_path) == []


def test_calibrate_fills_the_cache_the_run_needs(field_run, tmp_path):
    """Calibrate stores the uplink windows too, so the run after it computes no window."""
    scen = load_scenario(field_run["tmp"] / "scenario.toml")
    cache = tmp_path / "cache"
    calibrate(scen, field_run["tmp"] / "drive.csv", tmp_path / "cal", cache_dir=cache)
    entries = LossCache(cache).entry_paths()  # loss windows
    assert len(entries) == 2  # one mast: downlink and uplink at 1.5 m
    run_scenario(scen, tmp_path / "run", cache_dir=cache)
    assert LossCache(cache).entry_paths() == entries
