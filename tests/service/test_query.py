"""Point answers equal the raster values read back independently, in WGS84 and in RD."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from pyproj import Transformer

from c2000cov.products import runfolder as rf
from c2000cov.service.common import QueryError
from c2000cov.service.query import RunQuery
from tests.scenarios import run_cli
from tests.service.conftest import (
    CAR_STRIP_COLS,
    COLS,
    ROWS,
    STRIP_COLS,
    pixel_centre,
)

TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
CLASS_BY_CODE = {0: "none", 1: "poor", 2: "reduced", 3: "good"}
LIMITING_BY_CODE = {1: "DL", 2: "UL"}


def _bands(path):
    """Every band of a profile, each read from its own file of the run-folder layout."""
    name = path.name[len(rf.COVERAGE_PREFIX):-len(".tif")]
    prof, night = name.removesuffix(rf.NIGHT_SUFFIX), name.endswith(rf.NIGHT_SUFFIX)
    return {b: rf.read_band(path.parent, prof, b, night)[0] for b in rf.BAND_NAMES}


def _pixels(n=25, seed=3):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, ROWS, n)
    cols = rng.integers(0, COLS, n)
    # include the strips and a not-evaluated corner pixel
    return list(zip(rows, cols, strict=True)) + [(50, 62), (50, 67), (3, 4), (99, 149), (0, 0)]


def _check(ans, run, row, col):
    for prof in ("outdoor", "in_car", "indoor"):
        main = _bands(run / rf.coverage_name(prof))
        night = _bands(run / rf.coverage_name(prof, night=True))
        a = ans["profiles"][prof]
        p = float(main["p_cover"][row, col])
        if np.isnan(p):
            assert a["p_cover"] is None and a["class"] == "not_evaluated"
            assert a["n_masts_at_target"] is None and a["best_server"] is None
            continue
        assert a["p_cover"] == pytest.approx(p, abs=5e-5)
        assert a["p_cover_night"] == pytest.approx(float(night["p_cover"][row, col]), abs=5e-5)
        assert a["class"] == CLASS_BY_CODE[int(main["class"][row, col])]
        assert a["limiting"] == LIMITING_BY_CODE[int(main["limiting"][row, col])]
        assert a["n_masts_at_target"] == int(main["n_masts_at_target"][row, col])
        server = int(main["best_server"][row, col])
        assert a["best_server"]["mast_index"] == server
        assert a["best_server"]["mast_id"] == ("M1", "M2")[server]


def test_rd_points_equal_raster_values(synthetic_run):
    with RunQuery(synthetic_run) as q:
        for row, col in _pixels():
            x, y = pixel_centre(int(row), int(col))
            ans = q.point_rd(x, y)
            assert (ans["x_m"], ans["y_m"]) == (x, y)
            _check(ans, synthetic_run, int(row), int(col))


def test_wgs84_points_equal_raster_values(synthetic_run):
    with RunQuery(synthetic_run) as q:
        for row, col in _pixels(seed=4):
            x, y = pixel_centre(int(row), int(col))
            lon, lat = TO_WGS84.transform(x, y)
            ans = q.point_lonlat(lon, lat)
            # back to RD within a millimetre: the same pixel
            assert ans["x_m"] == pytest.approx(x, abs=0.01)
            assert ans["y_m"] == pytest.approx(y, abs=0.01)
            _check(ans, synthetic_run, int(row), int(col))


def test_cli_point_and_point_rd_json(synthetic_run, monkeypatch, capsys):
    x, y = pixel_centre(40, 62)
    lon, lat = TO_WGS84.transform(x, y)
    for args in (["--point-rd", f"{x},{y}"], ["--point", f"{lon:.9f},{lat:.9f}"]):
        capsys.readouterr()
        assert run_cli(monkeypatch, "query", synthetic_run, *args, "--json") == 0
        ans = json.loads(capsys.readouterr().out)
        _check(ans, synthetic_run, 40, 62)
        assert set(ans) >= {"x_m", "y_m", "lon_deg", "lat_deg", "profiles"}
        assert set(ans["profiles"]["outdoor"]) >= {"p_cover", "p_cover_night", "class",
                                                   "limiting", "n_masts_at_target",
                                                   "dead_zone", "advice"}


def test_dead_zone_and_advice(synthetic_run):
    with RunQuery(synthetic_run) as q:
        # outdoor dead strip (15 columns, 300 m), in-car below target on 5 of its columns
        a = q.point_rd(*pixel_centre(50, 61))["profiles"]
        assert a["outdoor"]["label"] == "portofoon buiten"
        zone = a["outdoor"]["dead_zone"]
        assert zone["zone_id"] == "outdoor-00001"
        assert zone["area_km2"] == pytest.approx((STRIP_COLS[1] - STRIP_COLS[0]) * ROWS
                                                 * 400 / 1e6)
        assert (zone["share_reduced_pct"], zone["share_poor_pct"], zone["share_none_pct"]) \
            == (0.0, 100.0, 0.0)
        assert zone["class"] == "poor" and zone["limiting"] == "UL"
        assert zone["nearest_mast_id"] == "M1"
        advice = a["outdoor"]["advice"]
        # the sentences of products.advice, from this zone's numbers: in-car covers 10 of 15
        # columns; the farthest pixel (column 67) is 8 pixels = 160 m from covered ground
        assert advice.startswith("Mobilofoon (in voertuig) heeft dekking op 67 % van de zone")
        assert "Elk punt ligt binnen 160 m van dekking" in advice
        assert "Beperkend is de uplink" in advice
        assert a["in_car"]["dead_zone"] is None and a["in_car"]["advice"] is None
        # the in-car zone: even the mobilofoon misses the target
        a = q.point_rd(*pixel_centre(50, CAR_STRIP_COLS[0]))["profiles"]
        assert a["in_car"]["dead_zone"]["area_km2"] == pytest.approx(5 * ROWS * 400 / 1e6)
        assert a["in_car"]["advice"].startswith("Ook de mobilofoon haalt hier de doelwaarde "
                                                "niet")
        # indoor below target east of the strip: go outside first; English on request
        a = q.point_rd(*pixel_centre(50, 100), lang="en")["profiles"]
        assert a["indoor"]["p_cover"] < 0.95 and a["outdoor"]["p_cover"] >= 0.95
        assert a["indoor"]["label"] == "handheld indoors"
        assert a["indoor"]["advice"].endswith("Indoors: go outside or to a window first.")
        z = a["indoor"]["dead_zone"]
        assert z["share_reduced_pct"] + z["share_poor_pct"] + z["share_none_pct"] \
            == pytest.approx(100.0, abs=0.05)
        with pytest.raises(QueryError) as exc:
            q.point_rd(*pixel_centre(50, 100), lang="fr")
        assert exc.value.field == "lang"


def test_points_outside_grid_and_bad_values(synthetic_run):
    with RunQuery(synthetic_run) as q:
        with pytest.raises(QueryError) as exc:
            q.point_rd(100000.0, 400000.0)
        assert exc.value.field == "point_rd" and "outside the run's grid" in str(exc.value)
        with pytest.raises(QueryError) as exc:
            q.point_lonlat(5.3, 91)
        assert exc.value.field == "lat"
        with pytest.raises(QueryError) as exc:
            q.point_lonlat("abc", 52)
        assert exc.value.field == "lon"
        with pytest.raises(QueryError) as exc:
            q.point_rd(151000, 451000, ["nope"])
        assert exc.value.field == "profile" and "outdoor" in str(exc.value)


def _batch_inputs(tmp_path):
    rows = [(10, 20), (50, 62), (99, 149), (50, 67), (70, 5)]
    xy = [pixel_centre(r, c) for r, c in rows]
    lonlat = [TO_WGS84.transform(x, y) for x, y in xy]
    csv = tmp_path / "points.csv"
    lines = ["id,lon,lat"] + [f"P{i},{lo:.9f},{la:.9f}" for i, (lo, la) in enumerate(lonlat)]
    lines.insert(3, "BAD,oost,52.0")  # unreadable: keeps its row, with an error
    lines.insert(5, "FAR,4.0,51.0")  # outside the grid
    csv.write_text("\n".join(lines) + "\n")
    gj = tmp_path / "points.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": f"P{i}"},
         "geometry": {"type": "Point", "coordinates": [lo, la]}}
        for i, (lo, la) in enumerate(lonlat)]}))
    return rows, csv, gj


def test_batch_csv_one_row_per_input_in_order(synthetic_run, tmp_path, monkeypatch, capsys):
    rows, csv, _ = _batch_inputs(tmp_path)
    out = tmp_path / "answers.csv"
    assert run_cli(monkeypatch, "query", synthetic_run, "--points", csv, "--out", out) == 0
    import pandas as pd

    table = pd.read_csv(out, keep_default_na=False)
    assert list(table["id"]) == ["P0", "P1", "BAD", "P2", "FAR", "P3", "P4"]
    assert table.loc[2, "error"] == "points.csv row 3: lon: must be a number, got 'oost'"
    assert table.loc[2, "outdoor_p_cover"] == ""
    assert table.loc[4, "error"].startswith("points.csv row 5: point")
    assert "outside the run's grid" in table.loc[4, "error"]
    main = _bands(synthetic_run / rf.coverage_name("outdoor"))["p_cover"]
    good = table[table["error"] == ""]
    for (r, c), (_, rec) in zip(rows, good.iterrows(), strict=True):
        assert float(rec["outdoor_p_cover"]) == pytest.approx(float(main[r, c]), abs=5e-5)
    assert good.iloc[1]["outdoor_dead_zone_id"] == "outdoor-00001"


def test_batch_geojson_json_in_order(synthetic_run, tmp_path, monkeypatch, capsys):
    rows, _, gj = _batch_inputs(tmp_path)
    capsys.readouterr()
    assert run_cli(monkeypatch, "query", synthetic_run, "--points", gj, "--json",
                   "--profile", "in_car") == 0
    answers = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in answers] == [f"P{i}" for i in range(len(rows))]
    car = _bands(synthetic_run / rf.coverage_name("in_car"))["p_cover"]
    for (r, c), a in zip(rows, answers, strict=True):
        assert list(a["profiles"]) == ["in_car"]
        assert a["profiles"]["in_car"]["p_cover"] == pytest.approx(float(car[r, c]), abs=5e-5)


def test_cli_errors_exit_2(synthetic_run, monkeypatch, capsys):
    assert run_cli(monkeypatch, "query", synthetic_run, "--point", "5.3") == 2
    assert "--point" in capsys.readouterr().err
    assert run_cli(monkeypatch, "query", synthetic_run) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert run_cli(monkeypatch, "query", synthetic_run, "--point-rd", "1,2") == 2
    assert "outside the run's grid" in capsys.readouterr().err
    assert run_cli(monkeypatch, "query", synthetic_run, "--point-rd", "151000,451000",
                   "--profile", "boat") == 2
    assert "boat" in capsys.readouterr().err


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A small run of the real pipeline (free space, two profiles)."""
    import sys

    from c2000cov.cli import main
    from tests.scenarios import write_scenario

    tmp = tmp_path_factory.mktemp("service-real")
    profiles = ('[profiles.outdoor]\nextra_loss_db = 40.0\n\n'
                '[profiles.car]\nbody_loss_db = 0.0\nextra_loss_db = 45.0\n')
    scen = write_scenario(tmp, profiles=profiles, size_px=80, radius_m=1200.0)
    mp = pytest.MonkeyPatch()
    mp.setattr(sys, "argv", ["c2000cov", "run", str(scen), "--out", str(tmp / "out"),
                             "--quiet", "--no-map"])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    finally:
        mp.undo()
    return tmp / "out"


def test_real_run_answers_equal_its_rasters(real_run):
    bands = {p: _bands(real_run / rf.coverage_name(p)) for p in ("outdoor", "car")}
    with rasterio.open(real_run / rf.coverage_name("outdoor")) as src:
        transform = src.transform
    rng = np.random.default_rng(7)
    with RunQuery(real_run) as q:
        assert q.profiles == ["car", "outdoor"]
        for row, col in zip(rng.integers(0, 80, 30), rng.integers(0, 80, 30), strict=True):
            x, y = transform @ (col + 0.5, row + 0.5)
            lon, lat = TO_WGS84.transform(x, y)
            for ans in (q.point_rd(x, y), q.point_lonlat(lon, lat)):
                for prof, b in bands.items():
                    a = ans["profiles"][prof]
                    p = float(b["p_cover"][row, col])
                    if np.isnan(p):
                        assert a["p_cover"] is None
                        continue
                    assert a["p_cover"] == pytest.approx(p, abs=5e-5)
                    assert a["class"] == CLASS_BY_CODE[int(b["class"][row, col])]
                    assert a["n_masts_at_target"] == int(b["n_masts_at_target"][row, col])
                    assert "p_cover_night" not in a  # no PV: no night state
                    below = p < 0.95
                    # zones under [dead_zones] min_area_m2 are dropped: only "in a zone => below"
                    assert a["dead_zone"] is None or below
                    assert (a["advice"] is not None) == below
