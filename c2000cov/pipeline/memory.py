"""Memory a run will need, estimated from the scenario before anything is allocated.

A run holds the surface rasters, per profile and noise state the best-server
reduction, the bands of the file being written, and one mast window at a
time. :func:`check_memory` refuses a scenario whose estimate exceeds the
limit (default :data:`DEFAULT_FRACTION` of this machine's memory) with one
line saying what it would need and how to reduce it, before a single grid
array exists.

The per-pixel figures are upper estimates of the arrays the pipeline keeps
(counted from :mod:`c2000cov.geo.surface`, :mod:`c2000cov.analysis.coverage`
and :mod:`c2000cov.products.runfolder`), not measurements.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from c2000cov.errors import InvalidInputError
from c2000cov.files.rasters import source_window_pixels
from c2000cov.geo.grid import Grid
from c2000cov.scenario.schema import Scenario

#: Default limit: this share of the machine's physical memory.
DEFAULT_FRACTION = 0.8
#: Ground and surface heights (float32), building mask (bool), building year (int32).
SURFACE_BYTES_PER_PX = 4 + 4 + 1 + 4
#: The six float32 bands of one coverage file while it is written, plus area weights,
#: dead-zone masks and the report's reads.
OUTPUT_BYTES_PER_PX = 6 * 4 + 16
#: Per profile and noise state: p_cover, signal (float32), server, count (int32), limiting,
#: class (uint8) and the fold's running best and second-best levels (float32).
PROFILE_BYTES_PER_PX = 4 + 4 + 4 + 4 + 1 + 1 + 4 + 4 + 4 * 4
#: A source raster block while it is read: masked float32 (data, mask) and its filled copy.
SOURCE_BYTES_PER_PX = 4 + 1 + 4
#: A mast window: surface and ground (float32), kernel work arrays, per (frequency, receiver
#: height) a loss window.
WINDOW_BYTES_PER_PX = 4 + 4 + 32
LOSS_BYTES_PER_PX = 4
GB = 1e9


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of a run (bytes) and its largest parts."""

    grid_shape: tuple[int, int]
    total_bytes: int
    parts: dict[str, int]


def machine_memory_bytes() -> int:
    """Physical memory of this machine (bytes)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_limit_bytes() -> int:
    """The default limit: :data:`DEFAULT_FRACTION` of this machine's memory."""
    return int(DEFAULT_FRACTION * machine_memory_bytes())


def estimate_memory(scen: Scenario, grid: Grid) -> MemoryEstimate:
    """Peak memory of a run of ``scen`` on ``grid``, from metadata only."""
    pixels = grid.height * grid.width
    n_states = 2 if scen.pv is not None else 1
    n_profiles = len(scen.profiles)
    n_combos = 2 * len({p.h_rx_m for p in scen.profiles.values()})
    window_px = (2 * math.ceil(scen.model.radius_m / scen.scenario.resolution_m) + 1) ** 2
    window_px = min(window_px, pixels)
    rasters = [scen.terrain.dtm] + ([scen.terrain.dsm] if scen.terrain.dsm else [])
    source_px = max(source_window_pixels(path, grid) for path in rasters)
    parts = {
        "surface": pixels * SURFACE_BYTES_PER_PX,
        "coverage": pixels * PROFILE_BYTES_PER_PX * n_profiles * n_states,
        "outputs": pixels * OUTPUT_BYTES_PER_PX,
        "source raster block": source_px * SOURCE_BYTES_PER_PX,
        "mast window": window_px * (WINDOW_BYTES_PER_PX + LOSS_BYTES_PER_PX * n_combos),
    }
    return MemoryEstimate(grid.shape, sum(parts.values()), parts)


def check_memory(scen: Scenario, grid: Grid, max_memory_gb: float | None = None
                 ) -> MemoryEstimate:
    """Refuse a run whose estimated memory exceeds the limit, before allocating.

    Parameters
    ----------
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
    est = estimate_memory(scen, grid)
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
