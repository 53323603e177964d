"""The main job: a scenario in, coverage rasters, dead zones, tables and a map out.

The only place that knows the order of the stages:

1. :func:`c2000cov.pipeline.inputs.load_inputs` reads and validates every
   input (nothing is written before all inputs are known to be good);
2. :func:`c2000cov.pipeline.compute.noise_states` turns solar installations
   into uplink noise rise per mast and a downlink noise raster (sunny day and
   night);
3. :func:`c2000cov.pipeline.tiles.tiled_coverage` runs the propagation
   model per mast (cached, on the chosen executor, the area kernel on the device
   :func:`c2000cov.radio.device.select_device` picks first, before any input is
   read) and folds each mast into
   the per-profile best-server reduction of every noise state, tile by tile
   (``[output] tile_px``), bit-identical to :func:`c2000cov.pipeline.compute.compute_coverage`;
4. :func:`summarise` derives dead-zone polygons, per-area statistics and the
   N-1 ranking;
5. :func:`c2000cov.products.runfolder.write_run_folder` writes every file
   atomically, then :func:`c2000cov.products.report.build_report` the report.
"""

from __future__ import annotations

import time
from pathlib import Path

from c2000cov.analysis.areas import area_statistics, area_weights
from c2000cov.analysis.deadzones import dead_zones
from c2000cov.analysis.outage import n1_outage
from c2000cov.analysis.result import RunResult
from c2000cov.files.atomic import check_replaceable, folder_lock, replaced_folder
from c2000cov.files.spill import Spill
from c2000cov.pipeline.basestate import cached_area_weights, store_base_state
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import ProgressFn, noise_states
from c2000cov.pipeline.executor import Executor, LocalExecutor
from c2000cov.pipeline.inputs import Inputs, load_inputs
from c2000cov.pipeline.tiles import tiled_coverage
from c2000cov.products.output_checks import check_profile_names
from c2000cov.products.report import build_report
from c2000cov.products.runfolder import MANIFEST, write_run_folder
from c2000cov.radio.device import ComputeDevice, select_device
from c2000cov.scenario.schema import Scenario


def summarise(result: RunResult, progress: ProgressFn | None = None,
              cache: LossCache | None = None, spill: Spill | None = None) -> RunResult:
    """Dead zones, per-area statistics and the N-1 ranking of a computed run, the dead
    zones and N-1 in tiles of ``[output] tile_px``; the areas' pixel fractions are kept
    in ``cache`` when given (:func:`~c2000cov.pipeline.basestate.cached_area_weights`);
    the pages of ``spill``'s bands each step read are dropped from memory after it."""
    inputs = result.inputs
    spill = spill or Spill(None)
    if progress:
        progress("dead zones, areas, N-1", 0, 3)
    dz, tile_px = inputs.scenario.dead_zones, inputs.scenario.output.tile_px
    result.dead_zones = {name: dead_zones(cov, inputs.masts, inputs.areas, dz.min_area_m2,
                                          dz.simplify_m, tile_px)
                         for name, cov in result.coverage.items()}
    weights = (area_weights(inputs.areas, inputs.grid) if cache is None
               else cached_area_weights(inputs.areas, inputs.grid, cache))
    extra = {"population": inputs.population, "roads": inputs.roads, "weights": weights}
    if inputs.scenario.population is not None:
        extra["population_column"] = inputs.scenario.population.column
    spill.release()
    if progress:
        progress("dead zones, areas, N-1", 1, 3)
    result.area_table = area_statistics(list(result.coverage.values()), inputs.areas,
                                        dead_zones=result.dead_zones, **extra)
    if result.night is not None:
        night = area_statistics(list(result.night.values()), inputs.areas, **extra)
        table = result.area_table
        table["covered_pct_night"] = night["covered_pct"].to_numpy()
        table["area_reliability_pct_night"] = night["area_reliability_pct"].to_numpy()
        table["sunny_loss_pp"] = table["covered_pct_night"] - table["covered_pct"]
    spill.release()
    if progress:
        progress("dead zones, areas, N-1", 2, 3)
    result.n1_table = n1_outage(result.coverage, inputs.masts, inputs.areas, tile_px)
    spill.release()
    if progress:
        progress("dead zones, areas, N-1", 3, 3)
    return result


def default_cache_dir(scen: Scenario, out_dir: Path) -> Path:
    """Per-mast loss cache folder: ``[output] cache_dir`` or ``<out_dir>/.cache``."""
    return scen.output.cache_dir or Path(out_dir) / ".cache"


def compute_result(inputs: Inputs, cache: LossCache, executor: Executor,
                   progress: ProgressFn | None = None,
                   device: ComputeDevice | None = None,
                   spill: Spill | None = None) -> RunResult:
    """Coverage (configured state, plus night when there is PV), summarised; the area
    kernel runs on ``device`` (default: ``[model] device`` resolved here). With a
    ``spill`` folder the coverage bands of a tiled grid are held in files on disk
    (:mod:`c2000cov.files.spill`), not in memory."""
    device = device or select_device(inputs.scenario.model)
    states, interference = noise_states(inputs, progress, cache)
    covs = tiled_coverage(inputs, states, cache, executor, progress, device,
                          inputs.scenario.output.tile_px, spill)
    result = RunResult(inputs, covs[states[0].name], interference=interference,
                       device=device.manifest())
    if len(states) > 1:
        result.night = covs[states[1].name]
    return summarise(result, progress, cache, spill)


def write_products(result: RunResult, out_dir: Path, spill: Spill | None = None
                   ) -> RunResult:
    """Write the run folder, then the report that reads it, into a staging folder that
    replaces ``out_dir`` as a whole: the folder holds one complete run, never a mix. The
    pages of ``spill``'s bands that the rasters read are dropped before the report."""
    out_dir = Path(out_dir)
    with replaced_folder(out_dir, MANIFEST) as staging:
        write_run_folder(result, staging)
        if spill is not None:
            spill.release()
        result.files.append(build_report(staging))
    result.files = [out_dir / p.relative_to(staging) for p in result.files]
    return result


def prepare_output(scen: Scenario, out_dir: Path) -> None:
    """Refuse before any work: colliding profile names, or an output folder that is not
    a run folder (a run replaces its whole folder)."""
    check_profile_names(scen.profiles, scen.source.name)
    check_replaceable(out_dir, MANIFEST)


def run_scenario(scen: Scenario, out_dir: Path | None = None,
                 progress: ProgressFn | None = None, executor: Executor | None = None,
                 cache_dir: Path | None | bool = None,
                 max_memory_gb: float | None = None) -> RunResult:
    """Load, compute, summarise and write one scenario.

    Parameters
    ----------
    scen : Scenario
        A validated scenario.
    out_dir : Path, optional
        Output folder; default the scenario's ``[output] dir``.
    progress : callable, optional
        ``progress(stage, done, total)``.
    executor : Executor, optional
        Serial, local or Dask (default: local).
    cache_dir : Path, False or None
        Per-mast loss cache folder; None: the default, False: no cache.
    max_memory_gb : float, optional
        Refuse the run when its estimated memory exceeds this (GB); default 80 % of
        this machine's memory (:mod:`c2000cov.pipeline.memory`).
    """
    out_dir = Path(out_dir or scen.output.dir)
    device = select_device(scen.model)  # before anything is read or written: no GPU fails here
    prepare_output(scen, out_dir)
    with folder_lock(out_dir):
        return _run_locked(scen, out_dir, progress, executor, cache_dir, max_memory_gb, device)


def _run_locked(scen: Scenario, out_dir: Path, progress, executor, cache_dir,
                max_memory_gb: float | None, device: ComputeDevice) -> RunResult:
    t0 = time.perf_counter()
    inputs = load_inputs(scen, max_memory_gb)
    cache = LossCache(None if cache_dir is False else
                      (cache_dir or default_cache_dir(scen, out_dir)))
    t1 = time.perf_counter()
    # the coverage bands in files next to the output folder, not in memory (at 10 m the
    # whole country's are 10 GB); unlinked files, gone with the run's arrays
    spill = Spill(out_dir.parent)
    result = compute_result(inputs, cache, executor or LocalExecutor(), progress, device,
                            spill)
    store_base_state(result, cache)  # a what-if adding masts starts from this reduction
    spill.release()
    t2 = time.perf_counter()
    write_products(result, out_dir, spill)
    t3 = time.perf_counter()
    result.timings_s = {"load_s": t1 - t0, "compute_s": t2 - t1, "write_s": t3 - t2}
    result.cache = cache
    return result
