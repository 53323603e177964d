"""Offline HTML maps of a run folder: coverage classes, dead zones, areas and masts.

The map is built from the files of a run folder (see the run-folder contract:
``run.json``, ``p_cover_<profile>.tif``, ``dead_zones.gpkg``, ...), never
from in-memory objects, so any run can be mapped later.

The HTML file is self-contained: Leaflet (vendored in ``c2000cov/assets``,
see its ``PROVENANCE.md``), the map helpers, the styles and all data are
inlined, and the map works from ``file://`` with the network off. A tile
basemap (OpenStreetMap or PDOK BRT-Achtergrondkaart) is optional and simply
stays blank offline; the default draws a plain basemap from the run's own
area outlines.

Rasters are reprojected to Web Mercator (EPSG:3857), where a Leaflet image
overlay is linear, with nearest-neighbour resampling.

Text from input files reaches the page only as data: JSON inside scripts is
HTML-safe (``<``, ``>``, ``&`` and ``'`` escaped) and the map helpers insert
it with ``textContent``; layer names, which Leaflet's layer control inserts
as HTML, are HTML-escaped.

Public mode (``public=True``) leaves out everything that locates a mast:
no mast layer, no mast ids or names, no nearest-mast attributes, and the
rasters and zones are aggregated to :data:`PUBLIC_BLOCK_M` blocks aligned to
the CRS origin, so mast positions cannot be read off coverage peaks.
It also leaves out the PV installations: a rooftop point identifies a
household, and a faulty one its owner.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.features import rasterize, shapes
from rasterio.warp import calculate_default_transform, reproject, transform_bounds
from scipy import ndimage

from c2000cov.coverage import CLASS_GOOD, CLASS_NODATA, CLASS_NONE, CLASS_POOR, CLASS_REDUCED
from c2000cov.errors import InvalidInputError
from c2000cov.io import atomic_path, read_run_manifest

ASSETS_DIR = Path(__file__).parent / "assets"
WEB_MERCATOR = CRS.from_epsg(3857)
WGS84 = CRS.from_epsg(4326)
#: Block size (m) of rasters and zones in a public map.
PUBLIC_BLOCK_M = 500.0
#: Largest side (pixels) of an image overlay; finer rasters are resampled.
MAX_OVERLAY_PX = 4000
#: Decimal places of longitude/latitude in the HTML (1e-6 deg is about 0.1 m).
COORD_DECIMALS = 6
BASEMAPS = ("none", "osm", "brt")
TILE_LAYERS = {
    "osm": ("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "&copy; OpenStreetMap contributors", 19),
    "brt": ("PDOK BRT-Achtergrondkaart",
            "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/"
            "{z}/{x}/{y}.png", "Kadaster / PDOK BRT-Achtergrondkaart (CC BY 4.0)", 19),
}

#: RGBA per coverage class.
CLASS_COLOURS = {
    CLASS_GOOD: (26, 150, 65, 90),
    CLASS_REDUCED: (253, 174, 97, 170),
    CLASS_POOR: (244, 109, 67, 190),
    CLASS_NONE: (165, 0, 38, 200),
}
CLASS_LABELS = {CLASS_GOOD: "good", CLASS_REDUCED: "reduced", CLASS_POOR: "poor",
                CLASS_NONE: "none"}
#: Worst-first order of the dead-zone ``class`` attribute.
CLASS_ORDER = ("none", "poor", "reduced", "good")
#: Codes and RGBA of the what-if delta overlay.
DELTA_GAINED, DELTA_LOST, DELTA_SAME = 1, 2, 0
DELTA_COLOURS = {DELTA_GAINED: (33, 102, 172, 200), DELTA_LOST: (202, 0, 140, 210)}
#: Outline colour of dead zones per limiting direction.
LIMITING_COLOURS = {"UL": "#6a3d9a", "DL": "#1f78b4", "both": "#a50026", "unreached": "#111111"}
LIMITING_LABELS = {"UL": "uplink-limited", "DL": "downlink-limited",
                   "both": "both directions", "unreached": "no server"}
ADVICE = {
    "UL": "uplink-limited: the mast cannot hear a handheld here; use the in-car radio "
          "(mobilofoon) or DMO via a colleague in coverage",
    "DL": "downlink-limited: the handheld cannot hear the mast; move to open or higher "
          "ground, use the in-car radio, or DMO",
    "both": "both directions fail: use the in-car radio; DMO as fallback",
    "unreached": "no server: no mast reaches this area; use DMO (direct mode) or a mobile "
                 "repeater, agree a fallback before entering",
}
INDOOR_ADVICE = "; indoors: go outside or to a window first"
SUNNY_ADVICE = ("sunny-day loss: covered at night, lost in daylight through solar-panel "
                "interference; use the in-car radio or DMO on sunny days")
SUNNY_COLOUR = "#e6a100"
#: Choropleth bins of covered percentage: (lower bound, colour).
CHOROPLETH_BINS = ((98.0, "#1a9850"), (95.0, "#91cf60"), (90.0, "#fee08b"),
                   (80.0, "#fc8d59"), (0.0, "#d73027"))
PV_FAULTY_COLOUR, PV_MITIGATED_COLOUR, PV_COMPLIANT_COLOUR = "#d7191c", "#1a9641", "#777777"


# --------------------------------------------------------------------------- run folder


@dataclass
class RunFolder:
    """What a map needs from a run folder, read from its files."""

    path: Path
    manifest: dict
    profiles: list[str]
    crs: CRS
    parameters: dict = field(default_factory=dict)

    def file(self, name: str) -> Path:
        """Path of a file in the run folder."""
        return self.path / name

    def has(self, name: str) -> bool:
        """Whether the run folder holds this file."""
        return (self.path / name).is_file()

    def target_pct(self, profile: str) -> float:
        """Target location probability (%) of a profile."""
        return float(self.parameters.get(f"profiles.{profile}.target_pct", 95.0))

    def indoor(self, profile: str) -> bool:
        """Whether a profile is an indoor profile."""
        return bool(self.parameters.get(f"profiles.{profile}.indoor", False))


def read_run_folder(run_dir: Path, profiles: list[str] | None = None) -> RunFolder:
    """Read and check ``run.json`` and the profiles of a run folder.

    Parameters
    ----------
    run_dir : Path
        The run output folder.
    profiles : list of str, optional
        Profiles to show, in this order; default all profiles with a
        ``p_cover_<profile>.tif``, outdoor profiles first.
    """
    run_dir = Path(run_dir)
    manifest = read_run_manifest(run_dir)
    available = sorted(p.name[len("p_cover_"):-len(".tif")] for p in run_dir.glob("p_cover_*.tif")
                       if not p.name.endswith("_night.tif"))
    if not available:
        raise InvalidInputError(f"{run_dir}: no p_cover_<profile>.tif files; expected the "
                                "output folder of `c2000cov run`")
    if profiles:
        unknown = [p for p in profiles if p not in available]
        if unknown:
            raise InvalidInputError(f"--profile {unknown[0]!r} is not in {run_dir}; valid "
                                    f"profiles: {', '.join(available)}")
        chosen = list(dict.fromkeys(profiles))
    else:
        params = manifest.get("parameters", {}) or {}
        # outdoor profiles first (the basic service), then by name
        chosen = sorted(available, key=lambda n: (bool(params.get(f"profiles.{n}.indoor")), n))
    crs_text = manifest.get("grid", {}).get("crs")
    if crs_text:
        crs = CRS.from_user_input(crs_text)
    else:
        with rasterio.open(run_dir / f"p_cover_{chosen[0]}.tif") as src:
            crs = src.crs
    return RunFolder(run_dir, manifest, chosen, crs, manifest.get("parameters", {}) or {})


@dataclass
class CoverageRaster:
    """The bands of a ``p_cover_<profile>.tif`` that a map uses."""

    p_cover: np.ndarray
    coverage_class: np.ndarray  # uint8, CLASS_NODATA where not evaluated
    transform: Affine
    crs: CRS
    target_pct: float

    @property
    def evaluated(self) -> np.ndarray:
        """Pixels with a coverage probability."""
        return np.isfinite(self.p_cover)

    @property
    def pixel_area_m2(self) -> float:
        """Area of one pixel (m^2)."""
        return abs(self.transform.a * self.transform.e)


def read_coverage(path: Path, default_target_pct: float = 95.0) -> CoverageRaster:
    """Read the ``p_cover`` and ``class`` bands of a coverage GeoTIFF."""
    with rasterio.open(path) as src:
        desc = list(src.descriptions)
        for band in ("p_cover", "class"):
            if band not in desc:
                raise InvalidInputError(f"{path.name}: no band {band!r} (bands: {desc}); "
                                        "expected a p_cover_<profile>.tif of `c2000cov run`")
        p = src.read(desc.index("p_cover") + 1).astype("float32")
        cls = src.read(desc.index("class") + 1)
        target = float(src.tags().get("target_pct", default_target_pct))
        transform, crs = src.transform, src.crs
    codes = np.full(cls.shape, CLASS_NODATA, dtype="uint8")
    ok = np.isfinite(cls) & (cls >= 0) & (cls <= CLASS_GOOD)
    codes[ok] = cls[ok].astype("uint8")
    return CoverageRaster(p, codes, transform, crs, target)


# --------------------------------------------------------------------------- rasters


def overlay_rgba(codes: np.ndarray, transform: Affine, crs: CRS,
                 colours: dict[int, tuple[int, int, int, int]], nodata: int = CLASS_NODATA,
                 oversample: float = 1.0) -> tuple[np.ndarray, list[list[float]]]:
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

    Returns
    -------
    rgba : (rows, cols, 4) uint8 array
        The coloured image in Web Mercator.
    bounds : [[south, west], [north, east]]
        Its corners in degrees, as Leaflet's image overlay takes them.
    """
    height, width = codes.shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (width, height)
    dst_transform, dst_w, dst_h = calculate_default_transform(
        crs, WEB_MERCATOR, width, height, left, bottom, right, top)
    res = dst_transform.a / oversample
    scale = max(dst_w * oversample, dst_h * oversample) / MAX_OVERLAY_PX
    if scale > 1:
        res *= scale
    dst_transform, dst_w, dst_h = calculate_default_transform(
        crs, WEB_MERCATOR, width, height, left, bottom, right, top, resolution=res)
    dst = np.full((dst_h, dst_w), nodata, dtype="uint8")
    reproject(codes.astype("uint8"), dst, src_transform=transform, src_crs=crs,
              src_nodata=nodata, dst_transform=dst_transform, dst_crs=WEB_MERCATOR,
              dst_nodata=nodata, resampling=Resampling.nearest)
    rgba = np.zeros((dst_h, dst_w, 4), dtype="uint8")
    for code, colour in colours.items():
        rgba[dst == code] = colour
    west, north = dst_transform @ (0, 0)
    east, south = dst_transform @ (dst_w, dst_h)
    lon0, lat0, lon1, lat1 = transform_bounds(WEB_MERCATOR, WGS84, west, south, east, north)
    return rgba, [[lat0, lon0], [lat1, lon1]]


@dataclass(frozen=True)
class BlockGrid:
    """Blocks of ``k`` x ``k`` pixels aligned to multiples of the block size in the CRS."""

    k: int
    pad_top: int
    pad_left: int
    shape: tuple[int, int]  # pixel grid shape
    transform: Affine  # of the block raster

    @classmethod
    def of(cls, shape: tuple[int, int], transform: Affine, block_m: float) -> BlockGrid:
        """Blocks of at least ``block_m`` metres over a north-up pixel grid."""
        res = transform.a
        k = max(1, math.ceil(block_m / res - 1e-9))
        size = k * res
        pad_left = int(round((transform.c - math.floor(transform.c / size) * size) / res)) % k
        pad_top = int(round((math.ceil(transform.f / size) * size - transform.f) / res)) % k
        btr = Affine(size, 0, transform.c - pad_left * res, 0, -size,
                     transform.f + pad_top * res)
        return cls(k, pad_top, pad_left, tuple(shape), btr)

    @property
    def block_shape(self) -> tuple[int, int]:
        """Rows and columns of blocks."""
        h, w = self.shape
        return (math.ceil((h + self.pad_top) / self.k), math.ceil((w + self.pad_left) / self.k))

    def blocks(self, arr: np.ndarray, fill) -> np.ndarray:
        """``arr`` as (block rows, block cols, k*k) pixels, padded with ``fill``."""
        bh, bw = self.block_shape
        k = self.k
        padded = np.full((bh * k, bw * k), fill, dtype=arr.dtype)
        h, w = self.shape
        padded[self.pad_top:self.pad_top + h, self.pad_left:self.pad_left + w] = arr
        return padded.reshape(bh, k, bw, k).transpose(0, 2, 1, 3).reshape(bh, bw, k * k)

    def to_pixels(self, block_values: np.ndarray) -> np.ndarray:
        """Block values repeated onto the pixel grid."""
        k = self.k
        full = np.repeat(np.repeat(block_values, k, axis=0), k, axis=1)
        h, w = self.shape
        return full[self.pad_top:self.pad_top + h, self.pad_left:self.pad_left + w]


def block_majority(codes: np.ndarray, blocks: BlockGrid, nodata: int = CLASS_NODATA
                   ) -> np.ndarray:
    """The most frequent code of each block (ties: the lowest code), ``nodata`` if empty."""
    b = blocks.blocks(codes.astype("uint8"), nodata)
    values = [int(v) for v in np.unique(codes) if v != nodata]
    if not values:
        return np.full(blocks.block_shape, nodata, dtype="uint8")
    counts = np.stack([(b == v).sum(axis=-1) for v in values], axis=-1)
    out = np.asarray(values, dtype="uint8")[counts.argmax(axis=-1)]
    return np.where(counts.sum(axis=-1) > 0, out, nodata).astype("uint8")


def mask_zones(mask: np.ndarray, evaluated: np.ndarray, transform: Affine,
               blocks: BlockGrid | None = None) -> tuple[np.ndarray, list, np.ndarray]:
    """Polygons of 4-connected ``mask`` pixels, or of blocks where mask pixels are the majority.

    Parameters
    ----------
    mask, evaluated : 2-D bool arrays
        Pixels in a zone, and pixels that were evaluated at all.
    transform : Affine
        Pixel georeference.
    blocks : BlockGrid, optional
        Public mode: a block belongs to a zone when at least half of its
        evaluated pixels are mask pixels.

    Returns
    -------
    labels : 2-D int32 array
        Zone number (1..n) of each pixel, 0 outside zones (in block mode the
        whole block carries the number).
    polygons : list of shapely geometries
        One (multi)polygon per zone, in the pixel CRS.
    n_pixels : int array (n,)
        Mask pixels in each zone.
    """
    four = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    if blocks is None:
        labels, n = ndimage.label(mask, structure=four)
        tr = transform
        lab_for_shapes = labels.astype("int32")
    else:
        n_mask = blocks.blocks(mask, False).sum(axis=-1)
        n_eval = blocks.blocks(evaluated, False).sum(axis=-1)
        zone_blocks = (n_mask > 0) & (2 * n_mask >= n_eval)
        lab_b, n = ndimage.label(zone_blocks, structure=four)
        tr = blocks.transform
        lab_for_shapes = lab_b.astype("int32")
        labels = blocks.to_pixels(lab_b)
    geoms: dict[int, list] = {}
    if n:
        for geom, value in shapes(lab_for_shapes, mask=lab_for_shapes > 0, connectivity=4,
                                  transform=tr):
            geoms.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    polys = [shapely.union_all(geoms[i]) if len(geoms[i]) > 1 else geoms[i][0]
             for i in range(1, n + 1)]
    counts = np.bincount(labels[mask].ravel(), minlength=n + 1)[1:] if n else np.zeros(0, int)
    return labels.astype("int32"), polys, counts


# --------------------------------------------------------------------------- GeoJSON


def _round_coords(geom):
    return shapely.transform(geom, lambda c: np.round(c, COORD_DECIMALS))


def _to_wgs84(geoms, crs: CRS) -> list:
    if len(geoms) == 0:
        return []
    return list(gpd.GeoSeries(list(geoms), crs=crs).to_crs(WGS84).values)


def _feature(geom, style: dict, tip: str | None = None, popup: dict | None = None,
             centre=None) -> dict:
    props: dict = {"_s": style}
    if tip is not None:
        props["_t"] = tip
    if popup is not None:
        props["_p"] = popup
    if centre is not None:
        props["_c"] = [round(centre.y, COORD_DECIMALS), round(centre.x, COORD_DECIMALS)]
    return {"type": "Feature", "geometry": shapely.geometry.mapping(_round_coords(geom)),
            "properties": props}


class GeoJsonLayer(MacroElement):
    """A GeoJSON FeatureCollection added to its parent through ``c2k.geojson``.

    Features carry ``_s`` (Leaflet path style), ``_t`` (tooltip text), ``_p``
    (popup: title, head, rows, note) and ``_c`` ([lat, lon] of a point inside).
    The data is written with Jinja's HTML-safe ``tojson``.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = c2k.geojson({{ this.data|tojson }},
            {{ this.options|tojson }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, features: list[dict], key: str, interactive: bool = True):
        super().__init__()
        self._name = "GeoJsonLayer"
        self.data = {"type": "FeatureCollection", "features": features}
        self.options = {"key": key, "interactive": interactive}


class MapSetup(MacroElement):
    """Registers the Leaflet map as ``c2k.map`` and fits it to the run's extent."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        c2k.map = {{ this._parent.get_name() }};
        c2k.map.fitBounds({{ this.bounds|tojson }}, {animate: false});
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "MapSetup"
        self.bounds = bounds


def _layer_name(text: str) -> str:
    # Leaflet's layer control inserts names as HTML.
    return html.escape(text, quote=True)


def _fmt(value, digits: int = 2, unit: str = "") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}{unit}"


# --------------------------------------------------------------------------- assets


def _asset_text(rel: str) -> str:
    text = (ASSETS_DIR / rel).read_text(encoding="utf-8")
    low = text.lower()
    if "</script" in low or "</style" in low:
        raise InvalidInputError(f"asset {rel} contains a closing script/style tag and cannot "
                                "be inlined")
    return text


def inline_assets_html() -> tuple[str, str]:
    """The inlined ``<style>`` and ``<script>`` elements: Leaflet and the map helpers.

    Leaflet's CSS refers to its images by relative URL; they are inlined as
    ``data:`` URIs. Leaflet's source-map comment is dropped.
    """
    css = _asset_text("leaflet/leaflet.css")
    for img in sorted((ASSETS_DIR / "leaflet" / "images").glob("*.png")):
        data = base64.b64encode(img.read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{img.name})", f"url(data:image/png;base64,{data})")
    css += "\n" + _asset_text("c2000cov_map.css")
    js = "\n".join(line for line in _asset_text("leaflet/leaflet.js").splitlines()
                   if not line.startswith("//# sourceMappingURL"))
    js += "\n" + _asset_text("c2000cov_map.js")
    return f"<style>\n{css}\n</style>", f"<script>\n{js}\n</script>"


def _stable_ids(root: Element) -> None:
    """Replace folium's random element ids by a counter: the same run gives the same HTML."""
    counter = 0
    seen: set[int] = set()

    def walk(el: Element) -> None:
        nonlocal counter
        if id(el) in seen:
            return
        seen.add(id(el))
        el._id = f"{counter:05d}"
        counter += 1
        for child in list(el._children.values()):
            walk(child)
        if isinstance(el, Figure):
            for part in (el.header, el.html, el.script):
                walk(part)

    walk(root)


# --------------------------------------------------------------------------- layers


@dataclass
class Legend:
    """Sections of the legend box, each a title and (colour, label, shape) items."""

    sections: list[tuple[str, list[tuple[str, str, str]]]] = field(default_factory=list)

    def add(self, title: str, items: list[tuple[str, str, str]]) -> None:
        """Add a section; shape is 'box', 'line' or 'dot'."""
        self.sections.append((title, items))

    def html(self) -> str:
        """The legend as an HTML element (all text escaped)."""
        parts = ['<div class="c2k-box c2k-legend" id="c2k-legend">']
        for title, items in self.sections:
            parts.append(f'<div class="c2k-sec">{html.escape(title)}</div>')
            for colour, label, shape in items:
                style = {"box": f"background:{colour}",
                         "line": f"background:transparent;border:2px solid {colour}",
                         "dot": f"background:{colour};border-radius:50%"}[shape]
                parts.append(f'<span class="c2k-item"><span class="c2k-sw" '
                             f'style="{html.escape(style)}"></span>{html.escape(label)}</span>')
        parts.append("</div>")
        return "".join(parts)


def _rgba_css(rgba: tuple[int, int, int, int]) -> str:
    r, g, b, a = rgba
    return f"rgba({r},{g},{b},{max(a, 120) / 255:.2f})"


def _masts(run: RunFolder) -> pd.DataFrame | None:
    if not run.has("masts_used.csv"):
        return None
    masts = pd.read_csv(run.file("masts_used.csv"),
                        dtype={"mast_id": str, "name": str, "pattern": str},
                        keep_default_na=False, na_values={c: [""] for c in (
                            "x_m", "y_m", "h_agl_m", "tx_power_dbm", "gain_dbi",
                            "azimuth_deg", "tilt_deg")})
    return masts


def _dead_zones(run: RunFolder, profile: str) -> gpd.GeoDataFrame | None:
    path = run.file("dead_zones.gpkg")
    if not path.is_file():
        return None
    layers = gpd.list_layers(path)["name"].tolist()
    if profile not in layers:
        return None
    gdf = gpd.read_file(path, layer=profile)
    if gdf.crs is None:
        gdf = gdf.set_crs(run.crs)
    return gdf.to_crs(run.crs)


def _public_dead_zones(dz: gpd.GeoDataFrame, cov: CoverageRaster, blocks: BlockGrid
                       ) -> gpd.GeoDataFrame:
    """Dead zones re-derived on public blocks, with attributes carried over by pixel overlap."""
    shape = cov.p_cover.shape
    zone_idx = np.zeros(shape, dtype="int32")
    if len(dz):
        zone_idx = rasterize(((g, i + 1) for i, g in enumerate(dz.geometry) if g is not None),
                             out_shape=shape, transform=cov.transform, fill=0, dtype="int32")
    labels, polys, counts = mask_zones(zone_idx > 0, cov.evaluated, cov.transform, blocks)
    n = len(polys)
    rows = []
    sel = (labels > 0) & (zone_idx > 0)
    pairs = np.unique(labels[sel].astype("int64") * (len(dz) + 1) + zone_idx[sel],
                      return_counts=True)
    overlap: dict[int, list[tuple[int, int]]] = {}
    for key, cnt in zip(*pairs, strict=True):
        overlap.setdefault(int(key // (len(dz) + 1)), []).append((int(key % (len(dz) + 1)) - 1,
                                                                  int(cnt)))
    for z in range(1, n + 1):
        parts = overlap.get(z, [])
        weight: dict[str, int] = {}
        classes, areas = [], set()
        for i, cnt in parts:
            row = dz.iloc[i]
            weight[str(row.get("limiting", ""))] = weight.get(str(row.get("limiting", "")), 0) + cnt
            classes.append(str(row.get("class", "none")))
            areas.update(a for a in str(row.get("areas", "") or "").split("; ") if a)
        limiting = max(weight, key=lambda k: weight[k]) if weight else "unreached"
        worst = min(classes, key=lambda c: CLASS_ORDER.index(c) if c in CLASS_ORDER else 0,
                    default="none")
        rows.append({"zone_id": f"{dz['profile'].iloc[0] if len(dz) else ''}-public-{z:04d}",
                     "area_km2": counts[z - 1] * cov.pixel_area_m2 / 1e6, "limiting": limiting,
                     "class": worst, "areas": "; ".join(sorted(areas))})
    return gpd.GeoDataFrame(rows, geometry=polys, crs=cov.crs) if rows else \
        gpd.GeoDataFrame({"zone_id": []}, geometry=[], crs=cov.crs)


def _zone_features(zones: gpd.GeoDataFrame, crs: CRS, profile: str, indoor: bool,
                   public: bool, masts: pd.DataFrame | None) -> list[dict]:
    if len(zones) == 0:
        return []
    geoms = _to_wgs84(zones.geometry.values, crs)
    centres = _to_wgs84(shapely.point_on_surface(zones.geometry.values), crs)
    names = {}
    if masts is not None and not public:
        names = dict(zip(masts["mast_id"].astype(str), masts["name"].astype(str), strict=True))
    feats = []
    for (_, z), g, c in zip(zones.iterrows(), geoms, centres, strict=True):
        limiting = str(z.get("limiting", "unreached"))
        area = float(z["area_km2"])
        rows = [["Profile", profile], ["Area", f"{area:.3f} km²"],
                ["Class", str(z.get("class", ""))],
                ["Limiting", LIMITING_LABELS.get(limiting, limiting)]]
        if not public and "p_cover_min" in z:
            rows.append(["Lowest coverage probability", _fmt(100 * float(z["p_cover_min"]), 1,
                                                             " %")])
        if not public and "nearest_mast_id" in z and str(z["nearest_mast_id"]) not in ("", "nan"):
            mid = str(z["nearest_mast_id"])
            label = f"{mid} ({names[mid]})" if mid in names and names[mid] != mid else mid
            rows.append(["Nearest mast",
                         f"{label}, {_fmt(float(z['nearest_mast_dist_m']) / 1000, 1, ' km')}"])
        if str(z.get("areas", "") or ""):
            rows.append(["Areas", str(z["areas"])])
        advice = ADVICE.get(limiting, ADVICE["unreached"]) + (INDOOR_ADVICE if indoor else "")
        title = f"Dead zone {z.get('zone_id', '')}"
        if public:
            title += " (500 m blocks, approximate)"
        colour = LIMITING_COLOURS.get(limiting, "#111111")
        feats.append(_feature(
            g, {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.25,
                "className": "c2k-deadzone"},
            tip=f"Dead zone {area:.2f} km², {LIMITING_LABELS.get(limiting, limiting)}",
            popup={"title": title, "rows": rows, "note": advice}, centre=c))
    return feats


def _sunny_features(run: RunFolder, profile: str, cov: CoverageRaster,
                    blocks: BlockGrid | None) -> list[dict] | None:
    night_path = run.file(f"p_cover_{profile}_night.tif")
    if not night_path.is_file():
        return None
    night = read_coverage(night_path, cov.target_pct)
    t = cov.target_pct / 100.0
    with np.errstate(invalid="ignore"):
        loss = (cov.evaluated & (cov.p_cover < t) & np.isfinite(night.p_cover)
                & (night.p_cover >= t))
    _, polys, counts = mask_zones(loss, cov.evaluated, cov.transform, blocks)
    min_m2 = float(run.parameters.get("dead_zones.min_area_m2", 0.0) or 0.0)
    keep = [i for i in range(len(polys)) if counts[i] * cov.pixel_area_m2 >= min_m2]
    geoms = _to_wgs84([polys[i] for i in keep], cov.crs)
    centres = _to_wgs84(shapely.point_on_surface([polys[i] for i in keep]), cov.crs)
    feats = []
    for i, g, c in zip(keep, geoms, centres, strict=True):
        area = counts[i] * cov.pixel_area_m2 / 1e6
        feats.append(_feature(
            g, {"color": SUNNY_COLOUR, "weight": 2, "dashArray": "5 4", "fillColor": SUNNY_COLOUR,
                "fillOpacity": 0.35, "className": "c2k-sunny"},
            tip=f"Sunny-day loss {area:.2f} km²",
            popup={"title": f"Sunny-day loss ({profile})",
                   "rows": [["Area", f"{area:.3f} km²"], ["Day (sun)", "below target"],
                            ["Night", "covered"]], "note": SUNNY_ADVICE}, centre=c))
    return feats


def _pv_features(run: RunFolder) -> list[dict] | None:
    if not run.has("pv_used.gpkg"):
        return None
    pv = gpd.read_file(run.file("pv_used.gpkg"), layer="pv")
    if pv.crs is None:
        pv = pv.set_crs(run.crs)
    pts = pv.geometry.to_crs(WGS84).representative_point()
    feats = []
    for (_, row), p in zip(pv.iterrows(), pts, strict=True):
        kwp = float(row.get("kwp", float("nan")))
        over = float(row.get("emission_db_over_limit", float("nan")))
        mitigated = str(row.get("mitigated", "")).strip().lower() in ("1", "true", "yes")
        if mitigated:
            colour, state = PV_MITIGATED_COLOUR, "mitigated"
        elif math.isfinite(over) and over > 0:
            colour, state = PV_FAULTY_COLOUR, "unmitigated, above the EMC limit"
        else:
            colour, state = PV_COMPLIANT_COLOUR, "within the EMC limit"
        radius = float(np.clip(3 + math.sqrt(kwp) / 2 if math.isfinite(kwp) else 4, 3, 25))
        rows = [["PV id", str(row.get("pv_id", ""))], ["Peak power", _fmt(kwp, 1, " kWp")],
                ["Devices", str(row.get("n_devices", ""))],
                ["Emission over limit", _fmt(over, 1, " dB")],
                ["EIRP (sunny, 25 kHz)", _fmt(row.get("eirp_dbm_per_25khz"), 1, " dBm")],
                ["State", state]]
        feats.append(_feature(p, {"radius": radius, "color": colour, "weight": 1,
                                  "fillColor": colour, "fillOpacity": 0.6,
                                  "className": "c2k-pv"},
                              tip=f"PV {row.get('pv_id', '')}: {_fmt(kwp, 0, ' kWp')}, {state}",
                              popup={"title": "PV installation", "rows": rows}))
    return feats


def _mast_features(run: RunFolder, masts: pd.DataFrame, extent_m: float) -> list[dict]:
    interference = {}
    if run.has("masts_interference.csv"):
        mi = pd.read_csv(run.file("masts_interference.csv"), dtype={"mast_id": str},
                         keep_default_na=False)
        if "d_ul_db" in mi:
            interference = dict(zip(mi["mast_id"].astype(str), mi["d_ul_db"], strict=True))
    pts = gpd.GeoSeries(gpd.points_from_xy(masts["x_m"], masts["y_m"]), crs=run.crs)
    pts_ll = list(pts.to_crs(WGS84).values)
    sector_m = min(1000.0, max(extent_m / 12.0, 150.0))
    feats, lines = [], []
    for (_, m), p in zip(masts.iterrows(), pts_ll, strict=True):
        az = float(m.get("azimuth_deg", float("nan")))
        rows = [["Mast id", str(m["mast_id"])], ["Name", str(m["name"])],
                ["Height", _fmt(m.get("h_agl_m"), 1, " m AGL")],
                ["TX power", _fmt(m.get("tx_power_dbm"), 1, " dBm")],
                ["Antenna gain", _fmt(m.get("gain_dbi"), 1, " dBi")],
                ["Azimuth", "omni" if not math.isfinite(az) else _fmt(az, 0, "°")]]
        if str(m["mast_id"]) in interference:
            rows.append(["UL noise rise (sun)",
                         _fmt(interference[str(m["mast_id"])], 1, " dB")])
        feats.append(_feature(p, {"radius": 6, "color": "#000000", "weight": 2,
                                  "fillColor": "#ffffff", "fillOpacity": 1.0,
                                  "className": "c2k-mast"},
                              tip=f"{m['mast_id']} {m['name']}",
                              popup={"title": "Mast", "rows": rows}))
        if math.isfinite(az):
            x, y = float(m["x_m"]), float(m["y_m"])
            end = (x + sector_m * math.sin(math.radians(az)),
                   y + sector_m * math.cos(math.radians(az)))
            lines.append(shapely.LineString([(x, y), end]))
    for line in _to_wgs84(lines, run.crs):
        feats.insert(0, _feature(line, {"color": "#000000", "weight": 3, "opacity": 0.8,
                                        "className": "c2k-sector"}))
    return feats


def _area_geoms(run: RunFolder) -> gpd.GeoDataFrame:
    if run.has("areas_used.gpkg"):
        areas = gpd.read_file(run.file("areas_used.gpkg"), layer="areas")
        if areas.crs is None:
            areas = areas.set_crs(run.crs)
        return areas.to_crs(run.crs)[["area_name", "geometry"]]
    b = run.manifest.get("grid", {}).get("bounds_m")
    return gpd.GeoDataFrame({"area_name": ["all"]}, geometry=[shapely.box(*b)], crs=run.crs)


def _choropleth_colour(pct: float) -> str:
    for lower, colour in CHOROPLETH_BINS:
        if math.isfinite(pct) and pct >= lower:
            return colour
    return "#bbbbbb"


def _area_features(run: RunFolder, areas: gpd.GeoDataFrame, primary: str,
                   extent_m: float) -> list[dict]:
    table = None
    if run.has("areas_coverage.csv"):
        table = pd.read_csv(run.file("areas_coverage.csv"),
                            dtype={"area_name": str, "profile": str}, keep_default_na=False,
                            na_values={c: ["", "nan", "NaN"] for c in (
                                "covered_pct", "dead_zone_km2", "ul_limited_pct",
                                "sunny_loss_pp", "covered_pct_night")})
    geoms = _to_wgs84(shapely.segmentize(areas.geometry.values, max(extent_m / 100.0, 10.0)),
                      run.crs)
    feats = []
    for (_, a), g in zip(areas.iterrows(), geoms, strict=True):
        name = str(a["area_name"])
        rows, pct = [], float("nan")
        head = ["Profile", "Covered", "Dead zones", "UL-limited"]
        has_sunny = table is not None and "sunny_loss_pp" in table
        if has_sunny:
            head.append("Sunny-day loss")
        if table is not None:
            sub = table[table["area_name"] == name]
            for prof in run.profiles:
                r = sub[sub["profile"] == prof]
                if len(r) == 0:
                    continue
                r = r.iloc[0]
                row = [prof, _fmt(r.get("covered_pct"), 1, " %"),
                       _fmt(r.get("dead_zone_km2"), 2, " km²"),
                       _fmt(r.get("ul_limited_pct"), 0, " %")]
                if has_sunny:
                    row.append(_fmt(r.get("sunny_loss_pp"), 1, " pp"))
                rows.append(row)
                if prof == primary:
                    pct = float(r.get("covered_pct", float("nan")))
        colour = _choropleth_colour(pct)
        feats.append(_feature(g, {"color": "#333333", "weight": 2, "fillColor": colour,
                                  "fillOpacity": 0.55, "className": "c2k-area"},
                              tip=f"{name}: {_fmt(pct, 1, ' %')} covered ({primary})",
                              popup={"title": name, "head": head, "rows": rows}))
    return feats


def _outline_features(run: RunFolder, areas: gpd.GeoDataFrame, extent_m: float) -> list[dict]:
    b = run.manifest.get("grid", {}).get("bounds_m")
    geoms = list(areas.geometry.boundary.values)
    if b:
        geoms.append(shapely.box(*b).boundary)
    # straight lines in the grid CRS are curves in Web Mercator: add vertices
    geoms = list(shapely.segmentize(geoms, max(extent_m / 100.0, 10.0)))
    return [_feature(g, {"color": "#6b6b6b", "weight": 1.5, "opacity": 0.9, "fill": False})
            for g in _to_wgs84(geoms, run.crs)]


def _title_html(run: RunFolder, public: bool, sunny_state: bool) -> str:
    scen = str(run.manifest.get("scenario", run.path.name))
    model = run.manifest.get("model", {})
    model_txt = f"{model.get('name', '?')} ({model.get('source', '?')})"
    lines = [f"<b>C2000 coverage: {html.escape(scen)}</b>",
             f"model {html.escape(model_txt)}; profiles {html.escape(', '.join(run.profiles))}"]
    if sunny_state:
        sun = run.parameters.get("interference.sun_factor",
                                 run.manifest.get("interference", {}).get("sun_factor", 1.0))
        lines.append(f"coverage shown for a sunny day (sun_factor {html.escape(str(sun))})")
    covered = run.manifest.get("covered_pct", {}) or {}
    pcts = [f"{html.escape(p)} {float(covered[p]):.1f} %" for p in run.profiles if p in covered]
    if pcts:
        lines.append("covered: " + ", ".join(pcts))
    notice = ""
    if public:
        notice = ('<div class="c2k-public" id="c2k-public-notice">PUBLIC VERSION: no mast '
                  f"positions; coverage and zones in {PUBLIC_BLOCK_M:.0f} m blocks</div>")
    return (f'<div class="c2k-box c2k-titlebox" id="c2k-title">{notice}'
            f'{"<br>".join(lines)}</div>')


# --------------------------------------------------------------------------- entry points


def build_map_from_run(run_dir: Path, out_path: Path, profiles: list[str] | None = None,
                       public: bool = False, basemap: str = "none") -> Path:
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
        Leave out every mast position, id and name, and aggregate rasters
        and zones to :data:`PUBLIC_BLOCK_M` blocks.
    basemap : {'none', 'osm', 'brt'}
        'none' draws area outlines on a plain background; 'osm' and 'brt'
        add a tile layer that stays blank offline.

    Returns
    -------
    Path
        ``out_path``.
    """
    if basemap not in BASEMAPS:
        raise InvalidInputError(f"basemap {basemap!r} is not known; choose one of "
                                f"{', '.join(BASEMAPS)}")
    run = read_run_folder(Path(run_dir), profiles)
    primary = run.profiles[0]
    covs = {p: read_coverage(run.file(f"p_cover_{p}.tif"), run.target_pct(p))
            for p in run.profiles}
    first = covs[primary]
    h, w = first.p_cover.shape
    left, top = first.transform @ (0, 0)
    right, bottom = first.transform @ (w, h)
    west, south, east, north = transform_bounds(run.crs, WGS84, left, bottom, right, top)
    extent_m = max(right - left, top - bottom)
    blocks = BlockGrid.of((h, w), first.transform, PUBLIC_BLOCK_M) if public else None

    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=11,
                      tiles=None, control_scale=True, prefer_canvas=False)
    fmap.default_js = []
    fmap.default_css = []
    style_el, script_el = inline_assets_html()
    root = fmap.get_root()
    root.header.add_child(Element(style_el), name="c2k_inline_css")
    root.header.add_child(Element(script_el), name="c2k_inline_js")
    legend = Legend()

    if basemap != "none":
        label, url, attr, max_zoom = TILE_LAYERS[basemap]
        folium.TileLayer(tiles=url, attr=attr, name=_layer_name(label), max_zoom=max_zoom,
                         overlay=False, control=True, show=True).add_to(fmap)
        folium.FeatureGroup(name="No tiles (offline)", overlay=False, control=True,
                            show=False).add_to(fmap)
    areas = _area_geoms(run)
    outlines = folium.FeatureGroup(name="Area outlines", show=True)
    outlines.add_child(GeoJsonLayer(_outline_features(run, areas, extent_m), "outlines",
                                    interactive=False))
    outlines.add_to(fmap)

    # coverage classes, per profile
    for prof, cov in covs.items():
        codes = cov.coverage_class
        transform = cov.transform
        oversample = 1.0
        if blocks is not None:
            codes = block_majority(codes, blocks)
            transform = blocks.transform
            oversample = 8.0
        rgba, bounds = overlay_rgba(codes, transform, cov.crs, CLASS_COLOURS,
                                    oversample=oversample)
        folium.raster_layers.ImageOverlay(
            rgba, bounds=bounds, name=_layer_name(f"Coverage: {prof}"), show=prof == primary,
            pixelated=False, class_name="c2k-px c2k-coverage", interactive=False,
        ).add_to(fmap)
    legend.add("Coverage class (location probability)",
               [(_rgba_css(CLASS_COLOURS[c]), CLASS_LABELS[c], "box")
                for c in (CLASS_GOOD, CLASS_REDUCED, CLASS_POOR, CLASS_NONE)])

    # what-if: gained and lost coverage
    any_delta = False
    for prof in run.profiles:
        path = run.file(f"delta_{prof}.tif")
        if not path.is_file():
            continue
        with rasterio.open(path) as src:
            d = src.read(1)
            d_transform, d_crs = src.transform, src.crs or run.crs
        codes = np.full(d.shape, CLASS_NODATA, dtype="uint8")
        codes[np.isfinite(d) & (d == 0)] = DELTA_SAME
        codes[np.isfinite(d) & (d > 0)] = DELTA_GAINED
        codes[np.isfinite(d) & (d < 0)] = DELTA_LOST
        oversample = 1.0
        if blocks is not None:
            codes = block_majority(codes, blocks)
            d_transform = blocks.transform
            oversample = 8.0
        rgba, bounds = overlay_rgba(codes, d_transform, d_crs, DELTA_COLOURS,
                                    oversample=oversample)
        folium.raster_layers.ImageOverlay(
            rgba, bounds=bounds, name=_layer_name(f"What-if gained/lost: {prof}"),
            show=prof == primary, pixelated=False, class_name="c2k-px c2k-delta",
            interactive=False).add_to(fmap)
        any_delta = True
    if any_delta:
        legend.add("What-if change", [(_rgba_css(DELTA_COLOURS[DELTA_GAINED]), "gained", "box"),
                                      (_rgba_css(DELTA_COLOURS[DELTA_LOST]), "lost", "box")])

    # areas: choropleth of covered percentage
    area_layer = folium.FeatureGroup(name=_layer_name(f"Areas: covered % ({primary})"),
                                     show=False)
    area_layer.add_child(GeoJsonLayer(_area_features(run, areas, primary, extent_m), "areas"))
    area_layer.add_to(fmap)
    bins = [b for b, _ in CHOROPLETH_BINS]
    legend.add(f"Area covered % ({primary})",
               [(c, f">= {lo:g} %" if lo > 0 else f"< {bins[-2]:g} %", "box")
                for lo, c in CHOROPLETH_BINS])

    # sunny-day loss
    any_sunny = False
    for prof, cov in covs.items():
        feats = _sunny_features(run, prof, cov, blocks)
        if feats is None:
            continue
        fg = folium.FeatureGroup(name=_layer_name(f"Sunny-day loss: {prof}"),
                                 show=prof == primary)
        fg.add_child(GeoJsonLayer(feats, f"sunny:{prof}"))
        fg.add_to(fmap)
        any_sunny = True
    if any_sunny:
        legend.add("Sunny-day loss", [(SUNNY_COLOUR, "extra dead zone in daylight", "line")])

    # dead zones
    masts = None if public else _masts(run)
    for prof, cov in covs.items():
        dz = _dead_zones(run, prof)
        if dz is None:
            continue
        if blocks is not None:
            dz = _public_dead_zones(dz, cov, blocks)
        feats = _zone_features(dz, run.crs, prof, run.indoor(prof), public, masts)
        fg = folium.FeatureGroup(name=_layer_name(f"Dead zones: {prof}"), show=prof == primary)
        fg.add_child(GeoJsonLayer(feats, f"deadzones:{prof}"))
        fg.add_to(fmap)
    legend.add("Dead zone (limiting direction)",
               [(LIMITING_COLOURS[k], LIMITING_LABELS[k], "line") for k in LIMITING_COLOURS])

    # PV installations: not in a public map (a rooftop point identifies a household,
    # and a faulty one its owner)
    pv_feats = None if public else _pv_features(run)
    if pv_feats is not None:
        fg = folium.FeatureGroup(name="PV installations (size: kWp)", show=True)
        fg.add_child(GeoJsonLayer(pv_feats, "pv"))
        fg.add_to(fmap)
        legend.add("PV installations", [(PV_FAULTY_COLOUR, "unmitigated, above limit", "dot"),
                                        (PV_MITIGATED_COLOUR, "mitigated", "dot"),
                                        (PV_COMPLIANT_COLOUR, "within limit", "dot")])

    # masts (never in a public map)
    if not public and masts is not None and len(masts):
        fg = folium.FeatureGroup(name="Masts", show=True)
        fg.add_child(GeoJsonLayer(_mast_features(run, masts, extent_m), "masts"))
        fg.add_to(fmap)
        legend.add("Masts", [("#ffffff", "mast (line: sector azimuth)", "dot")])

    root.html.add_child(Element(_title_html(run, public, any_sunny)), name="c2k_title")
    root.html.add_child(Element(legend.html()), name="c2k_legend")
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(MapSetup([[south, west], [north, east]]), name="c2k_setup")
    _stable_ids(root)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path) as tmp:
        tmp.write_text(root.render(), encoding="utf-8")
    return out_path


def build_map(result, out_path: Path) -> Path:
    """Map of a written run: :func:`build_map_from_run` on the folder of its ``run.json``."""
    manifests = [Path(p) for p in result.files if Path(p).name == "run.json"]
    if not manifests:
        raise InvalidInputError("the run has not been written (no run.json among its files); "
                                "write its outputs before building the map")
    return build_map_from_run(manifests[0].parent, out_path)
