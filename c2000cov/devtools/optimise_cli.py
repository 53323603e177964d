"""The ``c2000cov optimise`` command (registered by :mod:`c2000cov.cli`; here because
cli.py is at its 600-line limit). One library call: :func:`c2000cov.pipeline.optimise.optimise`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err_console = Console(stderr=True)


def optimise(
    scenario: Annotated[Path, typer.Argument(help="Base scenario TOML file.")],
    add: Annotated[int, typer.Option("--add", help="Number of sites to choose.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    candidates: Annotated[Path | None, typer.Option(help="Candidate sites in the masts-file "
                                                    "format.")] = None,
    grid_m: Annotated[float | None, typer.Option("--grid-m", help="Candidates on a grid of "
                                                 "this spacing (m) instead.")] = None,
    profile: Annotated[list[str] | None, typer.Option(help="Profile(s) whose gains count "
                                                      "(default all).")] = None,
    objective: Annotated[str, typer.Option(help="area, population or roads.")] = "area",
    area: Annotated[str | None, typer.Option(help="Count gains inside this area only.")] = None,
    heights_m: Annotated[str | None, typer.Option("--heights-m", help="Antenna heights (m) "
                                                  "to try, e.g. 30,40,60.")] = None,
    noise: Annotated[str, typer.Option(help="Noise state: sunny (default) or night.")]
    = "sunny",
    prune: Annotated[bool, typer.Option("--prune", help="Skip candidates whose uncovered "
                                        "window area cannot beat the best gain.")] = False,
    screen_m: Annotated[float | None, typer.Option("--screen-m", help="First rank every "
                                                   "candidate on a grid of this pixel size (m) "
                                                   "and keep the best for the exact pass.")]
    = None,
    screen_keep: Annotated[int, typer.Option("--screen-keep", help="Sites kept by the "
                                             "screen.")] = 16,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Choose where N new masts add the most coverage (lazy greedy over candidate sites)."""
    from c2000cov.pipeline.optimise import optimise as run_optimise
    from c2000cov.scenario.config import load_scenario

    scen = load_scenario(scenario)
    result = run_optimise(scen, add, out, candidates, grid_m, profile, objective, area,
                          heights_m, noise, prune, screen_m=screen_m,
                          screen_keep=screen_keep)
    if result.whatif is not None:  # the chosen sites are masts named with rank and gain
        from c2000cov.products.maps import build_map

        result.files.append(build_map(result.whatif, out / "map.html"))
    if not quiet:
        sel = result.selection
        err_console.print(f"{result.n_candidates} candidates, {len(sel.order)} chosen in "
                          f"{result.timings_s['total_s']:.1f} s; {sel.evaluations} gain "
                          f"evaluations (plain greedy: {result.plain_evaluations})")
        if screen_m is not None:
            kept = int((~result.candidates["screened_out"]).sum())
            err_console.print(f"screen at {screen_m:g} m: {kept} candidates kept for the exact "
                              f"pass ({result.timings_s['screen_s']:.1f} s)")
        for row in result.selected.itertuples():
            err_console.print(f"  {row.rank}. {row.mast_id}: +{row.gain_km2:.3f} km2 "
                              f"({row.gain_pct:.2f} %), total {row.cumulative_km2:.3f} km2")
        err_console.print(f"wrote {len(result.files)} files to {out}")
