"""The best-server reduction tile by tile: the working arrays of open tiles, not of the grid.

The grid is cut into tiles of at most ``tile_px`` x ``tile_px`` pixels
(``[output] tile_px``). The masts are folded once each, in masts-file order,
as in one whole-grid pass, but each into the tiles its window touches,
cropped to them; a tile's reduction is opened when the first mast reaching it
comes, and finished (probability, limiting direction, class) and copied into
the outputs as soon as the last one has been folded. Every step of
:meth:`BestServer.fold` and :func:`finish` is per pixel, and a pixel sees the
masts that reach it in the same order as in one whole-grid pass, so the
result is bit-identical to it (``tests/pipeline/test_tiles.py``).

Each loss window is read once (an earlier version of this module read it
again for every tile it touches: on the 1/16 national scenario 512 px tiles
made the stage 5 times slower). The finished :class:`ProfileCoverage` bands
(25 bytes per pixel per profile and state) are, with a ``spill`` folder, files
mapped into memory (:mod:`c2000cov.files.spill`) whose pages are dropped as
each tile is written into them; what stays in memory are the working arrays
(23 bytes per pixel) of the open tiles: with masts listed by position, as the
national scenario's are (south to north), a band of tiles about one mast
window tall; with masts in no spatial order, up to every tile, as in the
whole-grid pass. A grid of one tile is reduced exactly as in the whole-grid
pass, with nothing copied (and nothing spilled).
"""

from __future__ import annotations

from dataclasses import replace

from c2000cov.analysis.coverage import BestServer, ProfileCoverage, finish
from c2000cov.files.spill import Spill
from c2000cov.geo.grid import Window, window_of, window_overlap, window_within
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import NoiseState, ProgressFn, mast_budgets, profile_plans
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import Inputs
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


def _empty_coverage(name: str, inputs: Inputs, plan, spill: Spill) -> ProfileCoverage:
    """The grid's coverage bands, unset: the tiles cover the grid, and each tile's
    :func:`finish` writes every band of its pixels when the tile is closed."""
    def band(dtype):
        return spill.empty(inputs.grid.shape, dtype)

    return ProfileCoverage(name, inputs.grid, band("float32"), band("uint8"), band("int16"),
                           band("float32"), band("uint8"), band("uint8"), band("float32"),
                           band("float32"), plan.sigma_total_db, plan.target_pct,
                           band("float32"))


_BANDS = ("p_cover", "limiting", "server", "signal_dl_dbm", "n_at_target", "coverage_class",
          "margin_dl_db", "margin_ul_db", "second_margin_db")


def tiled_coverage(inputs: Inputs, states: list[NoiseState], cache: LossCache,
                   executor: Executor, progress: ProgressFn | None = None,
                   device: ComputeDevice | None = None, tile_px: int = DEFAULT_TILE_PX,
                   spill: Spill | None = None) -> dict[str, dict[str, ProfileCoverage]]:
    """:func:`c2000cov.pipeline.compute.compute_coverage`, reduced tile by tile.

    Returns ``{state name: {profile name: ProfileCoverage}}``, bit-identical to
    one whole-grid pass. With a ``spill`` folder the bands of a grid of more than
    one tile are files mapped into memory (:mod:`c2000cov.files.spill`), whose
    pages are dropped from memory as each tile is closed.
    """
    spill = spill or Spill(None)
    grid = inputs.grid
    tiles = list(grid.tiles(tile_px))
    scen = inputs.scenario
    plans = profile_plans(inputs)
    out: dict[str, dict[str, ProfileCoverage]] = {st.name: {} for st in states}
    touching = [[t for t, tile in enumerate(tiles) if window_overlap(w, tile)]
                for w in mast_windows(inputs)]
    last = [-1] * len(tiles)  # the last mast (masts-file order) that reaches each tile
    for i, ts in enumerate(touching):
        for t in ts:
            last[t] = i

    def opened(t: int) -> dict:
        return {(st.name, p.name): BestServer.empty((tiles[t].height, tiles[t].width))
                for st in states for p in plans}

    def close(t: int, best: dict) -> None:
        tile = tiles[t]
        for plan in plans:
            for st in states:
                done = finish(plan.name, grid.subgrid(tile), best.pop((st.name, plan.name)),
                              window_of(plan.sigma_total_db, tile), plan.target_pct, scen.classes,
                              plan.evaluated[tile.slices])
                if len(tiles) == 1:  # the tile is the grid: its bands are the outputs
                    out[st.name][plan.name] = replace(done, grid=grid)
                    continue
                if plan.name not in out[st.name]:
                    out[st.name][plan.name] = _empty_coverage(plan.name, inputs, plan, spill)
                whole = out[st.name][plan.name]
                for band in _BANDS:
                    getattr(whole, band)[tile.slices] = getattr(done, band)
        spill.release()  # the tile is in the files: its pages need not stay resident

    for t in range(len(tiles)):
        if last[t] < 0:  # no mast reaches it
            close(t, opened(t))
    live: dict[int, dict] = {}
    for i, window, budgets in mast_budgets(inputs, states, cache, executor, progress, device):
        for t in touching[i]:
            tile = tiles[t]
            if t not in live:
                live[t] = opened(t)
            best = live[t]
            part = window_overlap(window, tile)
            in_mast, in_tile = window_within(part, window), window_within(part, tile)
            for plan in plans:
                needed = window_of(plan.margin_needed_db, part)
                for st in states:
                    best[(st.name, plan.name)].fold(
                        i, in_tile, budgets[(st.name, plan.name)].crop(in_mast), needed)
            if last[t] == i:  # no later mast reaches the tile: finish it now
                close(t, live.pop(t))
    return out
