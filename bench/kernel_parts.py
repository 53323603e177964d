"""Share of each part of the area kernel's per-pixel work, by switching parts off one at a time.

Each variant is a copy of c2000cov with one part of kernels/ray.py replaced by a constant
(the results are then wrong: this measures time only), run on the benchmark terrain of
workload a (or b with --pixel-m 10) on one Numba thread with the Ldsph table built
beforehand; best CPU time of 3 calls. The share of a part is (base - variant) / base.
Every variant compiles the kernels anew (a few minutes on a busy machine).

    .venv/bin/python bench/kernel_parts.py [--pixel-m 25] [--json out.json]

bench/los_skip_rate.py counts the line-of-sight pixels an exact skip of the nu search could
spare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# variant -> list of (old, new) replacements in kernels/ray.py
VARIANTS = {
    "base": [],
    "los_nu_search": [
        (
            "                jlos = 0\n                los_slope = 0.0\n"
            "                if los:\n",
            "                jlos = 1\n                los_slope = 0.0\n"
            "                if los and False:\n",
        )
    ],
    "smooth_bullington_point": [
        (
            "                if i >= 2:\n                    hs_nu, xs_pt",
            "                if i >= 2 and False:\n                    hs_nu, xs_pt",
        )
    ],
    "ldsph_lookup": [
        (
            "ldsph = ldsph_db(d, hts_p, hrs_p, sph_tabs[k], sph_org[0], sph_org[1],\n"
            "                                      sph_org[2], sqrt_2ap, ap_km, "
            "freqs_ghz[k], omega_frac, pol)",
            "ldsph = 0.0",
        )
    ],
    "hull_searches": [
        (
            "srim = hull_tangent_from_right(cx, cy, nc, d, hrs - c * d * d) - c * d",
            "srim = 0.01 - c * d",
        ),
        ("hobs = hull_max_above_line(gx, gy, ng, hts_m, slope)", "hobs = 0.0"),
        ("aobr = hull_tangent_from_right(gx, gy, ng, d, hrs) + slope", "aobr = 0.01 + slope"),
    ],
}

TIMING = """
import json, sys, time, numpy as np, numba
import c2000cov.kernels.area as A
assert A.__file__.startswith(sys.argv[1]), A.__file__
from c2000cov.devtools.bench import synthetic_surface
from c2000cov.radio.sph_store import SphTableStore
from c2000cov.units import effective_earth_radius_km
pixel_m = float(sys.argv[2])
numba.set_num_threads(1)
ae = effective_earth_radius_km()
surf, grnd, tr, tc = synthetic_surface(25000.0, pixel_m)
f = np.array([392.5])
tabs, org = SphTableStore().tables(grnd, 40.0, 1.5, pixel_m, 25000.0, f, ae, 2, 0.0)
out = np.empty((1,) + surf.shape, np.float32)
best = 1e9
for _ in range(4):  # the first call compiles
    c0 = time.process_time()
    A.area_loss_multi_db(surf, grnd, tr, tc, 40.0, 1.5, pixel_m, 25000.0, f, ae, 2, 0.0,
                         out=out, sph_tabs=tabs, sph_org=org)
    best = min(best, time.process_time() - c0) if _ else best
print(json.dumps({"pixels": int(np.count_nonzero(~np.isnan(out))), "cpu_s": best}))
"""


def run_variant(name: str, edits, pixel_m: float, tmp: Path) -> dict:
    root = tmp / name
    shutil.copytree(
        REPO / "c2000cov", root / "c2000cov", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        REPO / "kernels",
        root / "c2000cov" / "kernels",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    ray = root / "c2000cov" / "kernels" / "ray.py"
    text = ray.read_text()
    for old, new in edits:
        if old not in text:
            raise SystemExit(f"variant {name}: kernels/ray.py no longer contains {old!r}")
        text = text.replace(old, new)
    ray.write_text(text)
    env = dict(os.environ, PYTHONPATH=str(root), NUMBA_CACHE_DIR=str(root / ".numba-cache"))
    out = subprocess.run(
        [sys.executable, "-c", TIMING, str(root), str(pixel_m)],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixel-m", type=float, default=25.0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = {n: run_variant(n, e, a.pixel_m, Path(tmp)) for n, e in VARIANTS.items()}
    base = res["base"]["cpu_s"]
    rec = {
        "workload": f"kernel-parts-25km-{a.pixel_m:g}m",
        "threads": 1,
        "pixels": res["base"]["pixels"],
        "cpu_s": base,
        "ns_per_px": 1e9 * base / res["base"]["pixels"],
        "shares": {n: (base - r["cpu_s"]) / base for n, r in res.items() if n != "base"},
    }
    rec["shares"]["rest"] = 1.0 - sum(rec["shares"].values())
    print(json.dumps(rec, indent=1))
    if a.json:
        a.json.write_text(json.dumps([rec], indent=1) + "\n")


if __name__ == "__main__":
    main()
