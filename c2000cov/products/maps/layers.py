"""The map's layers as data: coloured rasters and GeoJSON features with their popups.

Palettes are chosen to stay apart under colour-vision deficiency: coverage
classes and the area choropleth differ in lightness as well as hue (checked
under simulated deuteranopia and protanopia in the browser tests), and the
limiting direction of a zone is told by its dash pattern, not by colour.

Features carry ``_s`` (Leaflet path style), ``_t`` (tooltip text), ``_p``
(popup: title, head, rows, note) and ``_c`` ([lat, lon] of a point inside);
the page inserts every string with ``textContent``.
"""

from __future__ import annotations

import base64
import io
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from PIL import Image
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

from c2000cov.analysis.coverage import (
    CLASS_GOOD,
    CLASS_NODATA,
    CLASS_NONE,
    CLASS_POOR,
    CLASS_REDUCED,
)
from c2000cov.analysis.delta import DELTA_GAINED, DELTA_LOST, DELTA_SAME
from c2000cov.products import advice

WEB_MERCATOR = CRS.from_epsg(3857)
WGS84 = CRS.from_epsg(4326)
#: Largest side (pixels) of an image overlay; finer rasters are resampled.
MAX_OVERLAY_PX = 4000
#: Decimal places of longitude/latitude: 5 (about 1 m) for simplified
#: geometry, 6 (0.1 m) where edges must stay on block multiples (public maps).
COORD_DECIMALS = 5
COORD_DECIMALS_EXACT = 6

#: RGBA per coverage class: light blue (good, faint) to dark purple (none),
#: ordered in lightness so the order survives colour-vision deficiency.
CLASS_COLOURS = {
    CLASS_GOOD: (44, 123, 182, 77),
    CLASS_REDUCED: (253, 212, 158, 217),
    CLASS_POOR: (230, 97, 1, 204),
    CLASS_NONE: (63, 0, 125, 204),
}
CLASS_KEYS = {CLASS_GOOD: "good", CLASS_REDUCED: "reduced", CLASS_POOR: "poor",
              CLASS_NONE: "none"}
#: Codes and RGBA of the what-if delta overlay.
#: uint8 overlay code of each delta code (the colour lookup cannot index -1).
DELTA_OVERLAY = {DELTA_SAME: 0, DELTA_GAINED: 1, DELTA_LOST: 2}
DELTA_COLOURS = {DELTA_OVERLAY[DELTA_GAINED]: (33, 102, 172, 210),
                 DELTA_OVERLAY[DELTA_LOST]: (179, 88, 6, 220)}
#: Dash pattern of a zone outline per limiting direction (colour-blind safe).
ZONE_OUTLINE = "#1a1a1a"
LIMITING_DASH = {"UL": None, "DL": "7 5", "both": "2 4", "unreached": "12 4 2 4"}
SUNNY_COLOUR = "#e6a100"
#: Choropleth bins of covered percentage (lower bound, colour): red-blue
#: diverging around the 95 % compliance threshold (ColorBrewer RdBu).
CHOROPLETH_BINS = ((98.0, "#2166ac"), (95.0, "#67a9cf"), (90.0, "#fddbc7"),
                   (80.0, "#ef8a62"), (0.0, "#b2182b"))
CHOROPLETH_OPACITY = 0.7
PARENT_OUTLINE = "#222222"
ROAD_COLOUR = "#8c8c8c"
PV_FAULTY_COLOUR, PV_MITIGATED_COLOUR, PV_COMPLIANT_COLOUR = "#b2182b", "#2166ac", "#777777"


# --------------------------------------------------------------------------- rasters


def overlay_rgba(codes: np.ndarray, transform: Affine, crs: CRS,
                 colours: dict[int, tuple[int, int, int, int]], nodata: int = CLASS_NODATA,
                 oversample: float = 1.0, max_px: int = MAX_OVERLAY_PX
                 ) -> tuple[np.ndarray, list[list[float]]]:
    """Reproject a raster of codes to Web Mercator and colour it.

    Parameters
    ----------
    codes : 2-D uint8 array
        Codes on a north-up grid; ``nodata`` where empty.
    transform, crs
        Georeference of ``codes``.
    colours : dict
        RGBA (0-255) per code; codes without a colour are transparent.
    oversample : float
        Output pixels per input pixel along each axis (> 1 keeps the edges of
        coarse blocks straight after reprojection).
    max_px : int
        Largest side of the output image; finer rasters are resampled
        (nearest neighbour).

    Returns
    -------
    rgba : (rows, cols, 4) uint8 array
        The coloured image in Web Mercator.
    bounds : [[south, west], [north, east]]
        Its corners in degrees, as Leaflet's image overlay takes them.
    """
    dst, bounds = reproject_codes(codes, transform, crs, nodata, oversample, max_px)
    rgba = np.zeros(dst.shape + (4,), dtype="uint8")
    for code, colour in colours.items():
        rgba[dst == code] = colour
    return rgba, bounds


def reproject_codes(codes: np.ndarray, transform: Affine, crs: CRS, nodata: int = CLASS_NODATA,
                    oversample: float = 1.0, max_px: int = MAX_OVERLAY_PX
                    ) -> tuple[np.ndarray, list[list[float]]]:
    """Codes reprojected to Web Mercator (nearest neighbour) and their corners in degrees."""
    height, width = codes.shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (width, height)
    dst_transform, dst_w, dst_h = calculate_default_transform(
        crs, WEB_MERCATOR, width, height, left, bottom, right, top)
    res = dst_transform.a / oversample
    scale = max(dst_w * oversample, dst_h * oversample) / max_px
    if scale > 1:
        res *= scale
    dst_transform, dst_w, dst_h = calculate_default_transform(
        crs, WEB_MERCATOR, width, height, left, bottom, right, top, resolution=res)
    dst = np.full((dst_h, dst_w), nodata, dtype="uint8")
    reproject(codes.astype("uint8"), dst, src_transform=transform, src_crs=crs,
              src_nodata=nodata, dst_transform=dst_transform, dst_crs=WEB_MERCATOR,
              dst_nodata=nodata, resampling=Resampling.nearest)
    west, north = dst_transform @ (0, 0)
    east, south = dst_transform @ (dst_w, dst_h)
    lon0, lat0, lon1, lat1 = transform_bounds(WEB_MERCATOR, WGS84, west, south, east, north)
    return dst, [[lat0, lon0], [lat1, lon1]]


def overlay_png(codes: np.ndarray, transform: Affine, crs: CRS,
                colours: dict[int, tuple[int, int, int, int]], oversample: float = 1.0,
                max_px: int = MAX_OVERLAY_PX) -> dict:
    """An image overlay as ``{"png": data URL, "bounds": [[s, w], [n, e]]}``.

    The PNG is a palette image (one byte per pixel, alpha in the palette's
    transparency table): a class raster compresses to a small fraction of
    the RGBA size, which keeps a 50 x 50 km region's map small.
    """
    dst, bounds = reproject_codes(codes, transform, crs, CLASS_NODATA, oversample, max_px)
    lut = np.zeros(256, dtype="uint8")  # palette index per code; 0 = transparent
    palette = [(0, 0, 0, 0)]
    for code, colour in sorted(colours.items()):
        lut[code] = len(palette)
        palette.append(tuple(colour))
    img = Image.fromarray(lut[dst], mode="P")
    img.putpalette([v for c in palette for v in c[:3]])
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True, transparency=bytes(c[3] for c in palette))
    return {"png": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
            "bounds": bounds}


# --------------------------------------------------------------------------- GeoJSON


def to_wgs84(geoms, crs: CRS) -> list:
    """Geometries reprojected to longitude/latitude."""
    if len(geoms) == 0:
        return []
    return list(gpd.GeoSeries(list(geoms), crs=crs).to_crs(WGS84).values)


def feature(geom, style: dict | None, tip: str | None = None, popup: dict | None = None,
            centre=None, decimals: int = COORD_DECIMALS, **props) -> dict:
    """A GeoJSON feature with the page's style, tooltip, popup and centre properties."""
    out: dict = {"_s": style} if style is not None else {}
    if tip is not None:
        out["_t"] = tip
    if popup is not None:
        out["_p"] = popup
    if centre is not None:
        out["_c"] = [round(centre.y, decimals), round(centre.x, decimals)]
    out.update(props)
    geom = shapely.transform(geom, lambda c: np.round(c, decimals))
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": out}


def collection(features: list[dict]) -> dict:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": features}


def fmt(value, digits: int = 2, unit: str = "") -> str:
    """A number with ``digits`` decimals and a unit; 'n/a' for NaN, text as is."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}{unit}"


def rgba_css(rgba: tuple[int, int, int, int]) -> str:
    """CSS colour of an RGBA tuple, opacity as drawn on the map."""
    r, g, b, a = rgba
    return f"rgba({r},{g},{b},{a / 255:.2f})"


def choropleth_colour(pct: float) -> str | None:
    """Fill colour of an area by its covered percentage; None when unknown."""
    if not math.isfinite(pct):
        return None
    return next(colour for lower, colour in CHOROPLETH_BINS if pct >= lower)


def zone_features(zones: gpd.GeoDataFrame, facts: list[advice.ZoneFacts], crs: CRS,
                  profile_label: str, words: dict, lang: str, public: bool,
                  mast_names: dict[str, str], decimals: int = COORD_DECIMALS) -> list[dict]:
    """Below-target zones: outline dashed by limiting direction, fill by dominant class."""
    if len(zones) == 0:
        return []
    geoms = to_wgs84(zones.geometry.values, crs)
    centres = to_wgs84(shapely.point_on_surface(zones.geometry.values), crs)
    class_fill = {CLASS_KEYS[c]: "#{:02x}{:02x}{:02x}".format(*CLASS_COLOURS[c][:3])
                  for c in CLASS_KEYS}
    feats = []
    for (_, z), f, g, c in zip(zones.iterrows(), facts, geoms, centres, strict=True):
        limiting = str(z.get("limiting", "unreached"))
        area = float(z["area_km2"])
        title = advice.zone_title(f, lang)
        rows = [[words["profile"], profile_label], [words["area"], f"{area:.3f} km²"],
                [words["class_mix"], advice.class_mix_text(
                    f.share_reduced_pct, f.share_poor_pct, f.share_none_pct, lang)],
                [words["limiting"], advice.LIMITING_LABELS[lang].get(limiting, limiting)]]
        if not public and "p_cover_min" in z:
            rows.append([words["p_min"], fmt(100 * float(z["p_cover_min"]), 1, " %")])
        mid = str(z.get("nearest_mast_id", "") or "")
        if not public and mid not in ("", "nan"):
            name = mast_names.get(mid, mid)
            label = f"{mid} ({name})" if name != mid else mid
            rows.append([words["nearest_mast"],
                         f"{label}, {fmt(float(z['nearest_mast_dist_m']) / 1000, 1, ' km')}"])
        if str(z.get("areas", "") or ""):
            rows.append([words["areas"], str(z["areas"])])
        head = f"{words['zone']} {z.get('zone_id', '')}: {title}"
        if public:
            head += f" {words['zone_public']}"
        style = {"color": ZONE_OUTLINE, "weight": 2, "opacity": 0.9,
                 "fillColor": class_fill[f.dominant_class],
                 "fillOpacity": 0.15, "className": f"c2k-deadzone c2k-lim-{limiting}"}
        if LIMITING_DASH.get(limiting):
            style["dashArray"] = LIMITING_DASH[limiting]
        feats.append(feature(
            g, style, tip=words["zone_tip"].format(title=title, area=f"{area:.2f} km²"),
            popup={"title": head, "rows": rows, "note": advice.zone_advice(f, lang),
                   "noteTitle": words["advice"]}, centre=c, decimals=decimals))
    return feats


def sunny_features(polys: list, areas_km2: list[float], crs: CRS, profile_label: str,
                   words: dict, decimals: int = COORD_DECIMALS) -> list[dict]:
    """Zones lost in sunshine only: dashed amber."""
    geoms = to_wgs84(polys, crs)
    centres = to_wgs84(shapely.point_on_surface(polys), crs) if polys else []
    feats = []
    for area, g, c in zip(areas_km2, geoms, centres, strict=True):
        feats.append(feature(
            g, {"color": SUNNY_COLOUR, "weight": 2, "dashArray": "5 4", "fillColor": SUNNY_COLOUR,
                "fillOpacity": 0.35, "className": "c2k-sunny"},
            tip=words["sunny_tip"].format(area=f"{area:.2f} km²"),
            popup={"title": f"{words['sunny_title']} ({profile_label})",
                   "rows": [[words["area"], f"{area:.3f} km²"],
                            [words["sunny_day"], words["below_target"]],
                            [words["sunny_night"], words["covered_word"]]],
                   "note": [words["sunny_advice"]]}, centre=c, decimals=decimals))
    return feats


def nested(areas: gpd.GeoDataFrame) -> np.ndarray:
    """Whether each area holds another area (at least 99 % of the other's surface)."""
    geoms = areas.geometry.to_numpy()
    n = len(geoms)
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    inter = shapely.area(shapely.intersection(geoms[:, None], geoms[None, :]))
    own = shapely.area(geoms)
    for i in range(n):
        for j in range(n):
            if i != j and own[j] > 0 and own[j] < own[i] and inter[i, j] >= 0.99 * own[j]:
                out[i] = True
    return out


def area_features(areas: gpd.GeoDataFrame, parent: np.ndarray, table: pd.DataFrame | None,
                  profile: str, labels: dict[str, str], crs: CRS, words: dict,
                  segment_m: float) -> list[dict]:
    """The choropleth of one profile: leaf areas filled by covered %, parents as outlines.

    Popups list every profile, so one click compares them.
    """
    geoms = to_wgs84(shapely.segmentize(areas.geometry.values, segment_m), crs)
    head = [words["profile"], words["covered_col"], words["deadzone_col"], words["ul_col"]]
    has_sunny = table is not None and "sunny_loss_pp" in table
    if has_sunny:
        head.append(words["sunny_col"])
    feats = []
    for (_, a), g, is_parent in zip(areas.iterrows(), geoms, parent, strict=True):
        name = str(a["area_name"])
        rows, pct = [], float("nan")
        if table is not None:
            sub = table[table["area_name"] == name]
            for prof, lab in labels.items():
                r = sub[sub["profile"] == prof]
                if len(r) == 0:
                    continue
                r = r.iloc[0]
                row = [lab, fmt(r.get("covered_pct"), 1, " %"),
                       fmt(r.get("dead_zone_km2"), 2, " km²"),
                       fmt(r.get("ul_limited_pct"), 0, " %")]
                if has_sunny:
                    row.append(fmt(r.get("sunny_loss_pp"), 1, " pp"))
                rows.append(row)
                if prof == profile:
                    pct = float(r.get("covered_pct", float("nan")))
        colour = choropleth_colour(pct)
        if is_parent:
            style = {"color": PARENT_OUTLINE, "weight": 3.5, "fill": False,
                     "className": "c2k-area c2k-area-parent"}
        else:
            style = {"color": "#333333", "weight": 1.5, "fillColor": colour or "#bbbbbb",
                     "fillOpacity": CHOROPLETH_OPACITY if colour else 0.3,
                     "className": "c2k-area"}
        pct_txt = fmt(pct, 1, " %")
        feats.append(feature(g, style, tip=words["covered_tip"].format(
            name=name, pct=pct_txt, p=labels[profile]),
            popup={"title": name, "head": head, "rows": rows}, pct=pct if colour else None))
    return feats


def outline_features(areas: gpd.GeoDataFrame, bounds_m, crs: CRS, segment_m: float
                     ) -> list[dict]:
    """Area boundaries and the grid's extent as thin grey lines (the offline basemap)."""
    geoms = list(areas.geometry.boundary.values)
    if bounds_m:
        geoms.append(shapely.box(*bounds_m).boundary)
    # straight lines in the grid CRS are curves in Web Mercator: add vertices
    geoms = list(shapely.segmentize(geoms, segment_m))
    return [feature(g, {"color": "#6b6b6b", "weight": 1.2, "opacity": 0.9, "fill": False,
                        "interactive": False}) for g in to_wgs84(geoms, crs)]


def place_features(areas: gpd.GeoDataFrame, parent: np.ndarray, crs: CRS) -> list[dict]:
    """Area names at a point inside each area; regions that hold others are left out
    (their name is in the popups), so labels do not pile up."""
    keep = ~parent if (~parent).any() else np.ones(len(areas), bool)
    sub = areas[keep]
    pts = to_wgs84(shapely.point_on_surface(sub.geometry.values), crs)
    return [feature(p, None, name=str(n)) for n, p in zip(sub["area_name"], pts, strict=True)]


def road_features(roads: gpd.GeoDataFrame, crs: CRS, tolerance_m: float) -> list[dict]:
    """Roads as thin lines, simplified to ``tolerance_m`` (they orient, they are not data)."""
    geoms = roads.to_crs(crs).geometry.values
    geoms = shapely.simplify(geoms[~shapely.is_empty(geoms)], tolerance_m)
    return [feature(g, {"color": ROAD_COLOUR, "weight": 1.5, "opacity": 0.9,
                        "interactive": False}) for g in to_wgs84(geoms, crs)]


def pv_features(pv: gpd.GeoDataFrame, words: dict) -> list[dict]:
    """PV installations as circles sized by peak power, coloured by EMC state."""
    pts = pv.geometry.to_crs(WGS84).representative_point()
    feats = []
    for (_, row), p in zip(pv.iterrows(), pts, strict=True):
        kwp = float(row.get("kwp", float("nan")))
        over = float(row.get("emission_db_over_limit", float("nan")))
        mitigated = str(row.get("mitigated", "")).strip().lower() in ("1", "true", "yes")
        if mitigated:
            colour, state = PV_MITIGATED_COLOUR, words["pv_mitigated"]
        elif math.isfinite(over) and over > 0:
            colour, state = PV_FAULTY_COLOUR, words["pv_faulty"]
        else:
            colour, state = PV_COMPLIANT_COLOUR, words["pv_ok"]
        radius = float(np.clip(3 + math.sqrt(kwp) / 2 if math.isfinite(kwp) else 4, 3, 25))
        rows = [[words["pv_id"], str(row.get("pv_id", ""))], [words["peak"], fmt(kwp, 1, " kWp")],
                [words["devices"], str(row.get("n_devices", ""))],
                [words["over_limit"], fmt(over, 1, " dB")],
                [words["eirp"], fmt(row.get("eirp_dbm_per_25khz"), 1, " dBm")],
                [words["state"], state]]
        feats.append(feature(p, {"radius": radius, "color": colour, "weight": 1,
                                 "fillColor": colour, "fillOpacity": 0.6, "className": "c2k-pv"},
                             tip=f"PV {row.get('pv_id', '')}: {fmt(kwp, 0, ' kWp')}, {state}",
                             popup={"title": words["pv"], "rows": rows}))
    return feats


def mast_features(masts: pd.DataFrame, crs: CRS, interference: dict[str, float],
                  extent_m: float, words: dict) -> list[dict]:
    """Masts as white dots with a line toward a sector's azimuth."""
    pts = gpd.GeoSeries(gpd.points_from_xy(masts["x_m"], masts["y_m"]), crs=crs)
    pts_ll = list(pts.to_crs(WGS84).values)
    sector_m = min(1000.0, max(extent_m / 12.0, 150.0))
    feats, lines = [], []
    for (_, m), p in zip(masts.iterrows(), pts_ll, strict=True):
        az = float(m.get("azimuth_deg", float("nan")))
        rows = [[words["mast_id"], str(m["mast_id"])], [words["name"], str(m["name"])],
                [words["height"], fmt(m.get("h_agl_m"), 1, " m AGL")],
                [words["tx_power"], fmt(m.get("tx_power_dbm"), 1, " dBm")],
                [words["gain"], fmt(m.get("gain_dbi"), 1, " dBi")],
                [words["azimuth"], words["omni"] if not math.isfinite(az) else fmt(az, 0, "°")]]
        if str(m["mast_id"]) in interference:
            rows.append([words["noise_rise"], fmt(interference[str(m["mast_id"])], 1, " dB")])
        feats.append(feature(p, {"radius": 6, "color": "#000000", "weight": 2,
                                 "fillColor": "#ffffff", "fillOpacity": 1.0,
                                 "className": "c2k-mast"},
                             tip=f"{m['mast_id']} {m['name']}",
                             popup={"title": words["mast"], "rows": rows},
                             decimals=COORD_DECIMALS_EXACT))
        if math.isfinite(az):
            x, y = float(m["x_m"]), float(m["y_m"])
            end = (x + sector_m * math.sin(math.radians(az)),
                   y + sector_m * math.cos(math.radians(az)))
            lines.append(shapely.LineString([(x, y), end]))
    for line in to_wgs84(lines, crs):
        feats.insert(0, feature(line, {"color": "#000000", "weight": 3, "opacity": 0.8,
                                       "className": "c2k-sector", "interactive": False},
                                decimals=COORD_DECIMALS_EXACT))
    return feats
