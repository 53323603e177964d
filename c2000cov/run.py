"""The main job: a scenario in, coverage rasters, dead zones, tables and a map out.

Stages, kept separate so later features can replace any one of them:

1. :func:`load_inputs` reads and validates every input (nothing is written
   before all inputs are known to be good);
2. :func:`compute_coverage` runs the propagation model per mast and folds
   each mast into the per-profile best-server reduction;
3. :func:`summarise` derives dead-zone polygons and per-area statistics;
4. :func:`write_outputs` writes every file atomically.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from c2000cov import __version__
from c2000cov.antenna import AntennaPattern, bearing_deg, elevation_deg, gain_toward_dbi, read_msi
from c2000cov.areas import area_statistics
from c2000cov.config import Scenario, scenario_parameters
from c2000cov.coverage import (
    BestServer,
    ProfileCoverage,
    Terminal,
    downlink_signal_dbm,
    finish,
    uplink_signal_dbm,
)
from c2000cov.deadzones import dead_zones
from c2000cov.grid import Grid, Window
from c2000cov.io import (
    check_masts_inside,
    read_areas,
    read_masts,
    read_pv,
    write_cog,
    write_csv,
    write_gpkg,
)
from c2000cov.itu import p2109
from c2000cov.probability import combine_sigma_db, fade_margin_db
from c2000cov.propagation import MODEL_SOURCES, MastGeometry, mast_geometry, path_loss_db
from c2000cov.surface import Surface, build_surface, scenario_grid

ProgressFn = Callable[[str, int, int], None]


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


@dataclass
class RunResult:
    """What a run computed, before or after writing."""

    inputs: Inputs
    coverage: dict[str, ProfileCoverage]
    dead_zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    area_table: pd.DataFrame | None = None
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
    return Inputs(scen, grid, surface, masts, patterns, pv, areas)


def mast_gain_dbi(mast: pd.Series, geom: MastGeometry, window: Window, surface: Surface,
                  h_rx_m: float, patterns: dict[str, AntennaPattern]):
    """Mast antenna gain toward each window pixel (dBi): the pattern, or omni gain."""
    if mast["pattern"] is None or (isinstance(mast["pattern"], float)
                                   and math.isnan(mast["pattern"])):
        return float(mast["gain_dbi"])
    res = surface.grid.resolution_m
    rows = np.arange(window.row_off, window.row_off + window.height) - geom.row
    cols = np.arange(window.col_off, window.col_off + window.width) - geom.col
    dx = np.broadcast_to(cols[None, :] * res, (window.height, window.width))
    dy = np.broadcast_to(-rows[:, None] * res, (window.height, window.width))
    dist = np.hypot(dx, dy)
    dh = surface.ground_m[window.slices] + h_rx_m - geom.h_amsl_m
    pattern = patterns[mast["pattern"]]
    # The masts file's gain_dbi is the antenna's maximum gain; the pattern gives its shape.
    shape_db = gain_toward_dbi(pattern, float(mast["azimuth_deg"]), float(mast["tilt_deg"]),
                               bearing_deg(dx, dy),
                               elevation_deg(dh, np.maximum(dist, 0.5 * res))) - pattern.gain_dbi
    return (float(mast["gain_dbi"]) + shape_db).astype("float32")


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


def compute_coverage(inputs: Inputs, d_ul_db: np.ndarray | None = None,
                     d_dl_db: np.ndarray | None = None,
                     progress: ProgressFn | None = None) -> dict[str, ProfileCoverage]:
    """Run the model for every mast and reduce to per-profile coverage.

    Parameters
    ----------
    inputs : Inputs
        Validated inputs.
    d_ul_db : array (n_masts,), optional
        Uplink noise rise per mast (dB) added to the BS sensitivity.
    d_dl_db : 2-D array, optional
        Downlink noise rise per pixel (dB) added to the MS sensitivity.
    progress : callable, optional
        Called as ``progress(stage, done, total)``.
    """
    scen, surf, masts = inputs.scenario, inputs.surface, inputs.masts
    n = len(masts)
    d_ul_db = np.zeros(n) if d_ul_db is None else np.asarray(d_ul_db, dtype=float)
    plans = plan_profiles(inputs)
    best = {p.name: BestServer.empty(surf.grid.shape) for p in plans}
    freqs = {"dl": scen.radio.dl_freq_mhz, "ul": scen.radio.ul_freq_mhz}
    for i in range(n):
        mast = masts.iloc[i]
        geom = mast_geometry(surf, mast["x_m"], mast["y_m"], mast["h_agl_m"])
        losses: dict[tuple[str, float], tuple[Window, np.ndarray]] = {}
        gains: dict[float, np.ndarray | float] = {}
        for plan in plans:
            for key, freq in freqs.items():
                if (key, plan.h_rx_m) not in losses:
                    losses[(key, plan.h_rx_m)] = path_loss_db(scen.model, surf, geom, freq,
                                                              plan.h_rx_m)
            window, loss_dl = losses[("dl", plan.h_rx_m)]
            _, loss_ul = losses[("ul", plan.h_rx_m)]
            if plan.h_rx_m not in gains:
                gains[plan.h_rx_m] = mast_gain_dbi(mast, geom, window, surf, plan.h_rx_m,
                                                   inputs.patterns)
            gain = gains[plan.h_rx_m]
            s_dl = downlink_signal_dbm(mast["tx_power_dbm"], gain, mast["tx_loss_db"], loss_dl,
                                       plan.terminal, _window_of(plan.bel_dl_db, window))
            s_ul = uplink_signal_dbm(gain, mast["rx_loss_db"], loss_ul, plan.terminal,
                                     _window_of(plan.bel_ul_db, window))
            req_dl = plan.terminal.ms_sensitivity_dbm + (
                0.0 if d_dl_db is None else d_dl_db[window.slices])
            req_ul = plan.terminal.bs_sensitivity_dbm + d_ul_db[i]
            ev = plan.evaluated[window.slices]
            m_dl = np.where(ev, s_dl - req_dl, np.nan)
            m_ul = np.where(ev, s_ul - req_ul, np.nan)
            best[plan.name].update(i, window, m_dl, m_ul, s_dl,
                                   _window_of(plan.margin_needed_db, window))
        if progress:
            progress("masts", i + 1, n)
    return {p.name: finish(p.name, surf.grid, best[p.name], p.sigma_total_db, p.target_pct,
                           scen.classes, p.evaluated) for p in plans}


def summarise(result: RunResult) -> RunResult:
    """Dead zones and per-area statistics of a computed run."""
    inputs = result.inputs
    dz = inputs.scenario.dead_zones
    result.dead_zones = {name: dead_zones(cov, inputs.masts, inputs.areas, dz.min_area_m2,
                                          dz.simplify_m)
                         for name, cov in result.coverage.items()}
    result.area_table = area_statistics(list(result.coverage.values()), inputs.areas)
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
    """Bands, descriptions and units of ``p_cover_<profile>.tif``."""
    bands = [cov.p_cover, cov.limiting.astype("float32"), cov.server.astype("float32"),
             cov.signal_dl_dbm, cov.n_at_target.astype("float32"),
             cov.coverage_class.astype("float32")]
    desc = ["p_cover", "limiting", "best_server", "best_signal_dl_dbm", "n_masts_at_target",
            "class"]
    units = ["1", "code: 1=DL 2=UL 0=none", "mast index (see masts_used.csv), -1=none", "dBm",
             "count", "code: 3=good 2=reduced 1=poor 0=none 255=not evaluated"]
    return bands, desc, units


def write_outputs(result: RunResult, out_dir: Path) -> RunResult:
    """Write rasters, dead zones, tables and the run manifest into ``out_dir``."""
    inputs = result.inputs
    scen, grid = inputs.scenario, inputs.grid
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, cov in result.coverage.items():
        bands, desc, units = coverage_bands(cov)
        files.append(write_cog(out_dir / f"p_cover_{name}.tif", bands, grid, desc, units=units,
                               tags={"profile": name, "target_pct": f"{cov.target_pct:g}",
                                     "model": MODEL_SOURCES[scen.model.name]}))
    files.append(write_gpkg(out_dir / "dead_zones.gpkg", result.dead_zones))
    if inputs.areas is not None:
        files.append(write_gpkg(out_dir / "areas_used.gpkg", {"areas": inputs.areas}))
    files.append(write_csv(out_dir / "areas_coverage.csv", result.area_table))
    masts = inputs.masts.copy()
    masts.insert(0, "mast_index", np.arange(len(masts)))
    masts["pattern"] = [Path(p).name if p else "" for p in masts["pattern"]]
    files.append(write_csv(out_dir / "masts_used.csv", masts))
    manifest = {
        "scenario": scen.scenario.name,
        "software": {"c2000cov": __version__, "git_commit": git_commit(),
                     "python": platform.python_version()},
        "model": {"name": scen.model.name, "source": MODEL_SOURCES[scen.model.name]},
        "parameters": scenario_parameters(scen),
        "grid": {"crs": grid.crs.to_string(), "bounds_m": list(grid.bounds_m),
                 "resolution_m": grid.resolution_m, "shape": list(grid.shape)},
        "covered_pct": {name: _covered_pct(cov) for name, cov in result.coverage.items()},
        "files": sorted(p.name for p in files),
    }
    from c2000cov.io import atomic_path

    with atomic_path(out_dir / "run.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    files.append(out_dir / "run.json")
    result.files = files
    return result


def _covered_pct(cov: ProfileCoverage) -> float:
    ev = np.isfinite(cov.p_cover)
    return float(100.0 * (cov.p_cover[ev] >= cov.target_pct / 100.0).mean()) if ev.any() else 0.0


def run_scenario(scen: Scenario, out_dir: Path | None = None,
                 progress: ProgressFn | None = None) -> RunResult:
    """Load, compute, summarise and write one scenario.

    Parameters
    ----------
    scen : Scenario
        A validated scenario.
    out_dir : Path, optional
        Output folder; default the scenario's ``[output] dir``.
    progress : callable, optional
        ``progress(stage, done, total)``.
    """
    t0 = time.perf_counter()
    inputs = load_inputs(scen)
    t1 = time.perf_counter()
    coverage = compute_coverage(inputs, progress=progress)
    t2 = time.perf_counter()
    result = summarise(RunResult(inputs, coverage))
    t3 = time.perf_counter()
    write_outputs(result, out_dir or scen.output.dir)
    t4 = time.perf_counter()
    result.timings_s = {"load_s": t1 - t0, "coverage_s": t2 - t1, "summarise_s": t3 - t2,
                        "write_s": t4 - t3}
    return result
