"""Benchmark ``whatif-add-1``: the cost of adding one mast to the demo, against the full run.

Three timings on the demo region, each with its own empty loss cache where
propagation is part of what is measured:

- ``full_run_s``: :func:`c2000cov.pipeline.run.run_scenario` (load, every
  mast's propagation, reductions, summaries, files, report);
- ``add1_gain_s``: one new mast (``data/demo_changes.toml``'s M09) evaluated
  the way ``c2000cov optimise`` evaluates a candidate: its propagation and link
  budget plus the gain reduction over its window, against the base network's
  covered pixels (computed before the clock starts);
- ``add1_whatif_s``: :func:`c2000cov.pipeline.run_whatif` adding the same
  mast with the base run's cache warm (all files written): the windowed path,
  which starts from the reduction the full run stored; ``add1_whatif_compute_s``
  and ``add1_whatif_write_s`` split it into computing and writing the run folder;
- ``add1_whatif_full_path_s``: the same what-if recomputing both runs in full
  (``windowed=False``), as every what-if did before;
- ``add1_delta_s``: the same what-if with ``delta_only=True`` (``whatif
  --delta-only``): deltas computed and written inside the new mast's window only,
  the new mast's propagation cold (a copy of the base run's cache).

``--national-scale S`` adds a record ``whatif-add-1-national-25m``: the synthetic
national scenario at 25 m with both sides times ``S`` (0.5: a quarter of the
area, 3600 x 4600 px, 150 masts), its full run with a cold cache, and the
delta-only what-if of one mast added at its centre, where the mast's window is
a part of the grid rather than all of it as on the demo.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from c2000cov.analysis.coverage import covered_mask
from c2000cov.analysis.siting import CoverState, covered_alone
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import compute_coverage, mast_margins, noise_states
from c2000cov.pipeline.executor import LocalExecutor
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.run import run_scenario
from c2000cov.pipeline.whatif import apply_changes, run_whatif
from c2000cov.radio.budget import plan_profiles
from c2000cov.scenario.changes import load_changes
from c2000cov.scenario.config import load_scenario


def whatif_add_1(repo: Path) -> dict:
    """One ``whatif-add-1`` record (the demo must exist under ``repo/data/demo``)."""
    scen = load_scenario(repo / "data" / "demo.toml")
    changes_path = repo / "data" / "demo_changes.toml"
    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        run_scenario(scen, tmp / "full", cache_dir=tmp / "cache")
        full_s = time.perf_counter() - t0

        inputs = load_inputs(scen)
        changes = load_changes(changes_path)
        added = apply_changes(inputs, replace(changes, mitigate_pv=(), remove_mast=(),
                                              move_mast=(), add_pv=()))
        one = replace(added, masts=added.masts.iloc[[len(inputs.masts)]].reset_index(drop=True))
        shutil.copytree(tmp / "cache", tmp / "cache-delta")  # without the new mast
        cache = LossCache(tmp / "cache")
        executor = LocalExecutor()
        state = noise_states(inputs, None, cache)[0][0]
        base = compute_coverage(inputs, [state], None, cache, executor)[state.name]
        plans = {p.name: p for p in plan_profiles(scen, inputs.surface)}
        cover = CoverState({p: covered_mask(c) for p, c in base.items()},
                           {p: np.full(inputs.grid.shape, inputs.grid.pixel_area_m2 / 1e6)
                            for p in base})
        fresh = LossCache(tmp / "cache-add1")  # the new mast's propagation is timed
        t0 = time.perf_counter()
        st1 = noise_states(one, None, cache)[0][0]
        gain = 0.0
        for _, window, margins in mast_margins(one, [st1], fresh, executor):
            for p, plan in plans.items():
                mm = margins[(st1.name, p)]
                sigma = plan.sigma_total_db
                sigma = sigma[window.slices] if isinstance(sigma, np.ndarray) else sigma
                mask = covered_alone(mm.margin_dl_db, mm.margin_ul_db, sigma, plan.target_pct)
                sl = window.slices
                gain += float(cover.weights[p][sl][mask & ~cover.covered[p][sl]].sum())
        gain_s = time.perf_counter() - t0

        only_add = tmp / "add1.toml"
        text = changes_path.read_text()
        only_add.write_text(text.split("[[mitigate_pv]]")[0])
        t0 = time.perf_counter()
        d = run_whatif(scen, only_add, tmp / "delta", cache_dir=tmp / "cache-delta",
                       delta_only=True)
        delta_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        w = run_whatif(scen, only_add, tmp / "whatif", cache_dir=tmp / "cache")
        whatif_s = time.perf_counter() - t0
        delta_km2 = float(w.delta_table["delta_covered_km2"].sum())
        t0 = time.perf_counter()
        wf = run_whatif(scen, only_add, tmp / "whatif-full", cache_dir=tmp / "cache",
                        windowed=False)
        whatif_full_s = time.perf_counter() - t0
        same = bool(wf.delta_table.equals(w.delta_table))
        keys = ["area_name", "profile"]
        a = w.delta_table.set_index(keys)
        delta_same = bool(np.allclose(d.delta_table.set_index(keys).loc[a.index].to_numpy(),
                                      a.to_numpy(), rtol=1e-9, atol=1e-9)
                          and all(np.array_equal(w.whatif.delta[p][d.window.slices],
                                                 d.delta[p], equal_nan=True) for p in d.delta))
    return {"workload": "whatif-add-1", "scenario": "demo", "masts": len(inputs.masts),
            "grid_px": int(inputs.grid.shape[0] * inputs.grid.shape[1]),
            "full_run_s": round(full_s, 2), "add1_gain_s": round(gain_s, 2),
            "add1_whatif_s": round(whatif_s, 2),
            "add1_whatif_windowed": bool(w.timings_s["windowed"]),
            "add1_whatif_compute_s": round(w.timings_s["compute_s"], 2),
            "add1_whatif_write_s": round(w.timings_s["write_s"], 2),
            "add1_whatif_full_path_s": round(whatif_full_s, 2),
            "windowed_equals_full_path": same,
            "add1_delta_s": round(delta_s, 2),
            "add1_delta_compute_s": round(d.timings_s["compute_s"], 2),
            "add1_delta_write_s": round(d.timings_s["write_s"], 2),
            "delta_equals_whatif": delta_same,
            "delta_vs_full": round(delta_s / full_s, 4),
            "delta_window_px": [d.window.height, d.window.width],
            "gain_vs_full": round(gain_s / full_s, 4),
            "whatif_vs_full": round(whatif_s / full_s, 4),
            "whatif_full_path_vs_full": round(whatif_full_s / full_s, 4),
            "add1_gain_km2": round(gain, 4),
            "add1_whatif_delta_km2_over_areas": round(delta_km2, 4),
            "cpu_count": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
            "machine": platform.node(), "date_utc": time.strftime("%Y-%m-%d", time.gmtime())}


def whatif_add_1_national(scale: float) -> dict:
    """One ``whatif-add-1-national-25m`` record: the full run, then one mast added at the
    centre as a delta-only what-if (both with the same fresh cache)."""
    from c2000cov.devtools.national import generate_national, peak_rss_mb

    with tempfile.TemporaryDirectory(prefix="bench-whatif-national-") as tmp:
        tmp = Path(tmp)
        scen = load_scenario(generate_national(tmp / "national", scale))
        t0 = time.perf_counter()
        full = run_scenario(scen, tmp / "full", cache_dir=tmp / "cache")
        full_s = time.perf_counter() - t0
        grid = full.inputs.grid
        x0, y0, x1, y1 = grid.bounds_m
        changes = tmp / "add1.toml"
        changes.write_text(f"[[add_mast]]\nmast_id = \"X01\"\nx_m = {(x0 + x1) / 2:.1f}\n"
                           f"y_m = {(y0 + y1) / 2:.1f}\nh_agl_m = 40.0\ntx_power_dbm = 44.0\n"
                           "gain_dbi = 11.0\ntx_loss_db = 8.0\nrx_loss_db = 3.0\n")
        t0 = time.perf_counter()
        d = run_whatif(scen, changes, tmp / "delta", cache_dir=tmp / "cache", delta_only=True)
        delta_s = time.perf_counter() - t0
    return {"workload": "whatif-add-1-national-25m", "scenario": f"national-25m x{scale:g}",
            "masts": len(full.inputs.masts), "grid_px": int(grid.width * grid.height),
            "window_px": [d.window.height, d.window.width],
            "full_run_s": round(full_s, 2), "add1_delta_s": round(delta_s, 2),
            "add1_delta_compute_s": round(d.timings_s["compute_s"], 2),
            "add1_delta_write_s": round(d.timings_s["write_s"], 2),
            "delta_vs_full": round(delta_s / full_s, 4),
            "add1_delta_km2": round(float(d.delta_table["delta_covered_km2"].sum()), 4),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "cpu_count": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
            "machine": platform.node(), "date_utc": time.strftime("%Y-%m-%d", time.gmtime())}


def main() -> None:
    """``python -m c2000cov.devtools.bench_whatif --json FILE``: append one record."""
    import argparse
    import json

    from c2000cov.devtools.bench import append_records

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=Path("bench-results.json"))
    ap.add_argument("--national-scale", type=float, default=None,
                    help="Also the national scenario at 25 m, both sides times this.")
    ap.add_argument("--skip-demo", action="store_true", help="Only the national record.")
    args = ap.parse_args()
    records = [] if args.skip_demo else [whatif_add_1(Path(__file__).resolve().parents[2])]
    if args.national_scale:
        records.append(whatif_add_1_national(args.national_scale))
    append_records(args.json, records)
    print(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
