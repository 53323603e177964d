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

import functools
import hashlib
import importlib
import json
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
from c2000cov.products.bundle_format import MANIFEST_NAME
from c2000cov.products.report_format import (
    MAX_COLUMNS_LANDSCAPE,
    MAX_COLUMNS_PORTRAIT,
    format_quantity,
    format_value,
    key_unit,
    localise,
    split_tables,
    table_from_frame,
)
from c2000cov.products.report_plots import (
    CLASS_NODATA,
    before_after_table,
    plot_before_after,
    plot_cdf,
    plot_class_map,
    plot_covered_pct,
)
from c2000cov.products.report_text import LANGS, LIMITATIONS, profile_label, texts
from c2000cov.products.runfolder import REPORT, read_run_manifest
from c2000cov.products.verify import verify_bundle
from c2000cov.radio.validation import validate_p1812
from c2000cov.resources import TEMPLATES_DIR
from c2000cov.scenario.config import default_value
from c2000cov.scenario.sources import ASSUMED, DOMAIN_PATH, NO_SOURCE, parameter_source

TEMPLATE_NAME = "report.html.j2"
#: Modules whose ``ITU_REC`` constants name the model editions in the report.
ITU_MODULES = ("p525", "hata", "p1812", "p2108", "p2109")

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
    p, ev = _float64_band(p_cover)
    return _shifted_shares(p, ev, weights, target_pct, sigma_db, delta_db)[0]


def _float64_band(p_cover: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.where(ev, p_cover, -1.0)`` in float64 and ``ev = np.isfinite(p_cover)``: the
    file's float32 band compared in float64, as before, from one grid-sized copy."""
    ev = np.isfinite(p_cover)
    p = np.full(np.shape(p_cover), -1.0)
    np.copyto(p, p_cover, where=ev)
    return p, ev


def _shifted_shares(p: np.ndarray, ev: np.ndarray, weights, target_pct: float,
                    sigma_db: float, delta_db: float
                    ) -> tuple[dict[str, tuple[float, float, float]], tuple]:
    """:func:`shifted_covered_pct` of :func:`_float64_band`'s ``p, ev``, and the same three
    shares of the whole grid's evaluated pixels (%); one threshold mask at a time."""
    lo_thr, hi_thr = shift_thresholds(target_pct, sigma_db, delta_db)
    totals = {w.name: w.weighted_sum(ev) for w in weights}
    n_ev = np.count_nonzero(ev)
    shares: dict[str, list[float]] = {w.name: [] for w in weights}
    whole = []
    for covered in (lambda: p >= lo_thr, lambda: reaches_pct(p, target_pct),
                    lambda: p >= hi_thr):
        m = covered()
        for w in weights:
            total = totals[w.name]
            shares[w.name].append(100.0 * w.weighted_sum(m) / total if total > 0
                                  else float("nan"))
        # the share of evaluated pixels at or above the threshold (-1.0 never is): the
        # mean of (p[ev] >= threshold), a count over a count
        whole.append(100.0 * float(np.count_nonzero(m) / n_ev) if n_ev else float("nan"))
        del m
    return {name: tuple(v) for name, v in shares.items()}, tuple(whole)


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
        unit = key_unit(key)
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
            if weights is None:
                grid = _grid_of(p.shape, transform, crs)
                weights = area_weights(areas, grid)
            p64, ev = _float64_band(p)
            del p  # one grid-sized float64 copy, not the float32 band beside it
            shifted, whole = _shifted_shares(p64, ev, weights, target, sigma, delta)
            del p64, ev
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
                p = rf.read_band(run_dir, prof, "p_cover", night)[0]
                curves[(prof, night)] = p[np.isfinite(p)]  # float32: plot_cdf takes float64
                del p
    plots = {"covered": plot_covered_pct(table, lang) if table is not None else None,
             "cdf": plot_cdf(curves, targets, lang)}

    delta_table = _read_csv(run_dir / rf.DELTA_TABLE)
    whatif = None
    if delta_table is not None:
        ba = before_after_table(table, delta_table)
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
        dev=localise(f"{validation['max_lb_dev_db']:.1e}", lang),
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
        "interference_state": {k: format_quantity(v, key_unit(k.replace("_over_1db", "")),
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
