"""Memory of the best-server reduction, whole-grid vs tiled, on the national scenario (#20).

``python -m c2000cov.devtools.tiles_bench OUT_DIR [--scale 0.25] [--json FILE]``
generates the synthetic national scenario (:mod:`c2000cov.devtools.national`;
0.25 is the 1/16-size one) in ``OUT_DIR``, fills its loss cache, then runs the
reduction stage three times on the warm cache: the whole-grid twin
(:func:`c2000cov.pipeline.compute.compute_coverage`) and the tiled reduction
(:func:`c2000cov.pipeline.tiles.tiled_coverage`) with 2048 and 512 px tiles.
Each record gives the peak of the memory numpy allocates during the stage
(``peak_traced_mb``, tracemalloc: arrays only, not the interpreter), what the
stage's result keeps (``kept_mb``), the time, and whether every band equals the
whole-grid one byte for byte.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from pathlib import Path

from c2000cov.devtools.national import generate_national
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import compute_coverage, noise_states
from c2000cov.pipeline.executor import LocalExecutor
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.tiles import tiled_coverage
from c2000cov.scenario.config import load_scenario

BANDS = ("p_cover", "limiting", "server", "signal_dl_dbm", "n_at_target", "coverage_class",
         "margin_dl_db", "margin_ul_db", "second_margin_db")


def reduction_records(out_dir: Path, scale: float = 0.25,
                      tiles_px: tuple[int, ...] = (2048, 512)) -> list[dict]:
    """Peak traced memory of the reduction: whole grid, then each tile size."""
    out_dir = Path(out_dir)
    toml = out_dir / "national.toml"
    if not toml.is_file():
        generate_national(out_dir, scale)
    inputs = load_inputs(load_scenario(toml))
    cache = LossCache(out_dir / "cache")
    states, _ = noise_states(inputs, None, cache)
    executor = LocalExecutor()
    compute_coverage(inputs, states, None, cache, executor)  # fill the cache
    ref, records = None, []
    for tile_px in (None, *tiles_px):
        tracemalloc.start()
        t0 = time.perf_counter()
        covs = (compute_coverage(inputs, states, None, cache, executor) if tile_px is None
                else tiled_coverage(inputs, states, cache, executor, tile_px=tile_px))
        seconds = time.perf_counter() - t0
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        data = b"".join(getattr(c, b).tobytes() for st in covs.values()
                        for c in st.values() for b in BANDS)
        ref = ref or data
        records.append({"workload": f"reduction-national-scale-{scale:g}",
                        "variant": "whole-grid" if tile_px is None else f"tiled-{tile_px}",
                        "tile_px": tile_px, "pixels": int(inputs.grid.width * inputs.grid.height),
                        "masts": len(inputs.masts), "peak_traced_mb": round(peak / 1e6, 1),
                        "kept_mb": round(kept / 1e6, 1), "seconds": round(seconds, 1),
                        "bands_equal_whole_grid": data == ref})
        del covs, data
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--json", type=Path, help="append the records to this JSON list")
    args = parser.parse_args()
    records = reduction_records(args.out_dir, args.scale)
    for rec in records:
        print(json.dumps(rec))
    if args.json:
        old = json.loads(args.json.read_text()) if args.json.is_file() else []
        args.json.write_text(json.dumps(old + records, indent=1) + "\n")


if __name__ == "__main__":
    main()
