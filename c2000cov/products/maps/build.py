"""Build an offline HTML map from a run folder.

The map is built from the files of a run folder (``run.json``,
``p_cover_<profile>.tif``, ``dead_zones.gpkg``, ...), never from in-memory
objects, so any run can be mapped later. Rasters are reprojected to Web
Mercator (EPSG:3857), where a Leaflet image overlay is linear, with
nearest-neighbour resampling, and drawn as palette PNGs; dead zones are
simplified (topology kept) to about one pixel, which keeps a 50 x 50 km
region at 10 m within a size a dispatcher's browser loads in seconds.

Each zone carries its class mix and advice computed for the zone
(:mod:`c2000cov.products.advice`): the in-car radio's coverage inside it, the
nearest covered point and whether DMO reaches coverage.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.warp import transform_bounds
from scipy import ndimage

from c2000cov.analysis.coverage import (
    CLASS_GOOD,
    CLASS_NODATA,
    CLASS_NONE,
    CLASS_POOR,
    CLASS_REDUCED,
)
from c2000cov.analysis.delta import DELTA_GAINED, DELTA_LOST
from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import atomic_path
from c2000cov.products import advice
from c2000cov.products import runfolder as rf
from c2000cov.products.maps import html, layers
from c2000cov.products.maps.field import field_layers, field_legend
from c2000cov.products.maps.public import (
    PUBLIC_BLOCK_M,
    BlockGrid,
    block_majority,
    mask_zones,
    public_dead_zones,
)
from c2000cov.products.maps.words import WORDS
from c2000cov.products.runfolder import (
    CoverageRaster,
    RunFolder,
    read_coverage,
    read_run_folder,
)

BASEMAPS = ("none", "osm", "brt")
TILE_LAYERS = {
    "osm": ("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "&copy; OpenStreetMap contributors", 19),
    "brt": ("PDOK BRT-Achtergrondkaart",
            "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/"
            "{z}/{x}/{y}.png", "Kadaster / PDOK BRT-Achtergrondkaart (CC BY 4.0)", 19),
}
SHARE_COLUMNS = ("share_reduced_pct", "share_poor_pct", "share_none_pct")
#: Words the page's script needs (the rest is in the features and legend).
PAGE_WORDS = ("profile", "layers", "legend", "panel", "close", "offline")
#: Pixels around a zone searched for its nearest covered point.
ZONE_MARGIN_PX = 20
#: Simplification tolerance of zone outlines, in pixels: removes the pixel
#: staircase (most of a zone's vertices) and moves an edge by at most 1.5 px.
SIMPLIFY_PX = 1.5


def read_dead_zones(run: RunFolder, profile: str) -> gpd.GeoDataFrame | None:
    """The dead zones of a profile from ``dead_zones.gpkg``; None when absent."""
    path = run.file(rf.DEAD_ZONES)
    if not path.is_file():
        return None
    if profile not in gpd.list_layers(path)["name"].tolist():
        return None
    gdf = gpd.read_file(path, layer=profile)
    if gdf.crs is None:
        gdf = gdf.set_crs(run.crs)
    return gdf.to_crs(run.crs)


def simplify_zones(zones: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Zones with staircase pixel edges simplified, shared edges kept shared."""
    if len(zones) == 0 or tolerance_m <= 0:
        return zones
    out = zones.copy()
    out["geometry"] = shapely.make_valid(shapely.coverage_simplify(zones.geometry.values,
                                                                   tolerance_m))
    return out


def zone_facts(run: RunFolder, profile: str, zone_idx: np.ndarray, zones: gpd.GeoDataFrame,
               covs: dict[str, CoverageRaster]) -> list[advice.ZoneFacts]:
    """The advice facts of each zone, from the rasters.

    Parameters
    ----------
    zone_idx : 2-D int array
        Zone number (1..n, in the order of ``zones``) of each pixel, 0 outside.
    covs : dict
        Coverage per profile (the in-car profile, when there is one, gives
        the in-car share).
    """
    cov = covs[profile]
    kind = advice.profile_kind(profile, run.parameters)
    incar = next((p for p in covs if advice.profile_kind(p, run.parameters) == advice.KIND_IN_CAR
                  and p != profile), None)
    slices = ndimage.find_objects(zone_idx, max_label=len(zones))
    inv = ~cov.transform
    h, w = zone_idx.shape
    refs = shapely.point_on_surface(zones.geometry.values)
    out = []
    for i, (sl, (_, z)) in enumerate(zip(slices, zones.iterrows(), strict=True)):
        limiting = str(z.get("limiting", "unreached"))
        if sl is None:  # too small to hold a pixel centre after simplification
            out.append(advice.ZoneFacts(kind, limiting, float(z.get("share_reduced_pct", 0)),
                                        float(z.get("share_poor_pct", 0)),
                                        float(z.get("share_none_pct", 0))))
            continue
        r0 = max(sl[0].start - ZONE_MARGIN_PX, 0)
        r1 = min(sl[0].stop + ZONE_MARGIN_PX, h)
        c0 = max(sl[1].start - ZONE_MARGIN_PX, 0)
        c1 = min(sl[1].stop + ZONE_MARGIN_PX, w)
        mask = zone_idx[r0:r1, c0:c1] == i + 1
        col, row = inv @ (refs[i].x, refs[i].y)
        rr = int(np.clip(math.floor(row), r0, r1 - 1)) - r0
        cc = int(np.clip(math.floor(col), c0, c1 - 1)) - c0
        if not mask[rr, cc]:  # the reference point's pixel lies outside: take a zone pixel
            rs, cs = np.nonzero(mask)
            k = int(np.argmin((rs - rr) ** 2 + (cs - cc) ** 2))
            rr, cc = int(rs[k]), int(cs[k])
        facts = advice.zone_facts(
            mask, cov.p_cover[r0:r1, c0:c1], cov.target_pct, cov.pixel_m, (rr, cc), kind=kind,
            limiting=limiting, reduced_pct=run.reduced_pct, poor_pct=run.poor_pct,
            incar_p_cover=None if incar is None else covs[incar].p_cover[r0:r1, c0:c1],
            incar_target_pct=95.0 if incar is None else covs[incar].target_pct)
        if all(c in z for c in SHARE_COLUMNS):
            # the run's own class mix (from unrounded probabilities) wins over the file's
            facts = dataclasses.replace(facts, **{c: float(z[c]) for c in SHARE_COLUMNS})
        out.append(facts)
    return out


def profile_zones(run: RunFolder, profile: str, covs: dict[str, CoverageRaster],
                  blocks: BlockGrid | None
                  ) -> tuple[gpd.GeoDataFrame, list[advice.ZoneFacts]] | None:
    """The zones of a profile as shown (simplified, or public blocks) with their facts."""
    dz = read_dead_zones(run, profile)
    if dz is None:
        return None
    cov = covs[profile]
    if blocks is not None:
        dz, labels = public_dead_zones(dz, cov, blocks)
        zone_idx = np.where(labels > 0, labels, 0).astype("int32")
    else:
        zone_idx = np.zeros(cov.p_cover.shape, dtype="int32")
        if len(dz):
            zone_idx = rasterize(((g, i + 1) for i, g in enumerate(dz.geometry)),
                                 out_shape=cov.p_cover.shape, transform=cov.transform, fill=0,
                                 dtype="int32")
        dz = simplify_zones(dz, SIMPLIFY_PX * cov.pixel_m)
    if len(dz) == 0:
        return dz, []
    facts = zone_facts(run, profile, zone_idx, dz, covs)
    if blocks is not None:
        # public: distances no finer than a block, so they show no pixel-level structure
        facts = [dataclasses.replace(f, **{k: _block_ceil(getattr(f, k)) for k in (
            "nearest_covered_m", "max_to_covered_m")}) for f in facts]
    return dz, facts


def _block_ceil(dist_m: float | None) -> float | None:
    return None if dist_m is None else PUBLIC_BLOCK_M * max(1, math.ceil(dist_m / PUBLIC_BLOCK_M))


def area_geoms(run: RunFolder) -> gpd.GeoDataFrame:
    """The run's reporting areas (``areas_used.gpkg``), or the grid extent as one area."""
    if run.has(rf.AREAS_USED):
        areas = gpd.read_file(run.file(rf.AREAS_USED), layer=rf.AREAS_LAYER)
        if areas.crs is None:
            areas = areas.set_crs(run.crs)
        return areas.to_crs(run.crs)[["area_name", "geometry"]]
    b = run.manifest.get("grid", {}).get("bounds_m")
    return gpd.GeoDataFrame({"area_name": ["all"]}, geometry=[shapely.box(*b)], crs=run.crs)


def read_roads(run: RunFolder) -> gpd.GeoDataFrame | None:
    """The scenario's roads (``[roads] path``), clipped to the grid; None when there are none."""
    path = run.parameters.get("roads.path")
    if not path or not Path(str(path)).is_file():
        return None
    layer = run.parameters.get("roads.layer")
    roads = gpd.read_file(path, layer=layer if layer not in (None, "", "None") else None)
    if roads.crs is None:
        roads = roads.set_crs(run.crs)
    roads = roads.to_crs(run.crs)
    b = run.manifest.get("grid", {}).get("bounds_m")
    return roads.clip(shapely.box(*b)) if b else roads


def _area_table(run: RunFolder) -> pd.DataFrame | None:
    if not run.has(rf.AREA_TABLE):
        return None
    return pd.read_csv(run.file(rf.AREA_TABLE),
                       dtype={"area_name": str, "profile": str}, keep_default_na=False,
                       na_values={c: ["", "nan", "NaN"] for c in (
                           "covered_pct", "dead_zone_km2", "ul_limited_pct", "sunny_loss_pp",
                           "covered_pct_night")})


def _masts(run: RunFolder) -> pd.DataFrame | None:
    if not run.has(rf.MASTS_USED):
        return None
    return pd.read_csv(run.file(rf.MASTS_USED),
                       dtype={"mast_id": str, "name": str, "pattern": str},
                       keep_default_na=False, na_values={c: [""] for c in (
                           "x_m", "y_m", "h_agl_m", "tx_power_dbm", "gain_dbi",
                           "azimuth_deg", "tilt_deg")})


def _interference(run: RunFolder) -> dict[str, float]:
    if not run.has(rf.MASTS_INTERFERENCE):
        return {}
    mi = pd.read_csv(run.file(rf.MASTS_INTERFERENCE), dtype={"mast_id": str},
                     keep_default_na=False)
    if "d_ul_db" not in mi:
        return {}
    return dict(zip(mi["mast_id"].astype(str), mi["d_ul_db"], strict=True))


def _sunny(run: RunFolder, profile: str, cov: CoverageRaster, blocks: BlockGrid | None
           ) -> tuple[list, list[float]] | None:
    night_path = run.file(rf.coverage_name(profile, night=True))
    if not night_path.is_file():
        return None
    night = read_coverage(night_path, cov.target_pct, run.reduced_pct, run.poor_pct)
    t = cov.target_pct / 100.0
    with np.errstate(invalid="ignore"):
        loss = (cov.evaluated & (cov.p_cover < t) & np.isfinite(night.p_cover)
                & (night.p_cover >= t))
    _, polys, counts = mask_zones(loss, cov.evaluated, cov.transform, blocks)
    min_m2 = float(run.parameters.get("dead_zones.min_area_m2", 0.0) or 0.0)
    keep = [i for i in range(len(polys)) if counts[i] * cov.pixel_area_m2 >= min_m2]
    polys = [polys[i] for i in keep]
    if blocks is None and polys:
        polys = list(shapely.make_valid(shapely.coverage_simplify(polys,
                                                                    SIMPLIFY_PX * cov.pixel_m)))
    return polys, [counts[i] * cov.pixel_area_m2 / 1e6 for i in keep]


# --------------------------------------------------------------------------- the page


def _legend(run: RunFolder, labels: dict[str, str], w: dict, lang: str, extra: dict) -> list:
    secs = []
    bins = [lo for lo, _ in layers.CHOROPLETH_BINS]
    for prof, lab in labels.items():
        thr = advice.class_thresholds(run.target_pct(prof), run.reduced_pct, run.poor_pct, lang)
        secs.append({"profile": prof, "theme": "coverage",
                     "title": w["leg_coverage"].format(p=lab), "items": [
            [layers.rgba_css(layers.CLASS_COLOURS[c]), thr[layers.CLASS_KEYS[c]], "box",
             f"class:{layers.CLASS_KEYS[c]}"]
            for c in (CLASS_GOOD, CLASS_REDUCED, CLASS_POOR, CLASS_NONE)]})
        secs.append({"profile": prof, "theme": "deadzones", "title": w["leg_deadzones"].format(
            t=f"{run.target_pct(prof):g}"), "items": [
            [{"colour": layers.ZONE_OUTLINE, "style": style},
             advice.LIMITING_LABELS[lang][k], "line", f"limiting:{k}"]
            for k, style in (("UL", "solid"), ("DL", "dashed"), ("both", "dotted"),
                             ("unreached", "double"))]})
        items = []
        for i, (lo, colour) in enumerate(layers.CHOROPLETH_BINS):
            text = (f"≥ {lo:g} %" if i == 0 else f"{lo:g}–{bins[i - 1]:g} %") if lo > 0 \
                else f"< {bins[-2]:g} %"
            op = layers.CHOROPLETH_OPACITY
            r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
            items.append([f"rgba({r},{g},{b},{op})", text, "box", f"bin:{lo:g}"])
        items.append([{"colour": layers.PARENT_OUTLINE, "style": "solid"}, w["leg_parent"],
                      "line", "parent"])
        secs.append({"profile": prof, "theme": "areas", "title": w["leg_areas"].format(p=lab),
                     "items": items})
    if extra.get("delta"):
        secs.append({"theme": "delta", "title": w["leg_delta"], "items": [
            [layers.rgba_css(layers.DELTA_COLOURS[layers.DELTA_OVERLAY[DELTA_GAINED]]),
             w["gained"], "box"],
            [layers.rgba_css(layers.DELTA_COLOURS[layers.DELTA_OVERLAY[DELTA_LOST]]),
             w["lost"], "box"]]})
    if extra.get("sunny"):
        secs.append({"theme": "sunny", "title": w["leg_sunny"], "items": [
            [{"colour": layers.SUNNY_COLOUR, "style": "dashed"}, w["sunny_item"], "line"]]})
    if extra.get("roads"):
        secs.append({"theme": "roads", "title": w["leg_roads"], "items": [
            [{"colour": layers.ROAD_COLOUR, "style": "solid"}, w["road_item"], "line"]]})
    if extra.get("pv"):
        secs.append({"theme": "pv", "title": w["leg_pv"], "items": [
            [layers.PV_FAULTY_COLOUR, w["pv_faulty"], "dot"],
            [layers.PV_MITIGATED_COLOUR, w["pv_mitigated"], "dot"],
            [layers.PV_COMPLIANT_COLOUR, w["pv_ok"], "dot"]]})
    if extra.get("masts"):
        secs.append({"theme": "masts", "title": w["leg_masts"],
                     "items": [["#ffffff", w["mast_item"], "dot"]]})
    return secs


def map_data(run: RunFolder, public: bool = False, basemap: str = "none",
             lang: str = advice.DEFAULT_LANG) -> dict:
    """Everything the page shows, as one JSON-ready document."""
    w = WORDS[advice.check_lang(lang)]
    labels = run.labels(lang)
    covs = {p: read_coverage(run.file(rf.coverage_name(p)), run.target_pct(p), run.reduced_pct,
                             run.poor_pct) for p in run.profiles}
    first = covs[run.profiles[0]]
    h, wd = first.p_cover.shape
    left, top = first.transform @ (0, 0)
    right, bottom = first.transform @ (wd, h)
    west, south, east, north = transform_bounds(run.crs, layers.WGS84, left, bottom, right, top)
    extent_m = max(right - left, top - bottom)
    segment_m = max(extent_m / 100.0, 10.0)
    blocks = BlockGrid.of((h, wd), first.transform, PUBLIC_BLOCK_M) if public else None
    decimals = layers.COORD_DECIMALS_EXACT if public else layers.COORD_DECIMALS
    per: dict[str, dict] = {"coverage": {}, "delta": {}, "areas": {}, "sunny": {},
                            "deadzones": {}}
    for prof, cov in covs.items():
        codes, transform, over = cov.coverage_class, cov.transform, 1.0
        if blocks is not None:
            codes, transform, over = block_majority(codes, blocks), blocks.transform, 8.0
        per["coverage"][prof] = layers.overlay_png(codes, transform, cov.crs,
                                                   layers.CLASS_COLOURS, oversample=over)
        path = run.file(rf.delta_name(prof))
        if path.is_file():
            with rasterio.open(path) as src:
                d = src.read(1)
                d_tr, d_crs = src.transform, src.crs or run.crs
            dc = np.full(d.shape, CLASS_NODATA, dtype="uint8")
            fin = np.isfinite(d)
            for code, overlay in layers.DELTA_OVERLAY.items():
                dc[fin & (d == code)] = overlay
            over = 1.0
            if blocks is not None:
                dc, d_tr, over = block_majority(dc, blocks), blocks.transform, 8.0
            per["delta"][prof] = layers.overlay_png(dc, d_tr, d_crs, layers.DELTA_COLOURS,
                                                    oversample=over)
        sunny = _sunny(run, prof, cov, blocks)
        if sunny is not None:
            per["sunny"][prof] = layers.collection(layers.sunny_features(
                *sunny, run.crs, labels[prof], w, decimals))
    masts = None if public else _masts(run)
    mast_names = {} if masts is None else dict(zip(masts["mast_id"].astype(str),
                                                   masts["name"].astype(str), strict=True))
    for prof in run.profiles:
        got = profile_zones(run, prof, covs, blocks)
        if got is not None:
            zones, facts = got
            per["deadzones"][prof] = layers.collection(layers.zone_features(
                zones, facts, run.crs, labels[prof], w, lang, public, mast_names, decimals))
    areas = area_geoms(run)
    parent = layers.nested(areas)
    table = _area_table(run)
    for prof in run.profiles:
        per["areas"][prof] = layers.collection(layers.area_features(
            areas, parent, table, prof, labels, run.crs, w, segment_m))
    static: dict[str, dict] = {
        "outlines": layers.collection(layers.outline_features(
            areas, run.manifest.get("grid", {}).get("bounds_m"), run.crs, segment_m)),
        "places": layers.collection(layers.place_features(areas, parent, run.crs))}
    roads = read_roads(run)
    if roads is not None and len(roads):
        static["roads"] = layers.collection(layers.road_features(
            roads, run.crs, max(first.pixel_m, extent_m / 4000.0)))
    # PV installations never in a public map: a rooftop point identifies a household
    if not public and run.has(rf.PV_USED):
        pv = gpd.read_file(run.file(rf.PV_USED), layer=rf.PV_LAYER)
        static["pv"] = layers.collection(layers.pv_features(
            pv if pv.crs is not None else pv.set_crs(run.crs), w))
    shared: dict = {}  # styles and popup templates that many features share
    if not public:  # drive tests and incident positions are operational data
        field, shared = field_layers(run, w, lang)
        static.update(field)
    if masts is not None and len(masts):
        static["masts"] = layers.collection(layers.mast_features(
            masts, run.crs, _interference(run), extent_m, w))
    # themes, bottom to top
    themes = []
    for tid, on in (("coverage", True), ("delta", True), ("areas", False), ("outlines", True),
                    ("roads", True), ("sunny", True), ("deadzones", True),
                    ("measurements", False), ("fieldreports", True), ("pv", False),
                    ("masts", True), ("places", True)):
        if per.get(tid) or tid in static:
            themes.append({"id": tid, "label": w[f"theme_{tid}"], "on": on})
    per = {k: v for k, v in per.items() if v}
    scen = str(run.manifest.get("scenario", run.path.name))
    model = run.manifest.get("model", {})
    subtitle = [f"{w['model']} {model.get('name', '?')} ({model.get('source', '?')})"]
    if per.get("sunny"):
        sun = run.parameters.get("interference.sun_factor",
                                 run.manifest.get("interference", {}).get("sun_factor", 1.0))
        subtitle.append(w["sunny_state"].format(f=sun))
    covered = run.manifest.get("covered_pct", {}) or {}
    profiles = [{"key": p, "label": labels[p],
                 "summary": (f"{w['covered']}: {float(covered[p]):.1f} %"
                             if p in covered else "")} for p in run.profiles]
    basemap_d = None
    if basemap != "none":
        name, url, attr, max_zoom = TILE_LAYERS[basemap]
        basemap_d = {"name": name, "url": url, "attr": attr, "maxZoom": max_zoom}
    extra = {"delta": bool(per.get("delta")), "sunny": bool(per.get("sunny")),
             "roads": "roads" in static, "pv": "pv" in static, "masts": "masts" in static}
    return {
        "lang": lang, "t": {k: w[k] for k in PAGE_WORDS}, "title": f"{w['title']}: {scen}",
        "subtitle": subtitle,
        "publicNotice": w["public"].format(m=f"{PUBLIC_BLOCK_M:.0f}") if public else None,
        "bounds": [[south, west], [north, east]], "basemap": basemap_d, "profiles": profiles,
        "themes": themes, "perProfile": per, "static": static,
        "legend": _legend(run, labels, w, lang, extra) + field_legend(static, w), **shared}


def build_map_from_run(run_dir: Path, out_path: Path, profiles: list[str] | None = None,
                       public: bool = False, basemap: str = "none",
                       lang: str = advice.DEFAULT_LANG) -> Path:
    """Write a self-contained HTML map of a run folder.

    Parameters
    ----------
    run_dir : Path
        Output folder of ``c2000cov run`` (holds ``run.json``).
    out_path : Path
        The HTML file to write (atomically).
    profiles : list of str, optional
        Profiles to show, first one shown on opening; default all.
    public : bool
        Leave out every mast position, id and name and the PV installations,
        and aggregate rasters and zones to :data:`PUBLIC_BLOCK_M` blocks.
    basemap : {'none', 'osm', 'brt'}
        'none' draws the run's own area outlines, names and roads; 'osm' and
        'brt' add a tile layer, and the page says so on screen when its
        tiles cannot load (offline).
    lang : {'nl', 'en'}
        Language of the page (Dutch by default).

    Returns
    -------
    Path
        ``out_path``.
    """
    if basemap not in BASEMAPS:
        raise InvalidInputError(f"basemap {basemap!r} is not known; choose one of "
                                f"{', '.join(BASEMAPS)}")
    advice.check_lang(lang)
    run = read_run_folder(Path(run_dir), profiles)
    data = map_data(run, public, basemap, lang)
    text = html.page(data, lang, data["title"])
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out_path


def build_map(result, out_path: Path, lang: str = advice.DEFAULT_LANG) -> Path:
    """Map of a written run: :func:`build_map_from_run` on the folder of its ``run.json``."""
    manifests = [Path(p) for p in result.files if Path(p).name == rf.MANIFEST]
    if not manifests:
        raise InvalidInputError("the run has not been written (no run.json among its files); "
                                "write its outputs before building the map")
    return build_map_from_run(manifests[0].parent, out_path, lang=lang)
