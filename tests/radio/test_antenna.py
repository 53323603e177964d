"""Antenna patterns: MSI reading, gain toward targets, geometry helpers.

The test pattern is made here, written into tmp_path and read back:

* horizontal: A_h = min(12 (d/65)^2, 25) dB with d the angle off boresight,
  plus 0.5 dB on the right-hand side (1..179 deg) so that a sign error in the
  azimuth convention shows;
* vertical: electrical tilt 4 deg, A_v = min(12 ((v - 4)/10)^2, 20) dB with
  v the MSI vertical angle as a signed depression (0 = horizon, +90 = nadir,
  -90 = zenith, i.e. table index 270).
"""

import numpy as np
import pytest

from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.files.msi import DBD_TO_DBI_DB, AntennaPattern, read_msi, write_msi
from c2000cov.radio.antenna import (
    antenna_frame_angles_deg,
    bearing_deg,
    elevation_deg,
    gain_toward_dbi,
    omni_gain_dbi,
)

TOL_DB = 1e-6  # table values are written with 4 decimals, compared against the same table
TOL_FILE_DB = 5e-5  # written-to-file rounding

GAIN_DBD = 10.0
GAIN_DBI = GAIN_DBD + 2.15
ANGLES = np.arange(360)


def _h_table():
    off = np.minimum(ANGLES, 360 - ANGLES)
    att = np.minimum(12.0 * (off / 65.0) ** 2, 25.0)
    att[(ANGLES > 0) & (ANGLES < 180)] += 0.5
    return np.round(att, 4)


def _v_table():
    v = np.where(ANGLES < 180, ANGLES, ANGLES - 360)
    return np.round(np.minimum(12.0 * ((v - 4.0) / 10.0) ** 2, 20.0), 4)


H = _h_table()
V = _v_table()
CAP_DB = max(H.max(), V.max())  # 25.5


def _msi_text(h=H, v=V, header=None, h_count=360, v_count=360):
    lines = header or [
        "NAME Test sector 65/4",
        "MAKE Hand made",
        "FREQUENCY 390",
        "H_WIDTH 65",
        "V_WIDTH 14",
        "FRONT_TO_BACK 25",
        f"GAIN {GAIN_DBD} dBd",
        "TILT ELECTRICAL 4",
        "POLARIZATION +45",
        "COMMENT made by test_antenna.py",
    ]
    lines = list(lines) + [f"HORIZONTAL {h_count}"]
    lines += [f"{k} {a:.4f}" for k, a in enumerate(h)]
    lines += [f"VERTICAL {v_count}"]
    lines += [f"{k} {a:.4f}" for k, a in enumerate(v)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def pattern(tmp_path):
    path = tmp_path / "sector.msi"
    path.write_text(_msi_text())
    return read_msi(path)


# ---------------------------------------------------------------- reading


def test_read_back_header_and_tables(pattern, tmp_path):
    assert pattern.name == "Test sector 65/4"
    assert pattern.make == "Hand made"
    assert pattern.freq_mhz == 390.0
    assert pattern.gain_dbi == pytest.approx(GAIN_DBD + DBD_TO_DBI_DB, abs=1e-12)
    assert pattern.electrical_tilt_deg == 4.0
    assert pattern.h_width_deg == 65.0 and pattern.v_width_deg == 14.0
    assert pattern.front_to_back_db == 25.0
    assert pattern.polarization == "+45"
    assert pattern.source == str(tmp_path / "sector.msi")
    np.testing.assert_allclose(pattern.h_att_db, H, atol=TOL_FILE_DB)
    np.testing.assert_allclose(pattern.v_att_db, V, atol=TOL_FILE_DB)
    assert not pattern.h_att_db.flags.writeable


def test_gain_in_dbi_is_not_converted(tmp_path):
    path = tmp_path / "dbi.msi"
    path.write_text(_msi_text(header=["NAME x", "GAIN 11.5 dBi"]))
    assert read_msi(path).gain_dbi == 11.5


def test_gain_without_unit_is_dbd(tmp_path):
    path = tmp_path / "nounit.msi"
    path.write_text(_msi_text(header=["NAME x", "GAIN 8"]))
    assert read_msi(path).gain_dbi == pytest.approx(10.15, abs=1e-12)


def test_tolerant_reading(tmp_path):
    # bare name on the first line, lower-case keys, tabs, blank lines, GHz frequency,
    # vendor keyword, 'TILT 2' without a kind
    text = _msi_text(
        header=[
            "KATHREIN 80010000 test",
            "",
            "frequency\t0.39 GHz",
            "gain\t12.0\tdbi",
            "TILT 2",
            "X_VENDOR_FIELD something",
        ]
    )
    text = text.replace("\n10 ", "\n\n10\t")
    path = tmp_path / "tolerant.msi"
    path.write_text(text)
    p = read_msi(path)
    assert p.name == "KATHREIN 80010000 test"
    assert p.freq_mhz == pytest.approx(390.0)
    assert p.gain_dbi == 12.0
    assert p.electrical_tilt_deg == 2.0
    np.testing.assert_allclose(p.h_att_db, H, atol=TOL_FILE_DB)


def test_half_degree_tables_are_resampled(tmp_path):
    angles = np.arange(720) / 2.0
    lines = ["NAME half", "GAIN 11 dBi", "HORIZONTAL 720"]
    lines += [f"{a:g} {0.1 * a if a <= 180 else 0.1 * (360 - a):.4f}" for a in angles]
    lines += ["VERTICAL 360"] + [f"{k} 0" for k in range(360)]
    path = tmp_path / "half.msi"
    path.write_text("\n".join(lines))
    p = read_msi(path)
    np.testing.assert_allclose(p.h_att_db, 0.1 * np.minimum(ANGLES, 360 - ANGLES), atol=1e-9)


def test_write_msi_round_trip(pattern, tmp_path):
    out = write_msi(pattern, tmp_path / "copy.msi")
    again = read_msi(out)
    assert again.name == pattern.name and again.electrical_tilt_deg == 4.0
    assert again.gain_dbi == pytest.approx(pattern.gain_dbi, abs=0.005)
    np.testing.assert_allclose(again.h_att_db, pattern.h_att_db, atol=TOL_FILE_DB)
    np.testing.assert_allclose(again.v_att_db, pattern.v_att_db, atol=TOL_FILE_DB)


# ---------------------------------------------------------------- bad files


def _write(tmp_path, text, name="bad.msi"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bad_data_line_names_file_and_line(tmp_path):
    lines = _msi_text().splitlines()
    # header has 10 lines, HORIZONTAL is line 11, angle 5 sits on line 17
    assert lines[16].startswith("5 ")
    lines[16] = "abc"
    path = _write(tmp_path, "\n".join(lines), "sector.msi")
    with pytest.raises(
        InvalidInputError, match=r"sector\.msi line 17: expected 'angle attenuation', got 'abc'"
    ):
        read_msi(path)


def test_decimal_comma_is_reported(tmp_path):
    lines = _msi_text().splitlines()
    lines[16] = "5 0,0710"
    with pytest.raises(InvalidInputError, match=r"line 17: .*decimal comma.*'0\.0710'"):
        read_msi(_write(tmp_path, "\n".join(lines)))


def test_missing_vertical_section(tmp_path):
    text = _msi_text().split("VERTICAL")[0]
    with pytest.raises(InvalidInputError, match=r"bad\.msi: no VERTICAL section"):
        read_msi(_write(tmp_path, text))


def test_too_few_points(tmp_path):
    text = _msi_text(h=H[:359])  # announces 360, gives 359, then VERTICAL
    with pytest.raises(
        InvalidInputError,
        match=(
            r"line 371: HORIZONTAL section \(line 11\) announces 360 points "
            r"but VERTICAL starts after 359"
        ),
    ):
        read_msi(_write(tmp_path, text))


def test_too_many_points(tmp_path):
    text = _msi_text(v=np.concatenate([V, [0.0]]))
    with pytest.raises(InvalidInputError, match="announces 360 points but has more data lines"):
        read_msi(_write(tmp_path, text))


def test_file_ends_early(tmp_path):
    text = _msi_text(v=V[:100])
    with pytest.raises(InvalidInputError, match="VERTICAL section .* file ends after 100"):
        read_msi(_write(tmp_path, text))


def test_negative_attenuation(tmp_path):
    lines = _msi_text().splitlines()
    lines[16] = "5 -3.0"
    with pytest.raises(InvalidInputError, match=r"line 17: HORIZONTAL attenuation must be >= 0 dB"):
        read_msi(_write(tmp_path, "\n".join(lines)))


def test_missing_gain(tmp_path):
    with pytest.raises(InvalidInputError, match="no GAIN line"):
        read_msi(_write(tmp_path, _msi_text(header=["NAME x"])))


def test_bad_gain_unit(tmp_path):
    with pytest.raises(
        InvalidInputError, match=r"line 2: GAIN: unit must be dBi or dBd, got 'dBm'"
    ):
        read_msi(_write(tmp_path, _msi_text(header=["NAME x", "GAIN 10 dBm"])))


def test_missing_file(tmp_path):
    with pytest.raises(InputNotFoundError, match="nothere.msi"):
        read_msi(tmp_path / "nothere.msi")


# ---------------------------------------------------------------- gain toward targets


def test_boresight_with_electrical_tilt_gives_max_gain(pattern):
    # electrical tilt 4 deg is in the table: the maximum is 4 deg below the horizon
    assert gain_toward_dbi(pattern, 0.0, 0.0, 0.0, -4.0) == pytest.approx(GAIN_DBI, abs=TOL_DB)
    # at the horizon: A_v(0) = 12 * (4/10)^2 = 1.92 dB
    assert gain_toward_dbi(pattern, 0.0, 0.0, 0.0, 0.0) == pytest.approx(
        GAIN_DBI - 1.92, abs=TOL_DB
    )


@pytest.mark.parametrize(
    ("azimuth_deg", "bearing", "expected_h_db"),
    [
        (0.0, 90.0, H[90]),  # 90 deg right: 12 (90/65)^2 + 0.5 = 23.5053
        (0.0, 270.0, H[270]),  # 90 deg left: 23.0053 (no right-side offset)
        (0.0, 10.5, 0.5 * (H[10] + H[11])),  # halfway between samples
        (0.0, 359.5, 0.5 * (H[359] + H[0])),  # wrap-around 359 -> 0
        (350.0, 5.0, H[15]),  # azimuth near north, target across 0
        (120.0, 150.0, H[30]),  # rotated mast, 30 deg clockwise of boresight
        (120.0, 90.0, H[330]),  # rotated mast, 30 deg anticlockwise
        (0.0, 180.0, H[180]),  # back: 25 dB
    ],
)
def test_horizontal_lookup(pattern, azimuth_deg, bearing, expected_h_db):
    # at elevation -4 the vertical attenuation is 0, so only A_h remains
    g = gain_toward_dbi(pattern, azimuth_deg, 0.0, bearing, -4.0)
    assert g == pytest.approx(GAIN_DBI - min(expected_h_db, CAP_DB), abs=TOL_DB)


def test_vertical_interpolation_halfway(pattern):
    # depression 6.5 deg on boresight: halfway between V[6] and V[7]
    g = gain_toward_dbi(pattern, 0.0, 0.0, 0.0, -6.5)
    assert g == pytest.approx(GAIN_DBI - 0.5 * (V[6] + V[7]), abs=TOL_DB)


def test_mechanical_tilt_moves_the_beam_down(pattern):
    # 3 deg mechanical + 4 deg electrical: maximum at 7 deg below the horizon
    assert gain_toward_dbi(pattern, 0.0, 3.0, 0.0, -7.0) == pytest.approx(GAIN_DBI, abs=TOL_DB)
    # a target at -1 deg is 6 deg above that beam: A_v = 12 * (6/10)^2 = 4.32 dB
    assert gain_toward_dbi(pattern, 0.0, 3.0, 0.0, -1.0) == pytest.approx(
        GAIN_DBI - 4.32, abs=TOL_DB
    )


def test_mechanical_tilt_raises_the_back_and_spares_the_sides(pattern):
    # behind, 3 deg downtilt puts a horizon target 3 deg below the antenna plane
    phi, el = antenna_frame_angles_deg(0.0, 3.0, 180.0, 0.0)
    assert phi == pytest.approx(180.0, abs=1e-9) and el == pytest.approx(-3.0, abs=1e-9)
    # at 90 deg to the side, the horizon stays the horizon
    phi, el = antenna_frame_angles_deg(0.0, 3.0, 90.0, 0.0)
    assert phi == pytest.approx(90.0, abs=1e-9) and el == pytest.approx(0.0, abs=1e-9)
    g_side_tilted = gain_toward_dbi(pattern, 0.0, 10.0, 90.0, 0.0)
    assert g_side_tilted == pytest.approx(GAIN_DBI - H[90] - V[0], abs=TOL_DB)


def test_sum_is_capped(pattern):
    # back and steeply down: A_h = 25, A_v = 20 -> capped at the largest table value
    assert CAP_DB == pytest.approx(25.5)
    g = gain_toward_dbi(pattern, 0.0, 0.0, 180.0, -60.0)
    assert g == pytest.approx(GAIN_DBI - CAP_DB, abs=TOL_DB)
    g = gain_toward_dbi(pattern, 0.0, 0.0, 180.0, -60.0, max_att_db=40.0)
    assert g == pytest.approx(GAIN_DBI - 40.0, abs=TOL_DB)
    g = gain_toward_dbi(pattern, 0.0, 0.0, 180.0, -60.0, max_att_db=60.0)
    assert g == pytest.approx(GAIN_DBI - 45.0, abs=TOL_DB)


def test_vectorised_over_raster(pattern):
    bearings = np.array([[0.0, 90.0], [180.0, np.nan]])
    elevations = np.full((2, 2), -4.0)
    g = gain_toward_dbi(pattern, 0.0, 0.0, bearings, elevations)
    assert g.shape == (2, 2)
    np.testing.assert_allclose(g[0], [GAIN_DBI, GAIN_DBI - H[90]], atol=TOL_DB)
    assert np.isnan(g[1, 1])


def test_pattern_object_validates_shape():
    with pytest.raises(InvalidInputError, match=r"h_att_db must have shape \(360,\)"):
        AntennaPattern("x", 10.0, 390.0, np.zeros(359), np.zeros(360))


def test_omni():
    assert omni_gain_dbi(2.0) == 2.0
    np.testing.assert_array_equal(omni_gain_dbi(2.0, like=np.zeros((3, 4))), np.full((3, 4), 2.0))
    with pytest.raises(InvalidInputError, match="omni_gain_dbi"):
        gain_toward_dbi(None, 0.0, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize(
    ("dx_m", "dy_m", "expected_deg"),
    [(0, 1, 0.0), (1, 1, 45.0), (1, 0, 90.0), (0, -1, 180.0), (-1, 0, 270.0), (-1, 1, 315.0)],
)
def test_bearing(dx_m, dy_m, expected_deg):
    assert bearing_deg(dx_m, dy_m) == pytest.approx(expected_deg, abs=1e-12)


def test_elevation():
    assert elevation_deg(-30.0, 30.0) == pytest.approx(-45.0, abs=1e-12)
    assert elevation_deg(10.0, 0.0) == pytest.approx(90.0, abs=1e-12)
    # curvature drop at 10 km with a_e = 8495 km: 1e8 / (2 * 8.495e6) = 5.886 m
    e = elevation_deg(0.0, 10_000.0, effective_earth_radius_km=8495.0)
    assert e == pytest.approx(-np.degrees(np.arctan(5.88582 / 10_000.0)), abs=1e-6)


def test_omni_with_a_vertical_pattern_ignores_bearing():
    """A mast with a pattern and no azimuth: the vertical cut at the depression angle, the
    same at every bearing; the horizontal cut (here a sector's) is not used."""
    import pandas as pd

    from c2000cov.radio.antenna import mast_gain_toward_dbi

    az = np.arange(360)
    h_att = np.minimum(12.0 * (np.minimum(az, 360 - az) / 65.0) ** 2, 25.0)
    v_att = np.zeros(360)
    v_att[1:91] = np.minimum(np.arange(1, 91) * 0.5, 20.0)  # 0.5 dB per degree down
    pat = AntennaPattern("omni_v", 11.0, 390.0, h_att, v_att)
    mast = pd.Series({"gain_dbi": 11.0, "pattern": "p", "azimuth_deg": np.nan,
                      "tilt_deg": 0.0})
    # targets 1000 m east, west and north, 30 m below the antenna: 1.7184 deg down
    dx = np.array([1000.0, -1000.0, 0.0])
    dy = np.array([0.0, 0.0, 1000.0])
    g = mast_gain_toward_dbi(mast, {"p": pat}, dx, dy, np.full(3, -30.0), np.full(3, 1000.0))
    depression = np.degrees(np.arctan2(30.0, 1000.0))
    np.testing.assert_allclose(g, 11.0 - 0.5 * depression, atol=1e-9)
