"""The best-server reduction tile by tile: memory bounded by a tile, not by the grid.

The grid is cut into tiles of at most ``tile_px`` x ``tile_px`` pixels
(``[output] tile_px``). Each tile is reduced on its own: only the masts whose
window touches it are folded, in masts-file order, each cropped to the tile,
then the tile is finished (probability, limiting direction, class) and
copied into the outputs. Every step of :meth:`BestServer.update` and
:func:`finish` is per pixel, and a pixel sees the masts that reach it in the
same order as in one whole-grid pass, so the result is bit-identical to it
(``tests/pipeline/test_tiles.py``). The full-grid working arrays of the
reduction (23 bytes per pixel per profile and state) and those of
:func:`finish` are held for one tile at a time; what stays full-grid are the
finished :class:`ProfileCoverage` bands.

A mast whose window spans several tiles is read from the loss cache once per
tile: the path loss is computed once (the first tile stores it); the link
budget is computed over the part of the window inside the tile only. Without a
cache folder a multi-tile run keeps its loss windows in a temporary folder for
the length of the run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import numpy as np

from c2000cov.analysis.coverage import BestServer, ProfileCoverage, finish
from c2000cov.geo.grid import Window, window_overlap, window_within
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import NoiseState, ProgressFn, mast_margins
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import Inputs
from c2000cov.radio.budget import plan_profiles
from c2000cov.radio.device import ComputeDevice
from c2000cov.radio.models import mast_geometry
from c2000cov.scenario.schema import OutputConfig

#: Default tile side (pixels), ``[output] tile_px``: 2048 x 2048 px is 96 MB of working
#: arrays per profile and state (23 bytes per pixel), whatever the size of the grid.
DEFAULT_TILE_PX = OutputConfig.tile_px


def mast_windows(inputs: Inputs) -> list[Window]:
    """The grid window of each mast (masts-file order), as the loss computation uses it."""
    surf, masts = inputs.surface, inputs.masts
    radius_m = inputs.scenario.model.radius_m
    out = []
    for i in range(len(masts)):
        mast = masts.iloc[i]
        geom = mast_geometry(surf, mast["x_m"], mast["y_m"], mast["h_agl_m"])
        out.append(surf.grid.window_around(geom.row, geom.col, radius_m))
    return out


def _crop(arr, window: Window):
    return arr[window.slices] if isinstance(arr, np.ndarray) else arr


def _empty_coverage(name: str, inputs: Inputs, plan) -> ProfileCoverage:
    shape = inputs.grid.shape

    def full(dtype, fill):
        return np.full(shape, fill, dtype=dtype)

    return ProfileCoverage(name, inputs.grid, full("float32", np.nan), full("uint8", 0),
                           full("int16", -1), full("float32", np.nan), full("uint8", 0),
                           full("uint8", 0), full("float32", np.nan), full("float32", np.nan),
                           plan.sigma_total_db, plan.target_pct, full("float32", -np.inf))


_BANDS = ("p_cover", "limiting", "server", "signal_dl_dbm", "n_at_target", "coverage_class",
          "margin_dl_db", "margin_ul_db", "second_margin_db")


def _counting(progress: ProgressFn | None, total: int) -> Iterator[ProgressFn | None]:
    """A progress callback per tile that counts folded masts over all tiles."""
    done = 0
    while True:
        if progress is None:
            yield None
            continue
        start = done

        def tile_progress(stage, k, n, _start=start):
            nonlocal done
            done = _start + k
            progress(stage, done, total)

        yield tile_progress


def tiled_coverage(inputs: Inputs, states: list[NoiseState], cache: LossCache,
                   executor: Executor, progress: ProgressFn | None = None,
                   device: ComputeDevice | None = None, tile_px: int = DEFAULT_TILE_PX,
                   ) -> dict[str, dict[str, ProfileCoverage]]:
    """:func:`c2000cov.pipeline.compute.compute_coverage`, reduced tile by tile.

    Returns ``{state name: {profile name: ProfileCoverage}}``, bit-identical to
    one whole-grid pass.
    """
    grid = inputs.grid
    tiles = list(grid.tiles(tile_px))
    if len(tiles) > 1 and cache.folder is None:
        with tempfile.TemporaryDirectory(prefix="c2000cov-tiles-") as tmp:
            return tiled_coverage(inputs, states, LossCache(tmp), executor, progress, device,
                                  tile_px)
    scen, cal = inputs.scenario, inputs.calibration
    plans = plan_profiles(scen, inputs.surface, None if cal is None else cal.sigma_db)
    out = {st.name: {p.name: _empty_coverage(p.name, inputs, p) for p in plans}
           for st in states}
    windows = mast_windows(inputs)
    touching = [[i for i, w in enumerate(windows) if window_overlap(w, tile)] for tile in tiles]
    counters = _counting(progress, sum(len(t) for t in touching))
    for tile, masts in zip(tiles, touching, strict=True):
        best = {(st.name, p.name): BestServer.empty((tile.height, tile.width))
                for st in states for p in plans}
        for i, part, margins in mast_margins(inputs, states, cache, executor, next(counters),
                                             device, indices=masts, clip=tile):
            in_tile = window_within(part, tile)  # margins cover the part of the mast's window
            for plan in plans:  # inside the tile only
                needed = _crop(plan.margin_needed_db, part)
                for st in states:
                    mm = margins[(st.name, plan.name)]
                    best[(st.name, plan.name)].update(i, in_tile, mm.margin_dl_db,
                                                      mm.margin_ul_db, mm.signal_dl_dbm, needed)
        for plan in plans:
            for st in states:
                b = best.pop((st.name, plan.name))
                done = finish(plan.name, grid.subgrid(tile), b,
                              _crop(plan.sigma_total_db, tile), plan.target_pct, scen.classes,
                              plan.evaluated[tile.slices])
                whole = out[st.name][plan.name]
                for band in _BANDS:
                    getattr(whole, band)[tile.slices] = getattr(done, band)
    return out
