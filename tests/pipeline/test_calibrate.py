"""`c2000cov calibrate` and `validate` end to end on a small synthetic scenario with land cover."""

from __future__ import annotations

import json
import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from scipy.stats import norm

from c2000cov.files.atomic import sha256_file
from c2000cov.files.calibration_file import calibration_landcover, read_calibration
from c2000cov.pipeline.calibrate import calibrate, validate
from c2000cov.pipeline.run import run_scenario
from c2000cov.products.runfolder import read_band
from c2000cov.scenario.config import load_scenario
from tests.scenarios import RD, run_cli, write_dtm, write_scenario

SIZE_PX, RES_M, X0, Y0 = 200, 20.0, 150000.0, 450000.0
MASTS = ["M01,West,150900,451900,30,44,11,8,3", "M02,East,153100,452100,25,44,11,8,3"]
PROFILES = "[profiles.in_car]\nh_rx_m = 1.5\nextra_loss_db = 45.0\n"
#: The truth of the synthetic measurements: total offset per land-cover class (dB).
TRUE_TOTAL_DB = {1: -2.0, 2: -7.0, 3: -4.0}
TRUE_SIGMA_DB = 4.0
JSON_KEYS = {"n_points", "n_pixels", "mean_error_db_before", "rmse_db_before",
             "mean_error_db_after", "rmse_db_after", "cv_rmse_db", "sigma_db", "offsets_db"}


def land_classes() -> np.ndarray:
    """Classes 1, 2, 3 in 400 m checkerboard patches (so every fold sees every class)."""
    i, j = np.indices((SIZE_PX, SIZE_PX)) // 20
    return (1 + (i + 2 * j) % 3).astype("uint8")


def level_band(run_dir, profile="in_car") -> np.ndarray:
    with rasterio.open(run_dir / f"p_cover_{profile}.tif") as src:
        return src.read(list(src.descriptions).index("best_signal_dl_dbm") + 1)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calib")
    scen_path = write_scenario(tmp, MASTS, profiles=PROFILES, size_px=SIZE_PX, res=RES_M,
                               radius_m=4000.0)
    lc = tmp / "landcover.tif"
    write_dtm(lc, land_classes().astype("float32"), res=RES_M, nodata=0)
    scen = load_scenario(scen_path)
    run_scenario(scen, tmp / "run", cache_dir=tmp / "cache")
    level = level_band(tmp / "run")
    # measurements: the run's own levels + the class truth + Gaussian noise, one per pixel
    rng = np.random.default_rng(15)
    flat = rng.choice(SIZE_PX * SIZE_PX, 2500, replace=False)
    row, col = np.divmod(flat, SIZE_PX)
    x = X0 + (col + 0.5) * RES_M
    y = Y0 + SIZE_PX * RES_M - (row + 0.5) * RES_M
    truth = np.array([TRUE_TOTAL_DB[c] for c in land_classes()[row, col]])
    rssi = level[row, col] + truth + rng.normal(0.0, TRUE_SIGMA_DB, len(flat))
    meas = pd.DataFrame({"x_m": x, "y_m": y, "rssi_dbm": np.round(rssi, 2)})
    meas.to_csv(tmp / "drive.csv", index=False)
    return {"tmp": tmp, "scen_path": scen_path, "scen": scen, "lc": lc, "level": level,
            "row": row, "col": col, "meas": meas}


@pytest.fixture(scope="module")
def fitted(case):
    return calibrate(case["scen"], case["tmp"] / "drive.csv", case["tmp"] / "cal",
                     landcover=case["lc"], cache_dir=case["tmp"] / "cache", slope=True)


def test_recovery_of_offsets_and_sigma(fitted):
    s = fitted.summary
    off = s["offsets_db"]
    for c, total in TRUE_TOTAL_DB.items():
        assert off["global"] + off[str(c)] == pytest.approx(total, abs=1.0)
    # global: the mean of the class totals over the points (classes equally common)
    assert off["global"] == pytest.approx(np.mean(list(TRUE_TOTAL_DB.values())), abs=1.0)
    assert abs(s["cv_rmse_db"] - TRUE_SIGMA_DB) < 0.5
    assert abs(s["sigma_db"]["global"] - TRUE_SIGMA_DB) < 0.5
    assert s["rmse_db_after"] < s["rmse_db_before"]
    assert abs(s["mean_error_db_after"]) < 1e-9
    assert s["n_points"] == 2500 and s["n_pixels"] == 2500
    assert abs(s["slope_fit"]["slope_db_per_decade"]) < 1.5  # no slope in the truth


def test_predictions_are_the_runs_levels(case, fitted):
    """The calibration predicts exactly what the run wrote (same windows, same budget)."""
    bins = fitted.bins
    meas = case["meas"]
    level = case["level"]
    col = ((bins["x_m"] - X0) // RES_M).astype(int)
    row = ((Y0 + SIZE_PX * RES_M - bins["y_m"]) // RES_M).astype(int)
    np.testing.assert_allclose(bins["predicted_dbm"], level[row, col], atol=0.006)
    assert len(meas) == len(bins)


def test_output_files(case, fitted):
    out = case["tmp"] / "cal"
    data = json.loads((out / "calibration.json").read_text())
    assert JSON_KEYS <= set(data)
    assert set(data["offsets_db"]) == {"global", "1", "2", "3"}
    cal = read_calibration(out / "calibration.toml")
    assert cal.offsets_db == pytest.approx(data["offsets_db"])
    assert cal.sigma_db == pytest.approx(data["sigma_db"])
    assert cal.figures["rmse_db_after"] == pytest.approx(data["rmse_db_after"])
    assert cal.landcover == case["lc"].resolve()
    page = (out / "calibration.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    pts = pd.read_csv(out / "calibration_points.csv")
    assert len(pts) == 2500
    np.testing.assert_allclose(pts["residual_db_before"] - pts["residual_db_after"],
                               [data["offsets_db"]["global"] + data["offsets_db"][str(c)]
                                for c in pts["land_class"]], atol=1e-4)


def test_applying_a_calibration_shifts_levels_and_sigma(case, tmp_path):
    tmp = case["tmp"]
    cal_path = tmp_path / "cal.toml"
    cal_path.write_text(f'[calibration]\nprofile = "in_car"\nlandcover = "{case["lc"]}"\n'
                        '[calibration.offsets_db]\nglobal = -3.0\n"2" = -2.5\n'
                        '[calibration.sigma_db]\nglobal = 5.0\n"3" = 6.5\n')
    text = case["scen_path"].read_text() + f'\n[calibration]\npath = "{cal_path}"\n'
    scen_path = tmp / "calibrated.toml"
    scen_path.write_text(text)
    run_scenario(load_scenario(scen_path), tmp_path / "run", cache_dir=tmp / "cache")
    before, after = case["level"], level_band(tmp_path / "run")
    lc = land_classes()
    expected = np.where(lc == 2, -5.5, -3.0)
    ok = np.isfinite(before)
    np.testing.assert_allclose((after - before)[ok], expected[ok], atol=0.011)
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["calibration"]["offsets_db"] == {"global": -3.0, "2": -2.5}
    assert manifest["calibration"]["sigma_db"] == {"global": 5.0, "3": 6.5}
    assert manifest["parameters"]["calibration.path"] == str(cal_path)
    # location probability: the base margin shifted by the offset, over the fitted σ
    with rasterio.open(tmp / "run" / "p_cover_in_car.tif") as src:
        p0 = src.read(1)
    with rasterio.open(tmp_path / "run" / "p_cover_in_car.tif") as src:
        p1 = src.read(1)
    mid = ok & (p0 > 0.02) & (p0 < 0.98)
    assert mid.sum() > 100
    margin0 = 8.0 * norm.ppf(p0[mid].astype(float))
    sigma = np.where(lc == 3, 6.5, 5.0)[mid]
    np.testing.assert_allclose(p1[mid], norm.cdf((margin0 + expected[mid]) / sigma), atol=2e-3)
    report = (tmp_path / "run" / "report.html").read_text()
    assert "Kalibratie op metingen" in report and "correctie klasse 2 (dB)" in report


def test_validate_hand_made_reports(case, tmp_path):
    run_dir = case["tmp"] / "run"
    cls = read_band(run_dir, "in_car", "class")[0]
    dz = gpd.read_file(run_dir / "dead_zones.gpkg", layer="in_car")
    assert len(dz) > 0
    zone = dz.geometry.union_all()
    inside_pt = zone.representative_point()
    # a point well inside the good class, far from any dead zone
    good = np.argwhere(cls == 3)
    r, c = good[len(good) // 2]
    gx, gy = X0 + (c + 0.5) * RES_M, Y0 + SIZE_PX * RES_M - (r + 0.5) * RES_M
    assert not zone.contains(gpd.points_from_xy([gx], [gy])[0])
    rows = ([("fail", inside_pt.x, inside_pt.y)] * 3 + [("fail", gx, gy)]
            + [("ok", gx, gy)] * 4 + [("ok", inside_pt.x, inside_pt.y)]
            + [("maybe", gx, gy), ("ok", 0.0, 0.0)])
    df = pd.DataFrame(rows, columns=["status", "x_m", "y_m"])
    df["time"] = range(len(df))  # distinct rows: none is a duplicate
    df.to_csv(tmp_path / "reports.csv", index=False)
    res = validate(run_dir, tmp_path / "reports.csv")
    t = res.table.set_index("zone")
    area_share = 100.0 * zone.area / ((cls != 255).sum() * RES_M ** 2)
    d = t.loc["dead_zones"]
    assert (d["n_fail"], d["n_fail_inside"], d["n_ok"], d["n_ok_inside"]) == (4, 3, 5, 1)
    assert d["fail_share_pct"] == 75.0 and d["ok_share_pct"] == 20.0
    assert d["area_share_pct"] == pytest.approx(area_share)
    assert d["lift"] == pytest.approx(75.0 / area_share)
    assert res.reports.rejected["unknown_status"] == 1
    assert res.reports.rejected["outside_grid"] == 1
    report = (run_dir / "report.html").read_text()
    assert "Meldingen uit het veld" in report and "in_car: dode zones" in report
    assert "<td class=\"num\">3/4</td>" in report
    read = gpd.read_file(run_dir / "validation.gpkg")
    assert len(read) == 9 and read["in_dead_zone"].sum() == 4


@pytest.mark.parametrize(("text", "message"), [
    ("x_m,y_m,rssi_dbm\n0,0,-80\n1,1,-90\n", "no usable measurement among 2 rows "
     "(outside_grid 2)"),
    ("x_m,y_m,rssi_dbm\n151000,451000,-300\n151000,451000,abc\n",
     "no usable measurement among 2 rows (no_level 1, absurd_level 1)"),
    ("x_m,y_m,level\n151000,451000,-80\n", "lacks column rssi_dbm"),
    ("a,b\n1,2\n", "needs columns x_m, y_m (scenario CRS) or lon_deg, lat_deg"),
])
def test_bad_measurement_files_exit_2_with_one_line(case, tmp_path, monkeypatch, capsys, text,
                                                    message):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    code = run_cli(monkeypatch, "calibrate", case["scen_path"], bad, "--out", tmp_path / "o")
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err and err.startswith("error: bad.csv")


def test_wgs84_points_and_cli(case, tmp_path, monkeypatch, capsys):
    from pyproj import Transformer

    meas = case["meas"].iloc[:400]
    lon, lat = Transformer.from_crs(RD, "EPSG:4326", always_xy=True).transform(
        meas["x_m"].to_numpy(), meas["y_m"].to_numpy())
    pd.DataFrame({"lon_deg": lon, "lat_deg": lat, "rssi_dbm": meas["rssi_dbm"],
                  "mast_id": "M01"}).to_csv(tmp_path / "wgs.csv", index=False)
    code = run_cli(monkeypatch, "calibrate", case["scen_path"], tmp_path / "wgs.csv",
                   "--out", tmp_path / "o")
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads((tmp_path / "o" / "calibration.json").read_text())
    assert data["n_points"] == 400
    assert set(data["by_mast"]) == {"M01"}  # the named mast, not the best one
    assert tomllib.loads((tmp_path / "o" / "calibration.toml").read_text())["calibration"][
        "offsets_db"] == {"global": pytest.approx(data["offsets_db"]["global"])}


def test_calibrate_takes_the_scenarios_landcover_by_default(case, fitted, tmp_path):
    """Without ``landcover=`` (the CLI's --landcover), the scenario's [landcover] raster
    gives the classes: the same fit as naming the raster."""
    text = case["scen_path"].read_text() + f'\n[landcover]\npath = "{case["lc"]}"\n'
    scen_path = case["tmp"] / "with_landcover.toml"
    scen_path.write_text(text)
    res = calibrate(load_scenario(scen_path), case["tmp"] / "drive.csv", tmp_path / "cal",
                    cache_dir=case["tmp"] / "cache")
    assert read_calibration(tmp_path / "cal" / "calibration.toml").landcover == \
        case["lc"].resolve()
    assert res.summary["offsets_db"] == pytest.approx(fitted.summary["offsets_db"], abs=1e-9)


def test_a_run_takes_the_class_codes_from_its_own_landcover_input(case, fitted, tmp_path):
    """calibration.toml names its raster by absolute path (the calibrating machine's) and
    by SHA-256. A scenario whose [landcover] is the same file (here a copy elsewhere, the
    calibrating machine's path gone) reads the classes from it: that file is a recorded
    input a bundle carries, so a rerun on another machine applies the same offsets."""
    lc_copy = tmp_path / "inputs" / "landcover.tif"
    lc_copy.parent.mkdir()
    lc_copy.write_bytes(case["lc"].read_bytes())
    text = (case["tmp"] / "cal" / "calibration.toml").read_text()
    assert f'landcover_sha256 = "{sha256_file(case["lc"])[0]}"' in text
    cal_path = tmp_path / "calibration.toml"
    cal_path.write_text(text.replace(json.dumps(str(case["lc"].resolve())),
                                     json.dumps(str(tmp_path / "gone" / "landcover.tif"))))
    cal = read_calibration(cal_path)
    assert calibration_landcover(cal, lc_copy) == lc_copy
    assert calibration_landcover(cal, None) == tmp_path / "gone" / "landcover.tif"
    other = tmp_path / "other.tif"  # a different raster: the calibration's own path stays
    write_dtm(other, (4 - land_classes()).astype("float32"), res=RES_M, nodata=0)
    assert calibration_landcover(cal, other) == tmp_path / "gone" / "landcover.tif"

    scen_path = case["tmp"] / "calibrated_copy.toml"
    scen_path.write_text(case["scen_path"].read_text()
                         + f'\n[landcover]\npath = "{lc_copy}"\n'
                         + f'\n[calibration]\npath = "{cal_path}"\n')
    run_scenario(load_scenario(scen_path), tmp_path / "run", cache_dir=case["tmp"] / "cache")
    off = fitted.summary["offsets_db"]
    expected = off["global"] + np.vectorize(lambda c: off[str(c)])(land_classes())
    before, after = case["level"], level_band(tmp_path / "run")
    ok = np.isfinite(before)
    np.testing.assert_allclose((after - before)[ok], expected[ok], atol=0.011)
