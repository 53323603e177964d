"""The calibration page: figures of ``c2000cov calibrate`` as one self-contained HTML file.

Measured versus predicted (before and after the correction), residual
histograms, a residual map and the statistics tables, with the figures as
inline PNGs (no network, no scripts).
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from c2000cov.files.atomic import atomic_path
from c2000cov.products.figures import figure, png_base64

PLOT_DPI = 110


def plot_scatter(table: pd.DataFrame) -> str:
    """Measured versus predicted level, before and after the correction."""
    fig = figure(9.0, 4.2, dpi=PLOT_DPI)
    meas = table["measured_dbm"].to_numpy()
    before = table["predicted_dbm"].to_numpy()
    after = meas - table["residual_db_after"].to_numpy()
    lo, hi = np.nanmin([meas.min(), before.min(), after.min()]), np.nanmax(
        [meas.max(), before.max(), after.max()])
    for k, (pred, title) in enumerate(((before, "model"), (after, "gecorrigeerd / corrected"))):
        ax = fig.add_subplot(1, 2, k + 1)
        ax.scatter(pred, meas, s=4, alpha=0.5, color="#0072B2", linewidths=0)
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
        ax.set_xlabel("voorspeld / predicted (dBm)")
        ax.set_ylabel("gemeten / measured (dBm)")
        ax.set_title(title)
    fig.tight_layout()
    return png_base64(fig, dpi=PLOT_DPI)


def plot_histograms(table: pd.DataFrame) -> str:
    """Residual histograms before, after and out-of-fold."""
    fig = figure(9.0, 3.4, dpi=PLOT_DPI)
    ax = fig.add_subplot(1, 1, 1)
    cols = (("residual_db_before", "model", "#D55E00"),
            ("residual_db_after", "gecorrigeerd / corrected", "#0072B2"),
            ("residual_db_cv", "kruisvalidatie / cross-validated", "#009E73"))
    values = np.concatenate([table[c].to_numpy() for c, _, _ in cols])
    values = values[np.isfinite(values)]
    bins = np.linspace(values.min(), values.max(), 41)
    for col, label, color in cols:
        ax.hist(table[col].dropna(), bins=bins, histtype="step", linewidth=1.4, label=label,
                color=color)
    ax.set_xlabel("gemeten − voorspeld / measured − predicted (dB)")
    ax.set_ylabel("pixels")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_base64(fig, dpi=PLOT_DPI)


def plot_residual_map(table: pd.DataFrame) -> str:
    """Bins on the map, coloured by the corrected residual (dB)."""
    fig = figure(7.0, 6.0, dpi=PLOT_DPI)
    ax = fig.add_subplot(1, 1, 1)
    r = table["residual_db_after"].to_numpy()
    lim = max(float(np.nanpercentile(np.abs(r), 98)), 1.0)
    sc = ax.scatter(table["x_m"], table["y_m"], c=r, s=6, cmap="RdBu", vmin=-lim, vmax=lim,
                    linewidths=0)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    fig.colorbar(sc, ax=ax, label="residu na correctie / residual after (dB)")
    fig.tight_layout()
    return png_base64(fig, dpi=PLOT_DPI)


def _num(v) -> str:
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.2f}"
    return html.escape(str(v))


def _stats_table(title: str, groups: dict) -> str:
    head = ("<tr><th>groep</th><th>n</th><th>gem. fout vóór (dB)</th><th>RMSE vóór (dB)</th>"
            "<th>gem. fout na (dB)</th><th>RMSE na (dB)</th><th>σ na (dB)</th></tr>")
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{g['before']['count']}</td>"
        f"<td>{_num(g['before']['mean_error_db'])}</td><td>{_num(g['before']['rmse_db'])}</td>"
        f"<td>{_num(g['after']['mean_error_db'])}</td><td>{_num(g['after']['rmse_db'])}</td>"
        f"<td>{_num(g['after']['std_db'])}</td></tr>" for k, g in groups.items())
    return f"<h2>{html.escape(title)}</h2><table>{head}{rows}</table>"


def render_page(summary: dict, table: pd.DataFrame) -> str:
    """HTML text of the calibration page."""
    s = summary
    facts = [("punten / points", s["n_points"]), ("pixels", s["n_pixels"]),
             ("gemiddelde fout vóór / mean error before (dB)", s["mean_error_db_before"]),
             ("RMSE vóór / before (dB)", s["rmse_db_before"]),
             ("gemiddelde fout na / mean error after (dB)", s["mean_error_db_after"]),
             ("RMSE na / after (dB)", s["rmse_db_after"]),
             ("RMSE kruisvalidatie, blokken / cross-validated, blocked (dB)", s["cv_rmse_db"]),
             ("RMSE kruisvalidatie, willekeurig / random folds (dB)",
              s["cv_rmse_random_folds_db"])]
    facts += [(f"correctie / offset {k} (dB)", v) for k, v in s["offsets_db"].items()]
    facts += [(f"σ {k} (dB)", v) for k, v in s["sigma_db"].items()]
    if "slope_fit" in s:
        facts.append(("helling / slope (dB per decade, not applied)",
                      s["slope_fit"]["slope_db_per_decade"]))
    rejected = s.get("measurements", {}).get("rejected", {})
    facts += [(f"niet gebruikt / not used: {k}", v) for k, v in rejected.items()]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_num(v)}</td></tr>" for k, v in facts)
    img = '<img alt="{}" src="data:image/png;base64,{}">'
    cv = s.get("cv", {})
    return (
        "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
        f"<title>Kalibratie {html.escape(str(s.get('scenario', '')))}</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;"
        "padding:2px 6px;text-align:right}th{text-align:left}img{max-width:100%}"
        "</style></head><body>"
        f"<h1>Kalibratie van het model / model calibration: "
        f"{html.escape(str(s.get('scenario', '')))}</h1>"
        f"<p>Profiel / profile <b>{html.escape(str(s.get('profile', '')))}</b>. Residu = "
        "gemeten − voorspeld (dB), per pixel en serverende mast gemiddeld. Kruisvalidatie: "
        f"{cv.get('n_folds')} folds over blokken van {cv.get('block_m')} m.</p>"
        f"<table>{rows}</table>"
        "<h2>Gemeten tegen voorspeld / measured versus predicted</h2>"
        + img.format("scatter", plot_scatter(table))
        + "<h2>Residuen / residuals</h2>" + img.format("histograms", plot_histograms(table))
        + "<h2>Residukaart / residual map</h2>" + img.format("map", plot_residual_map(table))
        + _stats_table("Per landgebruiksklasse / per land-cover class", s["by_class"])
        + _stats_table("Per afstand / per distance band", s["by_distance"])
        + _stats_table("Per mast", s["by_mast"])
        + "</body></html>\n")


def build_page(summary: dict, table: pd.DataFrame, path: Path) -> Path:
    """Write the calibration page atomically."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(render_page(summary, table), encoding="utf-8")
    return Path(path)


# --------------------------------------------------------------------------- report sections
_WORDS = {
    "nl": {"cal_title": "Kalibratie op metingen",
           "cal_text": "De voorspelde niveaus van deze berekening zijn gecorrigeerd met een "
                       "kalibratie op {n} metingen ({profile}): de correctie is opgeteld bij "
                       "elk voorspeld niveau (downlink en uplink) en σ vervangt de "
                       "plaatsvariabiliteit van elk profiel. Bestand: {path}.",
           "key": "grootheid", "value": "waarde",
           "cv": "RMSE na kruisvalidatie (dB)", "offset": "correctie {k} (dB)",
           "sigma": "σ {k} (dB)", "global": "overal", "class": "klasse {c}",
           "rmse_db_before": "RMSE zonder correctie (dB)",
           "rmse_db_after": "RMSE met correctie (dB)",
           "mean_error_db_before": "gemiddelde fout zonder correctie (dB)",
           "mean_error_db_after": "gemiddelde fout met correctie (dB)",
           "n_points": "metingen", "n_pixels": "pixels met metingen",
           "val_title": "Meldingen uit het veld",
           "val_text": "Aandeel van de meldingen ‘geen bereik’ (fail) in de voorspelde "
                       "dode zones en in de klassen slecht/geen, tegen het aandeel van het "
                       "oppervlak (lift = aandeel meldingen / aandeel oppervlak; 1 = de kaart "
                       "zegt niets). Ook: aandeel ‘ok’-meldingen in die zones.",
           "zone": "zone", "fails": "fail in zone", "fail_pct": "fail in zone (%)",
           "area_pct": "oppervlak (%)", "lift": "lift", "ok_pct": "ok in zone (%)",
           "dead_zones": "dode zones", "poor_or_none": "slecht of geen"},
    "en": {"cal_title": "Calibration against measurements",
           "cal_text": "The predicted levels of this run are corrected by a calibration on {n} "
                       "measurements ({profile}): the offset is added to every predicted "
                       "level (downlink and uplink) and σ replaces every profile's location "
                       "variability. File: {path}.",
           "key": "quantity", "value": "value",
           "cv": "cross-validated RMSE (dB)", "offset": "offset {k} (dB)", "sigma": "σ {k} (dB)",
           "global": "everywhere", "class": "class {c}",
           "rmse_db_before": "RMSE without correction (dB)",
           "rmse_db_after": "RMSE with correction (dB)",
           "mean_error_db_before": "mean error without correction (dB)",
           "mean_error_db_after": "mean error with correction (dB)",
           "n_points": "measurements", "n_pixels": "pixels with measurements",
           "val_title": "Field reports",
           "val_text": "Share of 'no coverage' reports (fail) inside the predicted dead zones "
                       "and the poor/none classes, against the share of the area (lift = "
                       "share of reports / share of area; 1 = the map tells nothing). Also: "
                       "the share of 'ok' reports inside those zones.",
           "zone": "zone", "fails": "fail in zone", "fail_pct": "fail in zone (%)",
           "area_pct": "area (%)", "lift": "lift", "ok_pct": "ok in zone (%)",
           "dead_zones": "dead zones", "poor_or_none": "poor or none"},
}


def _fmt(v, lang: str) -> str:
    if isinstance(v, int) and not isinstance(v, bool):  # counts: no decimals
        return str(v)
    text = _num(float(v)) if isinstance(v, float) else html.escape(str(v))
    return text.replace(".", ",") if lang == "nl" else text


def calibration_section(summary: dict | None, lang: str = "nl") -> dict | None:
    """Report section: the calibration a run applied (``run.json`` ``calibration``)."""
    if not summary:
        return None
    w = _WORDS.get(lang, _WORDS["en"])
    rows = [[w[k], _fmt(summary[k], lang)]
            for k in ("n_points", "n_pixels", "mean_error_db_before", "mean_error_db_after",
                      "rmse_db_before", "rmse_db_after") if k in summary]
    rows.append([w["cv"], _fmt(summary.get("cv_rmse_db", float("nan")), lang)])

    def label(k: str) -> str:
        return w["global"] if k == "global" else w["class"].format(c=k)

    for key, word in (("offsets_db", "offset"), ("sigma_db", "sigma")):
        values = summary.get(key, {})
        rows += [[w[word].format(k=label(k)), _fmt(values[k], lang)]
                 for k in sorted(values, key=lambda k: (k != "global", k))]
    return {"id": "calibration", "title": w["cal_title"],
            "text": w["cal_text"].format(n=summary.get("n_points", "?"),
                                         profile=summary.get("profile", "?"),
                                         path=Path(str(summary.get("path", ""))).name),
            "header": [w["key"], w["value"]], "rows": rows}


def validation_section(table_path: Path | None, lang: str = "nl") -> dict | None:
    """Report section: the table of ``c2000cov validate`` (``validation.csv``)."""
    if table_path is None:
        return None
    w = _WORDS.get(lang, _WORDS["en"])
    table = pd.read_csv(table_path)
    rows = [[f"{r['profile']}: {w.get(r['zone'], r['zone'])}",
             f"{int(r['n_fail_inside'])}/{int(r['n_fail'])}", _fmt(r["fail_share_pct"], lang),
             _fmt(r["area_share_pct"], lang), _fmt(r["lift"], lang),
             _fmt(r["ok_share_pct"], lang)] for r in table.to_dict("records")]
    return {"id": "field-reports", "title": w["val_title"], "text": w["val_text"],
            "header": [w["zone"], w["fails"], w["fail_pct"], w["area_pct"], w["lift"],
                       w["ok_pct"]], "rows": rows}
