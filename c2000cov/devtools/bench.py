"""Benchmark workloads for the area propagation kernel.

``run_workloads(names, threads, device)`` runs named workloads and returns one record
per workload with the keys ``workload``, ``pixels`` (output pixels inside the
radius, summed over masts), ``masts``, ``threads``, ``seconds`` (wall time of
the kernel calls, compilation, terrain generation and the Ldsph tables excluded),
``sph_table_s`` (wall time of the Ldsph tables of all masts, built once per workload from
a :class:`~c2000cov.radio.sph_store.SphTableStore` as a run does), ``cpu_s`` (CPU time of
this process during those calls, all threads: on a shared machine the wall time
includes waiting for a core, the CPU time does not), ``px_per_s``,
``compile_s`` (first call on a tiny input: compilation, about 7 s with a cold
cache, or loading from Numba's cache, about 0.3 s; on a GPU the CUDA compilation),
``device`` (``cpu`` or ``gpu``; ``device_name`` names the GPU), ``freqs_mhz`` (the
frequencies of each call, one sweep: ``pixels`` counts locations, not frequencies),
``peak_rss_mb`` (process
peak resident memory after the run) and ``extra_bytes_per_px`` (peak resident
memory during the kernel calls above the memory held before them, per output
pixel of one mast, output array included; NaN where the peak cannot be reset).

The terrain is synthetic and deterministic (fixed seed): a gently hilly
landscape (three octaves of bilinear value noise, about 60 m relief) with
villages and a town of block buildings 6-30 m high, generated in metres so
that the 25 m and 10 m workloads see the same landscape.
"""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from c2000cov.errors import DeviceUnavailableError, InvalidInputError
from c2000cov.files.atomic import atomic_path
from c2000cov.files.masts import read_masts
from c2000cov.kernels.area import area_loss_db, area_loss_multi_db
from c2000cov.kernels.area_cuda import area_loss_multi_db_gpu, gpu_check
from c2000cov.kernels.constants import POL_VERTICAL
from c2000cov.pipeline.inputs import build_surface, scenario_grid
from c2000cov.radio.models import mast_geometry
from c2000cov.radio.sph_store import SphTableStore
from c2000cov.scenario.config import load_scenario
from c2000cov.units import effective_earth_radius_km

BENCH_SEED = 20240601
BENCH_FREQ_MHZ = 392.5
# C2000 downlink and uplink, the pair every national run computes in one sweep
BENCH_FREQS_2_MHZ = (392.5, 382.5)
BENCH_H_TX_AGL_M = 40.0
BENCH_H_RX_AGL_M = 1.5

# octaves of the terrain noise: (cell size m, amplitude m)
_TERRAIN_OCTAVES = ((8000.0, 40.0), (2000.0, 15.0), (400.0, 4.0))
# building clusters: (number of clusters, buildings per cluster, cluster radius m)
_BUILDING_CLUSTERS = ((12, 400, 600.0), (1, 6000, 2500.0))


def _value_noise(n: int, pixel_m: float, cell_m: float, amp_m: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Bilinear value noise on an n x n grid (float32, m)."""
    extent_m = n * pixel_m
    nc = int(np.ceil(extent_m / cell_m)) + 2
    coarse = rng.uniform(-amp_m, amp_m, (nc, nc)).astype(np.float32)
    u = (np.arange(n) + 0.5) * pixel_m / cell_m
    i0 = np.floor(u).astype(np.int64)
    f = (u - i0).astype(np.float32)
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]  # (n, nc)
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def synthetic_surface(radius_m: float, pixel_m: float, seed: int = BENCH_SEED):
    """Deterministic hilly terrain with buildings around a mast at the window centre.

    Returns ``(surface_m, ground_m, tx_row, tx_col)``: float32 rasters of
    ``(2 R + 1)`` pixels square, R = floor(radius_m / pixel_m), heights m amsl.
    """
    rr = int(radius_m // pixel_m)
    n = 2 * rr + 1
    rng = np.random.default_rng(seed)
    ground = np.full((n, n), 20.0, np.float32)
    for cell_m, amp_m in _TERRAIN_OCTAVES:
        # a fixed-size grid of noise per octave keeps the landscape independent of pixel_m
        sub = np.random.default_rng(rng.integers(2**31))
        ground += _value_noise(n, pixel_m, cell_m, amp_m, sub)
    surface = ground.copy()
    extent_m = n * pixel_m
    for n_clusters, per_cluster, spread_m in _BUILDING_CLUSTERS:
        for _ in range(n_clusters):
            cx, cy = rng.uniform(0.1 * extent_m, 0.9 * extent_m, 2)
            if n_clusters == 1:  # the town sits near the mast
                cx = cy = 0.5 * extent_m + 1500.0
            bx = cx + rng.normal(0.0, spread_m / 2, per_cluster)
            by = cy + rng.normal(0.0, spread_m / 2, per_cluster)
            size = rng.uniform(8.0, 30.0, (per_cluster, 2))
            height = rng.uniform(6.0, 30.0, per_cluster).astype(np.float32)
            c0 = np.floor((bx - size[:, 0] / 2) / pixel_m).astype(np.int64)
            c1 = np.floor((bx + size[:, 0] / 2) / pixel_m).astype(np.int64) + 1
            r0 = np.floor((by - size[:, 1] / 2) / pixel_m).astype(np.int64)
            r1 = np.floor((by + size[:, 1] / 2) / pixel_m).astype(np.int64) + 1
            for k in range(per_cluster):
                a0, a1 = max(r0[k], 0), min(r1[k], n)
                b0, b1 = max(c0[k], 0), min(c1[k], n)
                if a0 < a1 and b0 < b1:
                    blk = ground[a0:a1, b0:b1] + height[k]
                    np.maximum(surface[a0:a1, b0:b1], blk, out=surface[a0:a1, b0:b1])
    return surface, ground, rr, rr


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (Linux /proc/self/clear_refs); False if unavailable."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rss_kb(field: str) -> float:
    """VmRSS / VmHWM of this process in kB from /proc/self/status (NaN if unavailable)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def _single_mast(pixel_m: float, radius_m: float = 25_000.0,
                 freqs_mhz: tuple[float, ...] = (BENCH_FREQ_MHZ,)) -> Callable[[], dict]:
    def setup():
        surf, grnd, tr, tc = synthetic_surface(radius_m, pixel_m)
        return dict(surface_m=surf, ground_m=grnd, pixel_m=pixel_m, radius_m=radius_m,
                    masts=[(tr, tc, BENCH_H_TX_AGL_M)], freqs_mhz=freqs_mhz)

    return setup


# A workload is a function returning the rasters (``surface_m``, ``ground_m``, float32,
# m amsl), ``pixel_m``, ``radius_m`` and ``masts``: a list of (row, col, h_tx_agl_m), and
# optionally ``freqs_mhz`` (default: BENCH_FREQ_MHZ alone).
# Every mast is one area-kernel call on the whole raster.
def _demo() -> dict:
    """All masts of the demo region (generated into data/demo when missing)."""
    import importlib.util

    repo = Path(__file__).resolve().parents[2]
    if not (repo / "data" / "demo" / "dtm.tif").is_file():
        spec = importlib.util.spec_from_file_location("generate_demo",
                                                      repo / "data" / "generate_demo.py")
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        gen.generate(repo / "data" / "demo")
    scen = load_scenario(repo / "data" / "demo.toml")
    grid = scenario_grid(scen)
    surf = build_surface(scen, grid)
    masts = read_masts(scen.masts.path, grid.crs)
    rows = []
    for m in masts.itertuples():
        g = mast_geometry(surf, m.x_m, m.y_m, m.h_agl_m)
        rows.append((g.row, g.col, g.h_agl_m))
    return dict(surface_m=surf.surface_m, ground_m=surf.ground_m, pixel_m=grid.resolution_m,
                radius_m=scen.model.radius_m, masts=rows)


WORKLOADS: dict[str, Callable[[], dict]] = {
    "a-single-25km-25m": _single_mast(25.0),
    "b-single-25km-10m": _single_mast(10.0),
    "c-demo": _demo,
    "a2-single-25km-25m-2freq": _single_mast(25.0, freqs_mhz=BENCH_FREQS_2_MHZ),
}
#: What ``c2000cov bench`` runs without ``--workload``.
DEFAULT_WORKLOADS = ("a-single-25km-25m", "b-single-25km-10m", "c-demo")


def append_records(path: Path, records: list[dict]) -> Path:
    """Append records to a JSON list file (created when missing), atomically."""
    import json

    path = Path(path)
    existing = json.loads(path.read_text()) if path.is_file() else []
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(existing + list(records), indent=1) + "\n")
    return path


def _area_kernel(device: str, freqs_mhz=(BENCH_FREQ_MHZ,)) -> Callable:
    """``call(surface_m, ground_m, row, col, h_tx_agl_m, pixel_m, radius_m, ae_km, out, sph)``:
    the area kernel at ``freqs_mhz`` (one sweep) on ``device`` (``cpu`` or ``gpu``), into
    ``out`` (n_freq, rows, cols), with the Ldsph tables ``sph = (sph_tabs, sph_org)`` of
    :func:`_sph_tables` (as a run takes them from its shared store)."""
    freqs = np.array(freqs_mhz, np.float64)
    kern = area_loss_multi_db_gpu if device == "gpu" else area_loss_multi_db

    def call(surf, grnd, row, col, h_tx, pixel_m, radius_m, ae_km, out, sph):
        kern(surf, grnd, row, col, h_tx, BENCH_H_RX_AGL_M, pixel_m, radius_m, freqs, ae_km,
             POL_VERTICAL, 0.0, out=out, sph_tabs=sph[0], sph_org=sph[1])
    return call


def _sph_tables(store: SphTableStore, grnd, h_tx, pixel_m, radius_m, ae_km,
                freqs_mhz=(BENCH_FREQ_MHZ,)):
    """The Ldsph tables of a bench call from ``store`` (built once per workload, as a run
    builds them once for all its masts)."""
    return store.tables(grnd, h_tx, BENCH_H_RX_AGL_M, pixel_m, radius_m,
                        np.array(freqs_mhz, np.float64), ae_km, POL_VERTICAL, 0.0)


def compile_seconds(device: str = "cpu") -> float:
    """Time of the first area-kernel call on a tiny input (compile or cache load)."""
    t0 = time.perf_counter()
    surf, grnd, tr, tc = synthetic_surface(200.0, 25.0)
    ae_km = effective_earth_radius_km()
    # the same signatures as the timed calls, so nothing compiles inside the timing
    area_loss_db(surf, grnd, tr, tc, BENCH_H_TX_AGL_M, BENCH_H_RX_AGL_M, 25.0, 200.0,
                 BENCH_FREQ_MHZ, ae_km)
    sph = _sph_tables(SphTableStore(), grnd, BENCH_H_TX_AGL_M, 25.0, 200.0, ae_km)
    _area_kernel(device)(surf, grnd, tr, tc, BENCH_H_TX_AGL_M, 25.0, 200.0, ae_km,
                         np.empty((1,) + surf.shape, np.float32), sph)
    return time.perf_counter() - t0


def bench_device(device: str) -> tuple[str, str]:
    """``(used, name)`` for a bench ``--device`` of ``cpu``, ``gpu`` or ``auto``; ``gpu``
    without a GPU that runs the kernel raises :class:`DeviceUnavailableError`."""
    if device not in ("cpu", "gpu", "auto"):
        raise InvalidInputError(f"bench device must be one of cpu, gpu, auto; got {device!r}")
    if device == "cpu":
        return "cpu", ""
    name, why = gpu_check()
    if name is None:
        if device == "gpu":
            raise DeviceUnavailableError(f"bench --device gpu: {why}; use --device cpu")
        return "cpu", ""
    return "gpu", name


def bench_thread_counts(device: str) -> list[int]:
    """Default Numba thread counts of a bench run: 1 and all cores on the CPU; on a GPU all
    cores only (they fill the per-call tables on the host)."""
    import numba

    n = numba.config.NUMBA_NUM_THREADS
    return sorted({1, n}) if bench_device(device)[0] == "cpu" else [n]


def run_workloads(names: Sequence[str], threads: int, device: str = "cpu") -> list[dict]:
    """Run benchmark workloads with ``threads`` Numba threads; one record per workload.

    Parameters
    ----------
    names : sequence of str
        Workload names, keys of :data:`WORKLOADS`.
    threads : int
        Number of Numba threads (1 .. numba.config.NUMBA_NUM_THREADS); on the GPU they
        fill the per-call tables on the host.
    device : str
        ``cpu`` (default), ``gpu`` or ``auto`` (:func:`bench_device`).

    Returns
    -------
    list of dict
        Records with the keys listed in the module docstring.
    """
    import numba

    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise InvalidInputError(
            f"bench workload(s) {unknown} unknown; valid: {sorted(WORKLOADS)}"
        )
    max_threads = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= max_threads:
        raise InvalidInputError(
            f"bench threads must be 1..{max_threads} (NUMBA_NUM_THREADS), got {threads}"
        )
    used, device_name = bench_device(device)
    old_threads = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return _run(names, threads, used, device_name)
    finally:
        numba.set_num_threads(old_threads)


def _run(names: Sequence[str], threads: int, device: str, device_name: str) -> list[dict]:
    compile_s = compile_seconds(device)
    ae_km = effective_earth_radius_km()
    records = []
    for name in names:
        w = WORKLOADS[name]()
        freqs = tuple(w.get("freqs_mhz", (BENCH_FREQ_MHZ,)))
        kernel = _area_kernel(device, freqs)
        out = np.empty((len(freqs),) + w["surface_m"].shape, np.float32)
        store = SphTableStore()
        t0 = time.perf_counter()
        sphs = [_sph_tables(store, w["ground_m"], h_tx_agl_m, w["pixel_m"], w["radius_m"], ae_km,
                            freqs)
                for _, _, h_tx_agl_m in w["masts"]]
        table_s = time.perf_counter() - t0
        gc.collect()
        before_kb = _rss_kb("VmRSS")
        can_reset = _reset_peak_rss()
        pixels = 0
        seconds = 0.0
        cpu_s = 0.0
        for (row, col, h_tx_agl_m), sph in zip(w["masts"], sphs, strict=True):
            t0 = time.perf_counter()
            c0 = time.process_time()
            kernel(w["surface_m"], w["ground_m"], row, col, h_tx_agl_m, w["pixel_m"],
                   w["radius_m"], ae_km, out, sph)
            cpu_s += time.process_time() - c0
            seconds += time.perf_counter() - t0
            pixels += int(np.count_nonzero(~np.isnan(out[0])))
        hwm_kb = _rss_kb("VmHWM")
        extra = (hwm_kb - before_kb) * 1024.0 / (pixels / len(w["masts"])) if can_reset \
            else float("nan")
        records.append(
            {
                "workload": name,
                "pixels": pixels,
                "masts": len(w["masts"]),
                "threads": threads,
                "device": device,
                **({"device_name": device_name} if device_name else {}),
                "freqs_mhz": list(freqs),
                "seconds": seconds,
                "cpu_s": cpu_s,
                "sph_table_s": table_s,
                "px_per_s": pixels / seconds,
                "compile_s": compile_s,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                "extra_bytes_per_px": extra,
            }
        )
        del w, out
    return records
