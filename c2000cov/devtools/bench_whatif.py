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
  (``windowed=False``), as every what-if did before.
"""

from __future__ import annotations

import os
import platform
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
        w = run_whatif(scen, only_add, tmp / "whatif", cache_dir=tmp / "cache")
        whatif_s = time.perf_counter() - t0
        delta_km2 = float(w.delta_table["delta_covered_km2"].sum())
        t0 = time.perf_counter()
        wf = run_whatif(scen, only_add, tmp / "whatif-full", cache_dir=tmp / "cache",
                        windowed=False)
        whatif_full_s = time.perf_counter() - t0
        same = bool(wf.delta_table.equals(w.delta_table))
    return {"workload": "whatif-add-1", "scenario": "demo", "masts": len(inputs.masts),
            "grid_px": int(inputs.grid.shape[0] * inputs.grid.shape[1]),
            "full_run_s": round(full_s, 2), "add1_gain_s": round(gain_s, 2),
            "add1_whatif_s": round(whatif_s, 2),
            "add1_whatif_windowed": bool(w.timings_s["windowed"]),
            "add1_whatif_compute_s": round(w.timings_s["compute_s"], 2),
            "add1_whatif_write_s": round(w.timings_s["write_s"], 2),
            "add1_whatif_full_path_s": round(whatif_full_s, 2),
            "windowed_equals_full_path": same,
            "gain_vs_full": round(gain_s / full_s, 4),
            "whatif_vs_full": round(whatif_s / full_s, 4),
            "whatif_full_path_vs_full": round(whatif_full_s / full_s, 4),
            "add1_gain_km2": round(gain, 4),
            "add1_whatif_delta_km2_over_areas": round(delta_km2, 4),
            "cpu_count": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2),
            "machine": platform.node(), "date_utc": time.strftime("%Y-%m-%d", time.gmtime())}


def main() -> None:
    """``python -m c2000cov.devtools.bench_whatif --json FILE``: append one record."""
    import argparse
    import json

    from c2000cov.devtools.bench import append_records

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=Path("bench-results.json"))
    args = ap.parse_args()
    record = whatif_add_1(Path(__file__).resolve().parents[2])
    append_records(args.json, [record])
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
