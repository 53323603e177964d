"""Stages 2 and 3 of a run: noise states, then per-mast loss and the best-server reduction.

:func:`noise_states` turns solar installations into an uplink noise rise per
mast and a downlink noise raster (sunny day and night). :func:`compute_coverage`
runs the propagation model per mast (cached, on the chosen executor) and folds
each mast's link budget (:func:`mast_budgets`) into the per-profile best-server
reduction of every noise state, in one pass per mast (:meth:`BestServer.fold`).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from c2000cov.analysis.coverage import BestServer, ProfileCoverage, finish
from c2000cov.analysis.result import InterferenceOutputs
from c2000cov.geo.grid import window_of
from c2000cov.pipeline.cache import (
    LossCache,
    array_key,
    loss_key,
    quantise_loss_db,
    window_digest,
)
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import Inputs
from c2000cov.radio import interference as itf
from c2000cov.radio.antenna import mast_gain_dbi
from c2000cov.radio.budget import (
    MastBudget,
    ProfilePlan,
    Terminal,
    facade_pixels,
    loss_at_facade_db,
    mast_diversity_gain_db,
    plan_profiles,
)
from c2000cov.radio.device import ComputeDevice, select_device
from c2000cov.radio.models import (
    KERNEL_VERSION,
    clutter_loss_db,
    loss_height_m,
    mast_geometry,
    window_losses_db,
)
from c2000cov.scenario.schema import ModelConfig

ProgressFn = Callable[[str, int, int], None]


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
    frequencies (one kernel sweep for ``p1812``). The windows are quantised to
    0.01 dB (:func:`quantise_loss_db`, as the cache stores them), so a run from a
    warm cache equals a cold one bit for bit.
    """
    freqs_by_h: dict[float, list[float]] = {}
    for f, h in job.combos:
        freqs_by_h.setdefault(h, []).append(f)
    out = {}
    for h, freqs in freqs_by_h.items():
        losses = window_losses_db(job.model, job.surface_win, job.ground_win, job.tx_row,
                                  job.tx_col, job.h_agl_m, h, job.res_m, freqs)
        for f in freqs:
            out[(f, h)] = quantise_loss_db(losses[float(f)])
    return {c: out[c] for c in job.combos}


def mast_losses(inputs: Inputs, combos: list[tuple[float, float]], cache: LossCache,
                executor: Executor, progress: ProgressFn | None = None,
                device: ComputeDevice | None = None):
    """Yield ``(i, geom, window, {(freq, h_rx): loss})`` per mast, in masts-file order.

    Cached windows are read from ``cache`` when their mast's turn comes; the
    rest run on ``executor`` and are stored in the cache as they arrive. Only
    the mast being folded (plus the executor's in-flight units) is held in
    memory, so memory does not grow with the number of masts. ``device`` (default:
    resolved from the scenario) is where the kernel runs; the progress stage names it.
    """
    scen, surf, masts = inputs.scenario, inputs.surface, inputs.masts
    device = device or select_device(scen.model)
    model = device.model(scen.model)
    stage = f"masts ({device.label})"
    grid = surf.grid
    n = len(masts)

    def prepare(i: int):
        mast = masts.iloc[i]
        geom = mast_geometry(surf, mast["x_m"], mast["y_m"], mast["h_agl_m"])
        window = grid.window_around(geom.row, geom.col, scen.model.radius_m)
        s_win, g_win = surf.surface_m[window.slices], surf.ground_m[window.slices]
        digest = window_digest(s_win, g_win)  # once per mast, not per key
        keys = {c: loss_key(s_win, g_win, grid.window_transform(window),
                            geom.row - window.row_off, geom.col - window.col_off, geom.h_agl_m,
                            model, c[0], c[1], KERNEL_VERSION, digest) for c in combos}
        todo = tuple(c for c in combos if not cache.has(keys[c]))
        job = MastJob(i, model, s_win, g_win, geom.row - window.row_off,
                      geom.col - window.col_off, geom.h_agl_m, grid.resolution_m, todo)
        return geom, window, keys, job

    # Masts are prepared (window digest, cache lookups) when first needed, in order, by
    # whichever side needs one first: the executor, which asks for its next unit while
    # the kernel runs the current one (so the digests of a cold run overlap the kernel;
    # prepared all up front, before the first kernel call, they took 2.7 s of one core on
    # a quarter of national-25m while the other was idle), or the fold below, for masts
    # whose windows are all in the cache.
    prepared: deque = deque()  # prepared masts not yet folded, in order
    to_run: deque = deque()  # their jobs with windows to compute, not yet handed out
    n_prepared = 0

    def prepare_next() -> None:
        nonlocal n_prepared
        entry = prepare(n_prepared)
        n_prepared += 1
        prepared.append(entry)
        if entry[3].combos:
            to_run.append(entry[3])

    def jobs():
        while True:
            while not to_run:
                if n_prepared == n:
                    return
                prepare_next()
            yield to_run.popleft()

    results = executor.map_ordered(run_mast_job, jobs())
    try:
        for i in range(n):
            if not prepared:  # every mast before i is folded: prepare mast i
                prepare_next()
            geom, window, keys, job = prepared.popleft()
            losses: dict[tuple[float, float], np.ndarray] = {}
            if job.combos:
                for c, loss in next(results).items():
                    cache.put_loss(keys[c], loss)
                    losses[c] = loss
            for c in combos:
                if c not in losses:
                    loss = cache.get(keys[c], shape=job.surface_win.shape)
                    if loss is None:  # removed since the check: compute it here
                        loss = run_mast_job(replace(job, combos=(c,)))[c]
                        cache.put_loss(keys[c], loss)
                    losses[c] = loss
            if progress:
                progress(stage, i + 1, n)
            yield i, geom, window, losses
            del losses
    finally:  # however the caller stops, the executor's in-flight units end here
        results.close()


def profile_plans(inputs: Inputs) -> list[ProfilePlan]:
    """The link-budget plan of every profile of a run: a calibration's fitted σ (if any)
    and the land-cover terminal loss (if any) included."""
    cal = inputs.calibration
    return plan_profiles(inputs.scenario, inputs.surface,
                         None if cal is None else cal.sigma_db, inputs.landcover)


@dataclass(frozen=True)
class MastMargins:
    """One mast's link budget over its window, for one profile and noise state."""

    margin_dl_db: np.ndarray  # NaN where the profile does not evaluate the pixel
    margin_ul_db: np.ndarray
    signal_dl_dbm: np.ndarray


def mast_budgets(inputs: Inputs, states: list[NoiseState], cache: LossCache,
                 executor: Executor, progress: ProgressFn | None = None,
                 device: ComputeDevice | None = None):
    """Yield ``(i, window, {(state name, profile name): MastBudget})`` per mast, in order.

    The link budget of a run, mast by mast: path loss (cached), clutter, antenna
    gain, terminal and entry losses, and the noise rise of each state, as terms
    over the mast's window (:class:`c2000cov.radio.budget.MastBudget`). The
    best-server reduction folds them in one pass per mast
    (:meth:`c2000cov.analysis.coverage.BestServer.fold`); :func:`mast_margins` turns
    them into margins for the optimiser's candidate gains
    (:mod:`c2000cov.pipeline.optimise`) and the what-ifs, so a change of the budget
    reaches all of them.
    """
    scen, surf, masts = inputs.scenario, inputs.surface, inputs.masts
    cal = inputs.calibration
    plans = profile_plans(inputs)
    freqs = {"dl": scen.radio.dl_freq_mhz, "ul": scen.radio.ul_freq_mhz}
    # the loss is computed to the P.2108 clutter height R when clutter_correction is on
    h_loss = {p.h_rx_m: loss_height_m(scen.model, p.h_rx_m) for p in plans}
    combos = sorted({(f, h_loss[p.h_rx_m]) for p in plans for f in freqs.values()})
    clutter_db = {(f, p.h_rx_m): clutter_loss_db(scen.model, f, p.h_rx_m)
                  for p in plans for f in freqs.values()}
    for i, geom, window, losses in mast_losses(inputs, combos, cache, executor, progress,
                                               device):
        mast = masts.iloc[i]
        diversity_db = mast_diversity_gain_db(mast, scen.radio)
        gains: dict[float, np.ndarray | float] = {}
        out: dict[tuple[str, str], MastBudget] = {}
        facade = None
        for plan in plans:
            h_m = h_loss[plan.h_rx_m]
            loss_dl, loss_ul = losses[(freqs["dl"], h_m)], losses[(freqs["ul"], h_m)]
            if plan.indoor:  # P.2109 adds to the outdoor loss at the facade
                if facade is None:
                    facade = facade_pixels(surf.building_mask[window.slices],
                                           geom.row - window.row_off, geom.col - window.col_off,
                                           surf.grid.resolution_m)
                loss_dl = loss_at_facade_db(loss_dl, facade)
                loss_ul = loss_at_facade_db(loss_ul, facade)
            if plan.h_rx_m not in gains:
                gains[plan.h_rx_m] = mast_gain_dbi(mast, geom, window, surf, plan.h_rx_m,
                                                   inputs.patterns)
            ev = plan.evaluated[window.slices]
            for st in states:
                d_dl = st.d_dl_db.get(plan.name) if isinstance(st.d_dl_db, dict) else st.d_dl_db
                out[(st.name, plan.name)] = MastBudget(
                    loss_dl, loss_ul, clutter_db[(freqs["dl"], plan.h_rx_m)],
                    clutter_db[(freqs["ul"], plan.h_rx_m)], mast["tx_power_dbm"],
                    gains[plan.h_rx_m], mast["tx_loss_db"], mast["rx_loss_db"], diversity_db,
                    plan.terminal, window_of(plan.bel_dl_db, window),
                    window_of(plan.bel_ul_db, window),
                    None if cal is None else window_of(cal.offset_db, window), ev,
                    0.0 if d_dl is None else d_dl[window.slices],
                    0.0 if st.d_ul_db is None else float(st.d_ul_db[i]))
        yield i, window, out


def mast_margins(inputs: Inputs, states: list[NoiseState], cache: LossCache,
                 executor: Executor, progress: ProgressFn | None = None,
                 device: ComputeDevice | None = None):
    """Yield ``(i, window, {(state name, profile name): MastMargins})`` per mast, in order:
    the margins of :func:`mast_budgets`."""
    for i, window, budgets in mast_budgets(inputs, states, cache, executor, progress, device):
        yield i, window, {k: MastMargins(*b.margins()) for k, b in budgets.items()}


def compute_coverage(inputs: Inputs, states: list[NoiseState] | None = None,
                     progress: ProgressFn | None = None, cache: LossCache | None = None,
                     executor: Executor | None = None, device: ComputeDevice | None = None,
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
    device : ComputeDevice, optional
        Where the area kernel runs (default: ``[model] device`` resolved here).

    Returns
    -------
    dict
        ``{state name: {profile name: ProfileCoverage}}``.
    """
    scen, surf = inputs.scenario, inputs.surface
    states = states or [NoiseState("main")]
    plans = profile_plans(inputs)
    best = {(st.name, p.name): BestServer.empty(surf.grid.shape) for st in states for p in plans}
    for i, window, budgets in mast_budgets(inputs, states, cache or LossCache(None),
                                           executor or Executor(), progress, device):
        for plan in plans:
            for st in states:
                best[(st.name, plan.name)].fold(i, window, budgets[(st.name, plan.name)],
                                                window_of(plan.margin_needed_db, window))
    return {st.name: {p.name: finish(p.name, surf.grid, best[(st.name, p.name)],
                                     p.sigma_total_db, p.target_pct, scen.classes, p.evaluated)
                      for p in plans}
            for st in states}


def _dl_radio_key(radio) -> dict:
    """The ``[radio]`` keys of the downlink noise raster: the BS receive diversity does not
    change it (a what-if on it reuses the raster)."""
    return {k: v for k, v in dataclasses.asdict(radio).items() if k != "bs_diversity_gain_db"}


def noise_states(inputs: Inputs, progress: ProgressFn | None = None,
                 cache: LossCache | None = None
                 ) -> tuple[list[NoiseState], InterferenceOutputs | None]:
    """Interference states (the configured one first) and the interference outputs.

    Without a PV layer there is one state without noise rise and no outputs.
    With one, the configured ``sun_factor`` state comes first and a night
    state (no emission) second.

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
        return [NoiseState("main")], None
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
                            _dl_radio_key(scen.radio), dataclasses.asdict(cfg),
                            prof.h_rx_m)
            d0 = cache.get(key, shape=surf.surface_m.shape) if cache is not None else None
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
    outputs = InterferenceOutputs(cfg.sun_factor, up.masts, d_dl, itf.pv_table(eff),
                                  itf.noise_rise_summary(up, d_dl[first]), up)
    return [NoiseState("main", up.d_ul_db, d_dl), NoiseState("night")], outputs
