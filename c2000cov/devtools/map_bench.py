"""Benchmark of the HTML map: file size and load time in chromium.

Workloads:

- ``map-demo``: the map of the demo run (``out/demo``, written by ``make demo``);
- ``map-50km``: the map of a synthetic run folder of a meldkamer-sized region,
  50 x 50 km at 10 m (25 million pixels), three profiles, with about 70 masts
  and shadowing down to 10 m so that dead zones have ragged pixel edges (the
  case that made pixel-edge polygons heavy). Its coverage is synthetic:
  a log-distance margin from jittered masts on a coarse 50 m grid,
  upsampled, plus value noise at 2 km, 400 m, 100 m and 30 m; the dead zones
  are computed by :func:`c2000cov.analysis.deadzones.dead_zones` as in a real run.

Each record holds ``html_mb`` (the file), ``build_s`` (writing the map),
``ready_s`` (median over 3 fresh chromium pages of the time from navigation
start until the page's script has built every layer, ``c2k.ready``),
``painted_s`` (the same until two animation frames later, i.e. drawn),
the number of zones and the grid size. The target of issue #13 is a
50 x 50 km map under 15 MB that loads in under 5 s on the benchmark machine.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine

from c2000cov.analysis.coverage import (
    CLASS_GOOD,
    CLASS_NONE,
    CLASS_POOR,
    CLASS_REDUCED,
    LIMITING_DL,
    LIMITING_UL,
    ProfileCoverage,
)
from c2000cov.analysis.deadzones import dead_zones
from c2000cov.errors import InputNotFoundError
from c2000cov.files.atomic import atomic_path
from c2000cov.files.vectors import write_csv, write_gpkg
from c2000cov.geo.grid import Grid
from c2000cov.products import runfolder as rf
from c2000cov.products.maps import build_map_from_run
from c2000cov.radio.probability import location_probability

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
MAP_WORKLOADS = ("map-demo", "map-50km")
SEED = 20261130
#: Synthetic region: 50 km square at 10 m in RD New, south-west corner.
REGION_M, PIXEL_M, ORIGIN_M = 50_000.0, 10.0, (130_000.0, 420_000.0)
MAST_SPACING_M = 6000.0
SIGMA_DB = 8.0
#: Median margin at 1 km (dB) and path-loss slope (dB/decade) of the synthetic masts.
MARGIN_1KM_DB, SLOPE_DB = 32.0, 35.0
#: Margin offsets of the profiles relative to a handheld outdoors (dB).
PROFILES = {"handheld_outdoor": 0.0, "handheld_indoor": -12.0, "in_car": 8.0}
NOISE_OCTAVES = ((2000.0, 6.0), (400.0, 4.0), (100.0, 2.5), (30.0, 1.5))


def _noise(shape, pixel_m, cell_m, amp_db, rng) -> np.ndarray:
    """Bilinear value noise (float32, dB) on a grid of ``shape``."""
    h, w = shape
    nr, nc = int(h * pixel_m / cell_m) + 2, int(w * pixel_m / cell_m) + 2
    coarse = rng.uniform(-amp_db, amp_db, (nr, nc)).astype("float32")
    u = (np.arange(h) + 0.5) * pixel_m / cell_m
    v = (np.arange(w) + 0.5) * pixel_m / cell_m
    i0, j0 = np.floor(u).astype(int), np.floor(v).astype(int)
    fu, fv = (u - i0).astype("float32"), (v - j0).astype("float32")
    rows = coarse[i0] * (1 - fu)[:, None] + coarse[i0 + 1] * fu[:, None]
    return rows[:, j0] * (1 - fv)[None, :] + rows[:, j0 + 1] * fv[None, :]


def synthetic_run(out_dir: Path, region_m: float = REGION_M, pixel_m: float = PIXEL_M,
                  seed: int = SEED) -> Path:
    """Write a synthetic run folder of a square region (see the module docstring)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = int(round(region_m / pixel_m))
    x0, y0 = ORIGIN_M
    transform = Affine(pixel_m, 0, x0, 0, -pixel_m, y0 + region_m)
    grid = Grid.from_bounds((x0, y0, x0 + region_m, y0 + region_m), pixel_m, "EPSG:28992")
    k = int(MAST_SPACING_M // 2)
    centres = np.arange(k, region_m, MAST_SPACING_M)
    mx, my = np.meshgrid(centres, centres)
    mx = x0 + mx.ravel() + rng.uniform(-1500, 1500, mx.size)
    my = y0 + my.ravel() + rng.uniform(-1500, 1500, my.size)
    keep = rng.random(mx.size) > 0.15  # gaps in the network: real dead zones
    mx, my = mx[keep], my[keep]
    masts = pd.DataFrame({"mast_id": [f"S{i:03d}" for i in range(mx.size)],
                          "name": [f"Synthetic {i}" for i in range(mx.size)],
                          "x_m": mx, "y_m": my, "h_agl_m": 40.0, "tx_power_dbm": 44.0,
                          "gain_dbi": 11.0, "azimuth_deg": np.nan})
    # the best server's median margin on a coarse 50 m grid, then upsampled
    coarse_m = 50.0
    nc = int(region_m / coarse_m)
    cc = x0 + (np.arange(nc) + 0.5) * coarse_m
    rc = y0 + region_m - (np.arange(nc) + 0.5) * coarse_m
    best = np.full((nc, nc), -np.inf, dtype="float32")
    for x, y in zip(mx, my, strict=True):
        d_km = np.hypot(cc[None, :] - x, rc[:, None] - y) / 1000.0
        best = np.maximum(best, MARGIN_1KM_DB - SLOPE_DB * np.log10(np.maximum(d_km, 0.05)))
    rep = int(coarse_m / pixel_m)
    margin = np.repeat(np.repeat(best, rep, axis=0), rep, axis=1)[:n, :n]
    for cell_m, amp_db in NOISE_OCTAVES:
        margin += _noise((n, n), pixel_m, cell_m, amp_db, rng)
    ul_extra = _noise((n, n), pixel_m, 3000.0, 3.0, rng)
    covs, files = {}, {}
    for name, offset_db in PROFILES.items():
        m = margin + offset_db
        p = np.asarray(location_probability(m, SIGMA_DB), dtype="float32")
        p = np.round(p, 4)
        cls = np.full((n, n), CLASS_NONE, "uint8")
        cls[p >= 0.5] = CLASS_POOR
        cls[p >= 0.8] = CLASS_REDUCED
        cls[p >= 0.95] = CLASS_GOOD
        limiting = np.where(ul_extra >= 0, LIMITING_UL, LIMITING_DL).astype("uint8")
        covs[name] = ProfileCoverage(name, grid, p, limiting, np.zeros((n, n), "int16"),
                                     np.zeros((n, n), "float32"), np.zeros((n, n), "uint8"), cls,
                                     m, m, SIGMA_DB, 95.0)
        profile = {"driver": "GTiff", "height": n, "width": n, "count": 1, "dtype": "float32",
                   "crs": "EPSG:28992", "transform": transform, "nodata": np.nan,
                   "compress": "deflate", "tiled": True}
        path = out_dir / rf.coverage_name(name)
        with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.write(p, 1)
            dst.set_band_description(1, rf.P_COVER_BAND)
            dst.update_tags(target_pct="95.0")
        files[name] = path
    areas = gpd.GeoDataFrame(
        {"area_name": [f"Gemeente {c}{r}" for r in range(3) for c in "ABC"]},
        geometry=[shapely.box(x0 + c * region_m / 3, y0 + r * region_m / 3,
                              x0 + (c + 1) * region_m / 3, y0 + (r + 1) * region_m / 3)
                  for r in range(3) for c in range(3)], crs="EPSG:28992")
    areas = pd.concat([areas, gpd.GeoDataFrame(
        {"area_name": ["Meldkamer synthetisch"]},
        geometry=[shapely.box(x0, y0, x0 + region_m, y0 + region_m)], crs="EPSG:28992")],
        ignore_index=True)
    zones = {name: dead_zones(cov, masts, areas, min_area_m2=2500.0)
             for name, cov in covs.items()}
    write_gpkg(out_dir / rf.DEAD_ZONES, zones)
    write_gpkg(out_dir / rf.AREAS_USED, {rf.AREAS_LAYER: areas})
    write_csv(out_dir / rf.MASTS_USED, masts)
    params = {"classes.reduced_pct": 80.0, "classes.poor_pct": 50.0,
              "dead_zones.min_area_m2": 2500.0,
              "profiles.handheld_outdoor.body_loss_db": 5.0,
              "profiles.handheld_outdoor.ms_gain_dbi": -3.0,
              "profiles.handheld_indoor.body_loss_db": 5.0,
              "profiles.handheld_indoor.ms_gain_dbi": -3.0,
              "profiles.handheld_indoor.indoor": True,
              "profiles.in_car.body_loss_db": 0.0, "profiles.in_car.ms_gain_dbi": 2.0}
    covered = {name: float(100 * np.mean(cov.p_cover >= 0.95)) for name, cov in covs.items()}
    manifest = {"scenario": "synthetic-50km", "grid": {
        "bounds_m": [x0, y0, x0 + region_m, y0 + region_m], "crs": "EPSG:28992",
        "resolution_m": pixel_m, "shape": [n, n]}, "parameters": params,
        "covered_pct": covered, "model": {"name": "synthetic", "source": "map benchmark"}}
    with atomic_path(out_dir / rf.MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return out_dir


def load_times(path: Path, repeats: int = 3) -> tuple[float, float]:
    """Median seconds until ``c2k.ready`` and until drawn, over fresh chromium pages."""
    from playwright.sync_api import sync_playwright  # optional: only for this benchmark

    ready, painted = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
                    ("file:", "data:")) else r.abort())
                page.goto(Path(path).resolve().as_uri(), timeout=120_000)
                page.wait_for_function("() => window.c2k && c2k.ready", timeout=120_000)
                ready.append(page.evaluate("() => performance.now()") / 1000.0)
                painted.append(page.evaluate("""() => new Promise(r => requestAnimationFrame(
                    () => requestAnimationFrame(() => r(performance.now()))))""") / 1000.0)
                page.close()
        finally:
            browser.close()
    return statistics.median(ready), statistics.median(painted)


def run_map_workload(name: str, work_dir: Path = Path("out/bench-maps"),
                     demo_dir: Path = Path("out/demo")) -> dict:
    """One benchmark record of a map workload (see the module docstring)."""
    work_dir = Path(work_dir)
    gen_s = 0.0
    if name == "map-demo":
        run_dir = Path(demo_dir)
        if not (run_dir / rf.MANIFEST).is_file():
            raise InputNotFoundError(f"{run_dir}/run.json does not exist; run `make demo` first")
    else:
        t0 = time.perf_counter()
        run_dir = synthetic_run(work_dir / "run-50km")
        gen_s = time.perf_counter() - t0
    html = work_dir / f"{name}.html"
    t0 = time.perf_counter()
    build_map_from_run(run_dir, html)
    build_s = time.perf_counter() - t0
    ready_s, painted_s = load_times(html)
    zones = {str(layer): len(gpd.read_file(run_dir / rf.DEAD_ZONES, layer=layer))
             for layer in gpd.list_layers(run_dir / rf.DEAD_ZONES)["name"]}
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    return {"workload": name, "grid_shape": manifest["grid"]["shape"],
            "resolution_m": manifest["grid"]["resolution_m"], "profiles": len(zones),
            "zones": zones, "html_mb": html.stat().st_size / 1e6, "build_s": build_s,
            "generate_s": gen_s, "ready_s": ready_s, "painted_s": painted_s,
            "host": platform.node(), "cpus": os.cpu_count(),
            "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
