"""Compliance report of a run folder: one self-contained HTML page an inspector can print.

:func:`build_report` reads a run folder (see the run-folder contract:
``run.json``, ``areas_coverage.csv``, ``p_cover_<profile>.tif``,
``areas_used.gpkg``, ``dead_zones.gpkg`` and, when present,
``masts_interference.csv``, ``delta_areas.csv``, ``n1_outage.csv``) and
renders ``templates/report.html.j2`` with jinja2 (autoescape on: every text
read from the inputs is escaped).

What it states:

- a verdict per area and profile against the requirement the scenario states
  (``[report] required_covered_pct``; none stated by default): meets or
  fails, and the margin in percentage points;
- the uncertainty of each covered share: the location variability σ that is
  inside every figure, what the model's validation covers (the code against
  the ITU-R reference results, not the model against measurements), and the
  share again with every predicted level ``[report] sensitivity_db`` lower
  and higher (:func:`shifted_covered_pct`);
- when the run was made and, for a report written next to an evidence bundle
  (``bundle=``), the SHA-256 of the bundle's manifest;
- one map per profile from the class band;
- every parameter with the value used, where it came from (scenario file,
  command line or default) and the default with its source in
  ``c2000cov/data/DOMAIN.md``, which ships with the package.

Words come from :mod:`c2000cov.products.report_text` (Dutch by default, English with
``lang="en"``); numbers are rounded by their unit. Plots are matplotlib PNGs
embedded as base64, rendered with the Agg backend without dates or software
tags, so the same run folder gives the same bytes. The print stylesheet
lays the report out on A4, wide sections on landscape pages, and no table is
wider than its page.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from c2000cov import __version__
from c2000cov.analysis.areas import area_weights
from c2000cov.analysis.coverage import reaches_pct
from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import atomic_path, sha256_file
from c2000cov.geo.grid import Grid
from c2000cov.products import runfolder as rf
from c2000cov.products import styles
from c2000cov.products.bundle_format import MANIFEST_NAME
from c2000cov.products.report_text import LANGS, LIMITATIONS, column_label, profile_label, texts
from c2000cov.products.runfolder import REPORT, read_run_manifest
from c2000cov.products.verify import verify_bundle
from c2000cov.radio.validation import validate_p1812
from c2000cov.resources import TEMPLATES_DIR
from c2000cov.scenario.config import default_value
from c2000cov.scenario.sources import ASSUMED, DOMAIN_PATH, NO_SOURCE, parameter_source

TEMPLATE_NAME = "report.html.j2"
#: Modules whose ``ITU_REC`` constants name the model editions in the report.
ITU_MODULES = ("p525", "hata", "p1812", "p2108", "p2109")
#: Number of quantiles drawn per coverage-probability CDF.
CDF_POINTS = 501
PLOT_DPI = 100
#: Largest side of a class map in drawn cells; larger grids are drawn by blocks.
MAP_MAX_CELLS = 900
#: Most columns of one printed table (portrait and landscape pages); wider tables are
#: split into parts that repeat the key columns.
MAX_COLUMNS_PORTRAIT = 8
MAX_COLUMNS_LANDSCAPE = 11
#: Units by the unit token of a column name (``covered_km2``, ``covered_pct_base``).
UNIT_TOKENS = {"km2": "km²", "m2": "m²", "pct": "%", "pp": "pp", "km": "km", "dbm": "dBm",
               "dbi": "dBi", "db": "dB", "deg": "°", "m": "m", "mhz": "MHz", "khz": "kHz",
               "s": "s", "kwp": "kWp"}
#: Decimals shown per unit; numbers without a unit get :data:`SIGNIFICANT` digits.
DECIMALS = {"km²": 3, "m²": 0, "%": 2, "pp": 2, "km": 2, "dBm": 1, "dBi": 1, "dB": 2, "°": 1,
            "m": 1, "MHz": 3, "kHz": 1, "s": 1, "dBµV/m": 1, "kWp": 2}
SIGNIFICANT = 4
#: Class codes of the class band, best first, and their colours (those of the rasters'
#: colour tables and QGIS styles, :mod:`c2000cov.products.styles`).
CLASS_CODES = (3, 2, 1, 0)
CLASS_KEYS = styles.CLASS_NAMES
CLASS_NODATA = rf.CODE_NODATA
CLASS_COLOURS = {**styles.CLASS_COLOURS, CLASS_NODATA: styles.NOT_EVALUATED_COLOUR}
_PLOT_RC = {"svg.hashsalt": "c2000cov", "font.family": "DejaVu Sans", "font.size": 9,
            "axes.grid": True, "grid.alpha": 0.3}


# --------------------------------------------------------------------------- formatting
def column_unit(column: str) -> str:
    """Unit of a column: its last unit token after the first word ('' when none)."""
    if column.lower().endswith("dbuv_m"):
        return "dBµV/m"
    for token in reversed(column.lower().split("_")[1:]):
        if token in UNIT_TOKENS:
            return UNIT_TOKENS[token]
    return ""


def _localise(text: str, lang: str) -> str:
    return text.replace(".", ",") if lang == "nl" else text


def format_value(value: Any, unit: str = "", lang: str = "nl") -> str:
    """Text of a table cell: fixed decimals per unit, '–' for missing values.

    Dutch (``lang="nl"``) writes a decimal comma. Numbers without a known unit
    keep :data:`SIGNIFICANT` significant digits, so no unrounded float
    (``45.33378982543945``) reaches the page.
    """
    if value is None:
        return "–"
    if isinstance(value, bool | np.bool_):
        return texts(lang)["yes" if value else "no"]
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return "–"
        if unit in DECIMALS:
            text = f"{value:.{DECIMALS[unit]}f}"
        elif float(value).is_integer() and abs(value) < 1e15:
            text = str(int(value))
        else:
            text = f"{value:.{SIGNIFICANT}g}"
        if text.startswith("-") and float(text.replace(",", ".")) == 0:
            text = text[1:]
        return _localise(text, lang)
    return str(value)


def format_quantity(value: Any, unit: str = "", lang: str = "nl") -> str:
    """A value in running text: rounded by unit, trailing zeros dropped, unit added.

    Lists are written ``a; b; c unit``.
    """
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not values:
        return "–"
    parts = []
    for v in values:
        text = format_value(v, unit, lang)
        sep = "," if lang == "nl" else "."
        if isinstance(v, float | np.floating) and math.isfinite(v) and sep in text \
                and "e" not in text:
            text = text.rstrip("0").rstrip(sep)
        parts.append(text)
    text = "; ".join(parts)
    return f"{text} {unit}" if unit and text not in ("–", "") else text


def _key_unit(key: str) -> str:
    """Unit of a parameter key; a value of a table (``report.required_covered_pct.<profile>``)
    takes the table's unit."""
    parts = key.split(".")
    unit = column_unit("x_" + parts[-1])
    if not unit and parts[0] == "report" and len(parts) == 3:
        unit = column_unit("x_" + parts[1])
    return unit


def table_from_frame(df: pd.DataFrame, columns: list[str] | None = None,
                     lang: str = "nl") -> dict:
    """A table for the template: headers (label with unit, CSV column as tooltip), cells."""
    columns = [c for c in (columns or list(df.columns)) if c in df.columns and c != "geometry"]
    units = [column_unit(c) for c in columns]
    headers = [{"label": f"{column_label(c, lang)} ({u})" if u else column_label(c, lang),
                "column": c} for c, u in zip(columns, units, strict=True)]
    rows = []
    for rec in df[columns].itertuples(index=False, name=None):
        rows.append([(format_value(None if _missing(v) else v, u, lang),
                      isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_))
                     for v, u in zip(rec, units, strict=True)])
    return {"headers": headers, "rows": rows}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def split_tables(df: pd.DataFrame, keys: list[str], max_columns: int, lang: str = "nl",
                 columns: list[str] | None = None) -> list[dict]:
    """One table per group of at most ``max_columns`` columns, each repeating ``keys``.

    A page holds only so many columns: rather than clip the right-hand ones,
    the report prints a wide table as several narrower ones.
    """
    columns = [c for c in (columns or list(df.columns)) if c in df.columns and c != "geometry"]
    keys = [k for k in keys if k in columns]
    rest = [c for c in columns if c not in keys]
    width = max(1, max_columns - len(keys))
    return [table_from_frame(df, keys + rest[i:i + width], lang)
            for i in range(0, max(len(rest), 1), width)]


# --------------------------------------------------------------------------- plots
def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=PLOT_DPI)
    FigureCanvasAgg(fig)
    return fig


def png_base64(fig) -> str:
    """Render a figure as PNG without date or software metadata; base64 text."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _profile_colors(names) -> dict[str, str]:
    """One colour per profile, stable across plots (by sorted profile name)."""
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
               "#000000"]
    return {n: palette[i % len(palette)] for i, n in enumerate(sorted(set(names)))}


def _rc():
    import matplotlib

    return matplotlib.rc_context(_PLOT_RC)


def plot_covered_pct(table: pd.DataFrame, lang: str = "nl") -> str | None:
    """Horizontal bars: covered percentage per area, one bar per profile."""
    if table.empty or "covered_pct" not in table:
        return None
    t = texts(lang)
    areas = list(dict.fromkeys(table["area_name"].astype(str)))
    profiles = list(dict.fromkeys(table["profile"].astype(str)))
    with _rc():
        fig = _figure(7.2, 1.0 + 0.28 * len(areas) * max(1, len(profiles)) ** 0.5 + 0.3)
        ax = fig.add_subplot()
        height = 0.8 / len(profiles)
        colors = _profile_colors(profiles)
        y = np.arange(len(areas))
        pct = {(str(a), str(p)): float(v) for a, p, v in
               zip(table["area_name"], table["profile"], table["covered_pct"], strict=True)}
        for j, prof in enumerate(profiles):
            vals = [pct.get((a, prof), np.nan) for a in areas]
            ax.barh(y + (j - (len(profiles) - 1) / 2) * height, vals, height=height,
                    label=profile_label(prof, lang), color=colors[prof])
        ax.set_yticks(y, areas)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(t["covered_plot"])
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return png_base64(fig)


def plot_cdf(curves: dict[str, np.ndarray], targets: dict[str, float],
             lang: str = "nl") -> str | None:
    """Empirical CDF of the location probability over the evaluated area, per profile.

    ``curves`` is keyed by ``(profile, night)`` pairs.
    """
    if not curves:
        return None
    t = texts(lang)
    q = np.linspace(0.0, 1.0, CDF_POINTS)
    colors = _profile_colors(p for p, _ in curves)
    with _rc():
        fig = _figure(7.2, 4.0)
        ax = fig.add_subplot()
        for (prof, night), values in curves.items():
            if values.size == 0:
                continue
            label = profile_label(prof, lang) + (f" ({t['night']})" if night else "")
            ax.step(np.quantile(values, q), 100 * q, where="post",
                    linestyle="--" if night else "-", label=label, color=colors[prof])
        for tgt in sorted(set(targets.values())):
            ax.axvline(tgt / 100.0, color="0.3", linewidth=0.8, linestyle=":")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 100)
        ax.set_xlabel(t["cdf_x"])
        ax.set_ylabel(t["cdf_y"])
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        return png_base64(fig)


def plot_before_after(merged: pd.DataFrame, lang: str = "nl") -> str | None:
    """Covered percentage per area and profile before and after a what-if."""
    if merged is None or merged.empty:
        return None
    t = texts(lang)
    labels = [f"{a} / {profile_label(p, lang)}"
              for a, p in zip(merged["area_name"], merged["profile"], strict=True)]
    y = np.arange(len(labels))
    with _rc():
        fig = _figure(7.2, 1.0 + 0.35 * len(labels))
        ax = fig.add_subplot()
        ax.barh(y - 0.2, merged["covered_pct_before"], height=0.4, label=t["before"],
                color="0.6")
        ax.barh(y + 0.2, merged["covered_pct_after"], height=0.4, label=t["after"],
                color="#0072B2")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(t["covered_plot"])
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return png_base64(fig)


def block_worst_class(classes: np.ndarray, step: int) -> np.ndarray:
    """Blocks of ``step`` × ``step`` pixels: the worst evaluated class in each (255 if none).

    A map drawn at a coarser scale must not hide a dead zone: the smallest
    code (worst class) wins; not-evaluated pixels (255) count only when the
    whole block is not evaluated.
    """
    if step <= 1:
        return classes
    h, w = classes.shape
    hp, wp = -(-h // step) * step, -(-w // step) * step
    padded = np.full((hp, wp), CLASS_NODATA, dtype="uint8")
    padded[:h, :w] = classes
    return padded.reshape(hp // step, step, wp // step, step).min(axis=(1, 3))


def class_legend(limits: dict[str, float], lang: str = "nl") -> list[tuple[int, str]]:
    """(code, label with its limits) per class, best first, then 'not evaluated'."""
    t = texts(lang)
    target, reduced, poor = limits["target_pct"], limits["reduced_pct"], limits["poor_pct"]

    def pct(v: float) -> str:
        return format_quantity(float(v), "%", lang).replace(" %", "\u202f%")

    bounds = {3: f"≥ {pct(target)}", 2: f"{pct(reduced)} – {pct(target)}",
              1: f"{pct(poor)} – {pct(reduced)}", 0: f"< {pct(poor)}"}
    out = [(c, f"{t['class_' + CLASS_KEYS[c]]}: {t['location_probability']} {bounds[c]}")
           for c in CLASS_CODES]
    return out + [(CLASS_NODATA, t["class_nodata"])]


def plot_class_map(classes: np.ndarray, transform, limits: dict[str, float],
                   areas=None, title: str = "", lang: str = "nl") -> str:
    """Map of the class band (colour per class, limits in the legend, area outlines)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    step = max(1, math.ceil(max(classes.shape) / MAP_MAX_CELLS))
    drawn = block_worst_class(classes, step)
    order = list(CLASS_CODES) + [CLASS_NODATA]
    index = np.full(drawn.shape, len(order) - 1, dtype="uint8")
    for i, code in enumerate(order):
        index[drawn == code] = i
    h, w = classes.shape
    xmin, ymax = transform.c, transform.f
    xmax, ymin = xmin + w * transform.a, ymax + h * transform.e
    with _rc():
        fig = _figure(7.2, 6.4)
        ax = fig.add_subplot()
        ax.imshow(index, cmap=ListedColormap([CLASS_COLOURS[c] for c in order]), vmin=-0.5,
                  vmax=len(order) - 0.5, interpolation="nearest",
                  extent=(xmin / 1e3, xmin / 1e3 + drawn.shape[1] * step * transform.a / 1e3,
                          ymax / 1e3 + drawn.shape[0] * step * transform.e / 1e3, ymax / 1e3))
        if areas is not None:
            import shapely

            for name, geom in zip(areas["area_name"], areas.geometry, strict=True):
                for part in shapely.get_parts(shapely.boundary(geom)):
                    xy = shapely.get_coordinates(part) / 1e3
                    ax.plot(xy[:, 0], xy[:, 1], color="black", linewidth=0.7)
                pt = geom.representative_point()
                ax.annotate(str(name), (pt.x / 1e3, pt.y / 1e3), fontsize=7, ha="center",
                            va="center", bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                               "ec": "none", "alpha": 0.75})
        ax.set_xlim(xmin / 1e3, xmax / 1e3)
        ax.set_ylim(ymin / 1e3, ymax / 1e3)
        ax.set_aspect("equal")
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
        ax.grid(False)
        ax.set_title(title, fontsize=10)
        handles = [Patch(facecolor=CLASS_COLOURS[c], edgecolor="0.3", label=label)
                   for c, label in class_legend(limits, lang)]
        fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        return png_base64(fig)


def _before_after(table: pd.DataFrame | None, delta: pd.DataFrame) -> pd.DataFrame | None:
    """Per area and profile: covered_pct_before / _after from delta_areas.csv.

    Uses its ``covered_pct_base`` / ``covered_pct_new`` columns when present;
    otherwise after = this run's covered_pct and before = after - delta_covered_pct.
    """
    keys = ["area_name", "profile"]
    if not set(keys) <= set(delta.columns):
        return None
    delta = delta.astype({"area_name": str, "profile": str})
    if {"covered_pct_base", "covered_pct_new"} <= set(delta.columns):
        out = delta.copy()
        out["covered_pct_before"] = out["covered_pct_base"]
        out["covered_pct_after"] = out["covered_pct_new"]
        return out
    if table is None or "covered_pct" not in table or "delta_covered_pct" not in delta:
        return None
    out = table[keys + ["covered_pct"]].astype({"area_name": str, "profile": str}).merge(
        delta, on=keys, how="inner")
    out["covered_pct_after"] = out["covered_pct"]
    out["covered_pct_before"] = out["covered_pct_after"] - out["delta_covered_pct"]
    return out


# --------------------------------------------------------------------------- inputs
def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    return pd.read_csv(path, keep_default_na=True, dtype={"area_name": str, "mast_id": str,
                                                          "profile": str})


def _read_areas(run_dir: Path):
    path = run_dir / rf.AREAS_USED
    if not path.is_file():
        return None
    import geopandas as gpd

    return gpd.read_file(path, layer=rf.AREAS_LAYER)


@functools.lru_cache(maxsize=1)
def _validation_status() -> dict | None:
    """The installed P.1812's results on the ITU-R validation data (None if unavailable).

    Computed once per process (about a second).
    """
    try:
        return validate_p1812()
    except (ImportError, OSError, ValueError):
        return None


def model_editions() -> list[dict[str, str]]:
    """The ``ITU_REC`` edition constants of the propagation-model modules."""
    out = []
    for mod in ITU_MODULES:
        try:
            module = importlib.import_module(f"c2000cov.radio.itu.{mod}")
        except ImportError:
            continue
        rec = getattr(module, "ITU_REC", None)
        if rec:
            out.append({"module": f"c2000cov.radio.itu.{mod}", "edition": str(rec)})
    return out


# --------------------------------------------------------------------------- uncertainty
def shift_thresholds(target_pct: float, sigma_db: float, delta_db: float
                     ) -> tuple[float, float]:
    """Location-probability thresholds equivalent to shifting every level by ∓``delta_db``.

    With lognormal fading, p = Φ(m / σ) for a margin m. Lowering every level by
    δ covers a pixel when Φ((m − δ)/σ) ≥ t, i.e. p ≥ Φ(Φ⁻¹(t) + δ/σ); raising
    it, p ≥ Φ(Φ⁻¹(t) − δ/σ). Returns (threshold at −δ, threshold at +δ) as 0-1.
    """
    from scipy.special import ndtr, ndtri

    z = float(ndtri(target_pct / 100.0))
    return float(ndtr(z + delta_db / sigma_db)), float(ndtr(z - delta_db / sigma_db))


def shifted_covered_pct(p_cover: np.ndarray, weights, target_pct: float, sigma_db: float,
                        delta_db: float) -> dict[str, tuple[float, float, float]]:
    """Covered share per area at −δ, 0 and +δ dB: ``{area: (minus, base, plus)}`` in %.

    ``weights`` are :class:`c2000cov.analysis.areas.AreaWeights`; p_cover is the run's
    location-probability band (NaN = not evaluated).
    """
    ev = np.isfinite(p_cover)
    p = np.where(ev, p_cover, -1.0)
    lo_thr, hi_thr = shift_thresholds(target_pct, sigma_db, delta_db)
    masks = [p >= lo_thr, reaches_pct(p, target_pct), p >= hi_thr]
    out = {}
    for w in weights:
        total = w.weighted_sum(ev)
        out[w.name] = tuple(100.0 * w.weighted_sum(m) / total if total > 0 else float("nan")
                            for m in masks)
    return out


def _grid_of(shape, transform, crs):
    return Grid(crs, transform, int(shape[0]), int(shape[1]))


# --------------------------------------------------------------------------- sections
def _origin(key: str, origins: dict[str, str]) -> str | None:
    """Origin of a key: its own, else that of the nearest table that holds it."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        found = origins.get(".".join(parts[:n]))
        if found:
            return found
    return None


def _parameters(params: dict[str, Any], origins: dict[str, str] | None, lang: str
                ) -> list[dict[str, Any]]:
    t = texts(lang)
    rows = []
    for key, value in params.items():
        src = parameter_source(key)
        unit = _key_unit(key)
        value_text = t["not_set"] if value is None else (
            value if isinstance(value, str) else format_quantity(value, unit, lang))
        has_default, default = default_value(key)
        default_text = (t["not_set"] if default is None else
                        format_quantity(default, unit, lang)) if has_default else None
        if origins is None:
            origin = t["origin_unknown"]
        else:
            where = _origin(key, origins)
            origin = t[f"origin_{where}"] if where else t["origin_default"]
            if where and has_default:
                origin += "; " + (t["same_as_default"] if value == default
                                  else t["differs"].format(default=default_text))
        rows.append({"key": key, "value": value_text, "origin": origin,
                     "default": f"{default_text}: {src}" if has_default else src,
                     "assumed": ASSUMED in src, "unknown": src == NO_SOURCE,
                     "from_default": origins is not None and _origin(key, origins) is None})
    return rows


def _dead_zone_tables(path: Path, top_n: int, lang: str) -> list[dict]:
    if not path.is_file():
        return []
    import geopandas as gpd

    out = []
    for layer in rf.vector_layers(path):
        gdf = gpd.read_file(path, layer=layer)
        df = pd.DataFrame(gdf.drop(columns="geometry"))
        total = float(df["area_km2"].sum()) if "area_km2" in df else float("nan")
        if "area_km2" in df:
            df = df.sort_values(["area_km2"] + (["zone_id"] if "zone_id" in df else []),
                                ascending=[False] + ([True] if "zone_id" in df else []),
                                kind="mergesort")
        df = df.drop(columns=[c for c in ("profile",) if c in df])
        t = texts(lang)
        for col in ("class", "class_worst"):
            if col in df:
                df[col] = [t.get(f"class_{c}", c) for c in df[col].astype(str)]
        out.append({"profile": profile_label(layer, lang), "n_zones": len(df),
                    "total_km2": format_value(total, "km²", lang),
                    "shown": min(top_n, len(df)),
                    "tables": split_tables(df.head(top_n), ["zone_id"], MAX_COLUMNS_LANDSCAPE,
                                           lang)})
    return out


def _sha256(path: Path) -> str:
    return sha256_file(path)[0]


def _file_rows(run_dir: Path, skip: Path) -> list[dict]:
    rows = []
    for p in sorted(run_dir.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.resolve() == skip.resolve():
            continue
        rows.append({"name": p.name, "size_bytes": p.stat().st_size, "sha256": _sha256(p)})
    return rows


def bundle_report_path(bundle: Path) -> Path:
    """Where the report of a bundle goes: ``<bundle>.report.html`` beside the zip."""
    bundle = Path(bundle)
    return bundle.with_name(f"{bundle.stem}.report.html")


def bundle_facts(bundle: Path, run_dir: Path) -> dict:
    """Name, manifest SHA-256, creation time and file count of a verified bundle of this run.

    Raises
    ------
    BundleError
        The bundle fails verification.
    InvalidInputError
        The bundle's ``run.json`` differs from the run folder's: it holds another run.
    """
    bundle = Path(bundle)
    checked = verify_bundle(bundle)
    checked.raise_for_problems()
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read(MANIFEST_NAME))
        run_json = zf.read(rf.MANIFEST) if rf.MANIFEST in zf.namelist() else b""
    if hashlib.sha256(run_json).hexdigest() != _sha256(run_dir / rf.MANIFEST):
        raise InvalidInputError(f"{bundle.name}: its run.json differs from {run_dir / rf.MANIFEST};"
                                " the bundle holds another run (give the bundle of this run "
                                "folder)")
    return {"name": bundle.name, "sha256": checked.manifest_sha256,
            "created_utc": manifest.get("created_utc"), "n_files": checked.n_files}


def _verdicts(run_dir: Path, table: pd.DataFrame | None, profiles: list[str],
              params: dict[str, Any], lang: str) -> tuple[list[dict], list[dict]]:
    """Summary rows per profile and verdict tables per profile (see module docstring)."""
    t = texts(lang)
    delta = float(params.get("report.sensitivity_db", 3.0))
    areas = _read_areas(run_dir)
    summary, verdicts = [], []
    weights = None
    for prof in profiles:
        target = float(params.get(f"profiles.{prof}.target_pct", 95.0))
        sigma = float(params.get(f"profiles.{prof}.sigma_db", 8.0))
        required = params.get(f"report.required_covered_pct.{prof}")
        path = run_dir / rf.coverage_name(prof)
        shifted, whole = {}, (float("nan"),) * 3
        if path.is_file():
            p, transform, crs = rf.read_band(run_dir, prof, "p_cover")
            p = p.astype("float64")
            if weights is None:
                grid = _grid_of(p.shape, transform, crs)
                weights = area_weights(areas, grid)
            shifted = shifted_covered_pct(p, weights, target, sigma, delta)
            ev = np.isfinite(p)
            lo_thr, hi_thr = shift_thresholds(target, sigma, delta)
            whole = tuple(100.0 * float((p[ev] >= thr).mean()) if ev.any() else float("nan")
                          for thr in (lo_thr, target / 100.0, hi_thr))
        rows = []
        sub = (table[table["profile"].astype(str) == prof] if table is not None
               else pd.DataFrame(columns=["area_name", "covered_pct"]))
        n_meet = 0
        for name, covered in zip(sub["area_name"].astype(str), sub["covered_pct"],
                                 strict=True):
            lo, _, hi = shifted.get(name, (float("nan"),) * 3)
            row = {"area": name, "covered": format_value(float(covered), "%", lang),
                   "minus": format_value(lo, "%", lang), "plus": format_value(hi, "%", lang)}
            if required is not None:
                meets = bool(covered >= required)
                n_meet += meets
                holds = (lo >= required) == meets == (hi >= required)
                row.update(required=format_value(float(required), "%", lang),
                           margin=format_value(float(covered - required), "pp", lang),
                           verdict=t["meets" if meets else "fails"],
                           verdict_class="meets" if meets else "fails",
                           holds=t["yes" if holds else "no"])
            rows.append(row)
        verdicts.append({"profile": profile_label(prof, lang), "required": required,
                         "rows": rows})
        summary.append({
            "profile": profile_label(prof, lang),
            "target": format_value(target, "%", lang),
            "sigma": format_quantity(sigma, "dB", lang),
            "covered": format_value(whole[1], "%", lang),
            "range": f"{format_value(whole[0], '%', lang)} – {format_value(whole[2], '%', lang)}",
            "required": (format_value(float(required), "%", lang) if required is not None
                         else t["no_requirement"]),
            "areas_meeting": (f"{n_meet} / {len(rows)}" if required is not None else "–")})
    return summary, verdicts


def _class_maps(run_dir: Path, profiles: list[str], params: dict[str, Any], lang: str
                ) -> list[dict]:
    t = texts(lang)
    areas = _read_areas(run_dir)
    out = []
    for prof in profiles:
        path = run_dir / rf.coverage_name(prof)
        if not path.is_file():
            continue
        cls, transform, _ = rf.read_band(run_dir, prof, "class")
        cls = np.where(np.isfinite(cls), cls, CLASS_NODATA).astype("uint8")  # earlier versions
        limits = {"target_pct": float(params.get(f"profiles.{prof}.target_pct", 95.0)),
                  "reduced_pct": float(params.get("classes.reduced_pct", 80.0)),
                  "poor_pct": float(params.get("classes.poor_pct", 50.0))}
        label = profile_label(prof, lang)
        out.append({"profile": label,
                    "png": plot_class_map(cls, transform, limits, areas,
                                          t["map_of"].format(profile=label), lang)})
    return out


def report_context(run_dir: Path, top_n: int = 20, skip: Path | None = None,
                   lang: str = "nl", bundle: Path | None = None) -> dict:
    """Everything the report template shows, read from a run folder."""
    if lang not in LANGS:
        raise InvalidInputError(f"report language {lang!r} is not valid; choose one of: "
                                + ", ".join(LANGS))
    t = texts(lang)
    run_dir = Path(run_dir)
    manifest = read_run_manifest(run_dir)
    params = manifest.get("parameters") or {}
    profiles = sorted({k.split(".")[1] for k in params if k.startswith("profiles.")})
    if not profiles:
        profiles = rf.coverage_profiles(run_dir)
    targets = {p: float(params.get(f"profiles.{p}.target_pct", 95.0)) for p in profiles}
    delta = float(params.get("report.sensitivity_db", 3.0))

    table = _read_csv(run_dir / rf.AREA_TABLE)
    area_tables = []
    if table is not None:
        for prof in list(dict.fromkeys(table["profile"])):
            sub = table[table["profile"] == prof].drop(columns=["profile"])
            area_tables.append({"profile": profile_label(str(prof), lang),
                                "tables": split_tables(sub, ["area_name"],
                                                       MAX_COLUMNS_LANDSCAPE, lang)})

    curves = {}
    for prof in profiles:
        for night in (False, True):
            path = run_dir / rf.coverage_name(prof, night)
            if path.is_file():
                p = rf.read_band(run_dir, prof, "p_cover", night)[0].astype("float64")
                curves[(prof, night)] = p[np.isfinite(p)]
    plots = {"covered": plot_covered_pct(table, lang) if table is not None else None,
             "cdf": plot_cdf(curves, targets, lang)}

    delta_table = _read_csv(run_dir / rf.DELTA_TABLE)
    whatif = None
    if delta_table is not None:
        ba = _before_after(table, delta_table)
        plots["before_after"] = plot_before_after(ba, lang) if ba is not None else None
        cols = ["area_name", "profile", "covered_pct_before", "covered_pct_after",
                "delta_covered_pct", "covered_km2_base", "covered_km2_new", "delta_covered_km2"]
        whatif = {"tables": split_tables(ba, ["area_name", "profile"], MAX_COLUMNS_PORTRAIT,
                                         lang, cols) if ba is not None
                  else split_tables(delta_table, ["area_name", "profile"],
                                    MAX_COLUMNS_PORTRAIT, lang)}

    sunny_night = None
    if table is not None and "covered_pct_night" in table:
        cols = ["area_name", "profile", "covered_pct", "covered_pct_night", "sunny_loss_pp"]
        sunny_night = table_from_frame(table, cols, lang)

    interference = _read_csv(run_dir / rf.MASTS_INTERFERENCE)
    if interference is not None and "d_ul_db" in interference:
        interference = interference.sort_values(["d_ul_db", "mast_id"],
                                                ascending=[False, True], kind="mergesort")
    n1 = _read_csv(run_dir / rf.N1_TABLE)
    if n1 is not None and "lost_km2" in n1 and "rank" not in n1:
        n1 = n1.sort_values(["lost_km2", "mast_id"], ascending=[False, True], kind="mergesort")

    summary, verdicts = _verdicts(run_dir, table, profiles, params, lang)
    validation = _validation_status()
    validation_text = (t["validation_text"].format(
        rec=validation["recommendation"], passed=validation["passed"],
        cases=validation["cases"], tol=format_quantity(validation["tol_db"], "", lang),
        dev=_localise(f"{validation['max_lb_dev_db']:.1e}", lang),
        worst=validation["worst_case"]) if validation else t["validation_missing"])
    software = manifest.get("software") or {}
    grid = manifest.get("grid") or {}
    delta_text = format_quantity(delta, "", lang)
    i = LANGS.index(lang)
    domain = f"c2000cov/data/DOMAIN.md (SHA-256 {_sha256(DOMAIN_PATH)[:16]}…)"
    return {
        "lang": lang,
        "t": t,
        "delta": delta_text,
        "scenario": manifest.get("scenario", "(unnamed)"),
        "software": software,
        "report_software": __version__,
        "run_utc": manifest.get("run_utc") or t["unknown"],
        "bundle": bundle_facts(bundle, run_dir) if bundle is not None else None,
        "model": manifest.get("model") or {},
        "editions": model_editions(),
        "validation_text": validation_text,
        "limitations": [pair[i] for pair in LIMITATIONS],
        "grid": {"crs": grid.get("crs", "?"),
                 "resolution": format_quantity(grid.get("resolution_m"), "m", lang),
                 "shape": " × ".join(str(n) for n in grid.get("shape", [])),
                 "bounds": format_quantity([float(v) for v in grid.get("bounds_m", [])], "m",
                                           lang)},
        "summary": summary,
        "verdicts": verdicts,
        "maps": _class_maps(run_dir, profiles, params, lang),
        "interference_state": {k: format_quantity(v, _key_unit(k.replace("_over_1db", "")),
                                                  lang)
                               for k, v in (manifest.get("interference") or {}).items()},
        "parameters": _parameters(params, manifest.get("parameter_origins"), lang),
        "domain": domain,
        "n_assumed": sum(ASSUMED in parameter_source(k) for k in params),
        "area_tables": area_tables,
        "plots": plots,
        "dead_zones": _dead_zone_tables(run_dir / rf.DEAD_ZONES, top_n, lang),
        "top_n": top_n,
        "whatif": whatif,
        "sunny_night": sunny_night,
        "interference": (split_tables(interference, ["mast_id"], MAX_COLUMNS_PORTRAIT, lang)
                         if interference is not None else None),
        "n1": (split_tables(n1, ["mast_id"], MAX_COLUMNS_PORTRAIT, lang)
               if n1 is not None else None),
        "files": _file_rows(run_dir, skip or run_dir / REPORT),
        "extra_sections": rf.report_sections(run_dir, manifest, lang),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)


def render_report(context: dict) -> str:
    """Render the report template with a context from :func:`report_context`."""
    return _environment().get_template(TEMPLATE_NAME).render(**context)


def build_report(run_dir: str | Path, out_path: str | Path | None = None,
                 top_n: int = 20, lang: str = "nl", bundle: str | Path | None = None) -> Path:
    """Write the HTML compliance report of a run folder.

    Parameters
    ----------
    run_dir : str or Path
        Output folder of ``c2000cov run`` (holds ``run.json``).
    out_path : str or Path, optional
        Report file; default ``<run_dir>/report.html``.
    top_n : int
        Dead zones listed per profile (largest first).
    lang : {"nl", "en"}
        Language of headings, labels and text (Dutch by default).
    bundle : str or Path, optional
        Evidence bundle of this run (``c2000cov bundle``): it is verified and
        its manifest SHA-256 is stated. A report inside a bundle cannot state
        the hash of that bundle, so this is for a report kept beside it.

    Returns
    -------
    Path
        The report file (written atomically).

    Raises
    ------
    InputNotFoundError
        ``run_dir`` has no ``run.json``.
    InvalidInputError
        ``lang`` is not a known language, or ``bundle`` holds another run.
    BundleError
        ``bundle`` fails verification.
    """
    run_dir = Path(run_dir)
    out = Path(out_path) if out_path is not None else run_dir / REPORT
    html = render_report(report_context(run_dir, top_n, skip=out, lang=lang,
                                        bundle=Path(bundle) if bundle is not None else None))
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return out
