"""Folium maps of a run: coverage classes, dead zones, areas and masts.

The coverage-class raster is reprojected to Web Mercator (EPSG:3857), where a
Leaflet image overlay is linear, and drawn with a fixed colour per class.
There is no tile basemap by default: the map is drawn from the run's own data.
All text taken from input files is HTML-escaped.
"""

from __future__ import annotations

import html
from pathlib import Path

import folium
import numpy as np
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

from c2000cov.coverage import CLASS_GOOD, CLASS_NAMES, CLASS_NODATA, CLASS_POOR, CLASS_REDUCED
from c2000cov.io import atomic_path

WEB_MERCATOR = CRS.from_epsg(3857)
WGS84 = CRS.from_epsg(4326)
#: RGBA per coverage class.
CLASS_COLOURS = {
    CLASS_GOOD: (26, 150, 65, 90),
    CLASS_REDUCED: (253, 174, 97, 170),
    CLASS_POOR: (244, 109, 67, 190),
    0: (165, 0, 38, 200),
}


def class_overlay_rgba(cls: np.ndarray, grid) -> tuple[np.ndarray, list[list[float]]]:
    """Reproject a class raster to Web Mercator and colour it (RGBA uint8) with its bounds."""
    src_bounds = grid.bounds_m
    dst_transform, width, height = calculate_default_transform(
        grid.crs, WEB_MERCATOR, grid.width, grid.height, *src_bounds)
    dst = np.full((height, width), CLASS_NODATA, dtype="uint8")
    reproject(cls, dst, src_transform=grid.transform, src_crs=grid.crs, src_nodata=CLASS_NODATA,
              dst_transform=dst_transform, dst_crs=WEB_MERCATOR, dst_nodata=CLASS_NODATA,
              resampling=Resampling.nearest)
    rgba = np.zeros((height, width, 4), dtype="uint8")
    for code, colour in CLASS_COLOURS.items():
        rgba[dst == code] = colour
    west, north = dst_transform @ (0, 0)
    east, south = dst_transform @ (width, height)
    lon0, lat0, lon1, lat1 = transform_bounds(WEB_MERCATOR, WGS84, west, south, east, north)
    return rgba, [[lat0, lon0], [lat1, lon1]]


def legend_html(profile_names: list[str]) -> str:
    """A fixed legend box for the coverage classes."""
    items = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;'
        f'background:rgba{CLASS_COLOURS[c][:3] + (CLASS_COLOURS[c][3] / 255,)}"></span> '
        f"{html.escape(CLASS_NAMES[c])}</div>"
        for c in (CLASS_GOOD, CLASS_REDUCED, CLASS_POOR, 0))
    return ('<div style="position:fixed;bottom:20px;left:20px;z-index:9999;background:white;'
            'padding:6px;border:1px solid #888;font:12px sans-serif">'
            f"<b>Coverage class</b>{items}</div>")


def build_map(result, out_path: Path) -> Path:
    """Write a folium map of a run's coverage classes, dead zones, areas and masts."""
    inputs = result.inputs
    grid = inputs.grid
    west, south, east, north = transform_bounds(grid.crs, WGS84, *grid.bounds_m)
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=11,
                      tiles=None, control_scale=True)
    for name, cov in result.coverage.items():
        rgba, bounds = class_overlay_rgba(cov.coverage_class, grid)
        folium.raster_layers.ImageOverlay(rgba, bounds=bounds, name=f"Coverage: {name}",
                                          show=name == next(iter(result.coverage))).add_to(fmap)
    for name, gdf in result.dead_zones.items():
        if len(gdf) == 0:
            continue
        shown = gdf[["zone_id", "area_km2", "class", "limiting", "nearest_mast_id",
                     "geometry"]].to_crs(WGS84)
        for col in ("zone_id", "class", "limiting", "nearest_mast_id"):
            shown[col] = shown[col].map(lambda v: html.escape(str(v)))
        shown["area_km2"] = shown["area_km2"].round(3)
        folium.GeoJson(shown, name=f"Dead zones: {name}", show=False,
                       style_function=lambda _: {"color": "#a50026", "weight": 1,
                                                 "fillOpacity": 0.3},
                       tooltip=folium.GeoJsonTooltip(["zone_id", "area_km2", "class",
                                                      "limiting", "nearest_mast_id"])
                       ).add_to(fmap)
    if inputs.areas is not None:
        areas = inputs.areas.to_crs(WGS84).copy()
        areas["area_name"] = areas["area_name"].map(lambda v: html.escape(str(v)))
        folium.GeoJson(areas, name="Areas", style_function=lambda _: {
            "color": "#333", "weight": 2, "fillOpacity": 0},
            tooltip=folium.GeoJsonTooltip(["area_name"])).add_to(fmap)
    masts_layer = folium.FeatureGroup(name="Masts")
    masts = inputs.masts
    lonlat = inputs.masts.copy()
    import geopandas as gpd

    pts = gpd.GeoSeries(gpd.points_from_xy(masts["x_m"], masts["y_m"]), crs=grid.crs).to_crs(WGS84)
    for (_, m), p in zip(lonlat.iterrows(), pts, strict=True):
        folium.CircleMarker([p.y, p.x], radius=5, color="#000", fill=True,
                            tooltip=html.escape(f"{m['mast_id']} {m['name']}")).add_to(masts_layer)
    masts_layer.add_to(fmap)
    fmap.get_root().html.add_child(folium.Element(legend_html(list(result.coverage))))
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[south, west], [north, east]])
    with atomic_path(Path(out_path)) as tmp:
        fmap.save(str(tmp))
    return Path(out_path)
