"""Compliance report of a run folder: one self-contained HTML page.

:func:`build_report` reads a run folder (see the run-folder contract:
``run.json``, ``areas_coverage.csv``, ``p_cover_<profile>.tif``,
``dead_zones.gpkg`` and, when present, ``masts_interference.csv``,
``delta_areas.csv``, ``n1_outage.csv``) and renders
``templates/report.html.j2`` with jinja2 (autoescape on: every text read
from the inputs is escaped). Plots are matplotlib PNGs embedded as base64,
rendered with the Agg backend without dates or software tags, so the same
run folder gives the same bytes. The page has a print stylesheet.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import io
import json
import math
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from c2000cov import __version__
from c2000cov.io import atomic_path, read_run_manifest
from c2000cov.sources import ASSUMED, NO_SOURCE, parameter_source

REPORT_NAME = "report.html"
TEMPLATE_NAME = "report.html.j2"
#: Modules whose ``ITU_REC`` constants name the model editions in the report.
ITU_MODULES = ("p525", "hata", "p1812", "p2108", "p2109")
#: Number of quantiles drawn per coverage-probability CDF.
CDF_POINTS = 501
PLOT_DPI = 100
#: Units by the unit token of a column name (``covered_km2``, ``covered_pct_base``).
UNIT_TOKENS = {"km2": "km²", "m2": "m²", "pct": "%", "pp": "pp", "km": "km", "dbm": "dBm",
               "dbi": "dBi", "db": "dB", "deg": "°", "m": "m", "mhz": "MHz", "khz": "kHz"}
DECIMALS = {"km²": 3, "m²": 0, "%": 2, "pp": 2, "km": 2, "dBm": 1, "dBi": 1, "dB": 2, "°": 1,
            "m": 1, "MHz": 3, "kHz": 1}
_PLOT_RC = {"svg.hashsalt": "c2000cov", "font.family": "DejaVu Sans", "font.size": 9,
            "axes.grid": True, "grid.alpha": 0.3}


# --------------------------------------------------------------------------- formatting
def column_unit(column: str) -> str:
    """Unit of a column: its last unit token after the first word ('' when none)."""
    for token in reversed(column.lower().split("_")[1:]):
        if token in UNIT_TOKENS:
            return UNIT_TOKENS[token]
    return ""


def format_value(value: Any, unit: str = "") -> str:
    """Text of a table cell: fixed decimals per unit, '–' for missing values."""
    if value is None:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return "–"
        if unit in DECIMALS:
            return f"{value:.{DECIMALS[unit]}f}"
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def table_from_frame(df: pd.DataFrame, columns: list[str] | None = None) -> dict:
    """A table for the template: headers with units, rows of (text, is_number) cells."""
    columns = [c for c in (columns or list(df.columns)) if c in df.columns and c != "geometry"]
    units = [column_unit(c) for c in columns]
    headers = [f"{c} ({u})" if u else c for c, u in zip(columns, units, strict=True)]
    rows = []
    for rec in df[columns].itertuples(index=False, name=None):
        rows.append([(format_value(v, u), isinstance(v, int | float | np.number)
                      and not isinstance(v, bool | np.bool_))
                     for v, u in zip(rec, units, strict=True)])
    return {"headers": headers, "rows": rows}


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
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
               "tab:pink", "tab:olive", "tab:cyan", "tab:gray"]
    return {n: palette[i % len(palette)] for i, n in enumerate(sorted(set(names)))}


def _rc():
    import matplotlib

    return matplotlib.rc_context(_PLOT_RC)


def plot_covered_pct(table: pd.DataFrame) -> str | None:
    """Horizontal bars: covered percentage per area, one bar per profile."""
    if table.empty or "covered_pct" not in table:
        return None
    areas = list(dict.fromkeys(table["area_name"].astype(str)))
    profiles = list(dict.fromkeys(table["profile"].astype(str)))
    with _rc():
        fig = _figure(7.5, 1.0 + 0.28 * len(areas) * max(1, len(profiles)) ** 0.5 + 0.3)
        ax = fig.add_subplot()
        height = 0.8 / len(profiles)
        colors = _profile_colors(profiles)
        y = np.arange(len(areas))
        pct = {(str(a), str(p)): float(v) for a, p, v in
               zip(table["area_name"], table["profile"], table["covered_pct"], strict=True)}
        for j, prof in enumerate(profiles):
            vals = [pct.get((a, prof), np.nan) for a in areas]
            ax.barh(y + (j - (len(profiles) - 1) / 2) * height, vals, height=height, label=prof,
                    color=colors[prof])
        ax.set_yticks(y, areas)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("covered area (% of evaluated area reaching the target)")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return png_base64(fig)


def _read_p_cover(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        p = src.read(1).astype("float64")
    return p[np.isfinite(p)]


def plot_cdf(curves: dict[str, np.ndarray], targets: dict[str, float]) -> str | None:
    """Empirical CDF of the location probability over the evaluated area, per profile."""
    if not curves:
        return None
    q = np.linspace(0.0, 1.0, CDF_POINTS)
    colors = _profile_colors(n.removesuffix(" (night)") for n in curves)
    with _rc():
        fig = _figure(7.5, 4.0)
        ax = fig.add_subplot()
        for name, values in curves.items():
            if values.size == 0:
                continue
            style = "--" if name.endswith("(night)") else "-"
            ax.step(np.quantile(values, q), 100 * q, where="post", linestyle=style, label=name,
                    color=colors[name.removesuffix(" (night)")])
        for tgt in sorted(set(targets.values())):
            ax.axvline(tgt / 100.0, color="0.3", linewidth=0.8, linestyle=":")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 100)
        ax.set_xlabel("location probability p_cover (dotted: target)")
        ax.set_ylabel("% of evaluated area with p_cover ≤ x")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        return png_base64(fig)


def plot_before_after(merged: pd.DataFrame) -> str | None:
    """Covered percentage per area and profile before and after a what-if."""
    if merged is None or merged.empty:
        return None
    labels = [f"{a} / {p}" for a, p in zip(merged["area_name"], merged["profile"], strict=True)]
    y = np.arange(len(labels))
    with _rc():
        fig = _figure(7.5, 1.0 + 0.35 * len(labels))
        ax = fig.add_subplot()
        ax.barh(y - 0.2, merged["covered_pct_before"], height=0.4, label="before", color="0.6")
        ax.barh(y + 0.2, merged["covered_pct_after"], height=0.4, label="after",
                color="tab:blue")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("covered area (% of evaluated area)")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
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


#: What the models leave out or assume; the report lists these under Limitations.
LIMITATIONS = (
    "Area propagation: ITU-R P.1812-8 free space plus delta-Bullington diffraction at "
    "p = 50 % time; troposcatter, ducting and layer reflection are left out (they change Lb "
    "by under 0.1 dB on paths up to 30 km at 390 MHz, measured on the ITU-R validation "
    "profiles and synthetic C2000 paths).",
    "The surface is terrain plus building footprints rasterised at the grid resolution "
    "(pixel-centre rule); trees and other clutter are not in the profile unless a DSM is "
    "given. A receiver stands at ground level plus its height, next to (not inside) a "
    "building on its own pixel.",
    "Location variability is lognormal with the profile's sigma; shadowing is taken as the "
    "same for downlink and uplink; the building entry loss (ITU-R P.2109) enters as its "
    "median plus a lognormal spread fitted to its 50 % and 90 % points.",
    "Antenna patterns combine horizontal and vertical cuts by the summing method; the masts "
    "file's gain_dbi sets the maximum gain.",
    "Solar-panel emission: noise-like, scaled from the EN 55011 class B limit per 25 kHz, "
    "devices add as power, constant over the day at sun_factor; indoors the interference is "
    "not reduced by the building entry loss. Per-installation emission above the limit is "
    "an input, not measured here.",
    "Co-channel interference between C2000 cells, traffic load and handover are not "
    "modelled; a pixel is covered when one mast closes both directions.",
    "Radio-meteorology (dN, N0) and the other (assumed) defaults listed with the parameters "
    "are not taken from ITU-R maps.",
)


@functools.lru_cache(maxsize=1)
def _validation_status() -> dict | None:
    """The installed P.1812's results on the ITU-R validation data (None if unavailable).

    Computed once per process (about a second).
    """
    try:
        from c2000cov.validation import validate_p1812

        return validate_p1812()
    except (ImportError, OSError, ValueError):
        return None


def model_editions() -> list[dict[str, str]]:
    """The ``ITU_REC`` edition constants of the propagation-model modules."""
    out = []
    for mod in ITU_MODULES:
        try:
            module = importlib.import_module(f"c2000cov.itu.{mod}")
        except ImportError:
            continue
        rec = getattr(module, "ITU_REC", None)
        if rec:
            out.append({"module": f"c2000cov.itu.{mod}", "edition": str(rec)})
    return out


def _parameters(params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in params.items():
        src = parameter_source(key)
        # exactly as used (TOML spelling, full float precision), not rounded for display
        value_text = ("(not set)" if value is None else
                      value if isinstance(value, str) else json.dumps(value))
        rows.append({"key": key, "value": value_text, "source": src,
                     "assumed": ASSUMED in src, "unknown": src == NO_SOURCE})
    return rows


def _dead_zone_tables(path: Path, top_n: int) -> list[dict]:
    if not path.is_file():
        return []
    import geopandas as gpd

    out = []
    for layer in gpd.list_layers(path)["name"].tolist():
        gdf = gpd.read_file(path, layer=layer)
        df = pd.DataFrame(gdf.drop(columns="geometry"))
        total = float(df["area_km2"].sum()) if "area_km2" in df else float("nan")
        if "area_km2" in df:
            df = df.sort_values(["area_km2"] + (["zone_id"] if "zone_id" in df else []),
                                ascending=[False] + ([True] if "zone_id" in df else []),
                                kind="mergesort")
        out.append({"profile": layer, "n_zones": len(df), "total_km2": format_value(total, "km²"),
                    "shown": min(top_n, len(df)), "table": table_from_frame(df.head(top_n))})
    return out


def _file_rows(run_dir: Path, skip: Path) -> list[dict]:
    rows = []
    for p in sorted(run_dir.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.resolve() == skip.resolve():
            continue
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(chunk)
        rows.append({"name": p.name, "size_bytes": p.stat().st_size, "sha256": h.hexdigest()})
    return rows


def report_context(run_dir: Path, top_n: int = 20, skip: Path | None = None) -> dict:
    """Everything the report template shows, read from a run folder."""
    run_dir = Path(run_dir)
    manifest = read_run_manifest(run_dir)
    params = manifest.get("parameters") or {}
    profiles = sorted({k.split(".")[1] for k in params if k.startswith("profiles.")})
    targets = {p: float(params.get(f"profiles.{p}.target_pct", 95.0)) for p in profiles}

    table = _read_csv(run_dir / "areas_coverage.csv")
    area_tables = []
    if table is not None:
        for prof in list(dict.fromkeys(table["profile"])):
            sub = table[table["profile"] == prof].drop(columns=["profile"])
            area_tables.append({"profile": prof, "table": table_from_frame(sub)})

    curves = {}
    for prof in profiles or [p.name[len("p_cover_"):-4] for p in
                             sorted(run_dir.glob("p_cover_*.tif"))]:
        for suffix, label in (("", prof), ("_night", f"{prof} (night)")):
            path = run_dir / f"p_cover_{prof}{suffix}.tif"
            if path.is_file():
                curves[label] = _read_p_cover(path)
    plots = {"covered": plot_covered_pct(table) if table is not None else None,
             "cdf": plot_cdf(curves, targets)}

    delta = _read_csv(run_dir / "delta_areas.csv")
    whatif = None
    if delta is not None:
        ba = _before_after(table, delta)
        plots["before_after"] = plot_before_after(ba) if ba is not None else None
        cols = ["area_name", "profile", "covered_pct_before", "covered_pct_after",
                "delta_covered_pct", "covered_km2_base", "covered_km2_new", "delta_covered_km2"]
        whatif = {"table": table_from_frame(ba, cols) if ba is not None
                  else table_from_frame(delta)}

    sunny_night = None
    if table is not None and "covered_pct_night" in table:
        cols = ["area_name", "profile", "covered_pct", "covered_pct_night", "sunny_loss_pp"]
        sunny_night = table_from_frame(table, cols)

    interference = _read_csv(run_dir / "masts_interference.csv")
    if interference is not None and "d_ul_db" in interference:
        interference = interference.sort_values(["d_ul_db", "mast_id"],
                                                ascending=[False, True], kind="mergesort")
    n1 = _read_csv(run_dir / "n1_outage.csv")
    if n1 is not None and "lost_km2" in n1 and "rank" not in n1:
        n1 = n1.sort_values(["lost_km2", "mast_id"], ascending=[False, True], kind="mergesort")

    software = manifest.get("software") or {}
    grid = manifest.get("grid") or {}
    return {
        "scenario": manifest.get("scenario", "(unnamed)"),
        "software": software,
        "report_software": __version__,
        "model": manifest.get("model") or {},
        "editions": model_editions(),
        "validation": _validation_status(),
        "limitations": LIMITATIONS,
        "grid": grid,
        "covered_pct": [{"profile": k, "value": format_value(v, "%"),
                         "target": format_value(targets.get(k, float("nan")), "%")}
                        for k, v in (manifest.get("covered_pct") or {}).items()],
        "interference_state": manifest.get("interference") or {},
        "parameters": _parameters(params),
        "n_assumed": sum(ASSUMED in parameter_source(k) for k in params),
        "area_tables": area_tables,
        "plots": plots,
        "dead_zones": _dead_zone_tables(run_dir / "dead_zones.gpkg", top_n),
        "top_n": top_n,
        "whatif": whatif,
        "sunny_night": sunny_night,
        "interference": table_from_frame(interference) if interference is not None else None,
        "n1": table_from_frame(n1) if n1 is not None else None,
        "files": _file_rows(run_dir, skip or run_dir / REPORT_NAME),
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)


def render_report(context: dict) -> str:
    """Render the report template with a context from :func:`report_context`."""
    return _environment().get_template(TEMPLATE_NAME).render(**context)


def build_report(run_dir: str | Path, out_path: str | Path | None = None,
                 top_n: int = 20) -> Path:
    """Write the HTML compliance report of a run folder.

    Parameters
    ----------
    run_dir : str or Path
        Output folder of ``c2000cov run`` (holds ``run.json``).
    out_path : str or Path, optional
        Report file; default ``<run_dir>/report.html``.
    top_n : int
        Dead zones listed per profile (largest first).

    Returns
    -------
    Path
        The report file (written atomically).

    Raises
    ------
    InputNotFoundError
        ``run_dir`` has no ``run.json``.
    """
    run_dir = Path(run_dir)
    out = Path(out_path) if out_path is not None else run_dir / REPORT_NAME
    html = render_report(report_context(run_dir, top_n, skip=out))
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return out
