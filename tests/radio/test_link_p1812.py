"""c2000cov.radio.link: P.1812-8 over SG3 files and plain profile CSVs."""

from __future__ import annotations

import math

import pytest

from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.radio.link import evaluate_profile_csv, evaluate_sg3
from c2000cov.radio.validation import P1812_DATA_DIR

DATA_DIR = P1812_DATA_DIR
RBURG = DATA_DIR / "validation_profiles" / "rburg_urban_with_clutter.csv"

# Tolerance of this file: reference values of the SG3 files (dB).
LB_TOL_DB = 0.1


def test_evaluate_sg3_single_case_tetra_like_row():
    rows = evaluate_sg3(RBURG, case=2)  # the 500 MHz row, nearest to TETRA
    assert len(rows) == 1
    row = rows[0]
    assert row["case"] == 2 and row["file"] == "rburg_urban_with_clutter.csv"
    assert row["itu_rec"] == "ITU-R P.1812-8"
    assert abs(row["lb_db"] - 203.85623915) <= LB_TOL_DB, row["lb_dev_db"]
    assert abs(row["ep_dbuv_m"] - -18.51683907) <= LB_TOL_DB, row["ep_dev_dbuv_m"]
    for key in ("lbfs_db", "lbd_db", "lbs_db", "lba_db", "lbulla_db", "ldsph_db", "ae_km"):
        assert math.isfinite(row[key])


def test_evaluate_sg3_all_cases_and_bad_case_index():
    assert [r["case"] for r in evaluate_sg3(RBURG)] == [0, 1, 2, 3, 4, 5]
    with pytest.raises(InvalidInputError, match=r"case must be 0\.\.5, got 6"):
        evaluate_sg3(RBURG, case=6)


def _write(tmp_path, text, name="path.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _flat_csv(dist_km=5.0, n=51, r=None):
    lines = ["d_km,h_m" + (",r_m" if r is not None else "")]
    for i in range(n):
        d = dist_km * i / (n - 1)
        lines.append(f"{d:.6f},0" + (f",{r}" if r is not None else ""))
    return "\n".join(lines) + "\n"


def test_profile_csv_defaults_line_of_sight(tmp_path):
    path = _write(tmp_path, _flat_csv())
    res = evaluate_profile_csv(path, 392.5, 100.0, 100.0)
    assert res["pol"] == 2  # vertical, as TETRA
    # one refractivity default for link and area runs: dN = 40, k50 = 157 / 117
    assert res["dn_n_units_km"] == 40.0 and res["n0_n_units"] == 325.0
    from c2000cov.scenario.schema import ModelConfig
    assert ModelConfig().k_factor == pytest.approx(157.0 / (157.0 - 40.0))
    assert res["phi_path_deg"] == pytest.approx(52.0, abs=0.01)
    assert res["path_type"] == "los"
    # Clear line of sight at p = pL = 50 %: free-space loss, eq. (8).
    expected = 92.4 + 20 * math.log10(0.3925) + 20 * math.log10(5.0)
    assert res["lb_db"] == pytest.approx(expected, abs=1e-9)


def test_profile_csv_clutter_adds_loss(tmp_path):
    bare = evaluate_profile_csv(_write(tmp_path, _flat_csv(5.0, 201), "a.csv"), 392.5, 30.0, 1.5)
    urban = evaluate_profile_csv(
        _write(tmp_path, _flat_csv(5.0, 201, r=15), "b.csv"), 392.5, 30.0, 1.5
    )
    assert urban["lb_db"] > bare["lb_db"] + 10.0


def test_profile_csv_bad_value_names_line(tmp_path):
    path = _write(tmp_path, "d_km,h_m\n0,1\n0.5,oops\n1.0,2\n")
    with pytest.raises(
        InvalidInputError, match=r"^path\.csv line 3: expected a number for h_m, got 'oops'$"
    ):
        evaluate_profile_csv(path, 392.5, 30.0, 1.5)


def test_profile_csv_non_monotonic(tmp_path):
    path = _write(tmp_path, "d_km,h_m\n0,1\n0.5,1\n0.4,2\n1.0,2\n")
    with pytest.raises(
        InvalidInputError, match=r"path\.csv line 4: d_km must increase along the profile"
    ):
        evaluate_profile_csv(path, 392.5, 30.0, 1.5)


def test_profile_csv_unknown_column_and_missing_file(tmp_path):
    path = _write(tmp_path, "d_km,h_m,height\n0,1,1\n0.5,1,1\n1,1,1\n")
    with pytest.raises(InvalidInputError, match=r"unknown column\(s\) \['height'\]"):
        evaluate_profile_csv(path, 392.5, 30.0, 1.5)
    with pytest.raises(InputNotFoundError):
        evaluate_profile_csv(tmp_path / "nope.csv", 392.5, 30.0, 1.5)


def test_profile_csv_frequency_out_of_range(tmp_path):
    path = _write(tmp_path, _flat_csv())
    with pytest.raises(InvalidInputError, match=r"freq_mhz must be within 30-6000 MHz"):
        evaluate_profile_csv(path, 10.0, 30.0, 1.5)
