"""``c2000cov calibrate`` and ``c2000cov validate``: the model against the field.

Calibrate: predictions at every measured point from the same per-mast loss
windows a run uses (:func:`c2000cov.pipeline.compute.mast_losses`, the same
cache) and the same downlink budget
(:func:`c2000cov.radio.budget.downlink_signal_dbm`): the named mast's median
downlink level for the point's profile, or the best mast's where no mast is
named. The points are averaged per pixel and serving mast, then
:mod:`c2000cov.analysis.calibration` fits and cross-validates the correction.
A ``[calibration]`` the scenario already applies is ignored here: the fit is
always against the uncorrected model.

Validate: field reports against a run folder's predicted dead zones and
classes (:mod:`c2000cov.analysis.field_reports`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from c2000cov.analysis import calibration as cb
from c2000cov.analysis import field_reports as fr
from c2000cov.analysis.coverage import CLASS_NONE, CLASS_POOR
from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import atomic_path
from c2000cov.files.calibration_file import calibration_toml
from c2000cov.files.measurements import PointSet, read_field_reports, read_measurements
from c2000cov.files.rasters import read_land_class
from c2000cov.files.vectors import write_csv, write_gpkg
from c2000cov.geo.grid import Grid
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import ProgressFn, mast_losses
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import Inputs, load_inputs
from c2000cov.pipeline.run import default_cache_dir
from c2000cov.products import runfolder as rf
from c2000cov.products.calibration_page import build_page
from c2000cov.radio.antenna import mast_gain_toward_dbi
from c2000cov.radio.budget import downlink_signal_dbm, plan_profiles
from c2000cov.radio.models import clutter_loss_db, loss_height_m
from c2000cov.scenario.config import load_scenario
from c2000cov.scenario.schema import Scenario


@dataclass
class Predictions:
    """Predicted median downlink level per point, with its serving mast and distance."""

    level_dbm: np.ndarray  # NaN where no mast reaches the point
    mast: np.ndarray  # int64 mast index, -1 none
    dist_m: np.ndarray


def predict_points(inputs: Inputs, row, col, h_rx_m, profile, mast=None,
                   cache: LossCache | None = None, executor: Executor | None = None,
                   progress: ProgressFn | None = None) -> Predictions:
    """Median downlink level at pixels (row, col) for each point's profile and height.

    Parameters
    ----------
    inputs : Inputs
        The scenario's inputs.
    row, col : array of int
        Pixel of each point.
    h_rx_m : array of float
        Receiver height of each point (m).
    profile : array of str
        Service profile of each point (terminal terms, entry loss for indoor).
    mast : array of int, optional
        Serving mast index per point (-1: the best mast).
    """
    scen, surf, masts = inputs.scenario, inputs.surface, inputs.masts
    row, col = np.asarray(row, dtype="int64"), np.asarray(col, dtype="int64")
    h = np.round(np.asarray(h_rx_m, dtype=float), 2)
    profile = np.asarray(profile, dtype=object)
    n = len(row)
    plans = {p.name: p for p in plan_profiles(scen, surf, landcover=inputs.landcover)}
    freq = scen.radio.dl_freq_mhz
    # to the P.2108 clutter height R with clutter_correction, as a run (compute.mast_margins)
    h_loss = {float(v): loss_height_m(scen.model, float(v)) for v in np.unique(h)}
    combos = sorted({(freq, hl) for hl in h_loss.values()})
    level = np.full((n, len(masts)), np.nan)
    res = surf.grid.resolution_m
    for i, geom, window, losses in mast_losses(inputs, with_uplink(scen, combos),
                                               cache or LossCache(None),
                                               executor or Executor(), progress):
        r, c = row - window.row_off, col - window.col_off
        inside = (r >= 0) & (r < window.height) & (c >= 0) & (c < window.width)
        if not inside.any():
            continue
        m = masts.iloc[i]
        for hh, h_m in h_loss.items():
            for name, plan in plans.items():
                sel = np.flatnonzero(inside & (h == hh) & (profile == name))
                if len(sel) == 0:
                    continue
                loss = losses[(freq, h_m)][r[sel], c[sel]] + clutter_loss_db(scen.model, freq, hh)
                dx = (col[sel] - geom.col) * res
                dy = -(row[sel] - geom.row) * res
                dh = surf.ground_m[row[sel], col[sel]] + hh - geom.h_amsl_m
                gain = mast_gain_toward_dbi(m, inputs.patterns, dx, dy, dh,
                                            np.maximum(np.hypot(dx, dy), 0.5 * res))
                bel = plan.bel_dl_db
                bel = bel[row[sel], col[sel]] if isinstance(bel, np.ndarray) else bel
                s = downlink_signal_dbm(m["tx_power_dbm"], gain, m["tx_loss_db"], loss,
                                        plan.terminal, bel)
                s = np.where(plan.evaluated[row[sel], col[sel]], s, np.nan)
                level[sel, i] = s
    named = np.full(n, -1, dtype="int64") if mast is None else np.asarray(mast, dtype="int64")
    any_level = np.isfinite(level).any(axis=1)
    best = np.where(any_level, np.argmax(np.where(np.isfinite(level), level, -np.inf), axis=1),
                    -1)
    serving = np.where(named >= 0, named, best)
    out = np.where(serving >= 0, level[np.arange(n), np.maximum(serving, 0)], np.nan)
    serving = np.where(np.isfinite(out), serving, -1)
    mx = masts["x_m"].to_numpy(dtype=float)[np.maximum(serving, 0)]
    my = masts["y_m"].to_numpy(dtype=float)[np.maximum(serving, 0)]
    px, py = surf.grid.xy(row, col)
    dist = np.where(serving >= 0, np.hypot(px - mx, py - my), np.nan)
    return Predictions(out, serving, dist)


def with_uplink(scen: Scenario, combos: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The downlink combos plus the uplink at the same heights.

    Calibrate uses the downlink only, but one kernel sweep computes both
    frequencies for little more than one (demo: a run that found the downlink
    windows cached still took 69 of the 71 CPU s of a cold run), and the run
    that follows a calibration (``make demo``) then finds every window in the
    shared cache.
    """
    ul = scen.radio.ul_freq_mhz
    return sorted(set(combos) | {(ul, h) for _, h in combos})


def landcover_path(scen: Scenario, landcover: Path | None) -> Path | None:
    """The land-cover raster: the one given, else the scenario's ``[landcover]`` if it has one."""
    if landcover is not None:
        return Path(landcover).resolve()
    return Path(scen.landcover.path).resolve() if scen.landcover is not None else None


@dataclass
class CalibrationRun:
    """What ``calibrate`` computed and wrote."""

    summary: dict
    bins: pd.DataFrame
    files: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the command prints."""
        s = self.summary
        out = [f"{s['n_points']} points in {s['n_pixels']} pixels; RMSE "
               f"{s['rmse_db_before']:.2f} dB before, {s['rmse_db_after']:.2f} dB after, "
               f"{s['cv_rmse_db']:.2f} dB cross-validated (blocked)",
               "offsets (dB): " + ", ".join(f"{k} {v:+.2f}" for k, v in
                                            s["offsets_db"].items())]
        return out + _rejected_line(s["measurements"]["rejected"]) + [
            f"wrote {p}" for p in self.files]


def _rejected_line(rejected: dict) -> list[str]:
    return (["rows not used: " + ", ".join(f"{k} {v}" for k, v in rejected.items())]
            if rejected else [])


def _grouped(before, after, groups) -> dict:
    b, a = cb.grouped_stats(before, groups), cb.grouped_stats(after, groups)
    return {k: {"before": b[k], "after": a[k]} for k in b}


def calibrate(scen: Scenario, measurements: Path, out_dir: Path, profile: str | None = None,
              landcover: Path | None = None, slope: bool = False, n_folds: int = cb.N_FOLDS,
              block_m: float = cb.BLOCK_M, cache_dir: Path | None = None,
              executor: Executor | None = None, progress: ProgressFn | None = None,
              seed: int = 0) -> CalibrationRun:
    """Fit a correction of the model to measured levels and write the calibration folder.

    Parameters
    ----------
    scen : Scenario
        The scenario whose model is calibrated.
    measurements : Path
        Measured levels (:func:`c2000cov.files.measurements.read_measurements`).
    out_dir : Path
        Folder for ``calibration.toml``, ``calibration.json``, ``calibration.html``
        and ``calibration_points.csv``.
    profile : str, optional
        Profile of rows without one (default: the scenario's first profile).
    landcover : Path, optional
        Integer-class raster for per-class offsets (default: the scenario's).
    slope : bool
        Also fit a slope in log distance (reported; not written to calibration.toml).
    n_folds, block_m : int, float
        Blocked cross-validation: folds and block side (m).
    cache_dir : Path, optional
        Per-mast loss cache (the run's cache gives the same windows for free).
    """
    profiles = list(scen.profiles)
    profile = profile or profiles[0]
    if profile not in profiles:
        raise InvalidInputError(f"--profile {profile!r} is not in {scen.source.name}; valid "
                                f"profiles: {', '.join(profiles)}")
    inputs = load_inputs(scen)
    grid, masts = inputs.grid, inputs.masts
    ids = masts["mast_id"].astype(str).tolist()
    pts = read_measurements(measurements, grid, profiles, profile, ids)
    df = pts.frame
    row, col = grid.rowcol(df["x_m"].to_numpy(dtype=float), df["y_m"].to_numpy(dtype=float))
    h = np.array([scen.profiles[p].h_rx_m for p in df["profile"]], dtype=float)
    if "h_rx_m" in df:
        given = df["h_rx_m"].to_numpy(dtype=float)
        h = np.where(np.isfinite(given), given, h)
    named = np.full(len(df), -1, dtype="int64")
    if "mast_id" in df:
        lookup = {m: i for i, m in enumerate(ids)}
        named = np.array([lookup.get(m, -1) if isinstance(m, str) else -1
                          for m in df["mast_id"]], dtype="int64")
    pred = predict_points(inputs, row, col, h, df["profile"].to_numpy(dtype=object), named,
                          LossCache(cache_dir), executor, progress)
    ok = np.isfinite(pred.level_dbm)
    pts.rejected["not_predicted"] = int((~ok).sum())
    if not ok.any():
        raise InvalidInputError(f"{pts.path.name}: no measurement lies where the model predicts "
                                f"a level (within model.radius_m of a mast, on an evaluated "
                                f"pixel of its profile); {len(df)} usable rows")
    lc_path = landcover_path(scen, landcover)
    land = read_land_class(lc_path, grid) if lc_path is not None else None
    cls = land[row, col] if land is not None else np.full(len(df), -1)
    bins = cb.bin_points(row[ok] * grid.width + col[ok], pred.mast[ok], df["x_m"][ok],
                         df["y_m"][ok], df["rssi_dbm"][ok], pred.level_dbm[ok], cls[ok],
                         pred.dist_m[ok])
    summary, table = fit_bins(bins, land is not None, slope, n_folds, block_m, seed, ids)
    used_profiles = sorted(set(df["profile"][ok]))
    summary.update({"profile": ", ".join(used_profiles), "scenario": scen.scenario.name,
                    "measurements": pts.summary(),
                    "landcover": str(lc_path) if lc_path else None})
    return CalibrationRun(summary, table, write_calibration(summary, table, Path(out_dir),
                                                            lc_path))


def calibrate_scenario(scenario: Path, measurements: Path, out_dir: Path,
                       profile: str | None = None, landcover: Path | None = None,
                       slope: bool = False, cache_dir: Path | None = None,
                       progress: ProgressFn | None = None) -> CalibrationRun:
    """:func:`calibrate` of a scenario file, with the run's loss cache by default."""
    scen = load_scenario(scenario)
    cache = cache_dir or default_cache_dir(scen, scen.output.dir)
    return calibrate(scen, measurements, out_dir, profile, landcover, slope, cache_dir=cache,
                     progress=progress)


def fit_bins(bins: cb.Bins, use_classes: bool, slope: bool, n_folds: int, block_m: float,
             seed: int, mast_ids: list[str]) -> tuple[dict, pd.DataFrame]:
    """Fit, cross-validate and summarise binned residuals (the figures of calibration.json)."""
    before = bins.residual_db
    fit = cb.fit_correction(before, bins.land_class, use_classes=use_classes)
    after = before - fit.correction_db(bins.land_class)
    folds = cb.block_folds(bins.x_m, bins.y_m, n_folds, block_m, seed)
    cv = cb.cross_validate(before, bins.land_class, folds, use_classes=use_classes)
    cv_random = cb.cross_validate(before, bins.land_class, cb.random_folds(len(bins), n_folds,
                                                                            seed),
                                  use_classes=use_classes)
    sigma = cb.sigma_by_class(after, bins.land_class, n_params=1 + len(fit.offsets_db))
    s_before, s_after = cb.stats(before), cb.stats(after)
    mast_label = np.asarray(mast_ids, dtype=object)[bins.mast]
    summary = {
        "n_points": int(bins.n_points.sum()), "n_pixels": int(len(np.unique(bins.pixel))),
        "n_bins": len(bins),
        "mean_error_db_before": s_before["mean_error_db"], "rmse_db_before": s_before["rmse_db"],
        "std_db_before": s_before["std_db"],
        "mean_error_db_after": s_after["mean_error_db"], "rmse_db_after": s_after["rmse_db"],
        "std_db_after": s_after["std_db"],
        "cv_rmse_db": cb.rmse(cv), "cv_rmse_random_folds_db": cb.rmse(cv_random),
        "cv": {"n_folds": n_folds, "block_m": block_m, "seed": seed},
        "sigma_db": sigma, "offsets_db": cb.public_offsets(fit),
        "by_class": _grouped(before, after, np.where(bins.land_class >= 0,
                                                     bins.land_class.astype(str), "none")),
        "by_distance": _grouped(before, after, cb.distance_band(bins.dist_m)),
        "by_mast": _grouped(before, after, mast_label),
    }
    if slope:
        sfit = cb.fit_correction(before, bins.land_class, bins.dist_m, use_classes, slope=True)
        scv = cb.cross_validate(before, bins.land_class, folds, bins.dist_m, use_classes, True)
        summary["slope_fit"] = {"slope_db_per_decade": sfit.slope_db_per_decade,
                                "offsets_db": cb.public_offsets(sfit), "cv_rmse_db": cb.rmse(scv),
                                "applied": False}
    table = pd.DataFrame({"x_m": bins.x_m, "y_m": bins.y_m, "mast_id": mast_label,
                          "land_class": bins.land_class, "dist_m": bins.dist_m,
                          "n_points": bins.n_points, "measured_dbm": bins.measured_dbm,
                          "predicted_dbm": bins.predicted_dbm, "residual_db_before": before,
                          "residual_db_after": after, "residual_db_cv": cv, "fold": folds})
    return summary, table


def write_calibration(summary: dict, table: pd.DataFrame, out_dir: Path,
                      landcover: Path | None) -> list[Path]:
    """Write calibration.toml, calibration.json, the bins and the page into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    toml_path = out_dir / rf.CALIBRATION_TOML
    comment = (f"written by c2000cov calibrate: scenario {summary.get('scenario')}, "
               f"{summary['n_points']} points in {summary['n_pixels']} pixels\n"
               f"RMSE {summary['rmse_db_before']:.2f} dB before, "
               f"{summary['rmse_db_after']:.2f} dB after, "
               f"{summary['cv_rmse_db']:.2f} dB cross-validated (blocked)")
    text = calibration_toml(summary["offsets_db"], summary["sigma_db"], summary["profile"],
                            landcover if len(summary["offsets_db"]) > 1 else None,
                            summary["n_points"], summary["n_pixels"], summary["cv_rmse_db"],
                            comment, summary)
    with atomic_path(toml_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    json_path = out_dir / rf.CALIBRATION_JSON
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n",
                       encoding="utf-8")
    files = [toml_path, json_path, write_csv(out_dir / rf.CALIBRATION_POINTS, table)]
    files.append(build_page(summary, table, out_dir / rf.CALIBRATION_PAGE))
    return files


# --------------------------------------------------------------------------- validate
@dataclass
class Validation:
    """What ``validate`` computed and wrote."""

    table: pd.DataFrame
    reports: PointSet
    files: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the command prints."""
        out = [f"{r['profile']} {r['zone']}: {r['n_fail_inside']}/{r['n_fail']} failures "
               f"({r['fail_share_pct']:.1f} %) on {r['area_share_pct']:.1f} % of the area, "
               f"lift {r['lift']:.2f}; {r['n_ok_inside']}/{r['n_ok']} ok reports inside "
               f"({r['ok_share_pct']:.1f} %)" for r in self.table.to_dict("records")]
        return out + _rejected_line(self.reports.summary()["rejected"]) + [
            f"wrote {p}" for p in self.files]


def validate(run_dir: Path, reports: Path, profile: str | None = None,
             rebuild_report: bool = True) -> Validation:
    """Field reports against a run folder's dead zones and poor/none classes.

    Writes ``validation.csv`` (the table) and ``validation.gpkg`` (the
    reports with their zone) into the run folder and rebuilds its report,
    which then shows the table.
    """
    folder = rf.read_run_folder(run_dir, [profile] if profile else None)
    prof = folder.profiles[0]
    cov = rf.read_coverage(folder.file(rf.coverage_name(prof)), folder.target_pct(prof),
                           folder.reduced_pct, folder.poor_pct)
    grid = Grid(cov.crs, cov.transform, *cov.p_cover.shape)
    pts = read_field_reports(reports, grid)
    df = pts.frame
    x, y = df["x_m"].to_numpy(dtype=float), df["y_m"].to_numpy(dtype=float)
    row, col = grid.rowcol(x, y)
    evaluated = cov.evaluated
    dz = gpd.read_file(folder.file(rf.DEAD_ZONES), layer=prof) \
        if folder.has(rf.DEAD_ZONES) else None
    zone = shapely.union_all(dz.geometry.values) if dz is not None and len(dz) else None
    in_dz = (shapely.contains_xy(zone, x, y) if zone is not None
             else np.zeros(len(df), dtype=bool))
    dz_area = float(zone.area) if zone is not None else 0.0
    dz_share = 100.0 * dz_area / (evaluated.sum() * cov.pixel_area_m2)
    poor = np.isin(cov.coverage_class, [CLASS_NONE, CLASS_POOR])
    in_poor = poor[row, col]
    fail = (df["status"] == fr.STATUS_FAIL).to_numpy()
    table = pd.DataFrame([fr.zone_row(fr.ZONE_DEAD, fail, in_dz, dz_share),
                          fr.zone_row(fr.ZONE_POOR_NONE, fail, in_poor,
                                      fr.area_share_pct(poor, evaluated))],
                         columns=list(fr.TABLE_COLUMNS))
    table.insert(0, "profile", prof)
    points = gpd.GeoDataFrame({"row": df["row"], "status": df["status"],
                               "in_dead_zone": in_dz,
                               "coverage_class": cov.coverage_class[row, col],
                               "p_cover": cov.p_cover[row, col],
                               # the meldkamer's own id and time, for the map's popups
                               **{c: df[c].astype(str).to_numpy() for c in fr.CARRIED_COLUMNS
                                  if c in df}},
                              geometry=gpd.points_from_xy(x, y), crs=grid.crs)
    files = [write_csv(folder.file(rf.VALIDATION_TABLE), table),
             write_gpkg(folder.file(rf.VALIDATION_POINTS), {rf.VALIDATION_LAYER: points})]
    if rebuild_report:
        from c2000cov.products.report import build_report

        files.append(build_report(folder.path))
    return Validation(table, pts, files)
