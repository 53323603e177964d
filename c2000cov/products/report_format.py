"""Numbers, units and tables of the compliance report: rounding by unit, Dutch decimal commas,
tables split to fit an A4 page."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from c2000cov.products.report_text import column_label, texts

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


def column_unit(column: str) -> str:
    """Unit of a column: its last unit token after the first word ('' when none)."""
    if column.lower().endswith("dbuv_m"):
        return "dBµV/m"
    for token in reversed(column.lower().split("_")[1:]):
        if token in UNIT_TOKENS:
            return UNIT_TOKENS[token]
    return ""


def localise(text: str, lang: str) -> str:
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
        return localise(text, lang)
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


def key_unit(key: str) -> str:
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
