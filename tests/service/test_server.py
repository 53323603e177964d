"""The HTTP service on a free localhost port: real requests, errors, public mode, tokens."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
import rasterio
from pyproj import Transformer

from c2000cov.products import runfolder as rf
from c2000cov.products.maps import PUBLIC_BLOCK_M
from c2000cov.service.common import MAX_ROUTE_VERTICES
from c2000cov.service.loadtest import mixed_requests, run_load
from c2000cov.service.query import RunQuery
from c2000cov.service.server import (
    MAX_BODY_BYTES,
    BindError,
    build_app,
    check_bind,
    serve_in_thread,
)
from tests.scenarios import run_cli
from tests.service.conftest import MASTS, RES_M, X0_M, Y_TOP_M, pixel_centre

TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
TOKEN = "s3cret-token-for-tests-0123456789"


def _lonlat(row, col):
    return TO_WGS84.transform(*pixel_centre(row, col))


def call(base, path, body=None, method=None, token=None, raw=None):
    """(status, parsed JSON body, headers) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method or
                                 ("POST" if data is not None else "GET"),
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


@pytest.fixture(scope="module")
def query(synthetic_run):
    with RunQuery(synthetic_run) as q:
        yield q


@pytest.fixture(scope="module")
def base(query):
    with serve_in_thread(build_app(query)) as url:
        yield url


def test_health(base):
    status, body, _ = call(base, "/v1/health")
    assert status == 200 and body["run"] == "synthetic-service"
    assert len(body["scenario_digest_sha256"]) == 64 and body["run_age_s"] >= 0
    assert body["night_state"] is True and body["profiles"] == ["outdoor", "indoor", "in_car"]


def test_point_equals_library_and_raster(base, query, synthetic_run):
    lon, lat = _lonlat(50, 62)
    status, body, _ = call(base, f"/v1/point?lat={lat}&lon={lon}")
    assert status == 200
    assert body == json.loads(json.dumps(query.point_lonlat(lon, lat)))
    with rasterio.open(synthetic_run / rf.coverage_name("outdoor")) as src:
        p = float(src.read(1)[50, 62])
    assert body["profiles"]["outdoor"]["p_cover"] == pytest.approx(p, abs=5e-5)
    status, body, _ = call(base, f"/v1/point?lat={lat}&lon={lon}&profile=in_car")
    assert status == 200 and list(body["profiles"]) == ["in_car"]


def test_points_and_route(base, query):
    cells = [(20, 30), (50, 62), (80, 140)]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"incident": f"I{i}"},
         "geometry": {"type": "Point", "coordinates": list(_lonlat(r, c))}}
        for i, (r, c) in enumerate(cells)]}
    fc["features"].insert(1, {"type": "Feature", "properties": {"incident": "far"},
                              "geometry": {"type": "Point", "coordinates": [4.0, 51.0]}})
    status, body, _ = call(base, "/v1/points?profile=outdoor", fc)
    assert status == 200
    feats = body["features"]
    assert [f["properties"]["incident"] for f in feats] == ["I0", "far", "I1", "I2"]
    assert "outside the run's grid" in feats[1]["properties"]["error"]
    for f, (r, c) in zip([feats[0], feats[2], feats[3]], cells, strict=True):
        want = query.point_rd(*pixel_centre(r, c), ["outdoor"])["profiles"]["outdoor"]
        assert f["properties"]["profiles"]["outdoor"]["p_cover"] == want["p_cover"]
    line = {"type": "LineString", "coordinates": [list(_lonlat(50, 10)), list(_lonlat(50, 140))]}
    status, body, _ = call(base, "/v1/route", line)
    assert status == 200
    assert body["profiles"]["outdoor"]["km_below_target"] == pytest.approx(0.3, abs=1e-3)
    assert body["uncovered"]["type"] == "FeatureCollection"


def _too_many_vertices():
    lon, lat = _lonlat(50, 10)
    return {"type": "LineString", "coordinates": [[lon + 1e-6 * i, lat]
                                                  for i in range(MAX_ROUTE_VERTICES + 1)]}


BAD = [  # (path, body or raw bytes, expected status, field named)
    ("/v1/point?lon=5.33", None, 400, "lat"),
    ("/v1/point?lat=52.04", None, 400, "lon"),
    ("/v1/point?lat=abc&lon=5.33", None, 422, "lat"),
    ("/v1/point?lat=52.04&lon=nan", None, 422, "lon"),
    ("/v1/point?lat=91&lon=5.33", None, 422, "lat"),
    ("/v1/point?lat=-90.5&lon=5.33", None, 422, "lat"),
    ("/v1/point?lat=51.0&lon=4.0", None, 422, "lon,lat"),
    ("/v1/point?lat=52.04&lon=5.33&profile=boat", None, 422, "profile"),
    ("/v1/points", b"{not json", 400, "body"),
    ("/v1/points", b"", 400, "body"),
    ("/v1/points", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["a", 52]}}]},
     422, "features[0].geometry.coordinates[0]"),
    ("/v1/points", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}}]},
     422, "features[0].geometry"),
    ("/v1/points", [1, 2], 422, "body"),
    ("/v1/route", {"type": "Point", "coordinates": [5, 52]}, 422, "type"),
    ("/v1/route", {"type": "LineString", "coordinates": [[5.33, 52.04]]}, 422, "coordinates"),
    ("/v1/route", {"type": "LineString", "coordinates": [[5.33, 52.04], [5.34, 95]]}, 422,
     "coordinates[1][1]"),
    ("/v1/route", "many", 413, "coordinates"),
    ("/v1/route", {"type": "LineString", "coordinates": [[4.0, 51.0], [4.01, 51.0]]}, 422,
     "coordinates"),
]


@pytest.mark.parametrize("path,body,status,field", BAD,
                         ids=[f"{i}-{b[3]}" for i, b in enumerate(BAD)])
def test_bad_requests_answer_4xx_json_naming_the_field(base, path, body, status, field):
    raw = body if isinstance(body, bytes) else None
    if body == "many":
        body = _too_many_vertices()
    got, resp, _ = call(base, path, None if raw is not None else body, raw=raw,
                        method="POST" if path != "/v1/point" and "?" not in path else None)
    assert got == status, resp
    assert resp["error"]["field"] == field, resp
    assert resp["error"]["message"]


def test_body_over_the_size_limit_is_413(base):
    url = urllib.parse.urlsplit(base)
    # declared too large: answered before the body is read
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", "/v1/points")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    conn.endheaders()
    conn.send(b'{"type": "FeatureCollection", "features": [')
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 413 and body["error"]["field"] == "body"
    # streamed without a length (chunked): cut off once past the limit
    chunk = b" " * 65536
    n = MAX_BODY_BYTES // len(chunk) + 1
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", "/v1/route", body=iter([chunk] * n), encode_chunked=True,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 413 and body["error"]["field"] == "body"


def test_unknown_path_and_method_are_json_4xx(base):
    status, body, _ = call(base, "/v2/nothing")
    assert status == 404 and body["error"]["field"] == "path"
    status, body, _ = call(base, "/v1/point", raw=b"{}", method="POST")
    assert status == 405 and body["error"]["field"] == "path"


def test_unexpected_error_is_503_json_and_service_keeps_serving(synthetic_run, caplog):
    with RunQuery(synthetic_run) as q, serve_in_thread(build_app(q)) as url:
        def broken(*args, **kwargs):
            raise RuntimeError("disk went away")

        q.point_lonlat, original = broken, q.point_lonlat
        lon, lat = _lonlat(50, 62)
        with caplog.at_level("ERROR", logger="c2000cov.service"):
            status, body, _ = call(url, f"/v1/point?lat={lat}&lon={lon}")
        assert status == 503 and body["error"]["field"] == "server"
        assert "disk went away" in caplog.text
        q.point_lonlat = original
        status, body, _ = call(url, f"/v1/point?lat={lat}&lon={lon}")
        assert status == 200 and body["profiles"]["outdoor"]["p_cover"] == 0.5


def _mast_texts():
    texts = set(MASTS["mast_id"]) | set(MASTS["name"])
    lonlat = [TO_WGS84.transform(x, y) for x, y in zip(MASTS["x_m"], MASTS["y_m"], strict=True)]
    for (x, y), (lo, la) in zip(zip(MASTS["x_m"], MASTS["y_m"], strict=True), lonlat,
                                strict=True):
        texts |= {f"{x:.1f}", f"{y:.1f}", f"{x:g}", f"{y:g}", f"{lo:.4f}", f"{la:.4f}"}
    return texts


def test_public_mode_leaks_no_mast_ids_names_or_positions(synthetic_run):
    with RunQuery(synthetic_run, public=True) as q, serve_in_thread(build_app(q)) as url:
        bodies = [call(url, "/v1/health")[1]]
        for r, c in [(50, 62), (40, 30), (60, 140), (30, 67)]:
            lon, lat = _lonlat(r, c)
            status, body, _ = call(url, f"/v1/point?lat={lat}&lon={lon}")
            assert status == 200
            bodies.append(body)
        line = {"type": "LineString", "coordinates": [list(_lonlat(50, 10)),
                                                      list(_lonlat(50, 140))]}
        bodies.append(call(url, "/v1/route", line)[1])
        fc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {},
             "geometry": {"type": "Point", "coordinates": list(_lonlat(50, 62))}}]}
        bodies.append(call(url, "/v1/points", fc)[1])
    text = json.dumps(bodies)
    for word in ("best_server", "nearest_mast", "mast_id", "mast_index"):
        assert word not in text
    for t in _mast_texts():
        assert t not in text, t
    # answers are the 500 m block's: mean probability of its evaluated pixels
    point = bodies[1]
    assert point["public_block_m"] == PUBLIC_BLOCK_M
    x, y = pixel_centre(50, 62)
    bx0 = np.floor(x / PUBLIC_BLOCK_M) * PUBLIC_BLOCK_M
    by1 = np.ceil(y / PUBLIC_BLOCK_M) * PUBLIC_BLOCK_M
    c0, r0 = int((bx0 - X0_M) / RES_M), int((Y_TOP_M - by1) / RES_M)
    k = int(PUBLIC_BLOCK_M / RES_M)
    with rasterio.open(synthetic_run / rf.coverage_name("outdoor")) as src:
        p = src.read(1)
    block = p[max(r0, 0):r0 + k, max(c0, 0):c0 + k]
    want = float(np.nanmean(block))
    assert point["profiles"]["outdoor"]["p_cover"] == pytest.approx(want, abs=5e-5)
    assert "p_cover_min" not in json.dumps(point)
    # the route crosses whole blocks: the 300 m strip counts as the blocks holding it
    route = bodies[-2]["profiles"]["outdoor"]
    assert route["km_below_target"] == pytest.approx(0.5, abs=1e-3)


def test_token_required_when_configured(query):
    with serve_in_thread(build_app(query, token=TOKEN)) as url:
        status, body, headers = call(url, "/v1/health")
        assert status == 401 and body["error"]["field"] == "Authorization"
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert call(url, "/v1/health", token="wrong-token-wrong-token")[0] == 401
        assert call(url, "/v1/health", token=TOKEN)[0] == 200


def test_bind_beyond_localhost_needs_a_token(synthetic_run, tmp_path, monkeypatch, capsys):
    for host in ("127.0.0.1", "::1", "localhost"):
        check_bind(host, None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(BindError):
        check_bind("192.168.1.5", None)
    assert run_cli(monkeypatch, "serve", synthetic_run, "--host", "0.0.0.0") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--token-file" in err and "0.0.0.0" in err
    short = tmp_path / "token.txt"
    short.write_text("abc\n")
    assert run_cli(monkeypatch, "serve", synthetic_run, "--host", "0.0.0.0",
                   "--token-file", short) == 2
    assert "16 characters" in capsys.readouterr().err


def test_bounded_load_no_5xx_no_lost_request(query, base):
    reqs = mixed_requests(query, 2000)
    stats = run_load(base, reqs, clients=16, timeout_s=20.0, deadline_s=240.0)
    assert stats["answered"] == 2000 and stats["lost"] == 0, stats
    assert stats["status_5xx"] == 0 and stats["not_json"] == 0, stats
    assert stats["valid_rejected"] == 0 and stats["invalid_accepted"] == 0, stats
    assert stats["status_4xx"] == sum(not r.valid for r in reqs)


def test_cli_serve_answers_with_a_token(synthetic_run, tmp_path):
    """`c2000cov serve` as a process: binds, requires the token, stops on SIGTERM."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "c2000cov.cli", "serve", str(synthetic_run),
                             "--port", str(port), "--token-file", str(token_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
        while True:
            try:
                status, body, _ = call(url, "/v1/health", token=TOKEN)
                break
            except urllib.error.URLError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
                time.sleep(0.2)
        assert status == 200 and body["run"] == "synthetic-service"
        assert call(url, "/v1/health")[0] == 401
        lon, lat = _lonlat(50, 62)
        status, body, _ = call(url, f"/v1/point?lat={lat}&lon={lon}", token=TOKEN)
        assert status == 200 and body["profiles"]["outdoor"]["p_cover"] == 0.5
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    # uvicorn shuts down cleanly, then re-raises the signal it caught: exit status 143
    # (the CLI's contract for SIGTERM, issue #16)
    assert proc.returncode in (0, 143, -signal.SIGTERM), out
    assert "Finished server process" in out and "bearer token required" in out
