"""The ``c2000cov whatif`` command (registered by :mod:`c2000cov.cli`; here because cli.py
is at its 600-line limit). One library call: :func:`c2000cov.pipeline.whatif.run_whatif`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err_console = Console(stderr=True)


def whatif(
    base: Annotated[Path, typer.Argument(help="Base scenario TOML file.")],
    changes: Annotated[Path, typer.Argument(help="CHANGES TOML with add_mast, remove_mast, "
                                            "move_mast, mitigate_pv and add_pv tables.")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default <base out>-whatif).")]
    = None,
    map_path: Annotated[Path | None, typer.Option("--map", help="Map HTML path.")] = None,
    no_map: Annotated[bool, typer.Option("--no-map", help="Do not write the map.")] = False,
    delta_only: Annotated[bool, typer.Option(
        "--delta-only", help="Added masts only: write the gains and losses inside the new "
        "masts' windows (delta rasters, delta.gpkg, delta_areas.csv), no full run folder and "
        "no map; seconds instead of a full run.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    max_memory_gb: Annotated[float | None, typer.Option(
        help="Refuse the run when it would need more memory than this (GB).")] = None,
) -> None:
    """Apply changes to a base scenario; write the new coverage and its gains and losses."""
    from c2000cov.cli import _progress
    from c2000cov.pipeline.whatif import run_whatif
    from c2000cov.scenario.config import load_scenario

    scen = load_scenario(base)
    out_dir = out or Path(f"{scen.output.dir}-whatif")
    prog, update = _progress(quiet)
    t0 = time.perf_counter()
    if prog:
        with prog:
            result = run_whatif(scen, changes, out_dir, progress=update,
                                max_memory_gb=max_memory_gb, delta_only=delta_only)
    else:
        result = run_whatif(scen, changes, out_dir, max_memory_gb=max_memory_gb,
                            delta_only=delta_only)
    if not no_map and not delta_only:
        from c2000cov.products.maps import build_map

        result.files.append(build_map(result, map_path or out_dir / "map.html"))
    if not quiet:
        err_console.print(f"wrote {len(result.files)} files to {out_dir} "
                          f"in {time.perf_counter() - t0:.1f} s")
        for row in result.delta_table.itertuples():
            err_console.print(f"  {row.area_name} / {row.profile}: "
                              f"{row.delta_covered_km2:+.3f} km2 ({row.delta_covered_pct:+.2f} pp)")
