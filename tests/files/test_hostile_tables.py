"""Hostile table values: formula cells, spelled booleans, padded and duplicate ids,
non-finite numbers (issue #16)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from rasterio.crs import CRS
from shapely.geometry import Point

from c2000cov.errors import InvalidInputError, ScenarioError
from c2000cov.files.masts import read_masts
from c2000cov.files.pv import read_pv
from c2000cov.files.vectors import csv_text, escape_formula, write_csv
from c2000cov.scenario.changes import load_changes
from tests.scenarios import MAST_HEADER, RD

CRS_RD = CRS.from_user_input(RD)


@pytest.mark.parametrize(("cell", "written"), [
    ("=HYPERLINK(\"http://x\",\"klik\")", "'=HYPERLINK(\"http://x\",\"klik\")"),
    ("+31 cmd|' /C calc'!A0", "'+31 cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-3.5", "-3.5"),          # a number stays a number
    ("+31", "+31"),
    ("1e5", "1e5"),
    ("Utrecht = stad", "Utrecht = stad"),
    ("", ""),
])
def test_escape_formula(cell, written):
    assert escape_formula(cell) == written


def test_every_text_cell_of_a_written_csv_is_escaped(tmp_path):
    df = pd.DataFrame({"mast_id": ["=1+1", "M2"], "name": ["@x", "-y"], "h_agl_m": [-3.0, 40.0],
                       "n": [1, 2]})
    path = write_csv(tmp_path / "t.csv", df)
    back = pd.read_csv(path, dtype=str)
    assert back["mast_id"].tolist() == ["'=1+1", "M2"]
    assert back["name"].tolist() == ["'@x", "'-y"]
    assert back["h_agl_m"].tolist() == ["-3", "40"]  # numbers are not escaped
    assert df["mast_id"].tolist() == ["=1+1", "M2"]  # the caller's frame is untouched


def test_printed_csv_is_escaped_too():
    """`query --points` prints its CSV through csv_text: the same escaping as write_csv."""
    text = csv_text(pd.DataFrame({"id": ["=1+1", "P2"], "lon": [5.1, -5.2]}))
    assert text == "id,lon\n'=1+1,5.1\nP2,-5.2\n"


def _masts(tmp_path, rows: list[str]):
    path = tmp_path / "masts.csv"
    path.write_text(MAST_HEADER + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(("column", "value"), [("h_agl_m", "inf"), ("tx_power_dbm", "-inf"),
                                                ("x_m", "Infinity"), ("gain_dbi", "1e999")])
def test_non_finite_mast_values_are_refused(tmp_path, column, value):
    row = dict(zip(MAST_HEADER.split(","), "M01,A,151000,451000,30,44,11,8,3".split(","),
                   strict=True))
    row[column] = value
    path = _masts(tmp_path, [",".join(row.values())])
    with pytest.raises(InvalidInputError, match=f"masts.csv row 1 .*{column} must be a finite "
                                                "number"):
        read_masts(path, CRS_RD)


def test_mast_ids_are_trimmed_and_unique_after_trimming(tmp_path):
    gdf = gpd.GeoDataFrame({"mast_id": [" M01 ", "M02"], "h_agl_m": [30, 30],
                            "tx_power_dbm": [44, 44], "gain_dbi": [11, 11],
                            "tx_loss_db": [8, 8], "rx_loss_db": [3, 3]},
                           geometry=[Point(151000, 451000), Point(151500, 451000)], crs=RD)
    gdf.to_file(tmp_path / "masts.geojson")
    assert read_masts(tmp_path / "masts.geojson", CRS_RD)["mast_id"].tolist() == ["M01", "M02"]
    gdf["mast_id"] = ["M01", "M01 "]
    gdf.to_file(tmp_path / "dup.geojson")
    with pytest.raises(InvalidInputError, match="row 2: duplicate mast_id 'M01'"):
        read_masts(tmp_path / "dup.geojson", CRS_RD)
    gdf["mast_id"] = ["M01", "   "]
    gdf.to_file(tmp_path / "blank.geojson")
    with pytest.raises(InvalidInputError, match="row 2: mast_id is empty"):
        read_masts(tmp_path / "blank.geojson", CRS_RD)


def _pv(tmp_path, mitigated, ids=("P1", "P2")):
    gdf = gpd.GeoDataFrame({"pv_id": list(ids), "kwp": [10.0, 20.0],
                            "emission_db_over_limit": [10.0, 10.0], "mitigated": mitigated},
                           geometry=[Point(151000, 451000), Point(151500, 451000)], crs=RD)
    gdf.to_file(tmp_path / "pv.gpkg")
    return tmp_path / "pv.gpkg"


@pytest.mark.parametrize(("values", "expected"), [
    (["false", "true"], [False, True]), (["FALSE", "True"], [False, True]),
    (["nee", "ja"], [False, True]), (["0", "1"], [False, True]), (["no", "yes"], [False, True]),
    ([False, True], [False, True]), ([0, 1], [False, True]), ([None, "true"], [False, True]),
])
def test_pv_mitigated_accepts_booleans_and_documented_spellings(tmp_path, values, expected):
    assert read_pv(_pv(tmp_path, values), CRS_RD)["mitigated"].tolist() == expected


@pytest.mark.parametrize("value", ["maybe", "2", "onwaar"])
def test_pv_mitigated_refuses_anything_else(tmp_path, value):
    with pytest.raises(InvalidInputError, match=f"row 1 \\(pv_id P1\\): mitigated must be true "
                                                f"or false .*got '{value}'"):
        read_pv(_pv(tmp_path, [value, "true"]), CRS_RD)


def test_pv_ids_trimmed_and_unique(tmp_path):
    assert read_pv(_pv(tmp_path, [False, False], ids=(" P1", "P2 ")),
                   CRS_RD)["pv_id"].tolist() == ["P1", "P2"]
    with pytest.raises(InvalidInputError, match="row 2: duplicate pv_id 'P1'"):
        read_pv(_pv(tmp_path, [False, False], ids=("P1", " P1")), CRS_RD)


def test_unknown_add_mast_key_is_refused(tmp_path):
    path = tmp_path / "changes.toml"
    path.write_text('[[add_mast]]\nmast_id = "N1"\nx_m = 1.0\ny_m = 2.0\nh_agl_m = 30.0\n'
                    'tx_power_dbm = 44.0\ngain_dbi = 11.0\ntx_loss_db = 8.0\nrx_loss_db = 3.0\n'
                    'heigth_m = 40.0\n')
    with pytest.raises(ScenarioError, match=r"\[\[add_mast\]\] #1: unknown key heigth_m"):
        load_changes(path)
