"""KMZ export of a run folder: coverage classes and below-target zones per profile.

Google Earth is what radio planners and emergency services open. Each
profile gives two layers (folders): its coverage classes as polygons (one
multipolygon per class, styled with the map's palette) and its below-target
zones with their class mix and advice (:mod:`c2000cov.products.advice`).

Every layer is written by GDAL's LIBKML driver (through pyogrio), styles as
OGR feature-style strings; the layers are then put in one KMZ the way LIBKML
itself lays out a multi-layer KMZ (``doc.kml`` with one NetworkLink per
``layers/<name>.kml``), because LIBKML in GDAL 3.x cannot append a layer to
an existing KMZ. GDAL reads the result back as one layer per folder.

No mast positions, ids or names are written: a KMZ travels further than a
map. With ``public=True`` the zones and classes are the public map's 500 m
blocks.
"""

from __future__ import annotations

import html
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from rasterio.features import shapes

from c2000cov.analysis.coverage import CLASS_GOOD, CLASS_NONE, CLASS_POOR, CLASS_REDUCED
from c2000cov.files.atomic import atomic_path
from c2000cov.products import advice
from c2000cov.products import runfolder as rf
from c2000cov.products.maps.build import SIMPLIFY_PX, profile_zones
from c2000cov.products.maps.layers import CLASS_COLOURS, CLASS_KEYS, LIMITING_DASH, WGS84
from c2000cov.products.maps.public import PUBLIC_BLOCK_M, BlockGrid, block_majority
from c2000cov.products.runfolder import read_coverage, read_run_folder

#: Largest number of class cells along a side: finer class rasters are
#: aggregated (block majority) before polygonising, to keep the KMZ small.
MAX_CLASS_CELLS = 1500
LAYER_WORDS = {
    "nl": {"classes": "dekkingsklassen", "zones": "zones onder de doelwaarde",
           "zone": "Zone", "area": "Oppervlakte", "mix": "Klassenmix", "limiting": "Beperkend",
           "areas": "Gebieden", "advice": "Advies", "class_area": "Oppervlakte klasse"},
    "en": {"classes": "coverage classes", "zones": "below-target zones", "zone": "Zone",
           "area": "Area", "mix": "Class mix", "limiting": "Limiting", "areas": "Areas",
           "advice": "Advice", "class_area": "Class area"},
}


def _kml_colour(rgba: tuple[int, int, int, int]) -> str:
    r, g, b, a = rgba
    return f"#{r:02x}{g:02x}{b:02x}{a:02x}"


def class_layer(run, profile: str, public: bool, lang: str) -> gpd.GeoDataFrame:
    """One multipolygon per coverage class of a profile, in WGS84, with its style."""
    cov = read_coverage(run.file(rf.coverage_name(profile)), run.target_pct(profile),
                        run.reduced_pct, run.poor_pct)
    h, w = cov.coverage_class.shape
    cell_m = cov.pixel_m
    if public:
        cell_m = PUBLIC_BLOCK_M
    elif max(h, w) > MAX_CLASS_CELLS:
        cell_m = cov.pixel_m * int(np.ceil(max(h, w) / MAX_CLASS_CELLS))
    codes, transform = cov.coverage_class, cov.transform
    if cell_m > cov.pixel_m:
        blocks = BlockGrid.of((h, w), cov.transform, cell_m)
        codes, transform = block_majority(codes, blocks), blocks.transform
    parts: dict[int, list] = {}
    for geom, value in shapes(codes, mask=codes != 255, connectivity=4, transform=transform):
        parts.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    order = [c for c in (CLASS_GOOD, CLASS_REDUCED, CLASS_POOR, CLASS_NONE) if c in parts]
    flat = [g for c in order for g in parts[c]]
    if not public and flat:
        flat = list(shapely.make_valid(shapely.coverage_simplify(flat, SIMPLIFY_PX * cell_m)))
    thr = advice.class_thresholds(cov.target_pct, run.reduced_pct, run.poor_pct, lang)
    rows, geoms, i = [], [], 0
    for c in order:
        polys = flat[i:i + len(parts[c])]
        i += len(parts[c])
        geom = shapely.multipolygons(shapely.get_parts(polys))
        key = CLASS_KEYS[c]
        rows.append({"Name": thr[key], "description": html.escape(thr[key]),
                     "class": key, "area_km2": float(shapely.area(geom)) / 1e6,
                     "OGR_STYLE": f"BRUSH(fc:{_kml_colour(CLASS_COLOURS[c])});"
                                  f"PEN(c:{_kml_colour(CLASS_COLOURS[c][:3] + (255,))},w:1px)"})
        geoms.append(geom)
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=run.crs)
    return gdf.to_crs(WGS84)


def zone_layer(run, profile: str, covs: dict, public: bool, lang: str) -> gpd.GeoDataFrame:
    """The profile's below-target zones with class mix, advice and style, in WGS84."""
    words = LAYER_WORDS[lang]
    got = profile_zones(run, profile, covs, BlockGrid.of(
        covs[profile].p_cover.shape, covs[profile].transform, PUBLIC_BLOCK_M) if public else None)
    zones, facts = got if got is not None else (gpd.GeoDataFrame(geometry=[], crs=run.crs), [])
    rows = []
    for (_, z), f in zip(zones.iterrows(), facts, strict=True):
        title = advice.zone_title(f, lang)
        mix = advice.class_mix_text(f.share_reduced_pct, f.share_poor_pct, f.share_none_pct,
                                    lang)
        limiting = str(z.get("limiting", "unreached"))
        lines = [f"{words['area']}: {float(z['area_km2']):.3f} km²", f"{words['mix']}: {mix}",
                 f"{words['limiting']}: {advice.LIMITING_LABELS[lang].get(limiting, limiting)}"]
        if str(z.get("areas", "") or ""):
            lines.append(f"{words['areas']}: {z['areas']}")
        lines.append(f"{words['advice']}:")
        lines += [f"- {s}" for s in advice.zone_advice(f, lang)]
        fill = CLASS_COLOURS[{"reduced": CLASS_REDUCED, "poor": CLASS_POOR,
                              "none": CLASS_NONE}[f.dominant_class]]
        pen = "PEN(c:#1a1a1aff,w:2px" + (",p:\"7px 5px\"" if LIMITING_DASH.get(limiting) else "")
        rows.append({
            "Name": f"{words['zone']} {z['zone_id']}: {title}",
            "description": "<br>".join(html.escape(s) for s in lines),
            "zone_id": str(z["zone_id"]), "profile": profile,
            "area_km2": float(z["area_km2"]),
            "share_reduced_pct": f.share_reduced_pct, "share_poor_pct": f.share_poor_pct,
            "share_none_pct": f.share_none_pct, "class": f.dominant_class,
            "limiting": limiting,
            "incar_covered_pct": np.nan if f.incar_covered_pct is None else f.incar_covered_pct,
            "advice": " ".join(advice.zone_advice(f, lang)),
            "OGR_STYLE": f"BRUSH(fc:{_kml_colour(fill[:3] + (90,))});{pen})"})
    gdf = gpd.GeoDataFrame(rows, geometry=list(zones.geometry) if rows else [], crs=run.crs)
    return gdf.to_crs(WGS84)


def export_kmz(run_dir: Path, out_path: Path, profiles: list[str] | None = None,
               public: bool = False, lang: str = advice.DEFAULT_LANG) -> Path:
    """Write a KMZ of a run folder: per profile, its coverage classes and its zones.

    Parameters
    ----------
    run_dir : Path
        Output folder of ``c2000cov run``.
    out_path : Path
        The ``.kmz`` to write (atomically).
    profiles : list of str, optional
        Profiles to export; default all.
    public : bool
        Classes and zones in the public map's 500 m blocks.
    lang : {'nl', 'en'}
        Language of layer names, descriptions and advice.

    Returns
    -------
    Path
        ``out_path``; its layers are named ``"<profile label> - <kind>"``.
    """
    advice.check_lang(lang)
    run = read_run_folder(Path(run_dir), profiles)
    words = LAYER_WORDS[lang]
    labels = run.labels(lang)
    covs = {p: read_coverage(run.file(rf.coverage_name(p)), run.target_pct(p), run.reduced_pct,
                             run.poor_pct) for p in run.profiles}
    scen = html.escape(str(run.manifest.get("scenario", run.path.name)))
    links, members = [], []
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="c2k-kmz-") as tmp:
        for i, prof in enumerate(run.profiles):
            for kind, gdf in (("classes", class_layer(run, prof, public, lang)),
                              ("zones", zone_layer(run, prof, covs, public, lang))):
                name = f"{labels[prof]} - {words[kind]}"
                one = Path(tmp) / f"{i}_{kind}.kmz"
                pyogrio.write_dataframe(gdf, one, driver="LIBKML", layer=name)
                with zipfile.ZipFile(one) as z:
                    member = next(n for n in z.namelist() if n.startswith("layers/")
                                  and n.endswith(".kml"))
                    target = f"layers/{i:02d}_{prof}_{kind}.kml"
                    members.append((target, z.read(member)))
                links.append((name, target))
        doc = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<kml xmlns="http://www.opengis.net/kml/2.2">',
               f'  <Document id="root_doc">\n    <name>C2000: {scen}</name>']
        for name, target in links:
            doc.append(f"    <NetworkLink>\n      <name>{html.escape(name)}</name>\n"
                       f"      <Link>\n        <href>{html.escape(target)}</href>\n"
                       f"      </Link>\n    </NetworkLink>")
        doc += ["  </Document>", "</kml>", ""]
        with atomic_path(out_path) as part:
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("doc.kml", "\n".join(doc))
                for target, data in members:
                    z.writestr(target, data)
    return out_path
