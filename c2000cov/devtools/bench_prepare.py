"""Benchmark of ``c2000cov prepare`` on many tiles: time and peak memory.

Workload ``prepare-100-tiles``: 10 x 10 DTM tiles and 10 x 10 DSM tiles of
1000 x 1000 cells at 0.5 m (AHN's finest resolution; 500 m tiles), made from
the Delft AHN3 sample (``tests/data/nl``) upsampled to 0.5 m and mirrored
across tile edges, so every tile holds real urban heights. ``prepare``
resamples them onto a 5 m grid of the 5 x 5 km they cover (1000 x 1000
pixels; ``c2000cov bench`` also runs a 2 m grid, 6.25 x 10^6 pixels) with a
synthetic mast. The inputs hold 2 x 10^8 cells (763 MiB as float32).

``prepare`` runs in a child process so that its peak resident memory is
measured alone: the child reports its own ``VmHWM`` from ``/proc/self/status``
(Linux), which, unlike ``ru_maxrss``, does not count the parent's memory at
fork time; a second child that only imports the same modules gives the
import floor. Record keys: ``workload``, ``tiles`` (per layer), ``layers``,
``source_cells``, ``source_mb`` (float32), ``grid_px``, ``seconds`` (wall
time of the prepare child, interpreter start included), ``peak_rss_mb``,
``import_rss_mb``, ``rss_above_imports_mb``, and the machine: ``host``,
``cpus``, ``mem_gb``, ``gdal``, ``date_utc``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from c2000cov.errors import InvalidInputError

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "nl"
#: Upper-left corner of the synthetic tile block (RD New, m).
ORIGIN_M = (80000.0, 455000.0)
TILE_RES_M = 0.5
MAST_HEADER = "mast_id,name,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db\n"


def _sample(kind: str) -> np.ndarray:
    path = SAMPLE_DIR / f"delft_ahn3_{kind}_1m.tif"
    if not path.is_file():
        raise InvalidInputError(f"bench prepare: {path} is missing; the benchmark builds its "
                                "tiles from the Delft sample in tests/data/nl")
    with rasterio.open(path) as src:
        one_m = src.read(1)
    return np.repeat(np.repeat(one_m, 2, axis=0), 2, axis=1)  # 0.5 m


def _mirror(index: np.ndarray, n: int) -> np.ndarray:
    """Index into a length-``n`` axis mirrored across its ends, repeated without end."""
    k = index % (2 * n)
    return np.where(k < n, k, 2 * n - 1 - k)


def write_tiles(out_dir: Path, n_side: int = 10, tile_px: int = 1000) -> dict[str, Path]:
    """Write ``n_side`` x ``n_side`` DTM and DSM tiles of ``tile_px`` cells at 0.5 m."""
    out = {}
    for kind in ("dtm", "dsm"):
        base = _sample(kind)
        folder = Path(out_dir) / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_side):
            rows = _mirror(np.arange(i * tile_px, (i + 1) * tile_px), base.shape[0])
            for j in range(n_side):
                cols = _mirror(np.arange(j * tile_px, (j + 1) * tile_px), base.shape[1])
                x0 = ORIGIN_M[0] + j * tile_px * TILE_RES_M
                y0 = ORIGIN_M[1] - i * tile_px * TILE_RES_M
                profile = dict(driver="GTiff", width=tile_px, height=tile_px, count=1,
                               dtype="float32", crs="EPSG:28992", nodata=-9999.0,
                               transform=Affine(TILE_RES_M, 0, x0, 0, -TILE_RES_M, y0),
                               tiled=True, blockxsize=256, blockysize=256)
                with rasterio.open(folder / f"{kind}_{i:02d}_{j:02d}.tif", "w", **profile) as d:
                    d.write(base[np.ix_(rows, cols)], 1)
        out[kind] = folder
    return out


#: Run in the child: the CLI (or only the imports), then report the child's own peak RSS.
#: VmHWM of /proc/self/status belongs to the process image after exec; ru_maxrss would also
#: count the parent's memory at fork time.
_CHILD_CODE = """import sys
try:
    if sys.argv[1:]:
        from c2000cov.cli import main
        sys.argv = ["c2000cov"] + sys.argv[1:]
        main()
    else:
        import c2000cov.cli, c2000cov.files.prepare, rasterio.vrt
finally:
    with open("/proc/self/status") as fh:
        hwm = [line.split()[1] for line in fh if line.startswith("VmHWM")][0]
    sys.stderr.write(f"VMHWM_KB {hwm}\\n")
"""


def _child(args: list[str]) -> tuple[float, float]:
    """Run the CLI with ``args`` (none: only import it) in a child; (wall s, peak RSS MB)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD_CODE, *args], capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - t0
    hwm = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("VMHWM_KB")]
    if proc.returncode != 0 or not hwm:
        raise RuntimeError(f"benchmark child {' '.join(args[:2])} failed: "
                           f"{proc.stderr.strip()}")
    return seconds, int(hwm[0]) / 1024.0


def run_prepare_bench(work_dir: Path, n_side: int = 10, tile_px: int = 1000,
                      resolution_m: float = 5.0) -> dict:
    """Write the tiles (once), run prepare on them in a child process, return the record."""
    work_dir = Path(work_dir)
    stamp = work_dir / f"tiles-{n_side}x{n_side}-{tile_px}px.done"
    if not stamp.is_file():
        write_tiles(work_dir / "tiles", n_side, tile_px)
        stamp.write_text("ok\n")
    side_m = n_side * tile_px * TILE_RES_M
    centre = (ORIGIN_M[0] + side_m / 2, ORIGIN_M[1] - side_m / 2)
    (work_dir / "masts.csv").write_text(
        f"{MAST_HEADER}B1,Synthetic bench mast,{centre[0]},{centre[1]},40,44,8,3,3\n")
    bounds = (ORIGIN_M[0], ORIGIN_M[1] - side_m, ORIGIN_M[0] + side_m, ORIGIN_M[1])
    args = ["prepare", str(work_dir / "prepared"),
            "--dtm", str(work_dir / "tiles" / "dtm"), "--dsm", str(work_dir / "tiles" / "dsm"),
            "--masts", str(work_dir / "masts.csv"), "--resolution-m", str(resolution_m),
            "--bounds-m", ",".join(f"{v:.0f}" for v in bounds), "--margin-m", "0",
            "--overwrite", "--quiet"]
    seconds, peak_mb = _child(args)
    _, floor_mb = _child([])
    cells = 2 * n_side * n_side * tile_px * tile_px
    grid_px = int(round(side_m / resolution_m)) ** 2
    return {"workload": f"prepare-{n_side * n_side}-tiles", "tiles": n_side * n_side,
            "layers": 2, "tile_px": tile_px, "tile_res_m": TILE_RES_M,
            "resolution_m": resolution_m, "source_cells": cells,
            "source_mb": cells * 4 / 2**20, "grid_px": grid_px, "seconds": seconds,
            "peak_rss_mb": peak_mb, "import_rss_mb": floor_mb,
            "rss_above_imports_mb": peak_mb - floor_mb, **_machine()}


def _machine() -> dict:
    import datetime as dt
    import platform

    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"host": platform.node(), "cpus": os.cpu_count(), "mem_gb": round(mem_gb, 1),
            "gdal": rasterio.__gdal_version__,
            "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
