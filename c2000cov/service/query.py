"""Point and route answers from a run folder, for the meldkamer.

:class:`RunQuery` opens a run folder once (``run.json``, the coverage
GeoTIFFs, ``dead_zones.gpkg``, ``masts_used.csv``) and answers

- :meth:`RunQuery.point`: per profile the sunny-day and night location
  probability, class, limiting direction, number of masts at target, the
  dead zone the point lies in (id, area, class mix) and the advice that
  zone carries, worded by :mod:`c2000cov.products.advice` (the one owner of
  that wording, shared with the map) from the zone's facts: in-car coverage
  in the zone, the nearest covered point, DMO reach (Dutch, or English);
- :meth:`RunQuery.route`: the kilometres and share of a route below target
  per profile, the uncovered stretches with their start and end distances
  and the longest one.

Rasters are never read whole per request: a point reads one pixel (a 1 x 1
window), a route reads, per raster block it crosses, only the window of the
pixels it passes. Route lengths are exact: every segment is cut where it
crosses a pixel edge and each piece takes its pixel's value.

Public mode leaves out everything that locates a mast, as the public map
does (:mod:`c2000cov.products.maps`): no best server, no mast ids, names or
positions, no nearest mast of a zone; raster answers are the answers of the
:data:`~c2000cov.products.maps.PUBLIC_BLOCK_M` block around the point (mean
probability, majority class and direction, lowest mast count), and the dead
zone is the one that fills the block, so coverage peaks cannot be traced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.features import rasterize
from rasterio.windows import Window
from scipy import ndimage

from c2000cov.analysis.coverage import CLASS_NAMES, LIMITING_NAMES
from c2000cov.products import runfolder as rf
from c2000cov.products.advice import (
    DEFAULT_LANG,
    KIND_IN_CAR,
    profile_kind,
    profile_labels,
    zone_advice,
    zone_facts,
)
from c2000cov.products.maps import PUBLIC_BLOCK_M, BlockGrid
from c2000cov.products.maps.build import SHARE_COLUMNS, ZONE_MARGIN_PX
from c2000cov.products.runfolder import read_run_folder
from c2000cov.service.common import (
    BAND_CLASS,
    BAND_LIMITING,
    BAND_N_AT_TARGET,
    BAND_P_COVER,
    BAND_SERVER,
    DEG_DECIMALS,
    FOUR_CONNECTED,
    M_DECIMALS,
    MAX_ROUTE_VERTICES,
    NOT_EVALUATED,
    P_DECIMALS,
    QUERY_BANDS,
    RD_NEW,
    WGS84,
    ProfileRasters,
    QueryError,
    band_index,
    check_answer_lang,
    check_lonlat,
    parse_number,
    round_or_none,
)
from c2000cov.service.route import route_answer


class RunQuery:
    """Answers from one run folder; open once, ask many times (thread-safe).

    Parameters
    ----------
    run_dir : Path
        Output folder of ``c2000cov run``.
    profiles : list of str, optional
        Profiles to answer by default (default: all, outdoor first).
    public : bool
        Leave out mast ids, names and positions and answer per public block.
    """

    def __init__(self, run_dir: Path, profiles: list[str] | None = None, public: bool = False):
        run = read_run_folder(Path(run_dir), profiles)
        self.run_dir = run.path
        self.manifest = run.manifest
        self.parameters = run.parameters
        self.public = public
        self.crs = CRS.from_user_input(run.crs.to_wkt())
        self.crs_text = self.crs.to_string()
        self.profiles = list(run.profiles)
        self._lock = threading.Lock()
        self._to_run = Transformer.from_crs(WGS84, self.crs, always_xy=True)
        self._to_wgs84 = Transformer.from_crs(self.crs, WGS84, always_xy=True)
        self._rd_to_run = Transformer.from_crs(RD_NEW, self.crs, always_xy=True)
        self._p: dict[str, ProfileRasters] = {}
        self.all_profiles = rf.coverage_profiles(self.run_dir)
        try:
            for name in self.all_profiles:
                self._p[name] = self._open_profile(name, run.target_pct(name))
        except BaseException:
            self.close()
            raise
        first = self._p[self.all_profiles[0]].main
        self.transform = first.transform
        self.shape = (first.height, first.width)
        self.bounds_m = tuple(first.bounds)
        self.resolution_m = abs(first.transform.a)
        self.blocks = (BlockGrid.of(self.shape, self.transform, PUBLIC_BLOCK_M)
                       if public else None)
        self.masts = None if public else self._read_masts()
        self._masts_by_index = {} if self.masts is None else {
            int(r["mast_index"]): {"mast_index": int(r["mast_index"]),
                                   "mast_id": str(r.get("mast_id", "")),
                                   "name": str(r.get("name", "")),
                                   "x_m": round_or_none(float(r["x_m"]), M_DECIMALS),
                                   "y_m": round_or_none(float(r["y_m"]), M_DECIMALS)}
            for r in self.masts.to_dict("records")}
        self._zones_loaded = False

    # ------------------------------------------------------------------ opening
    def _open_profile(self, name: str, target_pct: float) -> ProfileRasters:
        # the bands live in several files (rf.CoverageStack reads them as one raster)
        path = self.run_dir / rf.coverage_name(name)
        main = rf.CoverageStack(self.run_dir, name)
        try:
            bands = band_index(main, path)
            target = float(main.tags().get("target_pct", target_pct))
            night_path = self.run_dir / rf.coverage_name(name, night=True)
            night, night_bands = None, {}
            if night_path.is_file():
                night = rf.CoverageStack(self.run_dir, name, night=True)
                night_bands = band_index(night, night_path)
        except BaseException:
            main.close()
            raise
        return ProfileRasters(name, target, profile_kind(name, self.parameters), main, night,
                        bands, night_bands)

    def _read_masts(self) -> pd.DataFrame | None:
        path = self.run_dir / rf.MASTS_USED
        if not path.is_file():
            return None
        return pd.read_csv(path, dtype={"mast_id": str, "name": str}, keep_default_na=False,
                           na_values={"x_m": [""], "y_m": [""]})

    def _load_zones(self) -> None:
        if self._zones_loaded:
            return
        path = self.run_dir / rf.DEAD_ZONES
        layers = gpd.list_layers(path)["name"].tolist() if path.is_file() else []
        for name, prof in self._p.items():
            if name in layers:
                gdf = gpd.read_file(path, layer=name)
                gdf = gdf.set_crs(self.crs) if gdf.crs is None else gdf.to_crs(self.crs)
                prof.zones = gdf.reset_index(drop=True)
                prof.tree = shapely.STRtree(gdf.geometry.to_numpy())
        self._zones_loaded = True

    def warm(self) -> RunQuery:
        """Read the dead-zone layers now rather than on the first request."""
        with self._lock:
            self._load_zones()
        return self

    def close(self) -> None:
        """Close the open rasters."""
        for prof in self._p.values():
            prof.main.close()
            if prof.night is not None:
                prof.night.close()

    def __enter__(self) -> RunQuery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ coordinates
    def check_profiles(self, profiles: Iterable[str] | None, field_name: str = "profile"
                       ) -> list[str]:
        """The profiles to answer, checked against the run's profiles."""
        if not profiles:
            return list(self.profiles)
        out = []
        for p in profiles:
            if p not in self._p:
                raise QueryError(field_name, f"unknown profile {p!r}; valid profiles: "
                                 f"{', '.join(self.all_profiles)}")
            out.append(p)
        return list(dict.fromkeys(out))

    def lonlat_to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """WGS84 degrees to the run's CRS (m)."""
        x, y = self._to_run.transform(lon, lat)
        return float(x), float(y)

    def rd_to_xy(self, x_rd: float, y_rd: float) -> tuple[float, float]:
        """RD New (EPSG:28992) metres to the run's CRS (m)."""
        x, y = self._rd_to_run.transform(x_rd, y_rd)
        return float(x), float(y)

    def pixel_of(self, x_m: float, y_m: float, field_name: str = "point") -> tuple[int, int]:
        """Row and column of the pixel holding ``(x_m, y_m)``; QueryError outside the grid."""
        col_f, row_f = ~self.transform @ (x_m, y_m)
        h, w = self.shape
        if not (math.isfinite(col_f) and math.isfinite(row_f)
                and 0 <= row_f < h and 0 <= col_f < w):
            left, bottom, right, top = self.bounds_m
            raise QueryError(field_name, f"point ({x_m:.1f}, {y_m:.1f}) m lies outside the "
                             f"run's grid x {left:.0f}..{right:.0f}, y {bottom:.0f}..{top:.0f} "
                             f"({self.crs.to_string()})")
        return int(row_f), int(col_f)

    # ------------------------------------------------------------------ points
    def point_lonlat(self, lon, lat, profiles: Iterable[str] | None = None,
                     lon_name: str = "lon", lat_name: str = "lat",
                     field_name: str | None = None, lang: str = DEFAULT_LANG) -> dict:
        """Answer for a WGS84 point (degrees)."""
        lon_f, lat_f = check_lonlat(lon, lat, lon_name, lat_name)
        x, y = self.lonlat_to_xy(lon_f, lat_f)
        return self.point(x, y, profiles, field_name=field_name or f"{lon_name},{lat_name}",
                          lang=lang)

    def point_rd(self, x_rd, y_rd, profiles: Iterable[str] | None = None,
                 lang: str = DEFAULT_LANG) -> dict:
        """Answer for an RD New point (m)."""
        x, y = self.rd_to_xy(parse_number(x_rd, "x"), parse_number(y_rd, "y"))
        return self.point(x, y, profiles, field_name="point_rd", lang=lang)

    def point(self, x_m: float, y_m: float, profiles: Iterable[str] | None = None,
              field_name: str = "point", lang: str = DEFAULT_LANG) -> dict:
        """Answer for a point in the run's CRS: see the module docstring for the fields."""
        names = self.check_profiles(profiles)
        lang = check_answer_lang(lang)
        row, col = self.pixel_of(x_m, y_m, field_name)
        lon, lat = self._to_wgs84.transform(x_m, y_m)
        labels = profile_labels(self.all_profiles, self.parameters, lang)
        with self._lock:
            self._load_zones()
            answers = {p: {"label": labels[p],
                           **self._profile_answer(self._p[p], row, col, x_m, y_m, lang)}
                       for p in names}
        out = {"x_m": round_or_none(x_m, M_DECIMALS), "y_m": round_or_none(y_m, M_DECIMALS),
               "lon_deg": round_or_none(lon, DEG_DECIMALS),
               "lat_deg": round_or_none(lat, DEG_DECIMALS),
               "crs": self.crs_text, "profiles": answers}
        if self.public:
            out["public_block_m"] = PUBLIC_BLOCK_M
        return out

    def _window_of_point(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(row0, col0, height, width) read for a point: one pixel, or its public block."""
        if self.blocks is None:
            return row, col, 1, 1
        b = self.blocks
        br, bc = (row + b.pad_top) // b.k, (col + b.pad_left) // b.k
        r0, c0 = br * b.k - b.pad_top, bc * b.k - b.pad_left
        r1, c1 = min(r0 + b.k, self.shape[0]), min(c0 + b.k, self.shape[1])
        r0, c0 = max(r0, 0), max(c0, 0)
        return r0, c0, r1 - r0, c1 - c0

    def _read_state(self, src, bands: dict[str, int], row: int, col: int) -> dict:
        r0, c0, h, w = self._window_of_point(row, col)
        data = src.read([bands[b] for b in QUERY_BANDS], window=Window(c0, r0, w, h))
        vals = {b: data[i].astype("float64") for i, b in enumerate(QUERY_BANDS)}
        p = vals[BAND_P_COVER]
        ev = np.isfinite(p)
        if self.blocks is None:
            return {b: float(v[0, 0]) for b, v in vals.items()} | {"_window": None}
        if not ev.any():
            return {BAND_P_COVER: math.nan, BAND_CLASS: 255.0, BAND_LIMITING: 0.0,
                    BAND_N_AT_TARGET: 0.0, BAND_SERVER: -1.0, "_window": (r0, c0, h, w, p)}
        cls = vals[BAND_CLASS][ev].astype(int)
        lim = vals[BAND_LIMITING][ev].astype(int)
        return {BAND_P_COVER: float(p[ev].mean()),
                BAND_CLASS: float(np.bincount(cls, minlength=256)[:4].argmax()),
                BAND_LIMITING: float(np.bincount(lim, minlength=3).argmax()),
                BAND_N_AT_TARGET: float(vals[BAND_N_AT_TARGET][ev].min()),
                BAND_SERVER: -1.0, "_window": (r0, c0, h, w, p)}

    def _profile_answer(self, prof: ProfileRasters, row: int, col: int, x_m: float, y_m: float,
                        lang: str) -> dict:
        v = self._read_state(prof.main, prof.bands, row, col)
        p = v[BAND_P_COVER]
        evaluated = math.isfinite(p)
        cls = int(v[BAND_CLASS]) if math.isfinite(v[BAND_CLASS]) else 255
        ans: dict = {
            "p_cover": round_or_none(p, P_DECIMALS),
            "target_pct": prof.target_pct,
            "class": CLASS_NAMES.get(cls, NOT_EVALUATED) if evaluated else NOT_EVALUATED,
            "limiting": LIMITING_NAMES.get(int(v[BAND_LIMITING])) if evaluated else None,
            "n_masts_at_target": int(v[BAND_N_AT_TARGET]) if evaluated else None,
        }
        if prof.night is not None:
            vn = self._read_state(prof.night, prof.night_bands, row, col)
            ans["p_cover_night"] = round_or_none(vn[BAND_P_COVER], P_DECIMALS)
        if not self.public:
            ans["best_server"] = self._mast(int(v[BAND_SERVER])) if evaluated else None
        i = self._zone_at(prof, x_m, y_m, v["_window"])
        ans["dead_zone"] = None if i is None else self._zone_dict(prof, i)
        ans["advice"] = None
        if evaluated and p < prof.target_pct / 100.0:
            facts = (self._zone_facts(prof, i) if i is not None
                     else self._point_facts(prof, row, col, ans["limiting"]))
            ans["advice"] = " ".join(zone_advice(facts, lang))
        return ans

    def _mast(self, index: int) -> dict | None:
        if index < 0:
            return None
        return dict(self._masts_by_index.get(index, {"mast_index": index}))

    # ------------------------------------------------------------------ dead zones
    def _zone_at(self, prof: ProfileRasters, x_m: float, y_m: float, window) -> int | None:
        """Index of the dead zone holding the point (public: filling its block), or None."""
        if prof.tree is None or prof.zones is None or not len(prof.zones):
            return None
        if window is None:  # the zone holding the point
            hits = prof.tree.query(shapely.Point(x_m, y_m), predicate="intersects")
            if len(hits) == 0:
                return None
            i = int(min(hits))
        else:  # public: the zone filling the point's block, when the block is a dead block
            r0, c0, h, w, p = window
            ev = np.isfinite(p)
            with np.errstate(invalid="ignore"):
                below = ev & (p < prof.target_pct / 100.0)
            if not below.any() or 2 * below.sum() < ev.sum():
                return None
            win_tr = self.transform @ Affine.translation(c0, r0)
            box = shapely.box(*rasterio.windows.bounds(Window(c0, r0, w, h), self.transform))
            hits = prof.tree.query(box, predicate="intersects")
            if len(hits) == 0:
                return None
            idx = rasterize(((prof.zones.geometry.iloc[int(j)], int(j) + 1) for j in hits),
                            out_shape=(h, w), transform=win_tr, fill=0, dtype="int32")
            counts = np.bincount(idx[below], minlength=1)
            counts[0] = 0
            if counts.max() == 0:
                return None
            i = int(counts.argmax()) - 1
        return i

    def _zone_dict(self, prof: ProfileRasters, i: int) -> dict:
        z = prof.zones.iloc[i]
        facts = self._zone_facts(prof, i)
        out = {"zone_id": str(z.get("zone_id", i)),
               "area_km2": round_or_none(float(z["area_km2"]), 4),
               "class": facts.dominant_class, "limiting": str(z.get("limiting", ""))}
        # the class mix as dead_zones.gpkg holds it (from the raster for older run folders)
        for key in SHARE_COLUMNS:
            out[key] = round_or_none(float(getattr(facts, key)), 2)
        if "class_worst" in z and str(z["class_worst"]):
            out["class_worst"] = str(z["class_worst"])
        if str(z.get("areas", "") or ""):
            out["areas"] = str(z["areas"])
        if not self.public:
            out["p_cover_min"] = round_or_none(float(z.get("p_cover_min", math.nan)), P_DECIMALS)
            if str(z.get("nearest_mast_id", "")) not in ("", "nan", "None"):
                out["nearest_mast_id"] = str(z["nearest_mast_id"])
                out["nearest_mast_dist_m"] = round_or_none(float(z["nearest_mast_dist_m"]), 1)
        return out

    def _window_around(self, xmin: float, ymin: float, xmax: float, ymax: float
                       ) -> tuple[int, int, int, int]:
        """(row0, col0, height, width) of the pixels covering a box, clipped to the grid."""
        c_lo, r_lo = ~self.transform @ (xmin, ymax)
        c_hi, r_hi = ~self.transform @ (xmax, ymin)
        r0, c0 = max(int(math.floor(r_lo)), 0), max(int(math.floor(c_lo)), 0)
        h = min(int(math.ceil(r_hi)), self.shape[0]) - r0
        w = min(int(math.ceil(c_hi)), self.shape[1]) - c0
        return r0, c0, h, w

    def _incar(self, prof: ProfileRasters) -> ProfileRasters | None:
        if prof.kind == KIND_IN_CAR:
            return None
        return next((q for q in self._p.values() if q.kind == KIND_IN_CAR), None)

    def _facts(self, prof: ProfileRasters, r0: int, c0: int, h: int, w: int, zone: np.ndarray,
               p: np.ndarray, ref_rc: tuple[int, int], limiting: str):
        car = self._incar(prof)
        car_p = None if car is None else car.main.read(car.bands[BAND_P_COVER],
                                                       window=Window(c0, r0, w, h))
        params = self.parameters
        return zone_facts(zone, p, prof.target_pct, self.resolution_m, ref_rc, kind=prof.kind,
                          limiting=limiting,
                          reduced_pct=float(params.get("classes.reduced_pct", 80.0)),
                          poor_pct=float(params.get("classes.poor_pct", 50.0)),
                          incar_p_cover=car_p,
                          incar_target_pct=95.0 if car is None else car.target_pct)

    def _zone_facts(self, prof: ProfileRasters, i: int):
        """The advice facts of a dead zone (products.advice), computed once per zone
        from a window around it, the way the map computes them (same margin,
        reference pixel and class mix), so that both say the same words."""
        if i in prof.facts:
            return prof.facts[i]
        geom = prof.zones.geometry.iloc[i]
        margin = ZONE_MARGIN_PX * self.resolution_m  # as the map searches, for the same words
        xmin, ymin, xmax, ymax = geom.bounds
        r0, c0, h, w = self._window_around(xmin - margin, ymin - margin, xmax + margin,
                                           ymax + margin)
        tr = self.transform @ Affine.translation(c0, r0)
        zone = rasterize([(geom, 1)], out_shape=(h, w), fill=0, dtype="uint8",
                         transform=tr) > 0
        p = prof.main.read(prof.bands[BAND_P_COVER], window=Window(c0, r0, w, h))
        ref = shapely.point_on_surface(geom)
        col_f, row_f = ~tr @ (ref.x, ref.y)
        ref_rc = (min(max(int(math.floor(row_f)), 0), h - 1),
                  min(max(int(math.floor(col_f)), 0), w - 1))
        if not zone[ref_rc] and zone.any():  # as the map: the nearest pixel of the zone
            rs, cs = np.nonzero(zone)
            k = int(np.argmin((rs - ref_rc[0]) ** 2 + (cs - ref_rc[1]) ** 2))
            ref_rc = (int(rs[k]), int(cs[k]))
        z = prof.zones.iloc[i]
        facts = self._facts(prof, r0, c0, h, w, zone, p, ref_rc, str(z.get("limiting",
                                                                           "unreached")))
        if all(c in z and math.isfinite(float(z[c])) for c in SHARE_COLUMNS):
            # the run's class mix (from unrounded probabilities) wins, as on the map
            facts = dataclasses.replace(facts, **{c: float(z[c]) for c in SHARE_COLUMNS})
        prof.facts[i] = facts
        return facts

    def _point_facts(self, prof: ProfileRasters, row: int, col: int, limiting: str | None):
        """Advice facts for a below-target point outside every listed zone (a zone under
        the run's minimum area): its own below-target patch around it."""
        x, y = self.transform @ (col + 0.5, row + 0.5)
        margin = ZONE_MARGIN_PX * self.resolution_m
        r0, c0, h, w = self._window_around(x - margin, y - margin, x + margin, y + margin)
        p = prof.main.read(prof.bands[BAND_P_COVER], window=Window(c0, r0, w, h))
        with np.errstate(invalid="ignore"):
            below = np.isfinite(p) & (p < prof.target_pct / 100.0)
        ref_rc = (row - r0, col - c0)
        labels, _ = ndimage.label(below, structure=FOUR_CONNECTED)
        zone = (labels == labels[ref_rc]) if labels[ref_rc] > 0 else np.zeros_like(below)
        zone[ref_rc] = True
        return self._facts(prof, r0, c0, h, w, zone, p, ref_rc, limiting or "unreached")

    def to_run_xy(self, a: float, b: float, crs: str) -> tuple[float, float]:
        """Coordinates in ``crs`` (WGS84 lon/lat, RD New or any CRS text) to the run's CRS."""
        if crs == WGS84:
            return self.lonlat_to_xy(a, b)
        if crs == RD_NEW:
            return self.rd_to_xy(a, b)
        x, y = Transformer.from_crs(crs, self.crs, always_xy=True).transform(a, b)
        return float(x), float(y)

    def points(self, pts: Sequence, profiles: Iterable[str] | None = None,
               field_format: str = "features[{i}]", lang: str = DEFAULT_LANG) -> list[dict]:
        """Answers for a batch of points (``PointIn``), one per input point, in order.

        A point that cannot be answered (unreadable coordinates, outside the
        grid) gets ``{"error": ...}`` in its place, naming the point with
        ``field_format`` (``{i}``: 0-based index, ``{n}``: 1-based row); an
        unknown profile fails the whole batch.
        """
        names = self.check_profiles(profiles)
        out = []
        for i, pt in enumerate(pts):
            if pt.error is not None:
                out.append({"error": pt.error})
                continue
            try:
                x, y = self.to_run_xy(pt.a, pt.b, pt.crs)
                out.append(self.point(x, y, names,
                                      field_name=field_format.format(i=i, n=i + 1),
                                      lang=lang))
            except QueryError as exc:
                out.append({"error": str(exc)})
        return out

    def route_in(self, route, profiles: Iterable[str] | None = None,
                 field_name: str = "coordinates") -> dict:
        """:meth:`route` for a ``RouteIn`` in any CRS."""
        if len(route.xy) > MAX_ROUTE_VERTICES:
            raise QueryError(field_name, f"a route may have at most {MAX_ROUTE_VERTICES} "
                             f"vertices, got {len(route.xy)}", status=413)
        if route.crs == WGS84:
            x, y = self._to_run.transform(route.xy[:, 0], route.xy[:, 1])
        elif route.crs == RD_NEW:
            x, y = self._rd_to_run.transform(route.xy[:, 0], route.xy[:, 1])
        else:
            x, y = Transformer.from_crs(route.crs, self.crs, always_xy=True).transform(
                route.xy[:, 0], route.xy[:, 1])
        return self.route(np.column_stack([x, y]), profiles, field_name)

    # ------------------------------------------------------------------ routes
    def route(self, xy_m: np.ndarray, profiles: Iterable[str] | None = None,
              field_name: str = "coordinates") -> dict:
        """Kilometres below target along a route in the run's CRS (m): see
        :func:`c2000cov.service.route.route_answer`."""
        return route_answer(self, xy_m, profiles, field_name)

    def _block_means(self, prof: ProfileRasters, brows: np.ndarray, bcols: np.ndarray
                     ) -> np.ndarray:
        """Mean p_cover of the evaluated pixels of public blocks (NaN where none)."""
        b = self.blocks
        out = np.full(brows.size, np.nan)
        keys = brows * (b.block_shape[1] + 1) + bcols
        for key in np.unique(keys):
            sel = keys == key
            br, bc = int(brows[sel][0]), int(bcols[sel][0])
            row = br * b.k - b.pad_top
            col = bc * b.k - b.pad_left
            r0, c0, hh, ww = self._window_of_point(max(row, 0), max(col, 0))
            p = prof.main.read(prof.bands[BAND_P_COVER], window=Window(c0, r0, ww, hh))
            if np.isfinite(p).any():
                out[sel] = float(np.nanmean(p))
        return out

    def _wgs84_coords(self, xy: np.ndarray) -> list[list[float]]:
        lon, lat = self._to_wgs84.transform(xy[:, 0], xy[:, 1])
        return [[round(float(a), DEG_DECIMALS), round(float(b), DEG_DECIMALS)]
                for a, b in zip(np.atleast_1d(lon), np.atleast_1d(lat), strict=True)]

    # ------------------------------------------------------------------ health
    def health(self) -> dict:
        """Run name, scenario digest, age of the run and what the service answers."""
        params = self.manifest.get("parameters", {}) or {}
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":"),
                                           default=str).encode()).hexdigest()
        mtime = (self.run_dir / rf.MANIFEST).stat().st_mtime
        return {"status": "ok", "run": str(self.manifest.get("scenario", "")),
                "scenario_digest_sha256": digest,
                "run_written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime)),
                "run_age_s": round(time.time() - mtime, 1),
                "profiles": self.profiles,
                "night_state": any(p.night is not None for p in self._p.values()),
                "crs": self.crs.to_string(), "resolution_m": self.resolution_m,
                "public": self.public}
