"""The main job: a scenario in, coverage rasters, dead zones, tables and a map out.

Stages, kept separate so later features can replace any one of them:

1. :func:`load_inputs` reads and validates every input (nothing is written
   before all inputs are known to be good);
2. :func:`noise_states` turns solar installations into uplink noise rise per
   mast and a downlink noise raster (sunny day and night);
3. :func:`compute_coverage` runs the propagation model per mast (cached, on
   the chosen executor) and folds each mast into the per-profile best-server
   reduction of every noise state;
4. :func:`summarise` derives dead-zone polygons, per-area statistics and the
   N-1 ranking;
5. :func:`write_outputs` writes every file atomically, then the report.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from c2000cov import __version__
from c2000cov.antenna import AntennaPattern, mast_gain_toward_dbi, read_msi
from c2000cov.areas import area_statistics, area_weights, population_to_grid
from c2000cov.bundle import timestamp_utc
from c2000cov.cache import LossCache, array_key, loss_key
from c2000cov.config import ModelConfig, Scenario, scenario_parameters
from c2000cov.coverage import (
    BestServer,
    ProfileCoverage,
    Terminal,
    downlink_signal_dbm,
    finish,
    uplink_signal_dbm,
)
from c2000cov.deadzones import dead_zones
from c2000cov.executor import Executor, LocalExecutor
from c2000cov.grid import Grid, Window
from c2000cov.io import (
    atomic_path,
    check_masts_inside,
    read_areas,
    read_masts,
    read_pv,
    read_vector,
    require_columns,
    write_cog,
    write_csv,
    write_gpkg,
)
from c2000cov.itu import p2109
from c2000cov.probability import combine_sigma_db, fade_margin_db
from c2000cov.propagation import (
    KERNEL_VERSION,
    MODEL_SOURCES,
    MastGeometry,
    mast_geometry,
    window_losses_db,
)
from c2000cov.surface import Surface, build_surface, scenario_grid
from c2000cov.whatif import n1_outage

ProgressFn = Callable[[str, int, int], None]
#: Decimals of p_cover (0-1) and of signal levels (dBm) in the output GeoTIFFs.
P_COVER_DECIMALS = 4
SIGNAL_DECIMALS = 2


@dataclass
class Inputs:
    """Validated inputs of a run."""

    scenario: Scenario
    grid: Grid
    surface: Surface
    masts: pd.DataFrame
    patterns: dict[str, AntennaPattern]
    pv: gpd.GeoDataFrame | None
    areas: gpd.GeoDataFrame | None
    roads: gpd.GeoDataFrame | None = None
    population: np.ndarray | gpd.GeoDataFrame | None = None


@dataclass
class RunResult:
    """What a run computed, before or after writing."""

    inputs: Inputs
    coverage: dict[str, ProfileCoverage]
    dead_zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    area_table: pd.DataFrame | None = None
    night: dict[str, ProfileCoverage] | None = None
    n1_table: pd.DataFrame | None = None
    delta_table: pd.DataFrame | None = None
    extra_writers: list[Callable[[Path], list[Path]]] = field(default_factory=list)
    manifest_extra: dict = field(default_factory=dict)
    cache: LossCache | None = None
    interference: object | None = None  # interference.UplinkResult when PV is given
    timings_s: dict[str, float] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def load_inputs(scen: Scenario) -> Inputs:
    """Read and validate every input of a scenario onto its grid."""
    grid = scenario_grid(scen)
    surface = build_surface(scen, grid)
    masts = read_masts(scen.masts.path, grid.crs, scen.masts.layer)
    check_masts_inside(masts, grid, surface.ground_m, scen.masts.path.name)
    patterns = {p: read_msi(Path(p)) for p in sorted(set(masts["pattern"].dropna()))}
    pv = read_pv(scen.pv.path, grid.crs, scen.pv.layer) if scen.pv else None
    areas = (read_areas(scen.areas.path, scen.areas.name_column, grid.crs, scen.areas.layer)
             if scen.areas else None)
    roads = (read_vector(scen.roads.path, "roads", scen.roads.layer, grid.crs)
             if scen.roads else None)
    population = None
    if scen.population is not None:
        pop = scen.population
        if pop.path.suffix.lower() in (".tif", ".tiff"):
            population = population_to_grid(pop.path, grid)
        else:
            population = read_vector(pop.path, "population", pop.layer, grid.crs)
            require_columns(population, [pop.column], pop.path, "population")
    return Inputs(scen, grid, surface, masts, patterns, pv, areas, roads, population)


def mast_gain_dbi(mast: pd.Series, geom: MastGeometry, window: Window, surface: Surface,
                  h_rx_m: float, patterns: dict[str, AntennaPattern]):
    """Mast antenna gain toward each window pixel (dBi): omni gain, or the pattern."""
    if not isinstance(mast["pattern"], str):
        return float(mast["gain_dbi"])
    res = surface.grid.resolution_m
    rows = np.arange(window.row_off, window.row_off + window.height) - geom.row
    cols = np.arange(window.col_off, window.col_off + window.width) - geom.col
    dx = np.broadcast_to(cols[None, :] * res, (window.height, window.width))
    dy = np.broadcast_to(-rows[:, None] * res, (window.height, window.width))
    dh = surface.ground_m[window.slices] + h_rx_m - geom.h_amsl_m
    dist = np.maximum(np.hypot(dx, dy), 0.5 * res)
    return mast_gain_toward_dbi(mast, patterns, dx, dy, dh, dist).astype("float32")


@dataclass(frozen=True)
class ProfilePlan:
    """Per-profile constants for the link budget."""

    name: str
    terminal: Terminal
    h_rx_m: float
    evaluated: np.ndarray  # bool: pixels evaluated (all, or buildings for indoor)
    bel_dl_db: np.ndarray | float
    bel_ul_db: np.ndarray | float
    sigma_total_db: np.ndarray | float
    margin_needed_db: np.ndarray | float
    target_pct: float


def plan_profiles(inputs: Inputs) -> list[ProfilePlan]:
    """Terminal terms, evaluated pixels and entry losses of every profile."""
    scen, surf = inputs.scenario, inputs.surface
    plans = []
    for name, prof in scen.profiles.items():
        valid = np.isfinite(surf.ground_m)
        if prof.indoor:
            evaluated = valid & surf.building_mask
            if prof.building_class == "by_year":
                efficient = surf.building_year >= prof.year_threshold
                efficient &= surf.building_year > 0
            else:
                efficient = np.full(surf.grid.shape,
                                    prof.building_class == "thermally_efficient")
            bel = {}
            for key, freq in (("dl", scen.radio.dl_freq_mhz), ("ul", scen.radio.ul_freq_mhz)):
                trad_med, trad_sig = p2109.entry_loss_median_and_sigma_db(freq, "traditional")
                eff_med, eff_sig = p2109.entry_loss_median_and_sigma_db(freq,
                                                                        "thermally_efficient")
                bel[key] = np.where(efficient, eff_med, trad_med).astype("float32")
                if key == "dl":
                    bel_sigma = np.where(efficient, eff_sig, trad_sig).astype("float32")
            sigma_total = np.asarray(combine_sigma_db(prof.sigma_db, bel_sigma), dtype="float32")
            bel_dl, bel_ul = bel["dl"], bel["ul"]
        else:
            evaluated = valid
            bel_dl = bel_ul = 0.0
            sigma_total = prof.sigma_db
        plans.append(ProfilePlan(name, Terminal.from_profile(prof), prof.h_rx_m, evaluated,
                                 bel_dl, bel_ul, sigma_total,
                                 fade_margin_db(sigma_total, prof.target_pct), prof.target_pct))
    return plans


def _window_of(arr, window: Window):
    return arr[window.slices] if isinstance(arr, np.ndarray) else arr


@dataclass(frozen=True)
class NoiseState:
    """One interference state: uplink noise rise per mast and downlink per pixel (dB)."""

    name: str
    d_ul_db: np.ndarray | None = None
    d_dl_db: np.ndarray | dict[str, np.ndarray] | None = None  # per pixel, or per profile


@dataclass(frozen=True)
class MastJob:
    """A work unit: one mast's loss windows at each (frequency, receiver height)."""

    index: int
    model: ModelConfig
    surface_win: np.ndarray
    ground_win: np.ndarray
    tx_row: int
    tx_col: int
    h_agl_m: float
    res_m: float
    combos: tuple[tuple[float, float], ...]  # (freq_mhz, h_rx_m) still to compute


def run_mast_job(job: MastJob) -> dict[tuple[float, float], np.ndarray]:
    """Compute a mast's loss windows (pure function: safe on any executor).

    One call of :func:`window_losses_db` per receiver height computes all its
    frequencies (one kernel sweep for ``p1812``).
    """
    freqs_by_h: dict[float, list[float]] = {}
    for f, h in job.combos:
        freqs_by_h.setdefault(h, []).append(f)
    out = {}
    for h, freqs in freqs_by_h.items():
        losses = window_losses_db(job.model, job.surface_win, job.ground_win, job.tx_row,
                                  job.tx_col, job.h_agl_m, h, job.res_m, freqs)
        for f in freqs:
            out[(f, h)] = losses[float(f)]
    return {c: out[c] for c in job.combos}


def mast_losses(inputs: Inputs, combos: list[tuple[float, float]], cache: LossCache,
                executor: Executor, progress: ProgressFn | None = None):
    """Yield ``(i, geom, window, {(freq, h_rx): loss})`` per mast, in masts-file order.

    Cached windows are read from ``cache`` when their mast's turn comes; the
    rest run on ``executor`` and are stored in the cache as they arrive. Only
    the mast being folded (plus the executor's in-flight units) is held in
    memory, so memory does not grow with the number of masts.
    """
    scen, surf, masts = inputs.scenario, inputs.surface, inputs.masts
    grid = surf.grid
    n = len(masts)
    prepared = []
    for i in range(n):
        mast = masts.iloc[i]
        geom = mast_geometry(surf, mast["x_m"], mast["y_m"], mast["h_agl_m"])
        window = grid.window_around(geom.row, geom.col, scen.model.radius_m)
        s_win, g_win = surf.surface_m[window.slices], surf.ground_m[window.slices]
        keys = {c: loss_key(s_win, g_win, grid.window_transform(window),
                            geom.row - window.row_off, geom.col - window.col_off, geom.h_agl_m,
                            scen.model, c[0], c[1], KERNEL_VERSION) for c in combos}
        todo = tuple(c for c in combos if not cache.has(keys[c]))
        job = MastJob(i, scen.model, s_win, g_win, geom.row - window.row_off,
                      geom.col - window.col_off, geom.h_agl_m, grid.resolution_m, todo)
        prepared.append((geom, window, keys, job))
    results = executor.map_ordered(run_mast_job, (p[3] for p in prepared if p[3].combos))
    for i, (geom, window, keys, job) in enumerate(prepared):
        losses: dict[tuple[float, float], np.ndarray] = {}
        if job.combos:
            for c, loss in next(results).items():
                cache.put(keys[c], loss)
                losses[c] = loss
        for c in combos:
            if c not in losses:
                loss = cache.get(keys[c])
                if loss is None:  # removed since the check: compute it here
                    loss = run_mast_job(replace(job, combos=(c,)))[c]
                    cache.put(keys[c], loss)
                losses[c] = loss
        if progress:
            progress("masts", i + 1, n)
        yield i, geom, window, losses
        del losses


def clutter_loss_db(model: ModelConfig, freq_mhz: float, h_rx_m: float) -> float:
    """ITU-R P.2108 section 3.1 height-gain correction at the receiver (0 dB when off)."""
    if not model.clutter_correction:
        return 0.0
    from c2000cov.itu.p2108 import height_gain_correction_db

    return float(height_gain_correction_db(freq_mhz, h_rx_m, model.clutter_type))


def compute_coverage(inputs: Inputs, states: list[NoiseState] | None = None,
                     progress: ProgressFn | None = None, cache: LossCache | None = None,
                     executor: Executor | None = None,
                     ) -> dict[str, dict[str, ProfileCoverage]]:
    """Run the model for every mast and reduce to per-profile coverage, per noise state.

    Parameters
    ----------
    inputs : Inputs
        Validated inputs.
    states : list of NoiseState, optional
        Interference states; default one state ``main`` without noise rise.
        Path losses are computed once and shared by all states.
    progress : callable, optional
        Called as ``progress(stage, done, total)``.
    cache : LossCache, optional
        Per-mast loss cache.
    executor : Executor, optional
        How the per-mast work runs (default: serial).

    Returns
    -------
    dict
        ``{state name: {profile name: ProfileCoverage}}``.
    """
    scen, surf, masts = inputs.scenario, inputs.surface, inputs.masts
    states = states or [NoiseState("main")]
    plans = plan_profiles(inputs)
    best = {(st.name, p.name): BestServer.empty(surf.grid.shape) for st in states for p in plans}
    freqs = {"dl": scen.radio.dl_freq_mhz, "ul": scen.radio.ul_freq_mhz}
    combos = sorted({(f, p.h_rx_m) for p in plans for f in freqs.values()})
    cache = cache or LossCache(None)
    executor = executor or Executor()
    clutter_db = {c: clutter_loss_db(scen.model, *c) for c in combos}
    for i, geom, window, losses in mast_losses(inputs, combos, cache, executor, progress):
        mast = masts.iloc[i]
        gains: dict[float, np.ndarray | float] = {}
        for plan in plans:
            loss_dl = losses[(freqs["dl"], plan.h_rx_m)] + clutter_db[(freqs["dl"], plan.h_rx_m)]
            loss_ul = losses[(freqs["ul"], plan.h_rx_m)] + clutter_db[(freqs["ul"], plan.h_rx_m)]
            if plan.h_rx_m not in gains:
                gains[plan.h_rx_m] = mast_gain_dbi(mast, geom, window, surf, plan.h_rx_m,
                                                   inputs.patterns)
            gain = gains[plan.h_rx_m]
            s_dl = downlink_signal_dbm(mast["tx_power_dbm"], gain, mast["tx_loss_db"], loss_dl,
                                       plan.terminal, _window_of(plan.bel_dl_db, window))
            s_ul = uplink_signal_dbm(gain, mast["rx_loss_db"], loss_ul, plan.terminal,
                                     _window_of(plan.bel_ul_db, window))
            ev = plan.evaluated[window.slices]
            for st in states:
                d_dl = st.d_dl_db.get(plan.name) if isinstance(st.d_dl_db, dict) else st.d_dl_db
                req_dl = plan.terminal.ms_sensitivity_dbm + (
                    0.0 if d_dl is None else d_dl[window.slices])
                req_ul = plan.terminal.bs_sensitivity_dbm + (
                    0.0 if st.d_ul_db is None else float(st.d_ul_db[i]))
                m_dl = np.where(ev, s_dl - req_dl, np.nan)
                m_ul = np.where(ev, s_ul - req_ul, np.nan)
                best[(st.name, plan.name)].update(i, window, m_dl, m_ul, s_dl,
                                                  _window_of(plan.margin_needed_db, window))
    return {st.name: {p.name: finish(p.name, surf.grid, best[(st.name, p.name)],
                                     p.sigma_total_db, p.target_pct, scen.classes, p.evaluated)
                      for p in plans}
            for st in states}


def summarise(result: RunResult, progress: ProgressFn | None = None) -> RunResult:
    """Dead zones, per-area statistics and the N-1 ranking of a computed run."""
    inputs = result.inputs
    if progress:
        progress("dead zones, areas, N-1", 0, 3)
    dz = inputs.scenario.dead_zones
    result.dead_zones = {name: dead_zones(cov, inputs.masts, inputs.areas, dz.min_area_m2,
                                          dz.simplify_m)
                         for name, cov in result.coverage.items()}
    weights = area_weights(inputs.areas, inputs.grid)
    extra = {"population": inputs.population, "roads": inputs.roads, "weights": weights}
    if inputs.scenario.population is not None:
        extra["population_column"] = inputs.scenario.population.column
    if progress:
        progress("dead zones, areas, N-1", 1, 3)
    result.area_table = area_statistics(list(result.coverage.values()), inputs.areas,
                                        dead_zones=result.dead_zones, **extra)
    if result.night is not None:
        night = area_statistics(list(result.night.values()), inputs.areas, **extra)
        table = result.area_table
        table["covered_pct_night"] = night["covered_pct"].to_numpy()
        table["sunny_loss_pp"] = table["covered_pct_night"] - table["covered_pct"]
    if progress:
        progress("dead zones, areas, N-1", 2, 3)
    result.n1_table = n1_outage(result.coverage, inputs.masts, inputs.areas)
    if progress:
        progress("dead zones, areas, N-1", 3, 3)
    return result


def git_commit() -> str:
    """The git commit of the installed source tree, or 'unknown'."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5, check=False)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def coverage_bands(cov: ProfileCoverage):
    """Bands, descriptions and units of ``p_cover_<profile>.tif``.

    Probabilities are stored to 1e-4 and signals to 0.01 dB
    (:data:`P_COVER_DECIMALS`, :data:`SIGNAL_DECIMALS`): finer digits carry
    no information and only defeat compression (17.6 MB -> 10 MB per demo file).
    """
    bands = [np.round(cov.p_cover, P_COVER_DECIMALS), cov.limiting.astype("float32"),
             cov.server.astype("float32"), np.round(cov.signal_dl_dbm, SIGNAL_DECIMALS),
             cov.n_at_target.astype("float32"),
             cov.coverage_class.astype("float32")]
    desc = ["p_cover", "limiting", "best_server", "best_signal_dl_dbm", "n_masts_at_target",
            "class"]
    units = ["1", "code: 1=DL 2=UL 0=none", "mast index (see masts_used.csv), -1=none", "dBm",
             "count", "code: 3=good 2=reduced 1=poor 0=none 255=not evaluated"]
    return bands, desc, units


def _write_coverage(out_dir: Path, suffix: str, covs: dict[str, ProfileCoverage], grid: Grid,
                    model_source: str) -> list[Path]:
    files = []
    for name, cov in covs.items():
        bands, desc, units = coverage_bands(cov)
        files.append(write_cog(out_dir / f"p_cover_{name}{suffix}.tif", bands, grid, desc,
                               units=units,
                               tags={"profile": name, "target_pct": f"{cov.target_pct:g}",
                                     "model": model_source}))
    return files


def write_outputs(result: RunResult, out_dir: Path) -> RunResult:
    """Write rasters, dead zones, tables and the run manifest into ``out_dir``."""
    inputs = result.inputs
    scen, grid = inputs.scenario, inputs.grid
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = MODEL_SOURCES[scen.model.name]
    files = _write_coverage(out_dir, "", result.coverage, grid, source)
    if result.night is not None:
        files += _write_coverage(out_dir, "_night", result.night, grid, source)
    files.append(write_gpkg(out_dir / "dead_zones.gpkg", result.dead_zones))
    if inputs.areas is not None:
        files.append(write_gpkg(out_dir / "areas_used.gpkg", {"areas": inputs.areas}))
    files.append(write_csv(out_dir / "areas_coverage.csv", result.area_table))
    if result.n1_table is not None:
        files.append(write_csv(out_dir / "n1_outage.csv", result.n1_table))
    masts = inputs.masts.copy()
    masts.insert(0, "mast_index", np.arange(len(masts)))
    masts["pattern"] = [Path(p).name if isinstance(p, str) else "" for p in masts["pattern"]]
    files.append(write_csv(out_dir / "masts_used.csv", masts))
    for writer in result.extra_writers:
        files += writer(out_dir)
    manifest = {
        "scenario": scen.scenario.name,
        "software": {"c2000cov": __version__, "git_commit": git_commit(),
                     "python": platform.python_version()},
        "model": {"name": scen.model.name, "source": source},
        "parameters": scenario_parameters(scen),
        "parameter_origins": dict(sorted(scen.origins.items())),
        "run_utc": timestamp_utc(),
        "grid": {"crs": grid.crs.to_string(), "bounds_m": list(grid.bounds_m),
                 "resolution_m": grid.resolution_m, "shape": list(grid.shape)},
        "covered_pct": {name: _covered_pct(cov) for name, cov in result.coverage.items()},
        "files": sorted(p.name for p in files),
        **result.manifest_extra,
    }
    with atomic_path(out_dir / "run.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    files.append(out_dir / "run.json")
    from c2000cov.report import build_report

    files.append(build_report(out_dir))
    result.files = files
    return result


def _covered_pct(cov: ProfileCoverage) -> float:
    ev = np.isfinite(cov.p_cover)
    return float(100.0 * (cov.p_cover[ev] >= cov.target_pct / 100.0).mean()) if ev.any() else 0.0


def default_cache_dir(scen: Scenario, out_dir: Path) -> Path:
    """Per-mast loss cache folder: ``[output] cache_dir`` or ``<out_dir>/.cache``."""
    return scen.output.cache_dir or Path(out_dir) / ".cache"


def compute_result(inputs: Inputs, cache: LossCache, executor: Executor,
                   progress: ProgressFn | None = None) -> RunResult:
    """Coverage (configured state, plus night when there is PV), summarised."""
    states = noise_states(inputs, progress, cache)
    covs = compute_coverage(inputs, [st for st, _ in states], progress, cache, executor)
    main_name = states[0][0].name
    result = RunResult(inputs, covs[main_name])
    if len(states) > 1:
        result.night = covs["night"]
    for _, extra in states:
        if extra is not None:
            extra(result)
    return summarise(result, progress)


def noise_states(inputs: Inputs, progress: ProgressFn | None = None,
                 cache: LossCache | None = None):
    """Interference states ``[(NoiseState, hook)]``: the configured one first.

    Without a PV layer there is one state without noise rise. With one, the
    configured ``sun_factor`` state comes first and a night state (no
    emission) second; the hook adds the interference outputs to the result.

    The downlink noise rise is computed once per receiver height as the
    interference-to-noise ratio of an isotropic 0 dB terminal, then scaled to
    each profile's terminal gain (``ms_gain_dbi - body_loss_db -
    extra_loss_db``): ``D = 10 log10(1 + (I/N) g)``. Indoors the interference
    is not reduced by the entry loss (conservative: the emitter is usually on
    the same roof). The raster is cached like the path-loss windows, keyed by
    the emitters, the surface and the model, so a what-if that changes only
    masts reuses it.
    """
    if inputs.pv is None:
        return [(NoiseState("main"), None)]
    from c2000cov import interference as itf

    scen, surf = inputs.scenario, inputs.surface
    cfg = scen.interference
    area = (itf.read_mitigation_area(cfg.mitigate_within, inputs.grid.crs)
            if cfg.mitigate_within else None)
    eff = itf.effective_pv(inputs.pv, cfg, scen.radio, area)
    sources = itf.pv_sources(eff, surf, cfg)
    up = itf.uplink_interference(sources, inputs.masts, surf, scen.model, scen.radio, cfg,
                                 inputs.patterns, progress=progress)
    in_db: dict[float, np.ndarray] = {}
    d_dl: dict[str, np.ndarray] = {}
    for name, prof in scen.profiles.items():
        if prof.h_rx_m not in in_db:
            key = array_key("noise_rise_dl", KERNEL_VERSION, surf.surface_m, surf.ground_m,
                            list(inputs.grid.transform)[:6], sources.x_m, sources.y_m,
                            sources.h_agl_m, sources.eirp_mw, dataclasses.asdict(scen.model),
                            dataclasses.asdict(scen.radio), dataclasses.asdict(cfg),
                            prof.h_rx_m)
            d0 = cache.get(key) if cache is not None else None
            if d0 is None:
                d0 = itf.downlink_noise_rise_db(sources, surf, scen.model, scen.radio, cfg,
                                                h_rx_m=prof.h_rx_m, rx_gain_db=0.0,
                                                progress=progress)
                if cache is not None:
                    cache.put(key, d0)
            in_db[prof.h_rx_m] = np.expm1(np.log(10.0) * np.nan_to_num(d0) / 10.0)
        gain = Terminal.from_profile(prof).dl_terminal_db
        d_dl[name] = (10.0 * np.log10(1.0 + in_db[prof.h_rx_m] * 10.0 ** (gain / 10.0))
                      ).astype("float32")
    first = next(iter(scen.profiles))

    def hook(result: RunResult) -> None:
        grid = inputs.grid

        def write(folder: Path) -> list[Path]:
            names = list(d_dl)
            return [write_csv(folder / "masts_interference.csv", up.masts),
                    write_cog(folder / "noise_rise_dl_db.tif", [d_dl[n] for n in names], grid,
                              [f"noise_rise_dl_db_{n}" for n in names],
                              units=["dB"] * len(names),
                              tags={"sun_factor": f"{cfg.sun_factor:g}"}),
                    write_gpkg(folder / "pv_used.gpkg", {"pv": itf.pv_table(eff)})]

        result.extra_writers.append(write)
        result.manifest_extra["interference"] = {
            "sun_factor": cfg.sun_factor, **itf.noise_rise_summary(up, d_dl[first])}
        result.interference = up

    return [(NoiseState("main", up.d_ul_db, d_dl), hook), (NoiseState("night"), None)]


def run_scenario(scen: Scenario, out_dir: Path | None = None,
                 progress: ProgressFn | None = None, executor: Executor | None = None,
                 cache_dir: Path | None | bool = None) -> RunResult:
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
    """
    out_dir = Path(out_dir or scen.output.dir)
    t0 = time.perf_counter()
    inputs = load_inputs(scen)
    cache = LossCache(None if cache_dir is False else
                      (cache_dir or default_cache_dir(scen, out_dir)))
    t1 = time.perf_counter()
    result = compute_result(inputs, cache, executor or LocalExecutor(), progress)
    t2 = time.perf_counter()
    write_outputs(result, out_dir)
    t3 = time.perf_counter()
    result.timings_s = {"load_s": t1 - t0, "compute_s": t2 - t1, "write_s": t3 - t2}
    result.cache = cache
    return result
