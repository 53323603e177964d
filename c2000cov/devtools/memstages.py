"""Peak resident memory per stage of a run (``python -m c2000cov.devtools.memstages``).

Runs one scenario (by default the national one at 10 m on a fraction of the
area, generated once and then run with its loss cache kept, so a second call
does not recompute the loss windows) while a thread samples the process's
resident set size (``/proc/self/statm``) every few milliseconds. Each sample
is booked to the stage the run is in: the pipeline's own progress stages
(``masts (cpu)``, ``dead zones, areas, N-1``) and the steps of
:func:`c2000cov.pipeline.run.run_scenario` around them (load, base state,
run folder, report). The record gives per stage the highest RSS seen and the
RSS at its start, in MB; two fractions of the same scenario separate the fixed
part of a stage's peak from its part per pixel (:func:`per_pixel_budget`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import threading
import time
from pathlib import Path

from c2000cov.devtools.national import generate_national, peak_rss_mb
from c2000cov.pipeline import run as run_mod
from c2000cov.pipeline.executor import LocalExecutor
from c2000cov.pipeline.memory import PROFILE_BYTES_PER_PX, open_tile_pixels
from c2000cov.scenario.config import load_scenario

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
_MB = 2**20  # as peak_rss_mb (ru_maxrss / 1024) and every bench record


def rss_mb() -> float:
    """Resident set size of this process now (MB of 2**20 bytes, as the bench records)."""
    return rss_parts_mb()[0]


def rss_parts_mb() -> tuple[float, float]:
    """Resident set size and its anonymous part (without mapped file pages, such as a
    spill file's, which the system can drop), in MB."""
    with open("/proc/self/statm") as f:
        fields = f.read().split()
    resident, shared = int(fields[1]), int(fields[2])
    return resident * _PAGE_MB, (resident - shared) * _PAGE_MB


class StageSampler:
    """Samples RSS in a thread and books each sample to the current stage."""

    def __init__(self, period_s: float = 0.005):
        self.period_s = period_s
        self.stage = "start"
        self.stages: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _book(self, stage: str) -> None:
        now, anon = rss_parts_mb()
        rec = self.stages.setdefault(stage, {"start_mb": now, "peak_mb": now,
                                             "peak_anon_mb": anon})
        rec["peak_mb"] = max(rec["peak_mb"], now)
        rec["peak_anon_mb"] = max(rec["peak_anon_mb"], anon)

    def enter(self, stage: str) -> None:
        if stage != self.stage:
            self.stage = stage
            self._book(stage)

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            self._book(self.stage)

    def __enter__(self) -> StageSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _wrapped(sampler: StageSampler, fn, stage: str):
    def call(*args, **kwargs):
        sampler.enter(stage)
        return fn(*args, **kwargs)

    return call


def staged_run(toml: Path, out_dir: Path, cache_dir: Path) -> dict:
    """Run ``toml`` into ``out_dir`` (loss cache ``cache_dir``); return the RSS per stage."""
    scen = load_scenario(toml)
    names = ("load_inputs", "noise_states", "tiled_coverage", "summarise", "store_base_state",
             "write_run_folder", "build_report")
    # run.py looks each of these up in its own namespace at call time
    saved = {n: getattr(run_mod, n) for n in names}
    with StageSampler() as sampler:
        for n in names:
            setattr(run_mod, n, _wrapped(sampler, saved[n], n))
        try:
            t0 = time.perf_counter()
            result = run_mod.run_scenario(
                scen, out_dir, progress=lambda stage, done, total: sampler.enter(stage),
                executor=LocalExecutor(), cache_dir=cache_dir)
            seconds = time.perf_counter() - t0
        finally:
            for n in names:
                setattr(run_mod, n, saved[n])
        sampler.enter("end")
    grid, masts = result.inputs.grid, result.inputs.masts
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"pixels": int(grid.width * grid.height), "seconds": round(seconds, 1),
            "open_tile_px": open_tile_pixels(grid, masts["x_m"], masts["y_m"],
                                             scen.model.radius_m, scen.output.tile_px),
            "combos": len(result.coverage) * (2 if result.night is not None else 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "gdal_cachemax": os.environ.get("GDAL_CACHEMAX", "default (5 % of memory)"),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "cache_misses": result.cache.misses,
            "stages": {k: {kk: round(vv, 1) for kk, vv in v.items()}
                       for k, v in sampler.stages.items()}}


def per_pixel_budget(small: dict, large: dict) -> dict:
    """Per stage: bytes per pixel and fixed MB of its peak, from two grid sizes."""
    dpx = large["pixels"] - small["pixels"]
    out = {}
    for stage, rec in large["stages"].items():
        if stage not in small["stages"]:
            continue
        slope = (rec["peak_mb"] - small["stages"][stage]["peak_mb"]) * _MB / dpx
        out[stage] = {"bytes_per_px": round(slope, 1),
                      "fixed_mb": round(rec["peak_mb"] - slope * large["pixels"] / _MB, 1)}
    return out


#: The stage whose peak holds the open tiles' working arrays and a mast window.
MASTS_STAGE = "masts (CPU)"


def project_full(small: dict, large: dict, full_px: int, full_open_px: int) -> dict:
    """Peak RSS (and its anonymous part) of each stage, projected to ``full_px`` pixels.

    Every stage but the masts' grows with the pixels at its slope between the two runs.
    The masts stage holds what the run keeps per pixel between stages (the slope of
    ``summarise``'s start) plus the open tiles' working arrays
    (:data:`~c2000cov.pipeline.memory.PROFILE_BYTES_PER_PX` per open pixel, profile and
    state; ``full_open_px`` from :func:`~c2000cov.pipeline.memory.open_tile_pixels`) and
    one mast window, as large as in ``large`` when its grid is at least a window wide.
    """
    dpx = large["pixels"] - small["pixels"]
    grow = (full_px - large["pixels"]) / _MB
    out = {}
    for stage, rec in large["stages"].items():
        if stage not in small["stages"]:
            continue
        proj = {}
        for key, slope_key in (("peak_mb", "bytes_per_px"), ("peak_anon_mb",
                                                            "bytes_per_px_anon")):
            if stage == MASTS_STAGE:
                base = "summarise"
                slope = (large["stages"][base]["start_mb"]
                         - small["stages"][base]["start_mb"]) * _MB / dpx
                tiles = (PROFILE_BYTES_PER_PX * large["combos"]
                         * (full_open_px - large["open_tile_px"]) / _MB)
            else:
                slope = (rec[key] - small["stages"][stage][key]) * _MB / dpx
                tiles = 0.0
            proj[key] = round(rec[key] + slope * grow + tiles, 1)
            proj[slope_key] = round(slope, 1)
        out[stage] = proj
    peak = max(out, key=lambda k: out[k]["peak_mb"])
    return {"pixels": full_px, "open_tile_px": full_open_px, "stages": out,
            "peak_stage": peak, "peak_rss_mb": out[peak]["peak_mb"],
            "peak_anon_mb": max(v["peak_anon_mb"] for v in out.values())}


def national_full_open_px(resolution_m: float, work: Path) -> tuple[int, int]:
    """Pixels and most open-tile pixels of the whole national scenario at ``resolution_m``
    (its masts are the 25 m scenario's, generated once into ``work``)."""
    from rasterio.crs import CRS

    from c2000cov.devtools.national import (
        FULL_HEIGHT_M,
        FULL_WIDTH_M,
        ORIGIN_X_M,
        ORIGIN_Y_M,
        RADIUS_M,
    )
    from c2000cov.files.masts import read_masts
    from c2000cov.geo.grid import Grid
    from c2000cov.pipeline.tiles import DEFAULT_TILE_PX

    folder = work / "full-masts"
    if not (folder / "masts.csv").exists():
        generate_national(folder, 1.0)
    grid = Grid.from_bounds((ORIGIN_X_M, ORIGIN_Y_M, ORIGIN_X_M + FULL_WIDTH_M,
                             ORIGIN_Y_M + FULL_HEIGHT_M), resolution_m,
                            CRS.from_epsg(28992))
    masts = read_masts(folder / "masts.csv", grid.crs)
    return grid.height * grid.width, open_tile_pixels(grid, masts["x_m"], masts["y_m"],
                                                      RADIUS_M, DEFAULT_TILE_PX)


def main(argv: list[str] | None = None) -> dict:
    """Generate (once) and run the national scenario at ``--fraction``; print RSS per stage."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution-m", type=float, default=10.0)
    ap.add_argument("--fraction", type=float, default=0.015625)
    ap.add_argument("--work", type=Path, default=Path("out/memstages"),
                    help="folder of the generated scenarios and their kept loss caches")
    ap.add_argument("--json", type=Path, default=None, help="append the record here")
    ap.add_argument("--project", type=Path, default=None,
                    help="a JSON file holding two records of this tool (two fractions): "
                         "print their projection to the whole country instead of running")
    args = ap.parse_args(argv)
    if args.project:
        small, large = sorted(json.loads(args.project.read_text())[-2:],
                              key=lambda r: r["pixels"])
        full_px, full_open = national_full_open_px(args.resolution_m, args.work)
        record = {"workload": f"national-{args.resolution_m:g}m", "projected_from": [
            small["area_fraction"], large["area_fraction"]],
            **project_full(small, large, full_px, full_open)}
        print(json.dumps(record, indent=1))
        return record
    if not 0.0 < args.fraction <= 1.0:
        ap.error(f"--fraction must be in (0, 1], got {args.fraction}")
    work = args.work / f"n{args.resolution_m:g}m-f{args.fraction:g}"
    toml = work / "national.toml"
    if not toml.exists():
        generate_national(work, math.sqrt(args.fraction), resolution_m=args.resolution_m)
    record = {"workload": f"national-{args.resolution_m:g}m", "area_fraction": args.fraction,
              **staged_run(toml, work / "out", work / "cache")}
    print(json.dumps(record, indent=1))
    if args.json:
        from c2000cov.devtools.bench import append_records
        append_records(args.json, [record])
    return record


if __name__ == "__main__":
    main()
