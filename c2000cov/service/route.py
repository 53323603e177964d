"""Route answers: the kilometres of a route below target per profile, cut exactly at pixel edges."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from c2000cov.products.advice import (
    KIND_HANDHELD_INDOOR,
)
from c2000cov.service.common import (
    BAND_P_COVER,
    KM_DECIMALS,
    MAX_ROUTE_VERTICES,
    P_DECIMALS,
    QueryError,
    read_pixels,
    round_or_none,
)


def route_answer(q, xy_m: np.ndarray, profiles: Iterable[str] | None = None,
          field_name: str = "coordinates") -> dict:
    """Kilometres below target along a route given in the run's CRS (m), for a
    :class:`~c2000cov.service.query.RunQuery` ``q``.

    Returns ``{"length_km", "n_vertices", "profiles": {p: {...}}, "uncovered":
    FeatureCollection}``; per profile ``km_below_target``,
    ``share_below_target`` (of the evaluated length), ``km_not_evaluated``
    (outside the grid or the model radius), ``n_uncovered_stretches`` and
    ``longest_uncovered`` (``start_km``, ``end_km``, ``length_km``).
    """
    if profiles:
        names = q.check_profiles(profiles)
    else:  # a route is driven or walked outdoors: indoor profiles only when asked
        names = [p for p in q.profiles if q._p[p].kind != KIND_HANDHELD_INDOOR]
        names = names or list(q.profiles)
    xy = np.asarray(xy_m, dtype="float64")
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) < 2:
        raise QueryError(field_name, "a route needs at least 2 vertices (x, y)")
    if len(xy) > MAX_ROUTE_VERTICES:
        raise QueryError(field_name, f"a route may have at most {MAX_ROUTE_VERTICES} "
                         f"vertices, got {len(xy)}", status=413)
    if not np.isfinite(xy).all():
        raise QueryError(field_name, "route coordinates must be finite numbers")
    # public: cut at block edges and give each piece its block's mean probability
    pieces = route_pieces(xy, q.transform if q.blocks is None
                          else q.blocks.transform)
    h, w = q.shape if q.blocks is None else q.blocks.block_shape
    inside = ((pieces.rows >= 0) & (pieces.rows < h) & (pieces.cols >= 0)
              & (pieces.cols < w))
    if not inside.any():
        left, bottom, right, top = q.bounds_m
        raise QueryError(field_name, "the route lies outside the run's grid x "
                         f"{left:.0f}..{right:.0f}, y {bottom:.0f}..{top:.0f} "
                         f"({q.crs.to_string()})")
    total_km = float(pieces.length_m.sum() / 1000.0)
    out_profiles, feats = {}, []
    for name in names:
        prof = q._p[name]
        p = np.full(pieces.rows.size, np.nan)
        with q._lock:
            if q.blocks is None:
                p[inside] = read_pixels(prof.main, [prof.bands[BAND_P_COVER]],
                                        pieces.rows[inside], pieces.cols[inside])[0]
            else:
                p[inside] = q._block_means(prof, pieces.rows[inside],
                                              pieces.cols[inside])
        ev = np.isfinite(p)
        with np.errstate(invalid="ignore"):
            below = ev & (p < prof.target_pct / 100.0)
        km_below = float(pieces.length_m[below].sum() / 1000.0)
        km_eval = float(pieces.length_m[ev].sum() / 1000.0)
        stretches = _stretches(below, pieces, p)
        longest = max(stretches, key=lambda s: s["length_km"], default=None)
        out_profiles[name] = {
            "target_pct": prof.target_pct,
            "km_below_target": round(km_below, KM_DECIMALS),
            "share_below_target": round(km_below / km_eval, 4) if km_eval > 0 else None,
            "km_not_evaluated": round(total_km - km_eval, KM_DECIMALS),
            "n_uncovered_stretches": len(stretches),
            "longest_uncovered": None if longest is None else
            {k: longest[k] for k in ("start_km", "end_km", "length_km")},
        }
        for s in stretches:
            feats.append({"type": "Feature",
                          "geometry": {"type": "LineString",
                                       "coordinates": q._wgs84_coords(s["xy"])},
                          "properties": {"profile": name,
                                         **{k: s[k] for k in ("start_km", "end_km",
                                                              "length_km", "p_cover_min")}}})
    return {"length_km": round(total_km, KM_DECIMALS), "n_vertices": int(len(xy)),
            "crs": q.crs.to_string(), "profiles": out_profiles,
            "uncovered": {"type": "FeatureCollection", "features": feats}}


@dataclass
class RoutePieces:
    """A route cut at pixel edges: one piece per pixel crossing, in route order."""

    rows: np.ndarray  # int64 pixel row of each piece (may lie outside the grid)
    cols: np.ndarray
    length_m: np.ndarray
    start_m: np.ndarray  # distance along the route where each piece starts
    xy0: np.ndarray  # (n, 2) start and end point of each piece, run CRS
    xy1: np.ndarray


def route_pieces(xy: np.ndarray, transform) -> RoutePieces:
    """Cut a polyline at every pixel edge of a north-up grid.

    Each segment is split at the parameters where it crosses a column or row
    edge; each piece lies in exactly one pixel, found from its midpoint.
    Zero-length segments are skipped.
    """
    inv = ~transform
    res = abs(transform.a)
    rows, cols, lens, x0s, x1s = [], [], [], [], []
    for a, b in zip(xy[:-1], xy[1:], strict=True):
        seg_len = float(math.hypot(b[0] - a[0], b[1] - a[1]))
        if seg_len == 0.0:
            continue
        ca, ra = inv @ (a[0], a[1])
        cb, rb = inv @ (b[0], b[1])
        ts = [np.array([0.0, 1.0])]
        for u0, u1 in ((ca, cb), (ra, rb)):
            if u1 != u0:
                lo, hi = min(u0, u1), max(u0, u1)
                k = np.arange(math.floor(lo) + 1, math.ceil(hi), dtype="float64")
                ts.append((k - u0) / (u1 - u0))
        t = np.unique(np.clip(np.concatenate(ts), 0.0, 1.0))
        dt = np.diff(t)
        keep = dt * seg_len > 1e-9 * max(res, 1.0)
        tm = ((t[:-1] + t[1:]) / 2)[keep]
        cols.append(np.floor(ca + tm * (cb - ca)).astype(np.int64))
        rows.append(np.floor(ra + tm * (rb - ra)).astype(np.int64))
        lens.append(dt[keep] * seg_len)
        t0, t1 = t[:-1][keep], t[1:][keep]
        x0s.append(a + t0[:, None] * (b - a))
        x1s.append(a + t1[:, None] * (b - a))
    if not lens:
        raise QueryError("coordinates", "the route has zero length")
    length = np.concatenate(lens)
    start = np.concatenate([[0.0], np.cumsum(length)[:-1]])
    return RoutePieces(np.concatenate(rows), np.concatenate(cols), length, start,
                       np.concatenate(x0s), np.concatenate(x1s))


def _stretches(below: np.ndarray, pieces: RoutePieces, p: np.ndarray) -> list[dict]:
    """Runs of consecutive below-target pieces, with start/end km and geometry."""
    if not below.any():
        return []
    edges = np.diff(np.r_[0, below.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = []
    for s, e in zip(starts, ends, strict=True):
        start_m = float(pieces.start_m[s])
        end_m = float(pieces.start_m[e - 1] + pieces.length_m[e - 1])
        xy = np.vstack([pieces.xy0[s:e], pieces.xy1[e - 1:e]])
        # drop interior points on straight runs: keep vertices where the direction changes
        if len(xy) > 2:
            d = np.diff(xy, axis=0)
            cross = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
            keep = np.r_[True, np.abs(cross) > 1e-9 * (np.abs(d[:-1]).sum(axis=1) + 1.0) ** 2,
                         True]
            xy = xy[keep]
        out.append({"start_km": round(start_m / 1000.0, KM_DECIMALS),
                    "end_km": round(end_m / 1000.0, KM_DECIMALS),
                    "length_km": round((end_m - start_m) / 1000.0, KM_DECIMALS),
                    "p_cover_min": round_or_none(float(np.nanmin(p[s:e])), P_DECIMALS), "xy": xy})
    return out
