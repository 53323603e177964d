"""Delta-only what-ifs: what added masts change, computed and written inside their windows.

A what-if that only adds masts changes nothing outside the union of the new
masts' loss windows (:mod:`c2000cov.pipeline.basestate`). The full what-if
(:func:`c2000cov.pipeline.whatif.run_whatif`) still writes a complete run
folder for the changed network: every coverage raster, the dead zones, N-1,
the report. That is a full-grid pass whatever the change. The delta-only
what-if writes what changed and nothing else:

- ``delta_<profile>.tif`` over the union window only (1 gained, -1 lost,
  0 unchanged; every pixel outside the window is unchanged by construction);
- ``delta.gpkg``, the gained and lost polygons;
- ``delta_areas.csv``, the per-area change of covered km2 and percentage
  points, from the base run's stored area table plus the change inside the
  window (the same numbers as the full what-if to rounding, see the tests);
- ``run.json`` with ``"whatif": {"delta_only": true, "window": ...}``.

Only the configured noise state (sunny by default) is evaluated, as the full
what-if's deltas are. The cost is the new masts' propagation and link budget
plus per-pixel work inside their windows, and reading the base run's stored
reduction of that state.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from c2000cov import __version__
from c2000cov.analysis.areas import clipped_window_sum
from c2000cov.analysis.coverage import BestServer
from c2000cov.analysis.delta import delta_area_table, delta_of_reductions, delta_polygons
from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import atomic_path, replaced_folder
from c2000cov.geo.grid import Window
from c2000cov.pipeline.basestate import (
    MARGIN_BANDS,
    STATE_BANDS,
    BaseState,
    cached_area_weights,
    load_base_state,
    store_base_state,
)
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import mast_margins, noise_states, profile_plans
from c2000cov.pipeline.run import compute_result
from c2000cov.products.runfolder import (
    MANIFEST,
    git_commit,
    timestamp_utc,
    write_delta_files,
)
from c2000cov.scenario.changes import CHANGE_KINDS, Changes


@dataclass
class DeltaWhatIf:
    """What a delta-only what-if computed and wrote."""

    window: Window  # union of the new masts' windows (grid pixels)
    delta: dict[str, np.ndarray]  # per profile, over ``window``
    polygons: dict
    delta_table: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


def check_added_only(changes: Changes) -> None:
    """Refuse a CHANGES file a delta-only what-if cannot answer, in one line."""
    other = [k for k in CHANGE_KINDS if k != "add_mast" and getattr(changes, k)]
    if not changes.add_mast or other:
        what = f"[[{other[0]}]]" if other else "no [[add_mast]]"
        raise InvalidInputError(
            f"{changes.source.name}: --delta-only answers added masts only, and this file has "
            f"{what}; run the what-if without --delta-only")


def delta_whatif(base_inputs, new_inputs, changes: Changes, changes_path: Path, out_dir: Path,
                 cache: LossCache, executor, device, progress=None,
                 t0: float | None = None) -> DeltaWhatIf:
    """The delta-only what-if of ``changes`` (added masts only), written into ``out_dir``."""
    t0 = time.perf_counter() if t0 is None else t0
    check_added_only(changes)
    scen, grid = base_inputs.scenario, base_inputs.grid
    manifest = device.manifest()
    state = base_state_or_run(base_inputs, manifest, cache, executor, device, n_states=1,
                              bands=MARGIN_BANDS)
    if state is None:
        raise InvalidInputError("--delta-only needs a loss cache folder to keep the base "
                                "run's reduction in; set [output] cache_dir or drop "
                                "--delta-only")
    n_base = len(base_inputs.masts)
    added = replace(new_inputs, masts=new_inputs.masts.iloc[n_base:].reset_index(drop=True))
    states, _ = noise_states(added, None, cache)
    main = states[0]
    plans = profile_plans(new_inputs)
    folds = list(mast_margins(added, [main], cache, executor, progress, device))
    union = folds[0][1]
    for _, window, _ in folds[1:]:
        union = union_window(union, window)
    sl = union.slices
    sub = grid.subgrid(union)
    weights = cached_area_weights(new_inputs.areas, grid, cache)
    px_km2 = grid.pixel_area_m2 / 1e6
    deltas, polygons, rows = {}, {}, []
    for plan in plans:
        b = state.best[(main.name, plan.name)]
        # bands a delta does not read come as zeros (they never decide the best margin)
        base_part = BestServer(*(np.zeros((union.height, union.width), _DTYPES[f.name])
                                 if getattr(b, f.name) is None else getattr(b, f.name)[sl]
                                 for f in fields(BestServer)))
        new_part = BestServer(*(getattr(base_part, f.name).copy() for f in fields(BestServer)))
        for i, window, margins in folds:
            mm = margins[(main.name, plan.name)]
            inner = Window(window.row_off - union.row_off, window.col_off - union.col_off,
                           window.height, window.width)
            needed = plan.margin_needed_db
            needed = needed[window.slices] if isinstance(needed, np.ndarray) else needed
            new_part.update(n_base + i, inner, mm.margin_dl_db, mm.margin_ul_db,
                            mm.signal_dl_dbm, needed)
        sigma = plan.sigma_total_db
        sigma = sigma[sl] if isinstance(sigma, np.ndarray) else sigma
        deltas[plan.name] = delta_of_reductions(base_part, new_part, sigma, plan.target_pct,
                                                plan.evaluated[sl])
        polygons[plan.name] = delta_polygons(deltas[plan.name], sub, plan.name)
        # the evaluated pixels are the profile's in both runs: only the covered ones move
        d_good = np.nan_to_num(deltas[plan.name], nan=0.0)
        for aw in weights:
            rows.append({"area_name": aw.name, "profile": plan.name,
                         "d_covered_km2": clipped_window_sum(aw, union, d_good) * px_km2})
    table = delta_area_table(state.area_table, _new_area_table(state.area_table, rows))
    out = DeltaWhatIf(union, deltas, polygons, table)
    t1 = time.perf_counter()
    out_dir = Path(out_dir)
    with replaced_folder(out_dir, MANIFEST) as staging:
        files = write_delta_files(staging, deltas, polygons, table, sub)
        files.append(_write_manifest(staging, scen, sub, union, changes, changes_path,
                                     manifest, files))
    out.files = [out_dir / p.relative_to(staging) for p in files]
    out.timings_s = {"compute_s": t1 - t0, "write_s": time.perf_counter() - t1,
                     "windowed": True, "delta_only": True}
    return out


_DTYPES = dict(STATE_BANDS)


def base_state_or_run(base_inputs, manifest: dict, cache: LossCache, executor, device,
                      **read) -> BaseState | None:
    """The base run's stored reduction (``read``: :func:`load_base_state`'s ``n_states`` and
    ``bands``); when none is kept, the base run once, in full, stored and read back.

    None when the cache cannot keep it (no cache folder, or one that cannot be written).
    """
    with_pv = base_inputs.pv is not None
    state = load_base_state(base_inputs, manifest, cache, with_pv, **read)
    if state is None:
        store_base_state(compute_result(base_inputs, cache, executor, None, device), cache)
        state = load_base_state(base_inputs, manifest, cache, with_pv, **read)
    return state


def _new_area_table(base: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """The base area table's covered km2 and % moved by the changes inside the window."""
    d = pd.DataFrame(rows, columns=["area_name", "profile", "d_covered_km2"])
    new = base[["area_name", "profile", "covered_km2", "covered_pct", "evaluated_km2"]].merge(
        d, on=["area_name", "profile"], how="left").fillna({"d_covered_km2": 0.0})
    new["covered_km2"] = new["covered_km2"] + new["d_covered_km2"]
    ev = new["evaluated_km2"]
    pct = np.where(ev > 0, 100.0 * new["covered_km2"] / ev.where(ev > 0, 1.0), np.nan)
    # an area the change does not reach keeps its base figure exactly (no rounding noise)
    new["covered_pct"] = np.where(new["d_covered_km2"] == 0.0, new["covered_pct"], pct)
    return new[["area_name", "profile", "covered_km2", "covered_pct"]]


def union_window(a: Window, b: Window) -> Window:
    """The smallest window holding both."""
    r0, c0 = min(a.row_off, b.row_off), min(a.col_off, b.col_off)
    r1 = max(a.row_off + a.height, b.row_off + b.height)
    c1 = max(a.col_off + a.width, b.col_off + b.width)
    return Window(r0, c0, r1 - r0, c1 - c0)


def _write_manifest(folder: Path, scen, sub, union: Window, changes: Changes,
                    changes_path: Path, device: dict, files: list[Path]) -> Path:
    manifest = {
        "scenario": scen.scenario.name,
        "software": {"c2000cov": __version__, "git_commit": git_commit(),
                     "python": platform.python_version()},
        "model": {"name": scen.model.name, "device": device},
        "run_utc": timestamp_utc(),
        "grid": {"crs": sub.crs.to_string(), "bounds_m": list(sub.bounds_m),
                 "resolution_m": sub.resolution_m, "shape": list(sub.shape)},
        "files": sorted(p.name for p in files) + [MANIFEST],
        "whatif": {"delta_only": True,
                   "changes_file": str(Path(changes_path).resolve()),
                   "changes": {k: len(getattr(changes, k)) for k in CHANGE_KINDS},
                   "window_px": {"row_off": union.row_off, "col_off": union.col_off,
                                 "height": union.height, "width": union.width},
                   "noise_state": "configured (sunny by default); night not evaluated"},
    }
    with atomic_path(folder / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    return folder / MANIFEST
