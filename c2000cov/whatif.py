"""What-if runs and single-mast outage (N-1) analysis.

A CHANGES file (TOML) lists edits to a base scenario:

- ``[[add_mast]]``: the same keys as a row of the masts file (``mast_id``,
  ``x_m``, ``y_m``, ``h_agl_m``, ``tx_power_dbm``, ``gain_dbi``,
  ``tx_loss_db``, ``rx_loss_db``, optional ``name``, ``azimuth_deg``,
  ``tilt_deg``, ``pattern``);
- ``[[remove_mast]]``: ``mast_id``;
- ``[[move_mast]]``: ``mast_id``, ``x_m``, ``y_m``, optional ``h_agl_m``;
- ``[[mitigate_pv]]``: ``pv_id`` (one installation) or ``within`` (a polygon
  file: every installation inside it);
- ``[[add_pv]]``: ``pv_id``, ``x_m``, ``y_m``, ``kwp``,
  ``emission_db_over_limit``, optional ``n_devices``, ``h_agl_m``.

Only what changed is recomputed: path-loss windows come from the per-mast
cache of the base run, so a new or moved mast costs one mast's propagation.

N-1 needs no propagation at all: the best-server reduction keeps the
runner-up margin per pixel, so the coverage without mast k is the runner-up's
wherever k is the best server.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from c2000cov.config import read_toml
from c2000cov.coverage import ProfileCoverage
from c2000cov.errors import InvalidInputError, ScenarioError
from c2000cov.io import validate_masts
from c2000cov.probability import q_function

CHANGE_KINDS = ("add_mast", "remove_mast", "move_mast", "mitigate_pv", "add_pv")
_ALLOWED_KEYS = {
    "remove_mast": {"mast_id"},
    "move_mast": {"mast_id", "x_m", "y_m", "h_agl_m"},
    "mitigate_pv": {"pv_id", "within"},
    "add_pv": {"pv_id", "x_m", "y_m", "kwp", "emission_db_over_limit", "n_devices", "h_agl_m",
               "eirp_dbm_per_25khz"},
}


@dataclass(frozen=True)
class Changes:
    """Parsed CHANGES file."""

    source: Path
    add_mast: tuple[dict, ...] = ()
    remove_mast: tuple[dict, ...] = ()
    move_mast: tuple[dict, ...] = ()
    mitigate_pv: tuple[dict, ...] = ()
    add_pv: tuple[dict, ...] = ()


def load_changes(path: str | Path) -> Changes:
    """Read a CHANGES TOML file, rejecting unknown tables and keys."""
    path = Path(path)
    data = read_toml(path, "changes")
    unknown = sorted(set(data) - set(CHANGE_KINDS))
    if unknown:
        raise ScenarioError(f"{path.name}: unknown change [[{unknown[0]}]]; valid changes are: "
                            + ", ".join(CHANGE_KINDS))
    parsed = {}
    for kind in CHANGE_KINDS:
        entries = data.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ScenarioError(f"{path.name}: {kind} must be an array of tables [[{kind}]]")
        for k, entry in enumerate(entries, 1):
            allowed = _ALLOWED_KEYS.get(kind)
            if allowed is not None:
                bad = sorted(set(entry) - allowed)
                if bad:
                    raise ScenarioError(f"{path.name} [[{kind}]] #{k}: unknown key {bad[0]}; "
                                        "valid keys: " + ", ".join(sorted(allowed)))
            required = {"remove_mast": ("mast_id",), "move_mast": ("mast_id", "x_m", "y_m"),
                        "add_pv": ("pv_id", "x_m", "y_m", "kwp", "emission_db_over_limit"),
                        }.get(kind, ())
            for key in required:
                if key not in entry:
                    raise ScenarioError(f"{path.name} [[{kind}]] #{k}: missing key {key}")
            if kind == "mitigate_pv" and ("pv_id" in entry) == ("within" in entry):
                raise ScenarioError(f"{path.name} [[mitigate_pv]] #{k}: give either pv_id or "
                                    "within (a polygon file), not both and not neither")
        parsed[kind] = tuple(entries)
    return Changes(path, **parsed)


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
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InvalidInputError(f"{name} [[move_mast]] #{k}: {key} must be a number, "
                                            f"got {value!r}")
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
            from c2000cov.io import read_vector

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
            from c2000cov.io import KWP_PER_DEVICE

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
    """New :class:`~c2000cov.run.Inputs` with the changes applied (validated)."""
    from c2000cov.antenna import read_msi
    from c2000cov.io import check_masts_inside

    masts = apply_mast_changes(inputs.masts, changes, inputs.grid.crs)
    check_masts_inside(masts, inputs.grid, inputs.surface.ground_m, changes.source.name)
    patterns = dict(inputs.patterns)
    for p in sorted(set(masts["pattern"].dropna()) - set(patterns)):
        patterns[p] = read_msi(Path(p))
    pv = apply_pv_changes(inputs.pv, changes, inputs.grid.crs)
    return replace(inputs, masts=masts, patterns=patterns, pv=pv)


# ----------------------------------------------------------------------------- deltas
DELTA_GAINED, DELTA_LOST, DELTA_SAME = 1.0, -1.0, 0.0


def covered(cov: ProfileCoverage) -> np.ndarray:
    """Boolean raster: evaluated pixels reaching the profile target."""
    return np.nan_to_num(cov.p_cover, nan=0.0) >= cov.target_pct / 100.0


def delta_raster(base: ProfileCoverage, new: ProfileCoverage) -> np.ndarray:
    """1 gained, -1 lost, 0 unchanged, NaN where neither run evaluates the pixel."""
    b, n = covered(base), covered(new)
    out = np.where(n & ~b, DELTA_GAINED, np.where(b & ~n, DELTA_LOST, DELTA_SAME))
    out = out.astype("float32")
    out[~(np.isfinite(base.p_cover) | np.isfinite(new.p_cover))] = np.nan
    return out


def delta_polygons(delta: np.ndarray, grid, profile: str) -> gpd.GeoDataFrame:
    """Gained and lost polygons of one profile."""
    from rasterio.features import shapes

    codes = np.nan_to_num(delta, nan=0.0).astype("int16")
    geoms, kinds = [], []
    for geom, value in shapes(codes, mask=codes != 0, connectivity=4, transform=grid.transform):
        geoms.append(shapely.geometry.shape(geom))
        kinds.append("gained" if value > 0 else "lost")
    gdf = gpd.GeoDataFrame({"profile": profile, "change": kinds}, geometry=geoms, crs=grid.crs)
    gdf["area_km2"] = gdf.area / 1e6
    return gdf


def delta_area_table(base_table: pd.DataFrame, new_table: pd.DataFrame) -> pd.DataFrame:
    """Per-area change of covered km2 and percentage points, per profile."""
    keys = ["area_name", "profile"]
    merged = base_table[keys + ["covered_km2", "covered_pct"]].merge(
        new_table[keys + ["covered_km2", "covered_pct"]], on=keys, suffixes=("_base", "_new"))
    merged["delta_covered_km2"] = merged["covered_km2_new"] - merged["covered_km2_base"]
    merged["delta_covered_pct"] = merged["covered_pct_new"] - merged["covered_pct_base"]
    return merged[keys + ["covered_km2_base", "covered_km2_new", "delta_covered_km2",
                          "covered_pct_base", "covered_pct_new", "delta_covered_pct"]]


# ----------------------------------------------------------------------------- N-1
def without_mast_p_cover(cov: ProfileCoverage, mast_index: int) -> np.ndarray:
    """p_cover if mast ``mast_index`` fails: the runner-up's probability where it served."""
    p = cov.p_cover.copy()
    served = cov.server == mast_index
    runner = cov.second_margin_db[served]
    sigma = (cov.sigma_total_db[served] if isinstance(cov.sigma_total_db, np.ndarray)
             else cov.sigma_total_db)
    alt = np.asarray(q_function(-runner / sigma), dtype="float32")
    p[served] = np.where(np.isfinite(runner), alt, 0.0)
    return p


def n1_outage(covs: dict[str, ProfileCoverage], masts: pd.DataFrame,
              areas: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Coverage lost per mast failure, per profile, ranked (largest loss first).

    Columns: ``rank, mast_id, profile, lost_km2, lost_pct`` (of the covered
    area) and ``areas_affected`` (area names with the km2 lost in each). The
    lost area is also where this mast is the only one reaching the target.
    Pixels are grouped by best server once, so each mast costs only the pixels
    it serves (the same result as :func:`without_mast_p_cover`).
    """
    from rasterio.features import geometry_mask

    rows = []
    area_masks = []
    if areas is not None and len(covs):
        grid = next(iter(covs.values())).grid
        area_masks = [(n, geometry_mask([g], out_shape=grid.shape, transform=grid.transform,
                                        invert=True).ravel())
                      for n, g in zip(areas["area_name"], areas.geometry, strict=True)]
    for profile, cov in covs.items():
        px_km2 = cov.grid.pixel_area_m2 / 1e6
        target = cov.target_pct / 100.0
        base = covered(cov).ravel()
        total = base.sum() * px_km2
        server = cov.server.ravel()
        order = np.argsort(server, kind="stable")
        starts = np.searchsorted(server[order], np.arange(len(masts) + 1))
        sigma = cov.sigma_total_db
        for k, mast_id in enumerate(masts["mast_id"]):
            idx = order[starts[k]:starts[k + 1]]
            runner = cov.second_margin_db.ravel()[idx]
            sig = sigma.ravel()[idx] if isinstance(sigma, np.ndarray) else sigma
            alt = np.where(np.isfinite(runner),
                           np.asarray(q_function(-runner / sig), dtype="float32"), 0.0)
            lost = base[idx] & ~(alt >= target)
            lost_km2 = lost.sum() * px_km2
            lost_idx = idx[lost]
            affected = [f"{n} ({m[lost_idx].sum() * px_km2:.3f} km2)" for n, m in area_masks
                        if m[lost_idx].any()]
            rows.append({"mast_id": mast_id, "profile": profile, "lost_km2": lost_km2,
                         "lost_pct": 100.0 * lost_km2 / total if total else 0.0,
                         "areas_affected": "; ".join(affected)})
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["profile", "lost_km2", "mast_id"],
                                  ascending=[True, False, True], kind="stable")
        table.insert(0, "rank", table.groupby("profile").cumcount() + 1)
    return table.reset_index(drop=True)


# ----------------------------------------------------------------------------- run
def run_whatif(scen, changes_path: Path, out_dir: Path, progress=None, executor=None,
               cache_dir: Path | None = None):
    """Run a what-if: the base scenario with CHANGES applied, plus its deltas.

    The base run's per-mast loss cache (``[output] cache_dir`` or
    ``<base out>/.cache``) is reused, so unchanged masts cost no propagation.
    Writes the changed run's outputs into ``out_dir`` plus ``delta_<profile>.tif``
    (1 gained, -1 lost, 0 unchanged), ``delta.gpkg`` (gained and lost polygons per
    profile) and ``delta_areas.csv``.
    """
    from c2000cov.cache import LossCache
    from c2000cov.executor import LocalExecutor
    from c2000cov.io import write_cog, write_csv, write_gpkg
    from c2000cov.run import compute_result, default_cache_dir, load_inputs, write_outputs

    changes = load_changes(changes_path)
    base_inputs = load_inputs(scen)
    new_inputs = apply_changes(base_inputs, changes)
    cache = LossCache(cache_dir or default_cache_dir(scen, scen.output.dir))
    executor = executor or LocalExecutor()

    def staged(prefix):
        if progress is None:
            return None
        return lambda stage, done, total: progress(f"{prefix} {stage}", done, total)

    base = compute_result(base_inputs, cache, executor, staged("base"))
    new = compute_result(new_inputs, cache, executor, staged("what-if"))
    grid = new_inputs.grid
    deltas = {p: delta_raster(base.coverage[p], new.coverage[p]) for p in new.coverage}
    new.delta_table = delta_area_table(base.area_table, new.area_table)

    def write_deltas(folder: Path) -> list[Path]:
        files = [write_cog(folder / f"delta_{p}.tif", [d], grid, ["delta"],
                           units=["code: 1=gained -1=lost 0=unchanged"]) for p, d in deltas.items()]
        files.append(write_gpkg(folder / "delta.gpkg",
                                {p: delta_polygons(d, grid, p) for p, d in deltas.items()}))
        files.append(write_csv(folder / "delta_areas.csv", new.delta_table))
        return files

    new.extra_writers.append(write_deltas)
    new.manifest_extra["whatif"] = {
        "changes_file": str(Path(changes_path).resolve()),
        "changes": {k: len(getattr(changes, k)) for k in CHANGE_KINDS},
        "base_covered_pct": {p: float(100.0 * covered(c)[np.isfinite(c.p_cover)].mean())
                             for p, c in base.coverage.items()},
    }
    write_outputs(new, out_dir)
    new.cache = cache
    return new
