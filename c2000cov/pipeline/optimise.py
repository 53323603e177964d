"""``c2000cov optimise``: where should the next masts go?

1. The base network is run as a run runs it (:func:`noise_states`,
   :func:`compute_coverage`); its covered pixels per profile, in the chosen
   noise state (sunny day by default), are the starting point.
2. Each candidate's link budget comes from :func:`mast_margins`, the function
   the run folds into its best-server reduction (path loss cached in the
   run's :class:`LossCache` under the run's keys, clutter, antenna, entry
   loss, noise rise of the candidate's own uplink), and becomes the pixels it
   covers on its own (:func:`c2000cov.analysis.siting.covered_alone`).
3. Lazy greedy (:func:`c2000cov.analysis.siting.lazy_greedy`) picks N sites;
   a candidate's gain is the objective weight (km2, people or road km; inside
   ``--area`` when given) of the pixels it covers that are not covered yet,
   summed over the chosen profiles: exactly what a what-if adding it reports.
4. A what-if adding the chosen sites writes the delta rasters, per-area
   table and map; ``selected.csv`` and ``candidates.csv`` go beside them.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from c2000cov.analysis.areas import area_weights, line_length_grid
from c2000cov.analysis.coverage import covered_mask
from c2000cov.analysis.result import RunResult
from c2000cov.analysis.siting import (
    CandidateCover,
    CoverState,
    Selection,
    covered_alone,
    cropped,
    lazy_greedy,
)
from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import atomic_path
from c2000cov.files.candidates import grid_candidates, read_candidates
from c2000cov.files.masts import MAST_COLUMNS
from c2000cov.files.msi import read_msi
from c2000cov.geo.grid import Window
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import NoiseState, compute_coverage, mast_margins, noise_states
from c2000cov.pipeline.executor import Executor, LocalExecutor
from c2000cov.pipeline.inputs import Inputs, load_inputs
from c2000cov.pipeline.run import default_cache_dir
from c2000cov.pipeline.whatif import run_whatif
from c2000cov.products.runfolder import OPTIMISE_FILES
from c2000cov.radio.budget import plan_profiles
from c2000cov.scenario.schema import Scenario

SELECTED_SITES, CANDIDATE_GAINS, SELECTED_CHANGES = OPTIMISE_FILES
OBJECTIVES = ("area", "population", "roads")
NOISE = {"sunny": 0, "night": 1}
SELECTED_COLUMNS = ("rank", "mast_id", "x_m", "y_m", "h_agl_m", "gain_km2", "gain_pct",
                    "cumulative_km2")


@dataclass
class OptimiseResult:
    """What ``c2000cov optimise`` chose and measured."""

    selected: pd.DataFrame
    candidates: pd.DataFrame
    selection: Selection
    n_candidates: int
    plain_evaluations: int  # what plain greedy would evaluate for the same picks
    timings_s: dict[str, float] = field(default_factory=dict)
    whatif: RunResult | None = None
    files: list[Path] = field(default_factory=list)


def _objective_weights(inputs: Inputs, area: str | None) -> dict[str, np.ndarray]:
    """Per-pixel weights of each objective (km2, people, road km) inside the area filter."""
    grid = inputs.grid
    if area is None:
        frac = np.ones(grid.shape)
    else:
        names = [] if inputs.areas is None else list(inputs.areas["area_name"])
        if area not in names:
            raise InvalidInputError(f"--area {area!r}: no such area in the scenario's [areas] "
                                    f"layer; areas are: {', '.join(map(str, names)) or 'none'}")
        aw = next(w for w in area_weights(inputs.areas, grid) if w.name == area)
        frac = np.zeros(grid.shape)
        frac[aw.window.slices] = aw.fraction
    out = {"area": frac * grid.pixel_area_m2 / 1e6}
    pop = inputs.population
    if isinstance(pop, np.ndarray):
        out["population"] = frac * pop
    elif pop is not None:
        col = inputs.scenario.population.column
        pts = pop.to_crs(grid.crs) if not pop.crs.equals(grid.crs) else pop
        x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
        people = pd.to_numeric(pts[col], errors="coerce").fillna(0.0).to_numpy(float)
        on = grid.contains(x, y)
        rows, cols = grid.rowcol(x[on], y[on])
        dense = np.zeros(grid.shape)
        np.add.at(dense, (rows, cols), people[on])
        out["population"] = frac * dense
    if inputs.roads is not None:
        roads = inputs.roads.to_crs(grid.crs) if not inputs.roads.crs.equals(grid.crs) \
            else inputs.roads
        full = Window(0, 0, grid.height, grid.width)
        out["roads"] = frac * line_length_grid(roads.geometry.to_numpy(), grid, full) / 1e3
    return out


def _with_masts(inputs: Inputs, masts: pd.DataFrame) -> Inputs:
    patterns = dict(inputs.patterns)
    for p in sorted(set(masts["pattern"].dropna()) - set(patterns)):
        patterns[p] = read_msi(Path(p))
    return replace(inputs, masts=masts[list(MAST_COLUMNS)].reset_index(drop=True),
                   patterns=patterns)


def _state_of(states: list[NoiseState], noise: str) -> NoiseState:
    return states[min(NOISE[noise], len(states) - 1)]


def _toml_value(v) -> str:
    return json.dumps(v) if isinstance(v, str) else repr(float(v))


def parse_heights(text: str) -> list[float]:
    """``--heights-m 30,40,60`` as metres."""
    try:
        heights = [float(h) for h in text.split(",")]
    except ValueError:
        raise InvalidInputError(f"--heights-m {text!r}: expected antenna heights in metres "
                                "separated by commas, e.g. 30,40") from None
    if not all(h > 0 for h in heights):
        raise InvalidInputError(f"--heights-m {text!r}: heights must be > 0 m")
    return heights


def changes_text(sites: pd.DataFrame) -> str:
    """A CHANGES file adding ``sites`` (the masts columns)."""
    lines = ["# The sites chosen by c2000cov optimise, as a what-if.", ""]
    for row in sites.itertuples(index=False):
        lines.append("[[add_mast]]")
        for col in MAST_COLUMNS:
            v = getattr(row, col)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            lines.append(f"{col} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def screen_gains(scen: Scenario, cands: pd.DataFrame, screen_m: float, profiles: list[str],
                 objective: str, area: str | None, noise: str, executor: Executor | None,
                 cache_dir: Path | None) -> np.ndarray:
    """Each candidate's first-round gain with the whole scenario at ``screen_m`` pixels.

    The same computation as the exact pass (base network, noise, link budget,
    objective) on a coarser grid: about (``screen_m`` / resolution)^2 times fewer
    pixels per candidate. NaN for a candidate on no-data terrain of the coarse grid.
    A screen, not a bound: a coarse gain is an estimate of the exact one.
    """
    coarse = replace(scen, scenario=replace(scen.scenario, resolution_m=float(screen_m)))
    inputs = load_inputs(coarse)
    grid, ground = inputs.grid, inputs.surface.ground_m
    rows, cols = grid.rowcol(cands["x_m"].to_numpy(), cands["y_m"].to_numpy())
    ok = np.isfinite(ground[rows, cols])
    gains = np.full(len(cands), np.nan)
    if ok.any():
        res = optimise(coarse, 1, None, profiles=profiles, objective=objective, area=area,
                       noise=noise, executor=executor, cache_dir=cache_dir,
                       write_whatif=False, candidates_df=cands[ok].reset_index(drop=True))
        gain_col = {"area": "gain_km2", "population": "gain_population",
                    "roads": "gain_road_km"}[objective]
        gains[ok] = res.candidates[gain_col].to_numpy(float)
    return gains


def optimise(scen: Scenario, n_add: int, out_dir: Path | None,
             candidates_path: Path | None = None,
             grid_m: float | None = None, profiles: list[str] | None = None,
             objective: str = "area", area: str | None = None,
             heights_m: list[float] | str | None = None, noise: str = "sunny", prune: bool = False,
             executor: Executor | None = None, cache_dir: Path | None = None,
             write_whatif: bool = True, progress=None, screen_m: float | None = None,
             screen_keep: int = 16, candidates_df: pd.DataFrame | None = None
             ) -> OptimiseResult:
    """Choose ``n_add`` sites among candidates by lazy greedy; write the results.

    Parameters are those of ``c2000cov optimise``; ``prune`` starts lazy greedy
    from the uncovered weight in each candidate's window (an upper bound of its
    gain), so candidates that cannot win are never propagated (their
    first-round gain is then left empty in ``candidates.csv``). ``screen_m``
    first ranks every candidate by its gain on a grid of ``screen_m`` pixels
    (:func:`screen_gains`) and keeps the ``screen_keep`` best sites (and any the
    coarse grid cannot place) for the exact pass: a heuristic screen, stated in
    ``candidates.csv`` (``screen_gain``, ``screened_out``). ``candidates_df``
    (already read and validated, with ``site``) replaces the file or grid.
    ``out_dir`` None writes nothing.
    """
    t0 = time.perf_counter()
    if isinstance(heights_m, str):
        heights_m = parse_heights(heights_m)
    if n_add < 1:
        raise InvalidInputError(f"--add must be >= 1, got {n_add}")
    if objective not in OBJECTIVES:
        raise InvalidInputError(f"--objective {objective!r}: expected one of "
                                f"{', '.join(OBJECTIVES)}")
    if noise not in NOISE:
        raise InvalidInputError(f"--noise {noise!r}: expected sunny or night")
    if candidates_df is None and (candidates_path is None) == (grid_m is None):
        raise InvalidInputError("optimise needs exactly one of --candidates FILE or --grid-m S")
    if screen_m is not None and not (screen_m > scen.scenario.resolution_m and screen_keep >= 1):
        raise InvalidInputError(f"--screen-m {screen_m:g}: must be coarser than the scenario's "
                                f"{scen.scenario.resolution_m:g} m, with --screen-keep >= 1")
    inputs = load_inputs(scen)
    grid = inputs.grid
    names = list(scen.profiles)
    profiles = list(profiles or names)
    for p in profiles:
        if p not in names:
            raise InvalidInputError(f"--profile {p!r}: not a profile of {scen.source.name}; "
                                    f"profiles are: {', '.join(names)}")
    weights_all = _objective_weights(inputs, area)
    if objective not in weights_all:
        raise InvalidInputError(f"--objective {objective}: the scenario has no [{objective}] "
                                "layer")
    if candidates_df is not None:
        cands = candidates_df
    elif candidates_path is not None:
        cands = read_candidates(Path(candidates_path), grid, inputs.surface, grid.crs,
                                list(inputs.masts["mast_id"]), heights_m)
    else:
        template = inputs.masts[["h_agl_m", "tx_power_dbm", "gain_dbi", "tx_loss_db",
                                 "rx_loss_db"]].median().to_dict()
        inside = weights_all["area"] > 0 if area else None
        cands = grid_candidates(grid, inputs.surface, grid_m, template, heights_m, inside)
    cache = LossCache(cache_dir or default_cache_dir(scen, scen.output.dir))
    executor = executor or LocalExecutor()
    all_cands, screen = cands, None
    if screen_m is not None:  # 0. a coarse first round; the best sites go on
        screen = screen_gains(scen, cands, screen_m, profiles, objective, area, noise,
                              executor, cache.folder)
        by_site = pd.Series(screen).groupby(cands["site"].to_numpy()).max()
        keep = set(by_site.sort_values(ascending=False, kind="stable").index[:screen_keep])
        keep |= set(cands["site"][np.isnan(screen)])
        cands = cands[cands["site"].isin(keep)].reset_index(drop=True)
    t_screen = time.perf_counter() - t0

    # 1. the base network, as a run computes it
    states = noise_states(inputs, None, cache)[0]
    state = _state_of(states, noise)
    base = compute_coverage(inputs, [state], progress, cache, executor)[state.name]
    plans = {p.name: p for p in plan_profiles(scen, inputs.surface)}
    evaluated_km2 = sum(float((plans[p].evaluated * weights_all["area"]).sum())
                        for p in profiles)
    start = CoverState({p: covered_mask(base[p]) for p in profiles},
                       {p: weights_all[objective] for p in profiles})
    t1 = time.perf_counter()

    # 2. the candidates' own coverage, through the run's link budget
    cand_inputs = _with_masts(inputs, cands)
    cand_states = noise_states(cand_inputs, None, cache)[0]
    cstate = _state_of(cand_states, noise)

    def covers_of(index: list[int]) -> dict[int, CandidateCover]:
        sub = _with_masts(cand_inputs, cand_inputs.masts.iloc[index])
        st = cstate if cstate.d_ul_db is None else replace(
            cstate, d_ul_db=np.asarray(cstate.d_ul_db)[index])
        out = {}
        for k, window, margins in mast_margins(sub, [st], cache, executor):
            masks = {}
            for p in profiles:
                mm, plan = margins[(st.name, p)], plans[p]
                sigma = plan.sigma_total_db
                sigma = sigma[window.slices] if isinstance(sigma, np.ndarray) else sigma
                masks[p] = covered_alone(mm.margin_dl_db, mm.margin_ul_db, sigma,
                                         plan.target_pct)
            out[index[k]] = cropped(window, masks)
        return out

    n = len(cands)
    ready: dict[int, CandidateCover] = {} if prune else covers_of(list(range(n)))

    def cover(i: int) -> CandidateCover:
        if i not in ready:
            ready.update(covers_of([i]))
        return ready[i]

    windows = []
    for x, y in zip(cands["x_m"], cands["y_m"], strict=True):
        r, c = grid.rowcol(x, y)
        windows.append(grid.window_around(int(r), int(c), scen.model.radius_m))
    sel = lazy_greedy(start, cover, windows, n_add, list(cands["site"]), prune=prune)
    t2 = time.perf_counter()

    # 3. tables
    extra = {k: {p: w for p in profiles} for k, w in weights_all.items()
             if k in ("population", "roads")}
    st = start.copy()
    rows = []
    cumulative = 0.0
    for rank, i in enumerate(sel.order, 1):
        c = cover(i)
        km2 = st.gain_of(c, {p: weights_all["area"] for p in profiles})
        cumulative += km2
        row = {"rank": rank, "mast_id": cands["mast_id"].iloc[i], "x_m": cands["x_m"].iloc[i],
               "y_m": cands["y_m"].iloc[i], "h_agl_m": cands["h_agl_m"].iloc[i],
               "gain_km2": round(km2, 4),
               "gain_pct": round(100.0 * km2 / evaluated_km2, 4) if evaluated_km2 else 0.0,
               "cumulative_km2": round(cumulative, 4)}
        if "population" in extra:
            row["gain_population"] = round(st.gain_of(c, extra["population"]), 1)
        if "roads" in extra:
            row["gain_road_km"] = round(st.gain_of(c, extra["roads"]), 3)
        rows.append(row)
        st.add(c)
    selected = pd.DataFrame(rows, columns=list(SELECTED_COLUMNS) + [
        c for c in ("gain_population", "gain_road_km") if rows and c in rows[0]])
    table = cands[["mast_id", "x_m", "y_m", "h_agl_m"]].copy()
    gain_col = {"area": "gain_km2", "population": "gain_population", "roads": "gain_road_km"}
    table[gain_col[objective]] = [sel.first_round.get(i, np.nan) for i in range(n)]
    if prune:
        table["gain_bound"] = [start.upper_bound(w) for w in windows]
    table["evaluated"] = [i in sel.first_round for i in range(n)]
    table["selected_rank"] = 0
    for rank, i in enumerate(sel.order, 1):
        table.loc[i, "selected_rank"] = rank
    plain, taken = 0, set()
    for i in sel.order:  # plain greedy evaluates every candidate of a free site each round
        plain += int((~cands["site"].isin(taken)).sum())
        taken.add(cands["site"].iloc[i])
    if screen is not None:  # every candidate, with its coarse gain
        table = all_cands[["mast_id"]].merge(table, on="mast_id", how="left")
        table[["x_m", "y_m", "h_agl_m"]] = all_cands[["x_m", "y_m", "h_agl_m"]].to_numpy()
        table["evaluated"] = table["evaluated"].fillna(False).astype(bool)
        table["selected_rank"] = table["selected_rank"].fillna(0).astype(int)
        table["screen_gain"] = screen
        table["screened_out"] = ~all_cands["site"].isin(set(cands["site"])).to_numpy()
    result = OptimiseResult(selected, table, sel, len(all_cands), int(plain))
    if out_dir is None:
        result.timings_s = {"total_s": time.perf_counter() - t0}
        return result

    # 4. files: the what-if of the chosen sites, then the tables beside it
    out_dir = Path(out_dir)
    if write_whatif and sel.order:
        chosen = cands.iloc[sel.order][list(MAST_COLUMNS)].copy()
        chosen["name"] = [f"{r.mast_id} (rank {r.rank}, +{r.gain_km2:.2f} km2)"
                          for r in selected.itertuples()]
        text = changes_text(chosen)
        with tempfile.TemporaryDirectory(prefix="c2000cov-optimise-") as tmp:
            # a run replaces its whole folder: the CHANGES file joins it afterwards
            staged = Path(tmp) / SELECTED_CHANGES
            staged.write_text(text)
            result.whatif = run_whatif(scen, staged, out_dir, executor=executor,
                                       cache_dir=cache.folder)
        changes = out_dir / SELECTED_CHANGES
        with atomic_path(changes) as tmp_path:
            tmp_path.write_text(text)
        result.files += list(result.whatif.files) + [changes]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, df in ((SELECTED_SITES, selected), (CANDIDATE_GAINS, table)):
        with atomic_path(out_dir / name) as tmp:
            df.to_csv(tmp, index=False)
        result.files.append(out_dir / name)
    result.timings_s = {"screen_s": t_screen, "base_s": t1 - t0 - t_screen, "select_s": t2 - t1,
                        "total_s": time.perf_counter() - t0}
    return result
