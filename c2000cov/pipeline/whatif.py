"""What-if runs: a base scenario with a CHANGES file applied, and what it changes.

Only what changed is recomputed: path-loss windows come from the per-mast
cache of the base run, so a new or moved mast costs one mast's propagation.
The CHANGES file is read by :mod:`c2000cov.scenario.changes`; the deltas are
computed by :mod:`c2000cov.analysis.delta`.
"""

from __future__ import annotations

import time
from dataclasses import fields, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from c2000cov.analysis.coverage import BestServer, ProfileCoverage, covered_pct, finish
from c2000cov.analysis.delta import delta_area_table, delta_polygons, delta_raster
from c2000cov.analysis.result import RunResult, WhatIfOutputs
from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import folder_lock
from c2000cov.files.masts import check_masts_inside, validate_masts
from c2000cov.files.msi import read_msi
from c2000cov.files.pv import KWP_PER_DEVICE
from c2000cov.files.vectors import read_vector
from c2000cov.geo.grid import Window, window_of
from c2000cov.pipeline.basestate import store_base_state
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import mast_margins, noise_states, profile_plans
from c2000cov.pipeline.executor import LocalExecutor
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.run import (
    compute_result,
    default_cache_dir,
    prepare_output,
    summarise,
    write_products,
)
from c2000cov.pipeline.whatif_delta import (
    base_state_or_run,
    check_added_only,
    delta_whatif,
    union_window,
)
from c2000cov.radio.device import select_device
from c2000cov.radio.interference import UplinkResult, noise_rise_summary
from c2000cov.scenario.changes import CHANGE_KINDS, Changes, load_changes


def apply_mast_changes(masts: pd.DataFrame, changes: Changes, crs) -> pd.DataFrame:
    """The masts table after removals, moves and additions (additions validated)."""
    name = changes.source.name
    out = masts.copy()
    ids = set(out["mast_id"])
    for k, entry in enumerate(changes.remove_mast, 1):
        if entry["mast_id"] not in ids:
            raise InvalidInputError(f"{name} [[remove_mast]] #{k}: no mast with mast_id "
                                    f"{entry['mast_id']!r} in the base scenario")
        out = out[out["mast_id"] != entry["mast_id"]]
    for k, entry in enumerate(changes.move_mast, 1):
        hit = out["mast_id"] == entry["mast_id"]
        if not hit.any():
            raise InvalidInputError(f"{name} [[move_mast]] #{k}: no mast with mast_id "
                                    f"{entry['mast_id']!r} in the base scenario")
        for key in ("x_m", "y_m", "h_agl_m"):
            if key in entry:
                value = entry[key]
                if (isinstance(value, bool) or not isinstance(value, int | float)
                        or not np.isfinite(value)):
                    raise InvalidInputError(f"{name} [[move_mast]] #{k}: {key} must be a finite "
                                            f"number, got {value!r}")
                if key == "h_agl_m" and not value > 0:
                    raise InvalidInputError(f"{name} [[move_mast]] #{k}: h_agl_m must be > 0, "
                                            f"got {value}")
                out.loc[hit, key] = float(value)
    if changes.add_mast:
        added = pd.DataFrame([{k: (None if v == "" else v) for k, v in e.items()}
                              for e in changes.add_mast])
        added = validate_masts(added, f"{name} [[add_mast]]", crs, changes.source.parent)
        dup = sorted(set(added["mast_id"]) & set(out["mast_id"]))
        if dup:
            raise InvalidInputError(f"{name} [[add_mast]]: mast_id {dup[0]!r} already exists in "
                                    "the base scenario; use [[move_mast]] or another id")
        out = pd.concat([out, added], ignore_index=True)
    return out.reset_index(drop=True)


def apply_pv_changes(pv: gpd.GeoDataFrame | None, changes: Changes, crs):
    """The PV layer after mitigations and additions."""
    name = changes.source.name
    if pv is None and (changes.mitigate_pv or changes.add_pv):
        if changes.mitigate_pv:
            raise InvalidInputError(f"{name}: [[mitigate_pv]] needs a [pv] layer in the base "
                                    "scenario")
    out = pv.copy() if pv is not None else None
    for k, entry in enumerate(changes.mitigate_pv, 1):
        if "pv_id" in entry:
            hit = out["pv_id"] == str(entry["pv_id"])
            if not hit.any():
                raise InvalidInputError(f"{name} [[mitigate_pv]] #{k}: no installation with "
                                        f"pv_id {entry['pv_id']!r}")
        else:
            poly_path = (changes.source.parent / entry["within"]).resolve()
            polys = read_vector(poly_path, "mitigation polygon", None, crs)
            hit = shapely.intersects(out.geometry.to_numpy()[:, None],
                                     polys.geometry.to_numpy()[None, :]).any(axis=1)
        out.loc[hit, "mitigated"] = True
    if changes.add_pv:
        rows = []
        for k, entry in enumerate(changes.add_pv, 1):
            for key in ("x_m", "y_m", "kwp", "emission_db_over_limit"):
                v = entry[key]
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise InvalidInputError(f"{name} [[add_pv]] #{k}: {key} must be a number, "
                                            f"got {v!r}")
            if not entry["kwp"] > 0:
                raise InvalidInputError(f"{name} [[add_pv]] #{k}: kwp must be > 0, got "
                                        f"{entry['kwp']}")
            rows.append({"pv_id": str(entry["pv_id"]), "kwp": float(entry["kwp"]),
                         "emission_db_over_limit": float(entry["emission_db_over_limit"]),
                         "n_devices": float(entry.get("n_devices",
                                                      max(1.0, round(entry["kwp"]
                                                                     / KWP_PER_DEVICE)))),
                         "eirp_dbm_per_25khz": float(entry.get("eirp_dbm_per_25khz", np.nan)),
                         "h_agl_m": float(entry.get("h_agl_m", np.nan)), "mitigated": False,
                         "geometry": shapely.Point(entry["x_m"], entry["y_m"])})
        added = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
        out = added if out is None else gpd.GeoDataFrame(pd.concat([out, added],
                                                                   ignore_index=True), crs=crs)
        if out["pv_id"].duplicated().any():
            dup = out["pv_id"][out["pv_id"].duplicated()].iloc[0]
            raise InvalidInputError(f"{name} [[add_pv]]: pv_id {dup!r} already exists")
    return out


def apply_changes(inputs, changes: Changes):
    """New :class:`~c2000cov.pipeline.run.Inputs` with the changes applied (validated)."""
    masts = apply_mast_changes(inputs.masts, changes, inputs.grid.crs)
    check_masts_inside(masts, inputs.grid, inputs.surface.ground_m, changes.source.name)
    patterns = dict(inputs.patterns)
    for p in sorted(set(masts["pattern"].dropna()) - set(patterns)):
        patterns[p] = read_msi(Path(p))
    pv = apply_pv_changes(inputs.pv, changes, inputs.grid.crs)
    return replace(inputs, masts=masts, patterns=patterns, pv=pv)


def run_whatif(scen, changes_path: Path, out_dir: Path, progress=None, executor=None,
               cache_dir: Path | None = None, max_memory_gb: float | None = None,
               windowed: bool = True, delta_only: bool = False):
    """Run a what-if: the base scenario with CHANGES applied, plus its deltas.

    The base run's per-mast loss cache (``[output] cache_dir`` or
    ``<base out>/.cache``) is reused, so unchanged masts cost no propagation.
    When the changes only add masts (and ``windowed``), the base run's stored
    reduction is reused too and only the new masts' windows are recomputed
    (:func:`_added_only`); other changes recompute both runs in full.
    Writes the changed run's outputs into ``out_dir`` plus ``delta_<profile>.tif``
    (1 gained, -1 lost, 0 unchanged), ``delta.gpkg`` (gained and lost polygons per
    profile) and ``delta_areas.csv``.

    ``delta_only`` (added masts only) computes and writes the deltas inside the
    new masts' windows and nothing else, and returns a
    :class:`~c2000cov.pipeline.whatif_delta.DeltaWhatIf`
    (:mod:`c2000cov.pipeline.whatif_delta`).
    """
    changes = load_changes(changes_path)
    if delta_only:
        check_added_only(changes)
    prepare_output(scen, out_dir)
    with folder_lock(out_dir):
        return _whatif_locked(scen, changes, changes_path, out_dir, progress, executor,
                              cache_dir, max_memory_gb, windowed, delta_only)


def _whatif_locked(scen, changes: Changes, changes_path: Path, out_dir: Path, progress,
                   executor, cache_dir, max_memory_gb, windowed: bool = True,
                   delta_only: bool = False):
    t0 = time.perf_counter()
    base_inputs = load_inputs(scen, max_memory_gb)
    new_inputs = apply_changes(base_inputs, changes)
    cache = LossCache(cache_dir or default_cache_dir(scen, scen.output.dir))
    executor = executor or LocalExecutor()
    device = select_device(scen.model)
    if delta_only:
        return delta_whatif(base_inputs, new_inputs, changes, changes_path, out_dir, cache,
                            executor, device, progress, t0)

    def staged(prefix):
        if progress is None:
            return None
        return lambda stage, done, total: progress(f"{prefix} {stage}", done, total)

    fast = (_added_only(base_inputs, new_inputs, changes, cache, executor, device,
                        staged("what-if")) if windowed else None)
    if fast is None:  # removals, moves, PV changes: both runs in full
        base = compute_result(base_inputs, cache, executor, staged("base"), device)
        store_base_state(base, cache)
        new = compute_result(new_inputs, cache, executor, staged("what-if"), device)
        base_covs, base_table = base.coverage, base.area_table
    else:
        new, base_covs, base_table = fast
    grid = new_inputs.grid
    deltas = {p: delta_raster(base_covs[p], new.coverage[p]) for p in new.coverage}
    new.delta_table = delta_area_table(base_table, new.area_table)

    new.whatif = WhatIfOutputs(
        delta=deltas, polygons={p: delta_polygons(d, grid, p) for p, d in deltas.items()},
        changes_file=Path(changes_path),
        changes={k: len(getattr(changes, k)) for k in CHANGE_KINDS},
        base_covered_pct={p: covered_pct(c) for p, c in base_covs.items()})
    t1 = time.perf_counter()
    write_products(new, out_dir)
    new.cache = cache
    new.timings_s = {"compute_s": t1 - t0, "write_s": time.perf_counter() - t1,
                     "windowed": fast is not None}
    return new


def _added_only(base_inputs, new_inputs, changes: Changes, cache: LossCache, executor,
                device, progress):
    """The what-if of added masts from the base run's stored reduction, or None.

    Only ``[[add_mast]]`` changes qualify (new masts come last in masts-file
    order, so folding them onto the base's reduction is the full fold). The base
    reduction comes from :func:`base_state_or_run` (computed in full and stored
    when absent); the new masts' margins from :func:`mast_margins`, the run's own
    link budget; probabilities, limiting direction and classes are recomputed
    only inside the union of the new masts' windows, and every pixel outside it
    keeps the base's value. Returns ``(result, base coverage, base area table)``.
    """
    if not changes.add_mast or any(getattr(changes, k) for k in CHANGE_KINDS
                                   if k != "add_mast"):
        return None
    scen = base_inputs.scenario
    manifest = device.manifest()
    state = base_state_or_run(base_inputs, manifest, cache, executor, device)
    if state is None:  # no cache folder (or it cannot be written)
        return None
    n_base = len(base_inputs.masts)
    added = replace(new_inputs, masts=new_inputs.masts.iloc[n_base:].reset_index(drop=True))
    states, interference = noise_states(added, None, cache)
    if interference is not None:  # the uplink rows of the new masts join the base's
        up = UplinkResult(
            pd.concat([state.uplink_masts, interference.uplink.masts], ignore_index=True),
            pd.concat([state.uplink_contributions, interference.uplink.contributions],
                      ignore_index=True))
        first = next(iter(scen.profiles))
        interference = replace(interference, masts_table=up.masts, uplink=up,
                               summary=noise_rise_summary(up, interference.noise_rise_dl_db[
                                   first]))
    plans = profile_plans(new_inputs)
    grid = new_inputs.grid
    best = {k: _copy_best(b) for k, b in state.best.items()}
    union = None
    for i, window, margins in mast_margins(added, states, cache, executor, progress, device):
        union = window if union is None else union_window(union, window)
        for plan in plans:
            for st in states:
                mm = margins[(st.name, plan.name)]
                best[(st.name, plan.name)].update(
                    n_base + i, window, mm.margin_dl_db, mm.margin_ul_db, mm.signal_dl_dbm,
                    window_of(plan.margin_needed_db, window))
    covs, base_covs = {}, {}
    for st in states:
        for plan in plans:
            args = (plan.sigma_total_db, plan.target_pct, scen.classes, plan.evaluated)
            base_cov = finish(plan.name, grid, state.best[(st.name, plan.name)], *args)
            covs[(st.name, plan.name)] = _finish_inside(base_cov, best[(st.name, plan.name)],
                                                        union, *args)
            base_covs[(st.name, plan.name)] = base_cov
    main, night = states[0].name, (states[1].name if len(states) > 1 else None)
    result = RunResult(new_inputs, {p.name: covs[(main, p.name)] for p in plans},
                       interference=interference, device=manifest)
    if night is not None:
        result.night = {p.name: covs[(night, p.name)] for p in plans}
    summarise(result, progress, cache)
    return result, {p.name: base_covs[(main, p.name)] for p in plans}, state.area_table


def _copy_best(b: BestServer) -> BestServer:
    return BestServer(*(getattr(b, f.name).copy() for f in fields(BestServer)))


def _finish_inside(base: ProfileCoverage, best: BestServer, window: Window, sigma_total_db,
                   target_pct, classes, evaluated) -> ProfileCoverage:
    """``finish`` of ``best`` computed inside ``window`` only; outside, ``base``'s values.

    Every band of :func:`finish` is a per-pixel function of the reduction, and
    outside the window the reduction is the base's, so the result equals a full
    ``finish`` of ``best`` bit for bit.
    """
    sl = window.slices
    part = finish(base.name, base.grid.subgrid(window),
                  BestServer(*(getattr(best, f.name)[sl] for f in fields(BestServer))),
                  window_of(sigma_total_db, window), target_pct, classes, evaluated[sl])
    bands = {}
    for name in ("p_cover", "limiting", "server", "signal_dl_dbm", "n_at_target",
                 "coverage_class"):
        arr = getattr(base, name).copy()
        arr[sl] = getattr(part, name)
        bands[name] = arr
    return replace(base, **bands, margin_dl_db=best.margin_dl_db,
                   margin_ul_db=best.margin_ul_db, second_margin_db=best.second_margin_db)
