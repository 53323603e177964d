"""Bad input: every case exits with status 2, one line naming the input, and writes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from c2000cov.cli import main
from tests.scenarios import MAST_HEADER, write_dtm, write_scenario


def run_cli(args: list[str], capsys, monkeypatch) -> tuple[int, str]:
    """Run the console entry point in-process; return (exit status, stderr)."""
    monkeypatch.setattr(sys, "argv", ["c2000cov", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().err


def check_error(scenario: Path, expected: list[str], capsys, monkeypatch) -> str:
    code, err = run_cli(["run", str(scenario), "--quiet", "--no-map"], capsys, monkeypatch)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert "Traceback" not in err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    out = scenario.parent / "out"
    assert not out.exists() or not any(out.iterdir()), "an output was written on bad input"
    return err


def test_missing_dtm(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    (tmp_path / "dtm.tif").unlink()
    check_error(scen, ["terrain DTM file", "dtm.tif", "does not exist"], capsys, monkeypatch)


def test_missing_scenario_file(tmp_path, capsys, monkeypatch):
    code, err = run_cli(["run", str(tmp_path / "nope.toml")], capsys, monkeypatch)
    assert code == 2
    assert "scenario file" in err and "nope.toml" in err and "does not exist" in err


def test_raster_without_crs(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    write_dtm(tmp_path / "dtm.tif", np.zeros((200, 200)), crs=None)
    check_error(scen, ["dtm.tif", "has no CRS", "gdal_edit.py -a_srs EPSG:28992"], capsys,
                monkeypatch)


def test_dtm_all_nodata(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    write_dtm(tmp_path / "dtm.tif", np.full((200, 200), -9999.0))
    check_error(scen, ["dtm.tif", "every cell is nodata", "-9999"], capsys, monkeypatch)


def test_mast_outside_terrain(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, masts_rows=["M01,Far,170000,450100,30,44,11,8,3"])
    check_error(scen, ["masts.csv row 1", "M01", "(170000.0, 450100.0)",
                       "outside the terrain extent [150000, 450000, 154000, 454000]"],
                capsys, monkeypatch)


@pytest.mark.parametrize("value, message", [
    ("abc", "h_agl_m must be a number, got 'abc'"),
    ("-3", "h_agl_m must be > 0, got -3"),
])
def test_bad_mast_height(tmp_path, capsys, monkeypatch, value, message):
    rows = ["M01,A,151000,451000,30,44,11,8,3", f"M02,B,152000,452000,{value},44,11,8,3"]
    scen = write_scenario(tmp_path, masts_rows=rows)
    check_error(scen, ["masts.csv row 2 (mast_id M02)", message], capsys, monkeypatch)


def test_duplicate_mast_id(tmp_path, capsys, monkeypatch):
    rows = ["M01,A,151000,451000,30,44,11,8,3", "M02,B,152000,452000,30,44,11,8,3",
            "M01,C,153000,453000,30,44,11,8,3"]
    scen = write_scenario(tmp_path, masts_rows=rows)
    check_error(scen, ["masts.csv row 3", "duplicate mast_id 'M01'", "first at row 1"],
                capsys, monkeypatch)


def test_empty_masts_file(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    (tmp_path / "masts.csv").write_text(MAST_HEADER + "\n")
    check_error(scen, ["masts.csv", "no masts"], capsys, monkeypatch)


def test_masts_file_missing_column(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    (tmp_path / "masts.csv").write_text("mast_id,x_m,y_m,h_agl_m\nM01,151000,451000,30\n")
    check_error(scen, ["masts.csv", "lacks column(s) tx_power_dbm, gain_dbi, tx_loss_db, "
                       "rx_loss_db"], capsys, monkeypatch)


def test_invalid_area_geometry(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, with_areas=True)
    bowtie = Polygon([(150000, 450000), (152000, 452000), (152000, 450000), (150000, 452000)])
    gpd.GeoDataFrame({"name": ["ok", "bowtie"]},
                     geometry=[box(150000, 450000, 151000, 451000), bowtie],
                     crs="EPSG:28992").to_file(tmp_path / "areas.gpkg", driver="GPKG")
    check_error(scen, ["areas.gpkg row 2", "invalid geometry", "Self-intersection"], capsys,
                monkeypatch)


def test_empty_area_geometry(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, with_areas=True)
    gpd.GeoDataFrame({"name": ["ok", "empty"]},
                     geometry=[box(150000, 450000, 151000, 451000), Polygon()],
                     crs="EPSG:28992").to_file(tmp_path / "areas.gpkg", driver="GPKG")
    check_error(scen, ["areas.gpkg row 2", "empty geometry"], capsys, monkeypatch)


def test_unknown_scenario_key(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    scen.write_text(scen.read_text().replace("radius_m", "radius_km"))
    check_error(scen, ["scenario.toml", "unknown key model.radius_km",
                       "valid keys in [model] are: name, radius_m"], capsys, monkeypatch)


def test_wrong_typed_scenario_value(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    scen.write_text(scen.read_text().replace("radius_m = 3000.0", 'radius_m = "far"'))
    check_error(scen, ["scenario.toml", "model.radius_m must be a number, got 'far'"],
                capsys, monkeypatch)


def test_missing_scenario_key(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    scen.write_text(scen.read_text().replace("resolution_m = 20.0", ""))
    check_error(scen, ["scenario.toml", "missing key scenario.resolution_m",
                       "required keys in [scenario] are: name, resolution_m"],
                capsys, monkeypatch)


def test_unknown_model_name(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, model="itm")
    check_error(scen, ["scenario.toml", "model.name = 'itm' is not a valid choice",
                       "choose one of: fspl, hata, p1812"], capsys, monkeypatch)


def test_unknown_model_name_from_flag(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    code, err = run_cli(["run", str(scen), "--model", "cost231", "--quiet"], capsys, monkeypatch)
    assert code == 2
    assert "model.name = 'cost231' is not a valid choice" in err


def test_unknown_building_class(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, profiles='[profiles.indoor]\nindoor = true\n'
                          'building_class = "glass"\n')
    check_error(scen, ["profiles.indoor.building_class = 'glass'",
                       "traditional, thermally_efficient, by_year"], capsys, monkeypatch)
