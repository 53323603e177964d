"""Points and routes from files and request bodies, checked, with errors naming the field.

Accepted inputs:

- points: GeoJSON (a FeatureCollection of Points, a single Point Feature or
  geometry; RFC 7946 longitude/latitude, or a legacy ``crs`` member naming
  another CRS) or CSV with ``lon,lat`` (also ``lon_deg,lat_deg``) in WGS84
  or ``x_m,y_m`` in RD New (EPSG:28992);
- routes: a GPX track (``trkpt``, or route ``rtept``), a GeoJSON LineString
  (geometry, Feature, or a FeatureCollection with one line), a GeoPackage
  (or other vector file) with one LineString feature, or a CSV of points
  in route order with the columns above.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import CRS

from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.service.common import (
    MAX_BATCH_POINTS,
    MAX_ROUTE_VERTICES,
    RD_NEW,
    WGS84,
    QueryError,
    check_lonlat,
    parse_number,
)

LON_COLUMNS = (("lon", "lat"), ("lon_deg", "lat_deg"))
RD_COLUMNS = (("x_m", "y_m"),)


@dataclass
class PointIn:
    """One input point: coordinates in ``crs`` (WGS84 lon/lat or RD New x/y)."""

    a: float
    b: float
    crs: str
    props: dict = field(default_factory=dict)
    error: str | None = None  # a row whose coordinates could not be read


@dataclass
class RouteIn:
    """A route's vertices ``(n, 2)`` in ``crs``."""

    xy: np.ndarray
    crs: str


def _geojson_crs(obj: dict, where: str) -> str:
    crs = obj.get("crs")
    if crs is None:
        return WGS84
    try:
        name = crs["properties"]["name"]
        parsed = CRS.from_user_input(name)
    except Exception:  # noqa: BLE001  (pyproj raises several types)
        raise QueryError(f"{where}crs", f"cannot read the crs member {crs!r}; leave it out "
                         "for longitude/latitude (RFC 7946)") from None
    return WGS84 if parsed.equals(CRS.from_epsg(4326)) or parsed.to_epsg() == 4326 \
        else parsed.to_string()


def _coords_pair(value, where: str, crs: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise QueryError(where, f"expected [x, y] numbers, got {str(value)[:60]!r}")
    if crs == WGS84:
        return check_lonlat(value[0], value[1], f"{where}[0]", f"{where}[1]")
    return parse_number(value[0], f"{where}[0]"), parse_number(value[1], f"{where}[1]")


def points_from_geojson(obj, where: str = "") -> list[PointIn]:
    """Points of a GeoJSON object (FeatureCollection, Feature or Point geometry)."""
    if not isinstance(obj, dict):
        raise QueryError(where or "body", "expected a GeoJSON object")
    crs = _geojson_crs(obj, where)
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            raise QueryError(f"{where}features", "expected a list of Point features")
        if len(feats) > MAX_BATCH_POINTS:
            raise QueryError(f"{where}features", f"at most {MAX_BATCH_POINTS} points per "
                             f"request, got {len(feats)}", status=413)
        items = [(f"{where}features[{i}]", f) for i, f in enumerate(feats)]
    elif kind == "Feature":
        items = [(where.rstrip(".") or "feature", obj)]
    elif kind == "Point":
        items = [(where.rstrip(".") or "geometry", {"type": "Feature", "geometry": obj})]
    else:
        raise QueryError(f"{where}type", f"expected FeatureCollection, Feature or Point, got "
                         f"{str(kind)[:40]!r}")
    out = []
    for name, feat in items:
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise QueryError(f"{name}.type", "expected a Feature")
        geom = feat.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            raise QueryError(f"{name}.geometry", "expected a Point geometry")
        a, b = _coords_pair(geom.get("coordinates"), f"{name}.geometry.coordinates", crs)
        props = feat.get("properties") if isinstance(feat.get("properties"), dict) else {}
        if "id" in feat:
            props = {"id": feat["id"], **props}
        out.append(PointIn(a, b, crs, dict(props)))
    return out


def _pick_columns(df: pd.DataFrame, path: Path) -> tuple[str, str, str]:
    cols = {c.lower().strip(): c for c in df.columns}
    for (a, b), crs in [(p, WGS84) for p in LON_COLUMNS] + [(p, RD_NEW) for p in RD_COLUMNS]:
        if a in cols and b in cols:
            return cols[a], cols[b], crs
    raise InvalidInputError(f"{path.name}: no coordinate columns; expected lon,lat (WGS84 "
                            f"degrees) or x_m,y_m (RD New m), got {', '.join(df.columns)}")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path.name}: not a readable CSV ({exc})") from None


def points_from_csv(path: Path, strict: bool = False) -> list[PointIn]:
    """Points of a CSV file, one per row, other columns kept as properties.

    A row whose coordinates are not numbers or out of range is kept with its
    ``error`` (so that batch answers keep one row per input row), or raises
    when ``strict``.
    """
    df = _read_csv(path)
    ca, cb, crs = _pick_columns(df, path)
    out = []
    for i, rec in enumerate(df.to_dict("records")):
        props = {k: v for k, v in rec.items() if k not in (ca, cb)}
        try:
            if crs == WGS84:
                a, b = check_lonlat(rec[ca], rec[cb], ca, cb)
            else:
                a, b = parse_number(rec[ca], ca), parse_number(rec[cb], cb)
            out.append(PointIn(a, b, crs, props))
        except QueryError as exc:
            if strict:
                raise InvalidInputError(f"{path.name} row {i + 1}: {exc}") from None
            out.append(PointIn(math.nan, math.nan, crs, props,
                               error=f"{path.name} row {i + 1}: {exc}"))
    return out


def read_points_file(path: Path) -> list[PointIn]:
    """Points of a CSV or GeoJSON file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"points file {path} does not exist")
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{path.name}: not valid JSON ({exc})") from None
        try:
            return points_from_geojson(obj)
        except QueryError as exc:
            raise InvalidInputError(f"{path.name}: {exc}") from None
    return points_from_csv(path)


def route_from_geojson(obj, where: str = "") -> RouteIn:
    """The LineString of a GeoJSON object (geometry, Feature or one-line FeatureCollection)."""
    if not isinstance(obj, dict):
        raise QueryError(where or "body", "expected a GeoJSON LineString")
    crs = _geojson_crs(obj, where)
    prefix = where  # field names: "<prefix>coordinates[3][1]"
    if obj.get("type") == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list) or len(feats) != 1:
            raise QueryError(f"{prefix}features", "expected exactly one LineString feature")
        obj, prefix = feats[0], f"{prefix}features[0]."
    geom = obj
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        geom, prefix = obj.get("geometry"), f"{prefix}geometry."
    if not isinstance(geom, dict) or geom.get("type") != "LineString":
        got = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
        raise QueryError(f"{prefix}type", f"expected a LineString, got {str(got)[:40]!r}")
    coords = geom.get("coordinates")
    name = f"{prefix}coordinates"
    if not isinstance(coords, list):
        raise QueryError(name, "expected a list of [x, y] positions")
    if len(coords) > MAX_ROUTE_VERTICES:
        raise QueryError(name, f"a route may have at most {MAX_ROUTE_VERTICES} vertices, got "
                         f"{len(coords)}", status=413)
    if len(coords) < 2:
        raise QueryError(name, "a route needs at least 2 positions")
    xy = np.array([_coords_pair(c, f"{name}[{i}]", crs)
                   for i, c in enumerate(coords)], dtype="float64")
    return RouteIn(xy, crs)


def _route_from_gpx(path: Path) -> RouteIn:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InvalidInputError(f"{path.name}: not valid GPX/XML ({exc})") from None
    pts = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "trkpt"]
    if not pts:
        pts = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "rtept"]
    if len(pts) < 2:
        raise InvalidInputError(f"{path.name}: a GPX route needs at least 2 trkpt or rtept "
                                f"points, got {len(pts)}")
    xy = []
    for i, el in enumerate(pts):
        try:
            xy.append(check_lonlat(el.get("lon"), el.get("lat")))
        except QueryError as exc:
            raise InvalidInputError(f"{path.name} point {i + 1}: {exc}") from None
    return RouteIn(np.array(xy, dtype="float64"), WGS84)


def _route_from_vector(path: Path) -> RouteIn:
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001  (pyogrio raises several types)
        raise InvalidInputError(f"{path.name}: cannot read as a vector file ({exc})") from None
    lines = gdf[gdf.geometry.geom_type == "LineString"]
    if len(lines) != 1:
        raise InvalidInputError(f"{path.name}: expected exactly one LineString feature, got "
                                f"{len(lines)} (of {len(gdf)} features)")
    if gdf.crs is None:
        raise InvalidInputError(f"{path.name}: the layer has no CRS; set one (e.g. EPSG:28992)")
    xy = np.asarray(lines.geometry.iloc[0].coords, dtype="float64")[:, :2]
    crs = WGS84 if gdf.crs.to_epsg() == 4326 else gdf.crs.to_string()
    return RouteIn(xy, crs)


def read_route_file(path: Path) -> RouteIn:
    """A route from a GPX, GeoJSON, GeoPackage or CSV file."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"route file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".gpx":
        return _route_from_gpx(path)
    if suffix in (".geojson", ".json"):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{path.name}: not valid JSON ({exc})") from None
        try:
            return route_from_geojson(obj)
        except QueryError as exc:
            raise InvalidInputError(f"{path.name}: {exc}") from None
    if suffix == ".csv":
        pts = points_from_csv(path, strict=True)
        if len(pts) < 2:
            raise InvalidInputError(f"{path.name}: a route needs at least 2 rows")
        return RouteIn(np.array([(p.a, p.b) for p in pts], dtype="float64"), pts[0].crs)
    return _route_from_vector(path)
