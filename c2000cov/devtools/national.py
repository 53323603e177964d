"""A synthetic national-scale scenario and its benchmark (``make bench-national``).

The region is 180 km x 230 km at 25 m (7200 x 9200 pixels, about the land
extent of the Netherlands) in RD New, with Dutch-like relief: low polders
(-5 to 0 m NAP) in the west, river valleys, a sandy east at 5-40 m, push
moraines of 50-100 m and a hilly south-east corner up to about 300 m. About
600 synthetic masts stand on a jittered grid (30-80 m, omni, DOMAIN.md
powers), each computed within 25 km: the C2000 network's scale, with no real
site data. ``scale`` shrinks both sides (0.25 gives the 1/16-size test).

At another resolution (``make bench-national-10m``: 10 m, 18000 x 23000
pixels) the scenario is the same: the same coarse relief, interpolated in
strips of rows straight into the GeoTIFF (the whole-grid float64 arrays of the
25 m path would take about 10 GB), the same masts (the random stream is
advanced past the 25 m grid's fine noise before they are drawn), and fine
noise of its own. ``python -m c2000cov.devtools.national --fraction 0.25`` runs
a quarter of the area (both sides x 0.5, 150 masts) and projects the record
to the full area (:func:`project_full`).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window
from scipy import ndimage

from c2000cov.analysis.coverage import covered_mask
from c2000cov.devtools.bench import compile_seconds
from c2000cov.files.atomic import atomic_path
from c2000cov.pipeline.executor import make_executor
from c2000cov.pipeline.run import run_scenario
from c2000cov.radio.device import select_device
from c2000cov.scenario.config import load_scenario

NATIONAL_SEED = 2023
FULL_WIDTH_M = 180_000.0
FULL_HEIGHT_M = 230_000.0
ORIGIN_X_M, ORIGIN_Y_M = 13_000.0, 306_000.0  # south-west corner, RD New
RESOLUTION_M = 25.0
COARSE_M = 500.0
N_MASTS_FULL = 600
RADIUS_M = 25_000.0


FINE_NOISE_M = 0.3  # ditches, fields, dikes below the coarse scale (standard deviation, m)
_STRIP_ROWS = 512  # rows of the relief written at a time at resolutions other than 25 m


def coarse_relief(width_px: int, height_px: int, res_m: float, rng) -> np.ndarray:
    """The relief on the 500 m coarse grid (m NAP, float64), row 0 = north."""
    cw = max(4, int(round(width_px * res_m / COARSE_M)))
    ch = max(4, int(round(height_px * res_m / COARSE_M)))
    x = np.linspace(0.0, 1.0, cw)[None, :]
    y = np.linspace(1.0, 0.0, ch)[:, None]  # 0 = south
    # west-east tilt: polders in the west, higher sandy east and south-east
    base = -4.0 + 30.0 * x ** 1.5 + 25.0 * (1 - y) * x
    hills = np.clip((x - 0.7) / 0.3, 0, 1) * np.clip((0.25 - y) / 0.25, 0, 1)
    base += 260.0 * hills ** 2  # the south-east corner (Limburg-like)
    noise = ndimage.gaussian_filter(rng.standard_normal((ch, cw)), 6.0)
    noise /= np.abs(noise).max() + 1e-9
    base += 8.0 * noise * (0.3 + x)
    ridges = ndimage.gaussian_filter(rng.standard_normal((ch, cw)), 3.0)
    ridges = np.clip(ridges / (np.abs(ridges).max() + 1e-9) - 0.45, 0, None)
    base += 160.0 * ridges * (x > 0.35)  # push moraines in the centre and east
    rivers = np.abs(np.sin(6.0 * x + 2.0 * y) + 0.6 * np.sin(9.0 * y)) < 0.04
    base = np.where(rivers, np.minimum(base, 0.5), base)
    return np.where(x < 0.3, np.minimum(base, 0.5 + 10 * x), base)  # the western polders


def national_relief(width_px: int, height_px: int, res_m: float, rng) -> np.ndarray:
    """Dutch-like terrain (m NAP), float32, row 0 = north (the 25 m scenario's, whole)."""
    base = coarse_relief(width_px, height_px, res_m, rng)
    ch, cw = base.shape
    fine = ndimage.zoom(base, (height_px / ch, width_px / cw), order=1)
    fine = fine[:height_px, :width_px]
    fine = np.pad(fine, ((0, height_px - fine.shape[0]), (0, width_px - fine.shape[1])),
                  mode="edge")
    fine += rng.normal(0.0, FINE_NOISE_M, fine.shape)
    return fine.astype("float32")


def relief_strips(base: np.ndarray, width_px: int, height_px: int, fine_rng=None,
                  rows: int = _STRIP_ROWS) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first row, float32 strip)``: ``base`` interpolated bilinearly to
    ``height_px x width_px`` (as ``ndimage.zoom(order=1)``: corner pixels on corner cells),
    plus fine noise from ``fine_rng`` (none when None), ``rows`` rows at a time."""
    ch, cw = base.shape

    def axis(n_out: int, n_in: int):
        u = np.arange(n_out) * ((n_in - 1) / max(n_out - 1, 1))
        i0 = np.minimum(np.floor(u).astype(np.int64), n_in - 2)
        return i0, u - i0

    x0, fx = axis(width_px, cw)
    y0_all, fy_all = axis(height_px, ch)
    for r0 in range(0, height_px, rows):
        y0, fy = y0_all[r0:r0 + rows], fy_all[r0:r0 + rows, None]
        top = base[y0][:, x0] * (1 - fx) + base[y0][:, x0 + 1] * fx
        bottom = base[y0 + 1][:, x0] * (1 - fx) + base[y0 + 1][:, x0 + 1] * fx
        strip = top * (1 - fy) + bottom * fy
        if fine_rng is not None:
            strip += fine_rng.normal(0.0, FINE_NOISE_M, strip.shape)
        yield r0, strip.astype("float32")


def _skip_normals(rng, n: int, chunk: int = 1 << 22) -> None:
    """Advance ``rng`` as ``rng.normal(size=n)`` would, in bounded memory."""
    while n > 0:
        rng.normal(size=min(n, chunk))
        n -= chunk


def generate_national(out_dir: Path, scale: float = 1.0, seed: int = NATIONAL_SEED,
                      radius_m: float = RADIUS_M, resolution_m: float = RESOLUTION_M) -> Path:
    """Write the national (or scaled) scenario into ``out_dir``; return the TOML path.

    At ``resolution_m`` other than 25 m the relief is the 25 m scenario's coarse relief
    with fine noise of its own, and the masts are the 25 m scenario's.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # the masts are placed on the 25 m grid's extent at every resolution
    width_px = int(round(FULL_WIDTH_M * scale / RESOLUTION_M))
    height_px = int(round(FULL_HEIGHT_M * scale / RESOLUTION_M))
    res_m = float(resolution_m)
    out_w = int(round(FULL_WIDTH_M * scale / res_m))
    out_h = int(round(FULL_HEIGHT_M * scale / res_m))
    transform = Affine(res_m, 0, ORIGIN_X_M, 0, -res_m, ORIGIN_Y_M + out_h * res_m)
    with atomic_path(out_dir / "dtm.tif") as tmp:
        with rasterio.open(tmp, "w", driver="GTiff", width=out_w, height=out_h, count=1,
                           dtype="float32", crs="EPSG:28992", transform=transform,
                           nodata=-9999.0, tiled=True, compress="deflate") as dst:
            if res_m == RESOLUTION_M:
                dst.write(national_relief(width_px, height_px, RESOLUTION_M, rng), 1)
            else:
                base = coarse_relief(width_px, height_px, RESOLUTION_M, rng)
                fine_rng = np.random.default_rng([seed, int(round(res_m * 1000))])
                for r0, strip in relief_strips(base, out_w, out_h, fine_rng):
                    dst.write(strip, 1, window=Window(0, r0, out_w, strip.shape[0]))
                _skip_normals(rng, width_px * height_px)  # as the 25 m fine noise
    n_masts = max(4, int(round(N_MASTS_FULL * scale * scale)))
    spacing_m = math.sqrt(FULL_WIDTH_M * FULL_HEIGHT_M / N_MASTS_FULL)
    nx = max(1, int(round(width_px * RESOLUTION_M / spacing_m)))
    ny = max(1, int(math.ceil(n_masts / nx)))
    rows = ["mast_id,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db"]
    k = 0
    for j in range(ny):
        for i in range(nx):
            if k >= n_masts:
                break
            x = ORIGIN_X_M + (i + 0.5 + rng.uniform(-0.3, 0.3)) * width_px * RESOLUTION_M / nx
            y = ORIGIN_Y_M + (j + 0.5 + rng.uniform(-0.3, 0.3)) * height_px * RESOLUTION_M / ny
            h = float(rng.choice([30.0, 40.0, 45.0, 60.0, 80.0]))
            rows.append(f"N{k:04d},{x:.1f},{y:.1f},{h:.0f},44,11,8,3")
            k += 1
    (out_dir / "masts.csv").write_text("\n".join(rows) + "\n")
    toml = out_dir / "national.toml"
    toml.write_text(f"""[scenario]
name = "national-{res_m:g}m"
resolution_m = {res_m}

[terrain]
dtm = "dtm.tif"

[masts]
path = "masts.csv"

[model]
name = "p1812"
radius_m = {radius_m}

[profiles.handheld_outdoor]

[dead_zones]
min_area_m2 = 62500.0

[output]
dir = "out"
""")
    return toml


def peak_rss_mb() -> float:
    """Peak resident set size of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_national(out_dir: Path, scale: float = 1.0, threads: int | None = None,
                 workload: str = "national-25m", progress=None, device: str = "cpu",
                 resolution_m: float = RESOLUTION_M, executor: str = "local",
                 cache: bool = True) -> dict:
    """Generate and run the national scenario; return a benchmark record.

    Keys: those of the propagation benchmark (``workload``, ``pixels``,
    ``masts``, ``threads``, ``device``, ``seconds``, ``px_per_s``, ``compile_s``,
    ``peak_rss_mb``) plus ``cache_mb`` (MB on disk after the run), ``cache_misses`` and
    ``cache_hits`` (loss windows computed, and read from the cache: a cold run computes
    every window, and reads them back once per further output tile they touch),
    ``resolution_m``, ``area_fraction`` (``scale`` squared) and the stage times. The run
    is cold: the loss cache of an earlier run in ``out_dir`` is emptied first.
    ``device`` is the scenario's ``[model] device`` (``cpu``, ``gpu`` or ``auto``); GPU
    and CPU loss windows are cached apart. ``executor`` is ``local`` (the default: the
    next mast computed while the last one is folded) or ``serial`` (one after the other),
    recorded as ``executor``. ``cache=False`` runs without the loss cache (recorded as
    ``"cache": false``, ``cache_mb`` 0): the whole country at 10 m then needs the spill
    files' 10 GB of disk instead of about 37 GB, and the run does the same computing
    without encoding, compressing and writing the windows.
    """
    import numba

    if threads:
        numba.set_num_threads(threads)
    # cold, as the workload is defined: `c2000cov bench --workload national-25m` (make
    # bench-national) reused <out_dir>/out/.cache, so a second run timed a warm cache
    shutil.rmtree(Path(out_dir) / "out" / ".cache", ignore_errors=True)
    t0 = time.perf_counter()
    toml = generate_national(out_dir, scale, resolution_m=resolution_m)
    gen_s = time.perf_counter() - t0
    scen = load_scenario(toml, {"model.device": device})
    used = select_device(scen.model)
    compile_s = compile_seconds(used.used)
    t1 = time.perf_counter()
    with make_executor(executor) as ex:
        result = run_scenario(scen, Path(out_dir) / "out", progress=progress, executor=ex,
                              cache_dir=None if cache else False)
    seconds = time.perf_counter() - t1
    grid = result.inputs.grid
    n_masts = len(result.inputs.masts)
    window_px = (2 * math.ceil(scen.model.radius_m / grid.resolution_m) + 1) ** 2
    mast_px = n_masts * window_px * 2  # DL and UL windows
    return {
        "workload": workload,
        "pixels": int(grid.width * grid.height),
        "masts": n_masts,
        "threads": int(numba.get_num_threads()),
        "device": used.used,
        "executor": executor,
        **({"device_name": used.name} if used.name else {}),
        "seconds": round(seconds, 3),
        "px_per_s": round(mast_px / result.timings_s["compute_s"], 1),
        "compile_s": round(compile_s, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "cache": cache,
        "cache_mb": round(result.cache.size_mb(), 1),
        "cache_hits": result.cache.hits,
        "cache_misses": result.cache.misses,
        "resolution_m": grid.resolution_m,
        "area_fraction": round(scale * scale, 6),
        "generate_s": round(gen_s, 3),
        "stage_s": {k: round(v, 3) for k, v in result.timings_s.items()},
        "covered_pct": json.loads(json.dumps(
            {n: float(100.0 * covered_mask(c).mean())
             for n, c in result.coverage.items()})),
    }


def project_full(record: dict) -> dict:
    """The record with ``projected_full`` added when it ran a fraction of the area.

    Run time and cache size grow with the number of masts (each mast is one
    window of the same size), so they are scaled by ``600 / masts``; peak
    memory is scaled by ``1 / area_fraction``, as if all of it were grid-sized
    (windows and the process's fixed part are not): an upper bound. Masts at
    the edge of a smaller area have clipped windows, so the time is somewhat
    under-projected.
    """
    frac = record["area_fraction"]
    if frac >= 1.0:
        return record
    per_mast = N_MASTS_FULL / record["masts"]
    return {**record, "projected_full": {
        "masts": N_MASTS_FULL,
        "seconds": round(record["seconds"] * per_mast, 1),
        "cache_mb": round(record["cache_mb"] * per_mast, 1),
        "peak_rss_mb_upper": round(record["peak_rss_mb"] / frac, 1),
        "method": "seconds and cache_mb x 600/masts; peak_rss_mb / area_fraction (upper bound)",
    }}


def main(argv: list[str] | None = None) -> dict:
    """``python -m c2000cov.devtools.national``: run the national scenario, append its record."""
    from c2000cov.devtools.bench import append_records

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution-m", type=float, default=RESOLUTION_M)
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="share of the area to run (both sides x sqrt); the record projects "
                         "it to the full area")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder (default out/national-<res>m); its loss cache is emptied "
                         "first, so the run is cold")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--executor", choices=("local", "serial"), default="local",
                    help="local (default): the next mast is computed while the last one is "
                         "folded; serial: one after the other")
    ap.add_argument("--no-cache", action="store_true",
                    help="run without the loss cache (its disk: about 30 GB for the whole "
                         "country at 10 m); the record says cache: false")
    ap.add_argument("--json", type=Path, default=Path("bench-results.json"))
    args = ap.parse_args(argv)
    if not 0.0 < args.fraction <= 1.0:
        ap.error(f"--fraction must be in (0, 1], got {args.fraction}")
    if not args.resolution_m > 0.0:
        ap.error(f"--resolution-m must be > 0, got {args.resolution_m}")
    workload = f"national-{args.resolution_m:g}m"
    out = args.out or Path("out") / workload
    record = project_full(run_national(out, math.sqrt(args.fraction), args.threads, workload,
                                       resolution_m=args.resolution_m, executor=args.executor,
                                       cache=not args.no_cache))
    append_records(args.json, [record])
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
