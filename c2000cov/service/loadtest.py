"""A bounded load test of the HTTP service: N requests from C concurrent clients.

Used by the tests (no 5xx, no lost request) and by ``make bench`` (record
``serve-point``: requests per second, p50 and p99 latency, errors). Each
client keeps one HTTP/1.1 connection open and reconnects after an error;
a request with no HTTP answer within ``timeout_s`` counts as lost. The run
stops by itself after every request was sent once or after ``deadline_s``.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass

import numpy as np

from c2000cov.service.query import RunQuery


@dataclass(frozen=True)
class Request:
    """One request of a load test, and whether it is meant to be valid."""

    method: str
    path: str
    body: bytes | None = None
    valid: bool = True


def mixed_requests(query: RunQuery, n: int, invalid_share: float = 0.3, seed: int = 18
                   ) -> list[Request]:
    """``n`` point requests inside the grid, ``invalid_share`` of them malformed in turn.

    The malformed kinds cycle through: missing lat, non-numeric lon, latitude
    out of range, a point outside the grid, an unknown profile, a body that
    is not JSON, and a route with one vertex.
    """
    rng = np.random.default_rng(seed)
    left, bottom, right, top = query.bounds_m
    xs = rng.uniform(left, right, n)
    ys = rng.uniform(bottom, top, n)
    lon, lat = query._to_wgs84.transform(xs, ys)
    bad = ["/v1/point?lon={lon}", "/v1/point?lat={lat}&lon=east",
           "/v1/point?lat=91&lon={lon}", "/v1/point?lat=0&lon=0",
           "/v1/point?lat={lat}&lon={lon}&profile=no_such_profile",
           ("POST", "/v1/points", b"{not json"),
           ("POST", "/v1/route", b'{"type":"LineString","coordinates":[[5,52]]}')]
    out, k = [], 0
    for i in range(n):
        if rng.random() < invalid_share:
            kind = bad[k % len(bad)]
            k += 1
            if isinstance(kind, tuple):
                out.append(Request(kind[0], kind[1], kind[2], valid=False))
            else:
                out.append(Request("GET", kind.format(lat=f"{lat[i]:.6f}", lon=f"{lon[i]:.6f}"),
                                   valid=False))
        else:
            q = urllib.parse.urlencode({"lat": f"{lat[i]:.6f}", "lon": f"{lon[i]:.6f}"})
            out.append(Request("GET", f"/v1/point?{q}"))
    return out


def run_load(base_url: str, requests: list[Request], clients: int = 16,
             timeout_s: float = 10.0, deadline_s: float = 300.0,
             token: str | None = None) -> dict:
    """Send ``requests`` from ``clients`` threads; return counts and latency figures.

    Returns ``requests``, ``answered``, ``lost``, ``status_2xx``/``4xx``/``5xx``,
    ``not_json`` (answers whose body is not JSON), ``valid_rejected`` and
    ``invalid_accepted`` (answers that contradict the request's intent),
    ``wall_s``, ``req_per_s``, ``p50_ms``, ``p99_ms`` and ``max_ms``.
    """
    url = urllib.parse.urlsplit(base_url)
    lock = threading.Lock()
    next_i = [0]
    status = np.zeros(len(requests), dtype=np.int32)  # 0: no answer
    latency_ms = np.full(len(requests), np.nan)
    is_json = np.zeros(len(requests), dtype=bool)
    stop_at = time.monotonic() + deadline_s
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def worker() -> None:
        conn = None
        while time.monotonic() < stop_at:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= len(requests):
                break
            req = requests[i]
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout_s)
                conn.request(req.method, req.path, body=req.body, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                latency_ms[i] = 1000.0 * (time.perf_counter() - t0)
                status[i] = resp.status
                try:
                    json.loads(body)
                    is_json[i] = True
                except ValueError:
                    pass
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=deadline_s + timeout_s + 5.0)
    wall = time.perf_counter() - t0
    answered = status > 0
    valid = np.array([r.valid for r in requests])
    lat = latency_ms[answered]
    return {
        "requests": len(requests), "clients": clients, "answered": int(answered.sum()),
        "lost": int((~answered).sum()),
        "status_2xx": int(((status >= 200) & (status < 300)).sum()),
        "status_4xx": int(((status >= 400) & (status < 500)).sum()),
        "status_5xx": int((status >= 500).sum()),
        "not_json": int((answered & ~is_json).sum()),
        "valid_rejected": int((answered & valid & (status >= 400)).sum()),
        "invalid_accepted": int((answered & ~valid & (status < 400)).sum()),
        "wall_s": round(wall, 3),
        "req_per_s": round(float(answered.sum()) / wall, 1) if wall > 0 else None,
        "p50_ms": round(float(np.percentile(lat, 50)), 2) if lat.size else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 2) if lat.size else None,
        "max_ms": round(float(lat.max()), 2) if lat.size else None,
    }


def serve_point_record(run_dir, requests: int = 2000, clients: int = 16, seed: int = 18
                       ) -> dict:
    """Bench record ``serve-point``: the service of ``run_dir`` on a free localhost port
    under ``requests`` mixed requests (30 % malformed) from ``clients`` clients.

    The figures include the clients' own time (the clients run in this process on
    the same cores), so they are a floor for a dedicated server.
    """
    import os
    import platform

    from c2000cov.service.server import build_app, serve_in_thread

    with RunQuery(run_dir) as q, serve_in_thread(build_app(q.warm())) as url:
        run_load(url, mixed_requests(q, 100, seed=seed + 1), clients=4)  # warm caches
        stats = run_load(url, mixed_requests(q, requests, seed=seed), clients=clients)
        run_name = str(q.manifest.get("scenario", ""))
    return {"workload": "serve-point", "run": run_name, **stats,
            "errors_5xx": stats["status_5xx"], "cpu_count": os.cpu_count(),
            "load_avg_1min": round(os.getloadavg()[0], 2), "machine": platform.node(),
            "date_utc": time.strftime("%Y-%m-%d", time.gmtime())}
