"""The compliance report's figures: covered share, CDFs, before/after and class maps
(matplotlib, Agg, no dates or software tags, so the same run gives the same bytes)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from c2000cov.products import runfolder as rf
from c2000cov.products import styles
from c2000cov.products.figures import figure, png_base64
from c2000cov.products.report_format import format_quantity
from c2000cov.products.report_text import profile_label, texts

#: Number of quantiles drawn per coverage-probability CDF.
CDF_POINTS = 501
#: Largest side of a class map in drawn cells; larger grids are drawn by blocks.
MAP_MAX_CELLS = 900
#: Class codes of the class band, best first, and their colours (those of the rasters'
#: colour tables and QGIS styles, :mod:`c2000cov.products.styles`).
CLASS_CODES = (3, 2, 1, 0)
CLASS_KEYS = styles.CLASS_NAMES
CLASS_NODATA = rf.CODE_NODATA
CLASS_COLOURS = {**styles.CLASS_COLOURS, CLASS_NODATA: styles.NOT_EVALUATED_COLOUR}
_PLOT_RC = {"svg.hashsalt": "c2000cov", "font.family": "DejaVu Sans", "font.size": 9,
            "axes.grid": True, "grid.alpha": 0.3}


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
        fig = figure(7.2, 1.0 + 0.28 * len(areas) * max(1, len(profiles)) ** 0.5 + 0.3)
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
        fig = figure(7.2, 4.0)
        ax = fig.add_subplot()
        for (prof, night), values in curves.items():
            if values.size == 0:
                continue
            label = profile_label(prof, lang) + (f" ({t['night']})" if night else "")
            # quantiles of the float64 values, partitioned in place (no second copy)
            quantiles = np.quantile(np.array(values, dtype="float64"), q,
                                    overwrite_input=True)
            ax.step(quantiles, 100 * q, where="post",
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
        fig = figure(7.2, 1.0 + 0.35 * len(labels))
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
        fig = figure(7.2, 6.4)
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


def before_after_table(table: pd.DataFrame | None, delta: pd.DataFrame) -> pd.DataFrame | None:
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
