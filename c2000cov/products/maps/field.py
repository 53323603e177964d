"""The map's field layers: drive-test residuals and meldkamer field reports.

Both come from files a run folder leads to, named in
:mod:`c2000cov.products.runfolder`:

- **measurements**: a run that applied a calibration records its
  ``calibration.toml`` in ``run.json`` (``calibration.path``); the
  ``calibration_points.csv`` beside it holds the drive test binned per pixel
  and serving mast (measured and predicted median level, residual before and
  after the fitted correction). The map colours each bin by the residual
  against the level this run predicts, *measured minus predicted* (dB), on a
  diverging scale: red where the field is weaker than the map says (the map
  is optimistic), blue where it is stronger.
- **field reports**: ``c2000cov validate`` writes ``validation.gpkg`` into the
  run folder: each report (``fail``: "geen bereik", ``ok``) with whether it
  lies in a predicted dead zone and its predicted class.

Neither layer is drawn in a public map: drive-test tracks and incident
positions are operational data.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from c2000cov.analysis.coverage import CLASS_GOOD, CLASS_NONE, CLASS_POOR, CLASS_REDUCED
from c2000cov.products import advice
from c2000cov.products import runfolder as rf
from c2000cov.products.maps.layers import WGS84, collection, feature, fmt
from c2000cov.products.runfolder import RunFolder

#: Residual bins (lower edge dB, colour), measured minus predicted: ColorBrewer RdBu (7
#: classes), whose ends differ in lightness as well as hue, so they stay apart under
#: colour-vision deficiency. Edges at ±2, ±6 and ±12 dB: within the fit's noise (about
#: σ/4), one to two thirds of a typical location variability (8 dB), and beyond it.
RESIDUAL_BINS_DB = ((12.0, "#2166ac"), (6.0, "#67a9cf"), (2.0, "#d1e5f0"),
                    (-2.0, "#f7f7f7"), (-6.0, "#fddbc7"), (-12.0, "#ef8a62"),
                    (-math.inf, "#b2182b"))
RESIDUAL_OUTLINE = "#333333"
#: Field reports: a failure red with a white rim, an ok report smaller and light green
#: with a dark green rim (CIELAB lightness 47 against 83: apart under every colour-vision
#: deficiency; not white with a black rim, which is a mast).
REPORT_FAIL_COLOUR, REPORT_OK_COLOUR, REPORT_OK_RIM = "#d7191c", "#a6dba0", "#1b7837"
STATUS_FAIL, STATUS_OK = "fail", "ok"
CLASS_CODE_KEYS = {CLASS_GOOD: "good", CLASS_REDUCED: "reduced", CLASS_POOR: "poor",
                   CLASS_NONE: "none"}


def residual_colour(residual_db: float) -> str:
    """Fill colour of a measurement by its residual (measured minus predicted, dB)."""
    return next(colour for lower, colour in RESIDUAL_BINS_DB if residual_db >= lower)


def signed_db(value: float) -> str:
    """A level difference with its sign, to 0.1 dB (never '-0.0 dB')."""
    return f"{round(float(value), 1) + 0.0:+.1f} dB"


def calibration_points_path(run: RunFolder) -> Path | None:
    """``calibration_points.csv`` of the calibration a run applied; None when there is none."""
    cal = run.manifest.get("calibration") or {}
    path = cal.get("path") if isinstance(cal, dict) else None
    if not path:
        return None
    points = Path(str(path)).parent / rf.CALIBRATION_POINTS
    return points if points.is_file() else None


def read_calibration_points(path: Path) -> pd.DataFrame:
    """The binned drive test of a calibration, finite residuals only."""
    df = pd.read_csv(path, dtype={"mast_id": str}, keep_default_na=False,
                     na_values={c: ["", "nan", "NaN"] for c in (
                         "x_m", "y_m", "measured_dbm", "predicted_dbm", "residual_db_after",
                         "residual_db_before", "dist_m", "n_points")})
    keep = np.isfinite(df["residual_db_after"].to_numpy(dtype=float)) & np.isfinite(
        df["x_m"].to_numpy(dtype=float)) & np.isfinite(df["y_m"].to_numpy(dtype=float))
    return df[keep].reset_index(drop=True)


#: Key of the measurements' shared popup template in the page data (``popups``).
MEAS_POPUP = "meas"


def measurement_style_key(residual_db: float) -> str:
    """Key of a measurement's shared style in the page data (``styles``): its residual bin."""
    return f"meas:{residual_colour(residual_db)}"


def measurement_shared(words: dict) -> dict:
    """The styles and popup template the measurement points share (``styles``, ``popups``):
    2,580 demo points each carrying its own would add 1.4 MB to the page, sharing 0.4 MB."""
    styles = {measurement_style_key(lower if math.isfinite(lower) else -99.0): {
        "radius": 4, "color": RESIDUAL_OUTLINE, "weight": 0.6, "fillColor": colour,
        "fillOpacity": 0.95, "className": "c2k-meas"} for lower, colour in RESIDUAL_BINS_DB}
    labels = [words[k] for k in ("meas_measured", "meas_predicted", "meas_residual",
                                 "meas_uncalibrated", "meas_n", "meas_mast", "profile")]
    return {"styles": styles,
            "popups": {MEAS_POPUP: {"title": words["meas_title"], "labels": labels}}}


def measurement_features(points: pd.DataFrame, crs, profile: str) -> list[dict]:
    """Drive-test bins as small circles coloured by residual, popups in dBm and dB.

    The predicted level shown is this run's: the model's plus the applied
    correction (``measured - residual_db_after``); the uncorrected figures follow.
    Style and popup labels are shared (:func:`measurement_shared`).
    """
    pts = gpd.GeoSeries(gpd.points_from_xy(points["x_m"], points["y_m"]), crs=crs).to_crs(WGS84)
    feats = []
    for (_, p), g in zip(points.iterrows(), pts.values, strict=True):
        measured, res = float(p["measured_dbm"]), float(p["residual_db_after"])
        values = [fmt(measured, 1, " dBm"), fmt(measured - res, 1, " dBm"), signed_db(res),
                  f"{fmt(p['predicted_dbm'], 1, ' dBm')}, {signed_db(p['residual_db_before'])}",
                  str(int(p["n_points"])),
                  f"{p['mast_id']}, {fmt(float(p['dist_m']) / 1000, 1, ' km')}", profile]
        feats.append(feature(g, measurement_style_key(res),
                             popup={"tpl": MEAS_POPUP, "v": values},
                             residual_db=round(res, 2)))
    return feats


def read_field_reports(run: RunFolder) -> gpd.GeoDataFrame | None:
    """The field reports ``c2000cov validate`` wrote into the run folder; None when absent."""
    if not run.has(rf.VALIDATION_POINTS):
        return None
    gdf = gpd.read_file(run.file(rf.VALIDATION_POINTS), layer=rf.VALIDATION_LAYER)
    return gdf if gdf.crs is not None else gdf.set_crs(run.crs)


def report_features(reports: gpd.GeoDataFrame, words: dict, lang: str) -> list[dict]:
    """Field reports: failures red, ok reports grey; the popup says whether the report lies
    in a predicted dead zone and in which predicted class."""
    pts = reports.geometry.to_crs(WGS84)
    labels = advice.CLASS_LABELS[lang]
    feats = []
    # ok reports first, so failures are drawn on top of them
    order = sorted(range(len(reports)), key=lambda i: reports["status"].iloc[i] == STATUS_FAIL)
    for i in order:
        r, g = reports.iloc[i], pts.iloc[i]
        fail = r["status"] == STATUS_FAIL
        in_dz = bool(r["in_dead_zone"])
        cls = labels.get(CLASS_CODE_KEYS.get(int(r["coverage_class"]), ""), words["no_data"])
        rows = [[words["rep_status"], words["rep_fail" if fail else "rep_ok"]],
                [words["rep_in_dz"], words["yes" if in_dz else "no"]],
                [words["rep_class"], cls],
                [words["p_min_point"], fmt(100 * float(r["p_cover"]), 1, " %")]]
        if str(r.get("time", "") or "") not in ("", "nan", "None"):
            rows.append([words["rep_time"], str(r["time"])])
        rid = str(r.get("report_id", "") or "")
        title = (words["rep_title_id"].format(id=rid) if rid not in ("", "nan", "None")
                 else words["rep_title"].format(n=int(r["row"])))
        style = ({"radius": 6, "color": "#ffffff", "weight": 1.5, "fillColor": REPORT_FAIL_COLOUR,
                  "fillOpacity": 1.0, "className": "c2k-report c2k-report-fail"} if fail else
                 {"radius": 3.5, "color": REPORT_OK_RIM, "weight": 1, "fillColor": REPORT_OK_COLOUR,
                  "fillOpacity": 1.0, "className": "c2k-report c2k-report-ok"})
        status = words["rep_fail" if fail else "rep_ok"]
        where = words["rep_tip_dz" if in_dz else "rep_tip_out"]
        feats.append(feature(g, style, tip=f"{status}: {where}",
                             popup={"title": title, "rows": rows},
                             status=str(r["status"]), in_dead_zone=in_dz))
    return feats


def field_layers(run: RunFolder, words: dict, lang: str) -> tuple[dict[str, dict], dict]:
    """``{"measurements": ..., "fieldreports": ...}`` FeatureCollections, those the run has,
    and what their features share (``{"styles": ..., "popups": ...}``, page data)."""
    out: dict[str, dict] = {}
    shared: dict = {}
    path = calibration_points_path(run)
    if path is not None:
        points = read_calibration_points(path)
        profile = str((run.manifest.get("calibration") or {}).get("profile", ""))
        if len(points):
            out["measurements"] = collection(measurement_features(
                points, run.crs, run.labels(lang).get(profile, profile)))
            shared = measurement_shared(words)
    reports = read_field_reports(run)
    if reports is not None and len(reports):
        out["fieldreports"] = collection(report_features(reports, words, lang))
    return out, shared


def field_legend(layers: dict[str, dict], words: dict) -> list[dict]:
    """Legend sections of the field layers a map holds."""
    secs = []
    if "measurements" in layers:
        n = len(layers["measurements"]["features"])
        items = []
        for i, (lower, colour) in enumerate(RESIDUAL_BINS_DB):
            upper = RESIDUAL_BINS_DB[i - 1][0] if i else math.inf
            if math.isinf(upper):
                text = f"≥ {lower:+g} dB"
            elif math.isinf(lower):
                text = f"< {upper:+g} dB"
            else:
                text = f"{lower:+g} … {upper:+g} dB"
            note = words["meas_stronger"] if lower >= 2 else (
                words["meas_weaker"] if upper <= -2 else words["meas_match"])
            items.append([colour, f"{text.replace('-', '−')}: {note}", "dot",
                          f"residual:{lower:g}"])
        secs.append({"theme": "measurements", "title": words["leg_meas"].format(n=n),
                     "items": items})
    if "fieldreports" in layers:
        feats = layers["fieldreports"]["features"]
        n_fail = sum(f["properties"]["status"] == STATUS_FAIL for f in feats)
        secs.append({"theme": "fieldreports", "title": words["leg_reports"], "items": [
            [REPORT_FAIL_COLOUR, words["rep_fail_item"].format(n=n_fail), "dot", "report:fail"],
            [REPORT_OK_COLOUR, words["rep_ok_item"].format(n=len(feats) - n_fail), "dot",
             "report:ok"]]})
    return secs
