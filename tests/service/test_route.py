"""Route kilometres on the synthetic run equal a hand-computed straight crossing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pyproj import Transformer

from c2000cov.service.common import MAX_ROUTE_VERTICES, QueryError
from c2000cov.service.inputs import read_route_file
from c2000cov.service.query import RunQuery
from c2000cov.service.route import route_pieces
from tests.scenarios import run_cli
from tests.service.conftest import CAR_STRIP_COLS, RES_M, STRIP_COLS, X0_M, Y_TOP_M, grid

TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
# a straight route from column 10.5 to 140.5, dropping 1,000 m southward
START = (X0_M + 10.5 * RES_M, Y_TOP_M - 300.0)
END = (X0_M + 140.5 * RES_M, Y_TOP_M - 1300.0)


def _hand():
    """Length (km) and entry distance (km) of the crossing of each strip, by hand."""
    dx, dy = END[0] - START[0], END[1] - START[1]
    length = math.hypot(dx, dy)
    sec = length / dx  # metres of route per metre eastward

    def strip(c0, c1):
        x0, x1 = X0_M + c0 * RES_M, X0_M + c1 * RES_M
        return ((x1 - x0) * sec / 1000, (x0 - START[0]) * sec / 1000,
                (x1 - START[0]) * sec / 1000)

    return length / 1000, strip(*STRIP_COLS), strip(*CAR_STRIP_COLS)


def test_pieces_cut_at_pixel_edges_sum_to_length():
    xy = np.array([START, (X0_M + 77.3 * RES_M, Y_TOP_M - 612.9), END])
    pieces = route_pieces(xy, grid().transform)
    total = math.dist(xy[0], xy[1]) + math.dist(xy[1], xy[2])
    assert pieces.length_m.sum() == pytest.approx(total, rel=1e-12)
    # every piece lies inside its pixel: both ends within the pixel's bounds
    for end in (pieces.xy0, pieces.xy1):
        col = (end[:, 0] - X0_M) / RES_M
        row = (Y_TOP_M - end[:, 1]) / RES_M
        assert np.all(col >= pieces.cols - 1e-9) and np.all(col <= pieces.cols + 1 + 1e-9)
        assert np.all(row >= pieces.rows - 1e-9) and np.all(row <= pieces.rows + 1 + 1e-9)


def test_route_km_equal_hand_computed(synthetic_run):
    total_km, (w_km, a_km, b_km), (wc_km, ac_km, bc_km) = _hand()
    with RunQuery(synthetic_run) as q:
        ans = q.route(np.array([START, END]))
    assert list(ans["profiles"]) == ["outdoor", "in_car"]  # indoor only when asked
    assert ans["length_km"] == pytest.approx(total_km, abs=5e-4)
    out = ans["profiles"]["outdoor"]
    assert out["km_below_target"] == pytest.approx(w_km, abs=5e-4)
    assert out["share_below_target"] == pytest.approx(w_km / total_km, abs=1e-4)
    assert out["n_uncovered_stretches"] == 1 and out["km_not_evaluated"] == 0.0
    assert out["longest_uncovered"] == {"start_km": pytest.approx(a_km, abs=5e-4),
                                        "end_km": pytest.approx(b_km, abs=5e-4),
                                        "length_km": pytest.approx(w_km, abs=5e-4)}
    car = ans["profiles"]["in_car"]
    assert car["km_below_target"] == pytest.approx(wc_km, abs=5e-4)
    assert car["longest_uncovered"]["start_km"] == pytest.approx(ac_km, abs=5e-4)
    feats = ans["uncovered"]["features"]
    assert [f["properties"]["profile"] for f in feats] == ["outdoor", "in_car"]
    line = feats[0]["geometry"]["coordinates"]
    assert len(line) == 2  # a straight stretch keeps only its ends
    x_in, _ = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True).transform(*line[0])
    assert x_in == pytest.approx(X0_M + STRIP_COLS[0] * RES_M, abs=0.2)


def _write_route_files(tmp_path):
    lonlat = [TO_WGS84.transform(*p) for p in (START, END)]
    gpx = tmp_path / "r.gpx"
    gpx.write_text('<?xml version="1.0"?><gpx version="1.1" '
                   'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
                   + "".join(f'<trkpt lat="{la:.9f}" lon="{lo:.9f}"/>' for lo, la in lonlat)
                   + "</trkseg></trk></gpx>")
    gj = tmp_path / "r.geojson"
    gj.write_text(json.dumps({"type": "Feature", "properties": {},
                              "geometry": {"type": "LineString",
                                           "coordinates": [list(p) for p in lonlat]}}))
    csv = tmp_path / "r.csv"
    csv.write_text("x_m,y_m\n" + "".join(f"{x},{y}\n" for x, y in (START, END)))
    import geopandas as gpd
    from shapely.geometry import LineString

    gpkg = tmp_path / "r.gpkg"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[LineString([START, END])],
                     crs="EPSG:28992").to_file(gpkg)
    return gpx, gj, csv, gpkg


def test_every_route_format_gives_the_same_km(synthetic_run, tmp_path, monkeypatch, capsys):
    _, (w_km, _, _), _ = _hand()
    for path in _write_route_files(tmp_path):
        out = tmp_path / f"{path.stem}-{path.suffix[1:]}-uncovered.geojson"
        capsys.readouterr()
        assert run_cli(monkeypatch, "route", synthetic_run, path, "--profile", "outdoor",
                       "--out", out, "--json") == 0
        ans = json.loads(capsys.readouterr().out)
        assert ans["profiles"]["outdoor"]["km_below_target"] == pytest.approx(w_km, abs=5e-4)
        written = json.loads(out.read_text())
        assert written["type"] == "FeatureCollection" and len(written["features"]) == 1
        assert written["features"][0]["properties"]["length_km"] == pytest.approx(w_km,
                                                                                   abs=5e-4)


def test_route_text_output(synthetic_run, tmp_path, monkeypatch, capsys):
    gpx = _write_route_files(tmp_path)[0]
    capsys.readouterr()
    assert run_cli(monkeypatch, "route", synthetic_run, gpx) == 0
    text = capsys.readouterr().out
    assert "outdoor:" in text and "in_car:" in text and "longest" in text


def test_route_errors(synthetic_run, tmp_path, monkeypatch, capsys):
    with RunQuery(synthetic_run) as q:
        with pytest.raises(QueryError, match="at least 2"):
            q.route(np.array([START]))
        far = np.array([[100000.0, 400000.0], [100100.0, 400000.0]])
        with pytest.raises(QueryError, match="outside the run's grid"):
            q.route(far)
        many = np.column_stack([np.linspace(START[0], END[0], MAX_ROUTE_VERTICES + 1),
                                np.full(MAX_ROUTE_VERTICES + 1, START[1])])
        with pytest.raises(QueryError, match="at most") as exc:
            q.route(many)
        assert exc.value.status == 413
    bad = tmp_path / "bad.gpx"
    bad.write_text("<gpx><trk><trkseg><trkpt lat='52.0' lon='x'/><trkpt lat='52' lon='5'/>"
                   "</trkseg></trk></gpx>")
    with pytest.raises(Exception, match="bad.gpx point 1"):
        read_route_file(bad)
    assert run_cli(monkeypatch, "route", synthetic_run, bad) == 2
    assert "bad.gpx point 1" in capsys.readouterr().err
