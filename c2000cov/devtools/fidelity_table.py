"""The demo's coverage before and after each model-fidelity fix of issue #12.

Runs ``data/demo.toml`` once per step, the fixes switched on one after the
other, and prints (and optionally writes) a markdown table of the whole
demo's ``covered_pct`` and ``area_reliability_pct``, sunny and night, per
profile, read back from each run's ``areas_coverage.csv``. The reporting areas
are dropped so the table has one row per profile: the whole grid (``all``).

Steps (cumulative; the last is the shipped demo, every fix on):

1. ``baseline``: the model before #12: PV emission at the EN 55011 limit
   (``ground_reflection_db = qp_to_rms_db = 0``), the P.2109 entry loss added
   to the loss inside the footprint, no BS receive diversity, no land cover,
   k = 4/3;
2. ``+ PV corrections``: ``[interference] ground_reflection_db`` 6 dB and
   ``qp_to_rms_db`` 3 dB (the defaults);
3. ``+ facade``: indoor levels referenced at the facade;
4. ``+ BS diversity 3 dB``: ``[radio] bs_diversity_gain_db`` 3 dB (the default);
5. ``+ forest 10 dB``: the demo's ``[landcover]`` with 10 dB in class 4;
6. ``+ dN 40 (shipped demo)``: k50 = 157 / (157 - 40) = 1.342 (the default).

The P.2108 section 3.1 fix has no step: the demo does not use
``clutter_correction`` (it has buildings). The facade rule has no scenario
switch (the old rule is wrong, not an option), so steps 1-2 restore the old
rule by replacing :func:`c2000cov.radio.budget.loss_at_facade_db` with the
identity inside this process, for this measurement only.

Every step shares one loss cache (``--cache-dir``): only a change of the
refractivity recomputes the path-loss windows; the others reuse them.

Run ``python -m c2000cov.devtools.fidelity_table --cache-dir DIR --out-root DIR
[--markdown FILE] [--json FILE]`` from the repository root (the demo data
must exist: ``make demo`` generates it).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from c2000cov.pipeline import compute
from c2000cov.pipeline.run import run_scenario
from c2000cov.products.runfolder import AREA_TABLE
from c2000cov.scenario.config import load_scenario
from c2000cov.scenario.schema import Scenario

PROFILES = ("handheld_outdoor", "handheld_indoor", "in_car")
OLD_K_FACTOR = 4.0 / 3.0
#: (step name, fixes on): cumulative, in this order.
FIXES = ("pv", "facade", "diversity", "forest", "dn40")
STEPS = [("baseline", ())] + [
    (name, FIXES[: i + 1]) for i, name in enumerate(
        ("+ PV corrections", "+ facade", "+ BS diversity 3 dB", "+ forest 10 dB",
         "+ dN 40 (shipped demo)"))]
COLUMNS = ("covered_pct", "area_reliability_pct", "covered_pct_night",
           "area_reliability_pct_night")


def step_scenario(demo: Scenario, fixes: tuple[str, ...]) -> Scenario:
    """The shipped demo with the fixes not in ``fixes`` switched off, without areas."""
    scen = replace(demo, areas=None)
    if "pv" not in fixes:
        scen = replace(scen, interference=replace(scen.interference, ground_reflection_db=0.0,
                                                  qp_to_rms_db=0.0))
    if "diversity" not in fixes:
        scen = replace(scen, radio=replace(scen.radio, bs_diversity_gain_db=0.0))
    if "forest" not in fixes:
        scen = replace(scen, landcover=None)
    if "dn40" not in fixes:
        scen = replace(scen, model=replace(scen.model, k_factor=OLD_K_FACTOR))
    return scen


def _loss_inside_footprint_db(loss_db, facade):
    """The rule before the facade fix: every pixel keeps its own loss."""
    return loss_db


def run_step(demo: Scenario, fixes: tuple[str, ...], out_dir: Path, cache_dir: Path
             ) -> pd.DataFrame:
    """Run one step; its ``areas_coverage.csv`` rows of the whole grid, by profile."""
    at_facade = compute.loss_at_facade_db
    if "facade" not in fixes:
        compute.loss_at_facade_db = _loss_inside_footprint_db
    try:
        run_scenario(step_scenario(demo, fixes), out_dir, cache_dir=cache_dir)
    finally:
        compute.loss_at_facade_db = at_facade
    table = pd.read_csv(out_dir / AREA_TABLE)
    return table.set_index("profile").loc[list(PROFILES), list(COLUMNS)]


def markdown(rows: list[tuple[str, pd.DataFrame]]) -> str:
    """The table: one line per step, covered % / area reliability % per profile and state."""
    head = ["step"] + [f"{p} {s}" for p in PROFILES for s in ("sunny", "night")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, t in rows:
        cells = [name]
        for p in PROFILES:
            for c, a in (("covered_pct", "area_reliability_pct"),
                         ("covered_pct_night", "area_reliability_pct_night")):
                cells.append(f"{t.loc[p, c]:.2f} / {t.loc[p, a]:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=Path("data/demo.toml"))
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--out-root", type=Path, required=True)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    demo = load_scenario(args.scenario)
    rows = []
    for i, (name, fixes) in enumerate(STEPS):
        rows.append((name, run_step(demo, fixes, args.out_root / f"step{i}", args.cache_dir)))
        print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    text = ("covered_pct / area_reliability_pct (%), whole demo grid; sunny = the configured "
            "PV emission, night = none.\n\n" + markdown(rows))
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(
            {"scenario": str(args.scenario), "steps": [
                {"step": n, "fixes": list(f), "profiles": t.round(4).to_dict(orient="index")}
                for (n, f), (_, t) in zip(STEPS, rows, strict=True)]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
