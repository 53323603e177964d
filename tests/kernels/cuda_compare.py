"""GPU area kernel (c2000cov.kernels.area_cuda) against the CPU kernel: per-case statistics.

Run as a script, in its own process, because ``NUMBA_ENABLE_CUDASIM`` must be set
before numba is imported:

    NUMBA_ENABLE_CUDASIM=1 python tests/kernels/cuda_compare.py --cases sim    # no GPU
    python tests/kernels/cuda_compare.py --cases gpu --json out.json          # a real GPU

Prints (and with ``--json`` writes) one JSON object: the device name and, per case,
the pixel count, whether the NaN patterns are equal, the largest absolute difference
(dB), the fraction of pixels within 0.05 dB and of bit-identical pixels, over both C2000
frequencies. tests/kernels/test_area_cuda.py runs the ``sim`` cases on the simulator.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.kernels.windows import random_window  # noqa: E402

FREQS_MHZ = np.array([392.5, 382.5])  # C2000 downlink and uplink
AE_KM = 4.0 / 3.0 * 6371.0
WITHIN_DB = 0.05


def cases(kind):
    """(name, args without frequencies/ae, keyword args) per case."""
    from c2000cov.devtools.bench import synthetic_surface

    out = []
    if kind == "sim":  # small: the simulator runs Python, one thread per ray
        specs = [(41, 1, (20, 20), 0.02, 30.0, 25.0, 500.0, 2, 0.0, 64),
                 (45, 2, (4, 38), 0.01, 10.0, 10.0, 300.0, 2, 0.0, 4096),
                 (33, 3, (16, 14), 0.03, 80.0, 25.0, 400.0, 1, 0.5, 48)]
        town = (500.0, 25.0)
    else:  # a real GPU: windows of the size of a run
        specs = [(401, 1, (200, 200), 0.01, 30.0, 25.0, 5000.0, 2, 0.0, 4096),
                 (601, 2, (40, 500), 0.005, 10.0, 10.0, 6000.0, 2, 0.0, 16384),
                 (301, 3, (150, 140), 0.02, 80.0, 25.0, 3750.0, 1, 0.5, 1024)]
        town = (10000.0, 25.0)
    for n, seed, (tr, tc), nan_frac, h_tx, pixel_m, radius_m, pol, omega, slots in specs:
        surf, grnd = random_window(n, seed, nan_frac)
        grnd[tr, tc] = 10.0
        out.append((f"random{seed}-{n}px", (surf, grnd, tr, tc, h_tx, 1.5, pixel_m, radius_m),
                    {"pol": pol, "omega_frac": omega, "max_slots": slots}))
    surf, grnd, tr, tc = synthetic_surface(town[0], town[1], seed=7)
    out.append((f"town-{surf.shape[0]}px", (surf, grnd, tr, tc, 40.0, 1.5, town[1], town[0]),
                {"pol": 2, "omega_frac": 0.0, "max_slots": 256}))
    return out


def compare(kind):
    from c2000cov.kernels.area import area_loss_multi_db
    from c2000cov.kernels.area_cuda import area_loss_multi_db_gpu, gpu_name
    from c2000cov.radio.sph_store import SphTableStore

    # the GPU takes its Ldsph tables from a store shared by the cases, as in a run; the CPU
    # builds its own per call
    store = SphTableStore()
    report = {"device": gpu_name(), "within_db": WITHIN_DB, "cases": []}
    for name, args, kw in cases(kind):
        cpu = area_loss_multi_db(*args, FREQS_MHZ, AE_KM, kw["pol"], kw["omega_frac"])
        t0 = time.perf_counter()
        surf, grnd, tr, tc, h_tx, h_rx, pixel_m, radius_m = args
        sph_tabs, sph_org = store.tables(grnd, h_tx, h_rx, pixel_m, radius_m, FREQS_MHZ, AE_KM,
                                         kw["pol"], kw["omega_frac"])
        gpu = area_loss_multi_db_gpu(*args, FREQS_MHZ, AE_KM, kw["pol"], kw["omega_frac"],
                                     max_slots=kw["max_slots"], sph_tabs=sph_tabs,
                                     sph_org=sph_org)
        seconds = time.perf_counter() - t0
        ok = ~np.isnan(cpu)
        diff = np.abs(cpu[ok].astype(np.float64) - gpu[ok].astype(np.float64))
        report["cases"].append({
            "case": name,
            "pixels": int(ok.sum()),
            "nan_equal": bool(np.array_equal(np.isnan(cpu), np.isnan(gpu))),
            "max_abs_db": float(np.nanmax(diff)) if diff.size else 0.0,
            "frac_within": float(np.mean(diff <= WITHIN_DB)) if diff.size else 1.0,
            "frac_identical": float(np.mean(cpu[ok] == gpu[ok])) if diff.size else 1.0,
            "gpu_seconds": seconds,
        })
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", choices=["sim", "gpu"], default="sim")
    ap.add_argument("--json", type=Path, help="also write the report here")
    a = ap.parse_args(argv)
    report = compare(a.cases)
    text = json.dumps(report, indent=1)
    if a.json:
        a.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
