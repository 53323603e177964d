"""Hostile and careless scenario values: names that are paths, non-finite numbers, ranges.

Every case is refused before anything is written: exit status 2 and one line naming the
key, the value and what was expected (issue #16).
"""

from __future__ import annotations

import re

import pytest

from c2000cov.errors import ScenarioError
from c2000cov.scenario.config import load_scenario
from tests.scenarios import run_cli, write_scenario


def _refused(tmp_path, capsys, monkeypatch, scen, *expected: str) -> str:
    code = run_cli(monkeypatch, "run", scen, "--quiet", "--no-map")
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert not (scen.parent / "out").exists()
    return err


# --------------------------------------------------------------------------- names
UNSAFE_PROFILE_NAMES = ['"x/../../ESCAPED"', '"../x"', '"a b"', '"x\\\\y"', '""', '"_x"',
                        '"' + "x" * 65 + '"', '"x.tif"', '"p\\u00e9"']


@pytest.mark.parametrize("pname", UNSAFE_PROFILE_NAMES)
def test_profile_names_that_are_not_safe_file_names_are_refused(tmp_path, capsys, monkeypatch,
                                                                pname):
    scen = write_scenario(tmp_path / "s", profiles=f"[profiles.{pname}]\n")
    _refused(tmp_path, capsys, monkeypatch, scen, "cannot be used in file names")
    # nothing escaped the scenario folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert not any("ESCAPED" in str(p) for p in tmp_path.rglob("*"))


def test_profile_whose_night_raster_collides_with_another_profile_is_refused(
        tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, profiles="[profiles.x]\n\n[profiles.x_night]\n")
    _refused(tmp_path, capsys, monkeypatch, scen, "'x_night'", "night raster of profile 'x'")


@pytest.mark.parametrize("pname", ["handheld_outdoor", "in-car", "P2", "x" * 64])
def test_safe_profile_names_load(tmp_path, pname):
    scen = load_scenario(write_scenario(tmp_path, profiles=f"[profiles.{pname}]\n"))
    assert list(scen.profiles) == [pname]


# --------------------------------------------------------------------------- numbers
NON_FINITE = [
    ("[model]", "k_factor", "inf"), ("[model]", "radius_m", "nan"),
    ("[model]", "time_pct", "-inf"), ("[scenario]", "resolution_m", "inf"),
    ("[radio]", "dl_freq_mhz", "nan"), ("[radio]", "bandwidth_khz", "inf"),
    ("[interference]", "sun_factor", "nan"), ("[interference]", "limit_dbuv_m", "inf"),
    ("[classes]", "reduced_pct", "nan"), ("[dead_zones]", "min_area_m2", "inf"),
    ("[report]", "sensitivity_db", "inf"), ("[profiles.handheld_outdoor]", "sigma_db", "inf"),
    ("[profiles.handheld_outdoor]", "extra_loss_db", "nan"),
    ("[profiles.handheld_outdoor]", "target_pct", "nan"),
]


def _with_key(tmp_path, table: str, key: str, value: str):
    """A scenario with ``key = value`` set in ``table`` (added or replaced)."""
    scen = write_scenario(tmp_path)
    text = scen.read_text()
    if table in text:
        text = text.replace(f"{table}\n", f"{table}\n{key} = {value}\n", 1)
        if f"{table}\n{key} = {value}\n" in text:
            # drop a later duplicate of the key in the same table
            head, tail = text.split(f"{table}\n{key} = {value}\n", 1)
            tail = re.sub(rf"(?m)^{key} = .*\n", "", tail, count=1) if \
                tail.split("\n[")[0].count(f"{key} =") else tail
            text = head + f"{table}\n{key} = {value}\n" + tail
    else:
        text += f"\n{table}\n{key} = {value}\n"
    scen.write_text(text)
    return scen


@pytest.mark.parametrize(("table", "key", "value"), NON_FINITE)
def test_non_finite_numbers_are_refused(tmp_path, capsys, monkeypatch, table, key, value):
    scen = _with_key(tmp_path, table, key, value)
    _refused(tmp_path, capsys, monkeypatch, scen, key)


def test_k_factor_inf_is_refused_as_not_finite(tmp_path):
    scen = _with_key(tmp_path, "[model]", "k_factor", "inf")
    with pytest.raises(ScenarioError, match=r"model\.k_factor must be a finite number, got inf"):
        load_scenario(scen)


def test_non_finite_bounds_are_refused(tmp_path):
    scen = _with_key(tmp_path, "[scenario]", "bounds_m", "[150000.0, 450000.0, inf, 454000.0]")
    with pytest.raises(ScenarioError, match=r"scenario\.bounds_m\[2\] must be a finite number"):
        load_scenario(scen)


OUT_OF_RANGE = [
    ("[classes]", "poor_pct", "85.0", "0 < classes.poor_pct < classes.reduced_pct < 100"),
    ("[classes]", "poor_pct", "0.0", "0 < classes.poor_pct"),
    ("[classes]", "reduced_pct", "96.0", "must be below profiles.handheld_outdoor.target_pct"),
    ("[classes]", "reduced_pct", "100.0", "< 100"),
    ("[radio]", "dl_freq_mhz", "-392.5", "radio.dl_freq_mhz must be > 0"),
    ("[radio]", "bs_noise_figure_db", "-1.0", "radio.bs_noise_figure_db must be >= 0"),
    ("[dead_zones]", "min_area_m2", "-1.0", "dead_zones.min_area_m2 must be >= 0"),
    ("[dead_zones]", "simplify_m", "-5.0", "dead_zones.simplify_m must be >= 0"),
    ("[profiles.handheld_outdoor]", "body_loss_db", "-5.0", "body_loss_db must be >= 0"),
    ("[profiles.handheld_outdoor]", "year_threshold", "0", "year_threshold must be > 0"),
]


@pytest.mark.parametrize(("table", "key", "value", "message"), OUT_OF_RANGE)
def test_values_out_of_range_are_refused(tmp_path, capsys, monkeypatch, table, key, value,
                                         message):
    scen = _with_key(tmp_path, table, key, value)
    _refused(tmp_path, capsys, monkeypatch, scen, message)


def test_booleans_accept_only_booleans(tmp_path):
    scen = _with_key(tmp_path, "[profiles.handheld_outdoor]", "indoor", '"false"')
    with pytest.raises(ScenarioError, match="indoor must be true or false, got 'false'"):
        load_scenario(scen)
