"""The read-only HTTP JSON service of a run folder (Starlette on uvicorn).

Endpoints (all ``GET``/``POST`` JSON, answers as :mod:`c2000cov.service.query`):

- ``GET /v1/health``: run name, scenario digest, age of the run;
- ``GET /v1/point?lat=..&lon=..[&profile=..][&lang=nl|en]``: one point;
- ``POST /v1/points[?profile=..][&lang=..]``: a GeoJSON FeatureCollection of Points,
  answered as a FeatureCollection in the same order;
- ``POST /v1/route[?profile=..]``: a GeoJSON LineString (geometry or Feature).

Every error is JSON ``{"error": {"field": .., "message": ..}}`` with a 4xx
status naming the request field; an unexpected failure is logged and
answered 503 with the same shape, and the service keeps serving: nothing
answers 500. Bodies are limited to :data:`MAX_BODY_BYTES`, routes to
:data:`~c2000cov.service.query.MAX_ROUTE_VERTICES` vertices.

With a bearer token (``--token-file``) every request must carry
``Authorization: Bearer <token>``; without one the service binds only to
localhost (:func:`check_bind`).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.service.common import QueryError, check_answer_lang
from c2000cov.service.inputs import points_from_geojson, route_from_geojson
from c2000cov.service.query import RunQuery

LOG = logging.getLogger("c2000cov.service")
#: Largest request body (bytes): about 10,000 route vertices or points as GeoJSON.
MAX_BODY_BYTES = 1_000_000
#: Hosts the service binds to without a token.
LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")
#: Concurrent connections before uvicorn answers 503 (backpressure, not a failure).
LIMIT_CONCURRENCY = 256


class BindError(InvalidInputError):
    """The service was asked to listen beyond localhost without a token."""


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-local bind address unless a bearer token is configured."""
    if token is None and host not in LOCAL_HOSTS:
        raise BindError(f"--host {host}: without --token-file the service listens only on "
                        f"localhost ({', '.join(LOCAL_HOSTS)}); give --token-file FILE to "
                        "accept requests from other machines")


def read_token_file(path: Path) -> str:
    """The bearer token of a token file (first line, stripped); at least 16 characters."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"--token-file {path} does not exist")
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < 16 or any(c.isspace() for c in token):
        raise InvalidInputError(f"--token-file {path}: the first line must be a token of at "
                                "least 16 characters without spaces (e.g. from "
                                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return token


def _error(status: int, field_name: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="c2000cov"'} if status == 401 else None
    return JSONResponse({"error": {"field": field_name, "message": message}},
                        status_code=status, headers=headers)


async def _json_body(request: Request, limit: int) -> object:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise QueryError("Content-Length", f"not a number: {length[:40]!r}", 400) from None
        if n > limit:
            raise QueryError("body", f"larger than {limit} bytes ({n})", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise QueryError("body", f"larger than {limit} bytes", 413)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise QueryError("body", "empty; expected GeoJSON", 400)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise QueryError("body", f"not valid JSON ({exc})", 400) from None


def _profiles(request: Request) -> list[str] | None:
    raw = request.query_params.getlist("profile")
    names = [p.strip() for item in raw for p in item.split(",") if p.strip()]
    return names or None


def build_app(query: RunQuery, token: str | None = None,
              max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    """The Starlette application answering from ``query``."""

    def endpoint(fn):
        async def wrapped(request: Request):
            t0 = time.perf_counter()
            try:
                if token is not None:
                    auth = request.headers.get("authorization", "")
                    scheme, _, given = auth.partition(" ")
                    if scheme.lower() != "bearer" or not hmac.compare_digest(
                            given.strip().encode(), token.encode()):
                        return _error(401, "Authorization", "missing or wrong bearer token")
                return await fn(request)
            except QueryError as exc:
                return _error(exc.status, exc.field, exc.detail)
            except InvalidInputError as exc:
                return _error(422, "request", str(exc))
            except Exception:  # noqa: BLE001  (the service must keep serving)
                LOG.exception("unexpected error answering %s %s", request.method,
                              request.url.path)
                return _error(503, "server", "internal error (logged); try again or check "
                              "the service log")
            finally:
                LOG.debug("%s %s %.1f ms", request.method, request.url.path,
                          1000 * (time.perf_counter() - t0))

        return wrapped

    @endpoint
    async def health(request: Request):
        return JSONResponse(query.health())

    @endpoint
    async def point(request: Request):
        qp = request.query_params
        for name in ("lat", "lon"):
            if name not in qp:
                raise QueryError(name, "missing; give lat and lon in WGS84 degrees", 400)
        profiles = _profiles(request)
        return JSONResponse(await run_in_threadpool(query.point_lonlat, qp["lon"], qp["lat"],
                                                    profiles, lang=qp.get("lang", "nl")))

    @endpoint
    async def points(request: Request):
        body = await _json_body(request, max_body_bytes)
        pts = points_from_geojson(body)
        profiles = query.check_profiles(_profiles(request))
        lang = check_answer_lang(request.query_params.get("lang", "nl"))
        answers = await run_in_threadpool(query.points, pts, profiles, lang=lang)
        feats = []
        for pt, ans in zip(pts, answers, strict=True):
            if "lon_deg" in ans:
                geom = {"type": "Point", "coordinates": [ans["lon_deg"], ans["lat_deg"]]}
            else:
                geom = {"type": "Point", "coordinates": [pt.a, pt.b]}
            feats.append({"type": "Feature", "geometry": geom,
                          "properties": {**pt.props, **ans}})
        return JSONResponse({"type": "FeatureCollection", "features": feats})

    @endpoint
    async def route(request: Request):
        body = await _json_body(request, max_body_bytes)
        line = route_from_geojson(body)
        profiles = _profiles(request)
        return JSONResponse(await run_in_threadpool(query.route_in, line, profiles))

    async def http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code if 400 <= exc.status_code < 500 else 503, "path",
                      f"{request.method} {request.url.path}: {exc.detail}")

    async def any_error(request: Request, exc: Exception):
        LOG.error("unexpected error outside an endpoint: %r", exc)
        return _error(503, "server", "internal error (logged); try again")

    routes = [Route("/v1/health", health, methods=["GET"]),
              Route("/v1/point", point, methods=["GET"]),
              Route("/v1/points", points, methods=["POST"]),
              Route("/v1/route", route, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error,
                                                        Exception: any_error})


def uvicorn_config(app: Starlette, host: str, port: int, log_level: str = "info"
                   ) -> uvicorn.Config:
    """The uvicorn settings of the service."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off",
                          server_header=False, limit_concurrency=LIMIT_CONCURRENCY,
                          access_log=log_level in ("debug", "info"))


def serve(run_dir: Path, host: str = "127.0.0.1", port: int = 8080, public: bool = False,
          token_file: Path | None = None, profiles: list[str] | None = None) -> None:
    """Serve a run folder until interrupted (Ctrl-C)."""
    token = read_token_file(token_file) if token_file is not None else None
    check_bind(host, token)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with RunQuery(run_dir, profiles, public=public) as query:
        query.warm()
        LOG.info("serving run %s (%s) on %s:%d%s%s", query.manifest.get("scenario", ""),
                 query.run_dir, host, port, ", public" if public else "",
                 ", bearer token required" if token else "")
        server = uvicorn.Server(uvicorn_config(build_app(query, token), host, port))
        server.run()


@contextlib.contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0,
                    startup_timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``app`` on uvicorn in a background thread; yield its base URL; stop on exit.

    ``port=0`` takes a free port from the system.
    """
    server = uvicorn.Server(uvicorn_config(app, host, port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="c2000cov-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the service did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=15.0)
