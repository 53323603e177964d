"""Reader of the ITU-R SG3 measurement format and of the P.1812 validation logs."""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.files.sg3 import read_sg3, read_validation_log
from c2000cov.radio.validation import P1812_DATA_DIR

DATA_DIR = P1812_DATA_DIR
PROFILE_DIR = DATA_DIR / "validation_profiles"
RESULT_DIR = DATA_DIR / "validation_results"

# Parsed numbers must equal the file text exactly (float parsing only).
PARSE_TOL = 0.0


def test_rburg_header_profile_and_cases():
    f = read_sg3(PROFILE_DIR / "rburg.csv")
    assert f.name == "rburg"
    assert f.tx_lat_deg == 48.9947222222
    assert f.tx_lon_deg == 12.0772222222
    assert f.rx_lat_deg == 48.1869444444
    assert f.rx_lon_deg == 11.6297222222
    assert f.first_point_tx
    assert f.path_length_km == 96.2
    assert f.dn_n_units_km == 45.0
    assert f.n0_n_units == 323.947135
    assert f.distance_km.size == 963
    assert f.distance_km[:3].tolist() == [0.0, 0.1, 0.2]
    assert f.h_m[:3].tolist() == [395.0, 396.0, 408.0]
    assert f.distance_km[-1] == 96.2 and f.h_m[-1] == 496.0
    assert set(np.unique(f.zone)) == {4}
    assert len(f.cases) == 3
    c = f.cases[2]
    assert (c.index, c.freq_mhz, c.htg_m, c.hrg_m, c.pol) == (2, 98.2, 12.0, 19.0, 1)
    assert (c.erp_dbw, c.time_pct, c.loc_pct) == (22.0, 50.0, 50.0)
    assert c.ep_dbuv_m == pytest.approx(-1.58762765, abs=PARSE_TOL)
    assert c.lb_db == pytest.approx(172.78985740, abs=PARSE_TOL)
    assert c.htg_eff_m is None


def test_clutter_heights_and_coverage_codes():
    f = read_sg3(PROFILE_DIR / "rburg_urban_with_clutter.csv")
    assert f.r_m[:3].tolist() == [0.0, 30.0, 30.0]
    assert f.coverage_code[0] == 4
    assert [c.freq_mhz for c in f.cases] == [30.0, 90.0, 500.0, 1000.0, 3000.0, 6000.0]
    assert [c.time_pct for c in f.cases] == [1.0, 10.0, 50.0, 1.0, 20.0, 20.0]


def test_trailing_commas_are_accepted():
    f = read_sg3(PROFILE_DIR / "rburg_rural_with_clutter.csv")
    assert f.distance_km.size == 963
    assert len(f.cases) == 3
    assert f.r_m[0] == 10.0


def test_sea_zones_and_missing_erp_horizontal_column():
    f = read_sg3(PROFILE_DIR / "b2iseac.csv")
    assert (f.zone == 1).sum() == 163
    assert f.cases[0].erp_dbw == 30.0
    assert f.cases[0].erp_horiz_dbw is None


def _write_modified(tmp_path, lineno, new_text, src="rburg.csv"):
    lines = (PROFILE_DIR / src).read_text().splitlines()
    lines[lineno - 1] = new_text
    out = tmp_path / src
    out.write_text("\n".join(lines) + "\n")
    return out


def test_bad_number_names_file_line_and_field(tmp_path):
    path = _write_modified(tmp_path, 41, "x,408,2,0,4")
    with pytest.raises(
        InvalidInputError, match=r"^rburg\.csv line 41: expected a number for distance_km, got 'x'$"
    ):
        read_sg3(path)


def test_bad_height_in_profile(tmp_path):
    path = _write_modified(tmp_path, 45, "0.6,abc,2,0,4")
    with pytest.raises(InvalidInputError, match=r"rburg\.csv line 45: .* for h_m, got 'abc'"):
        read_sg3(path)


def test_non_monotonic_distance_in_file(tmp_path):
    path = _write_modified(tmp_path, 45, "0.3,430,2,0,4")
    with pytest.raises(
        InvalidInputError,
        match=r"rburg\.csv line 45: distance_km must increase along the profile, got 0\.3 after",
    ):
        read_sg3(path)


def test_point_count_mismatch(tmp_path):
    path = _write_modified(tmp_path, 38, "Number of Points:,964")
    with pytest.raises(
        InvalidInputError, match=r"rburg\.csv line 38: Number of Points says 964 but .* 963 rows"
    ):
        read_sg3(path)


def test_bad_measurement_value(tmp_path):
    path = _write_modified(tmp_path, 1009, "98.2,12,,19,1,,,,,,22,,22,,fifty,,-1.5,172.7")
    with pytest.raises(
        InvalidInputError, match=r"rburg\.csv line 1009: expected a number for time_pct"
    ):
        read_sg3(path)


def test_bad_radio_met_code(tmp_path):
    path = _write_modified(tmp_path, 41, "0.2,408,2,0,2")
    with pytest.raises(InvalidInputError, match=r"rburg\.csv line 41: radio_met_code must be 1"):
        read_sg3(path)


def test_missing_file():
    with pytest.raises(InputNotFoundError, match="does not exist"):
        read_sg3(PROFILE_DIR / "no_such_file.csv")


def test_validation_log_keys_and_duplicates():
    log = read_validation_log(RESULT_DIR / "rburg_urban_with_clutter_2_log.csv")
    assert log["ae (km)"] == 8930.776786
    assert log["f (GHz)"] == 0.5
    assert log["hst (m)"] == 408.6449283
    assert log["hst (m) Eq (90a)"] == 395.0
    assert log["htc (m)"] == 407.0
    assert log["htc (m) Eq (37a)"] == 44.46182993
    assert log["Lbulla (dB)"] == 60.00344357
    assert log["Lb (dB)"] == 203.8562392
    assert log["Ep (dBuV/m) w.r.t. Ptx"] == -18.51683907
