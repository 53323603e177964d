"""Memory a run will need, estimated from the scenario before anything is allocated.

A run holds the surface rasters, per profile and noise state the working
arrays of the best-server reduction's open tiles (:mod:`c2000cov.pipeline.tiles`:
the finished bands of a grid of several tiles are in spill files,
:mod:`c2000cov.files.spill`, not in memory; a grid of one tile holds them as
well), the mast window being folded and the next one's loss windows, which
the local executor computes meanwhile, and afterwards the outputs' working arrays
(the report's float64 copy of a p_cover band is the largest). :func:`check_memory`
refuses a scenario whose estimate exceeds the limit (default
:data:`DEFAULT_FRACTION` of this machine's memory) with one line saying what it
would need and how to reduce it, before a single grid array exists.

The per-pixel figures are upper estimates of the arrays the pipeline keeps
(counted from :mod:`c2000cov.geo.surface`, :mod:`c2000cov.analysis.coverage`
and :mod:`c2000cov.products.report`, checked against the per-stage peaks of
``python -m c2000cov.devtools.memstages``). Pages of spill files that the
process has read count in its resident set, but the system can drop them at
any time (they are in the files): they are not counted.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from c2000cov.errors import InvalidInputError
from c2000cov.files.rasters import source_window_pixels
from c2000cov.geo.grid import Grid
from c2000cov.scenario.schema import Scenario

#: Default limit: this share of the machine's physical memory.
DEFAULT_FRACTION = 0.8
#: Ground heights (float32); the surface heights (float32) are another array only with a
#: DSM or buildings, and only buildings fill the building mask (bool) and year (int32)
#: (without, they are zero pages never written: not resident).
GROUND_BYTES_PER_PX = 4
SURFACE_BYTES_PER_PX = 4
BUILDINGS_BYTES_PER_PX = 1 + 4
#: Per profile: the evaluated-pixel mask (bool) of the run's plans, held twice.
EVALUATED_BYTES_PER_PX = 2
#: After the reduction: the report's p_cover band (float32), its float64 copy, the
#: evaluated mask and three threshold masks, plus the area weights of the whole grid.
OUTPUT_BYTES_PER_PX = 4 + 8 + 1 + 3 + 4
#: Per profile and noise state, per pixel of an open tile: the fold's working arrays
#: (:class:`c2000cov.analysis.coverage.BestServer`: five float32, int16, uint8).
PROFILE_BYTES_PER_PX = 5 * 4 + 2 + 1
#: Per profile and noise state, per grid pixel when the grid is one tile (nothing is
#: spilled): the finished bands (:class:`c2000cov.analysis.coverage.ProfileCoverage`).
FINISHED_BYTES_PER_PX = 6 * 4 + 2 + 3 * 1
#: A source raster block while it is read: masked float32 (data, mask) and its filled copy.
SOURCE_BYTES_PER_PX = 4 + 1 + 4
#: A mast window: surface and ground (float32), kernel work arrays, the link budget's
#: float32 arrays and masks (measured: 62 bytes per window pixel with two loss windows on
#: 1/16 of national-10m), per (frequency, receiver height) a loss window.
WINDOW_BYTES_PER_PX = 4 + 4 + 46
#: The next mast's window, computed while the last one is folded (the local executor,
#: :class:`c2000cov.pipeline.executor.LocalExecutor`): contiguous copies of its surface
#: and ground (float32), and per loss window the kernel's output and its quantised copy
#: (float32 each). Measured: +80 to +115 MB peak RSS on 1/16 of national-25m (4.0 M px
#: windows, two loss windows: 24 bytes per pixel would be 96 MB).
AHEAD_BYTES_PER_PX = 4 + 4
AHEAD_BYTES_PER_LOSS_PX = 2 * 4
#: The interpreter with numpy, Numba's compiled kernels and GDAL (measured: 0.31 GB at
#: the start of a run, 0.33 GB of it anonymous after the load at 1/16 national-10m).
PROCESS_BYTES = 500_000_000
LOSS_BYTES_PER_PX = 4
GB = 1e9


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of a run (bytes): the process and the surface, plus the
    largest of the load (source raster block), the reduction (coverage and mast window)
    and the outputs."""

    grid_shape: tuple[int, int]
    total_bytes: int
    parts: dict[str, int]


def machine_memory_bytes() -> int:
    """Physical memory of this machine (bytes)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_limit_bytes() -> int:
    """The default limit: :data:`DEFAULT_FRACTION` of this machine's memory."""
    return int(DEFAULT_FRACTION * machine_memory_bytes())


def open_tile_pixels(grid: Grid, x_m, y_m, radius_m: float, tile_px: int) -> int:
    """Most pixels of tiles open at once in the tiled reduction of masts at ``x_m, y_m``
    (masts-file order): a tile is open from the first mast whose window touches it to the
    last (:func:`c2000cov.pipeline.tiles.tiled_coverage`); tiles no mast reaches are
    opened and closed one at a time."""
    rows, cols = grid.rowcol(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
    first: dict[tuple[int, int], int] = {}
    last: dict[tuple[int, int], int] = {}
    for i, (row, col) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        w = grid.window_around(row, col, radius_m)
        if w.height <= 0 or w.width <= 0:
            continue
        for tr in range(w.row_off // tile_px, (w.row_off + w.height - 1) // tile_px + 1):
            for tc in range(w.col_off // tile_px, (w.col_off + w.width - 1) // tile_px + 1):
                first.setdefault((tr, tc), i)
                last[(tr, tc)] = i

    def px(tile: tuple[int, int]) -> int:
        return (min(tile_px, grid.height - tile[0] * tile_px)
                * min(tile_px, grid.width - tile[1] * tile_px))

    peak = min(tile_px, grid.height) * min(tile_px, grid.width)  # an unreached tile
    events = sorted([(first[t], 0, px(t)) for t in first] + [(last[t], 1, -px(t)) for t in last])
    now = 0
    for _, _, delta in events:  # at each mast, tiles open before those it closes
        now += delta
        peak = max(peak, now)
    return peak


def estimate_memory(scen: Scenario, grid: Grid, masts=None) -> MemoryEstimate:
    """Peak memory of a run of ``scen`` on ``grid``, from metadata (and the masts'
    ``x_m, y_m``, which place the open tiles; without them every tile counts as open)."""
    pixels = grid.height * grid.width
    n_states = 2 if scen.pv is not None else 1
    n_profiles = len(scen.profiles)
    n_combos = 2 * len({p.h_rx_m for p in scen.profiles.values()})
    window_px = (2 * math.ceil(scen.model.radius_m / scen.scenario.resolution_m) + 1) ** 2
    window_px = min(window_px, pixels)
    rasters = [scen.terrain.dtm] + ([scen.terrain.dsm] if scen.terrain.dsm else [])
    source_px = max(source_window_pixels(path, grid) for path in rasters)
    tile_px = scen.output.tile_px
    if grid.height <= tile_px and grid.width <= tile_px:  # one tile: nothing is spilled
        per_state = pixels * (PROFILE_BYTES_PER_PX + FINISHED_BYTES_PER_PX)
    elif masts is None:
        per_state = pixels * PROFILE_BYTES_PER_PX
    else:
        per_state = PROFILE_BYTES_PER_PX * open_tile_pixels(
            grid, masts["x_m"], masts["y_m"], scen.model.radius_m, tile_px)
    surface_px = (GROUND_BYTES_PER_PX
                  + (SURFACE_BYTES_PER_PX if scen.terrain.dsm or scen.buildings else 0)
                  + (BUILDINGS_BYTES_PER_PX if scen.buildings else 0))
    parts = {
        "surface": pixels * surface_px,
        "coverage": (per_state * n_states + pixels * EVALUATED_BYTES_PER_PX) * n_profiles,
        "outputs": pixels * OUTPUT_BYTES_PER_PX,
        "source raster block": source_px * SOURCE_BYTES_PER_PX,
        "mast window": window_px * (WINDOW_BYTES_PER_PX + LOSS_BYTES_PER_PX * n_combos
                                    + AHEAD_BYTES_PER_PX + AHEAD_BYTES_PER_LOSS_PX * n_combos),
    }
    parts["process"] = PROCESS_BYTES
    # the stages follow each other: the surface is held throughout, the reduction's
    # arrays are freed before the outputs are made
    total = parts["process"] + parts["surface"] + max(
        parts["source raster block"], parts["coverage"] + parts["mast window"],
        parts["outputs"])
    return MemoryEstimate(grid.shape, total, parts)


def check_memory(scen: Scenario, grid: Grid, max_memory_gb: float | None = None,
                 masts=None) -> MemoryEstimate:
    """Refuse a run whose estimated memory exceeds the limit, before allocating.

    Parameters
    ----------
    masts : DataFrame, optional
        The masts (``x_m``, ``y_m``), for the open tiles of the reduction.
    max_memory_gb : float, optional
        The limit in GB (1e9 bytes); default :func:`default_limit_bytes`.

    Raises
    ------
    InvalidInputError
        The estimate exceeds the limit (the message gives the need, the limit and how
        to reduce the run), or ``max_memory_gb`` is not a positive finite number.
    """
    if max_memory_gb is not None and not (math.isfinite(max_memory_gb) and max_memory_gb > 0):
        raise InvalidInputError(f"--max-memory-gb must be a positive number, got "
                                f"{max_memory_gb!r}")
    limit = default_limit_bytes() if max_memory_gb is None else int(max_memory_gb * GB)
    est = estimate_memory(scen, grid, masts)
    if est.total_bytes > limit:
        origin = (f"{DEFAULT_FRACTION:.0%} of this machine's memory" if max_memory_gb is None
                  else "--max-memory-gb")
        largest = max(est.parts, key=est.parts.get)
        rows, cols = est.grid_shape
        raise InvalidInputError(
            f"{scen.source.name}: the run would need about {est.total_bytes / GB:.1f} GB of "
            f"memory (grid {cols} x {rows} pixels at {scen.scenario.resolution_m:g} m, "
            f"{len(scen.profiles)} profile(s); largest part: {largest}), more than the "
            f"limit of {limit / GB:.1f} GB ({origin}); reduce scenario.bounds_m, use a "
            "coarser scenario.resolution_m or fewer profiles, or raise --max-memory-gb")
    return est
