"""The ``c2000cov`` command line: a thin typer app over the library.

Each command loads its inputs, calls one library entry point and writes the
outputs. Errors of the :class:`~c2000cov.errors.C2000CovError` family are
printed as one line without a traceback and exit with status 2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from c2000cov.errors import InvalidInputError
from c2000cov.resources import use_numba_cache_dir

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Coverage, interference and dead-zone analysis for the C2000 network.")
err_console = Console(stderr=True)
app.command("optimise")(__import__("c2000cov.devtools.optimise_cli", fromlist=["x"]).optimise)
app.command("whatif")(__import__("c2000cov.devtools.whatif_cli", fromlist=["x"]).whatif)


def _progress(quiet: bool):
    if quiet:
        return None, None
    prog = Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), console=err_console, transient=False)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = prog.add_task(stage, total=total)
        prog.update(tasks[stage], completed=done, total=total)

    return prog, update


def _map_target(scen, map_path: Path | None) -> Path:
    """The map path of a run, checked: an .html file that is not an input of the run."""
    from c2000cov.files.atomic import refuse_overwriting, safe_file_stem
    from c2000cov.products.output_checks import check_map_target
    from c2000cov.scenario.config import scenario_input_paths

    target = (map_path or scen.output.map
              or Path("maps") / f"{safe_file_stem(scen.scenario.name)}.html")
    check_map_target(target)
    return refuse_overwriting(target, list(scenario_input_paths(scen).values()), "map")


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[Path | None,
                   typer.Option(help="Output folder (overrides [output] dir).")] = None,
    model: Annotated[str | None, typer.Option(help="[model] name: fspl|hata|p1812.")] = None,
    device: Annotated[str | None, typer.Option(help="[model] device: cpu|gpu|auto.")] = None,
    map_path: Annotated[Path | None, typer.Option("--map", help="Map HTML path "
                                                  "(default: [output] map or maps/<name>.html).")]
    = None,
    no_map: Annotated[bool, typer.Option("--no-map", help="Do not write the map.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    sun: Annotated[float | None, typer.Option(help="Override [interference] sun_factor "
                                              "(1 sunny day, 0 night).")] = None,
    executor: Annotated[str, typer.Option(help="serial | local | dask")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler tcp://HOST:PORT.")]
    = None,
    workers: Annotated[int | None, typer.Option(help="Workers of a local Dask cluster.")]
    = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Per-mast loss cache folder "
                                                   "(default <out>/.cache).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not cache per-mast losses.")]
    = False,
    bundle: Annotated[bool, typer.Option("--bundle", help="Also write <out>.zip, a verifiable "
                                         "evidence bundle with inputs and manifest.")] = False,
    max_memory_gb: Annotated[float | None, typer.Option(
        help="Refuse the run when it would need more memory than this (GB; default 80 % of "
             "this machine's memory).")] = None,
    calibration: Annotated[Path | None, typer.Option(help="calibration.toml to apply.")] = None,
) -> None:
    """Compute coverage for every mast and profile, and write rasters, dead zones and a map."""
    from c2000cov.pipeline.executor import make_executor
    from c2000cov.pipeline.run import run_scenario
    from c2000cov.products.maps import build_map
    from c2000cov.scenario.config import load_scenario

    overrides = {}
    if model:
        overrides["model.name"] = model
    overrides.update({"model.device": device} if device else {})
    if sun is not None:
        overrides["interference.sun_factor"] = sun
    overrides.update({"calibration.path": str(calibration.resolve())} if calibration else {})
    scen = load_scenario(scenario, overrides)
    out_dir = out or scen.output.dir
    map_target = None if no_map else _map_target(scen, map_path)
    prog, update = _progress(quiet)
    t0 = time.perf_counter()
    with make_executor(executor, scheduler, workers) as ex:
        if ex.dashboard_link and not quiet:
            err_console.print(f"Dask dashboard: {ex.dashboard_link}")
        cache = False if no_cache else cache_dir
        if prog:
            with prog:
                result = run_scenario(scen, out_dir, progress=update, executor=ex,
                                      cache_dir=cache, max_memory_gb=max_memory_gb)
        else:
            result = run_scenario(scen, out_dir, executor=ex, cache_dir=cache,
                                  max_memory_gb=max_memory_gb)
    if not no_map:
        result.files.append(build_map(result, map_target))
    if bundle:
        from c2000cov.products.bundle import make_bundle
        from c2000cov.products.report import build_report, bundle_report_path
        from c2000cov.products.verify import verify_bundle

        zip_path = make_bundle(out_dir)
        checked = verify_bundle(zip_path)
        checked.raise_for_problems()
        result.files.append(build_report(out_dir, bundle_report_path(zip_path), bundle=zip_path))
        if not quiet:
            err_console.print(f"bundle {zip_path}: MANIFEST.json sha256 "
                              f"{checked.manifest_sha256}")
    if not quiet:
        err_console.print(f"wrote {len(result.files)} files to {out_dir} "
                          f"in {time.perf_counter() - t0:.1f} s")
        for name, cov in result.coverage.items():
            from c2000cov.analysis.coverage import covered_pct

            err_console.print(f"  {name}: {covered_pct(cov):.1f} % of evaluated area "
                              f"reaches {cov.target_pct:g} % location probability")


@app.command("map")
def map_(
    run_dir: Annotated[Path, typer.Argument(help="Run output folder (holds run.json).")],
    out: Annotated[Path | None, typer.Option(help="Map HTML path (default RUN_DIR/map.html, "
                                             "or RUN_DIR/map_public.html with --public).")]
    = None,
    profile: Annotated[list[str] | None, typer.Option(help="Profile to show (repeatable; "
                                                      "default all, handheld outdoors first).")]
    = None,
    public: Annotated[bool, typer.Option("--public", help="Public version: no mast positions, "
                                         "ids or names; coverage in 500 m blocks.")] = False,
    basemap: Annotated[str, typer.Option(help="none|osm|brt (offline, the map says the tiles "
                                              "did not load).")] = "none",
    lang: Annotated[str, typer.Option(help="Language of the map: nl|en.")] = "nl",
    kmz: Annotated[bool, typer.Option("--kmz", help="Also write the KMZ export next to the "
                                                    "map (<map>.kmz).")] = False,
) -> None:
    """Write a self-contained offline HTML map of a run folder."""
    from c2000cov.products.maps import build_map_from_run
    from c2000cov.products.output_checks import check_map_target

    target = check_map_target(out or run_dir / ("map_public.html" if public else "map.html"),
                              run_dir)
    if kmz:
        check_map_target(Path(target).with_suffix(".kmz"), run_dir, ".kmz")
    typer.echo(str(build_map_from_run(run_dir, target, profiles=profile, public=public,
                                      basemap=basemap, lang=lang)))
    if kmz:
        from c2000cov.products.kmz import export_kmz

        typer.echo(str(export_kmz(run_dir, Path(target).with_suffix(".kmz"), profiles=profile,
                                  public=public, lang=lang)))


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="Run output folder (holds run.json).")],
    kmz: Annotated[bool, typer.Option("--kmz", help="Write a KMZ (Google Earth): coverage "
                                                    "classes and zones per profile.")] = False,
    out: Annotated[Path | None, typer.Option(help="File to write (default RUN_DIR/coverage.kmz, "
                                             "or coverage_public.kmz with --public).")] = None,
    profile: Annotated[list[str] | None, typer.Option(help="Profile to export (repeatable; "
                                                      "default all).")] = None,
    public: Annotated[bool, typer.Option("--public", help="Public version: 500 m blocks.")]
    = False,
    lang: Annotated[str, typer.Option(help="Language of names and advice: nl|en.")] = "nl",
) -> None:
    """Export a run folder for other tools (--kmz: Google Earth)."""
    from c2000cov.products.kmz import export_kmz

    if not kmz:
        raise InvalidInputError("export: choose a format; valid formats: --kmz")
    from c2000cov.products.output_checks import check_map_target

    target = check_map_target(out or run_dir / ("coverage_public.kmz" if public
                                                else "coverage.kmz"), run_dir, ".kmz")
    typer.echo(str(export_kmz(run_dir, target, profiles=profile, public=public, lang=lang)))


@app.command()
def link(
    profile: Annotated[Path, typer.Argument(help="ITU-R SG3 validation file, or a CSV "
                                            "d_km,h_m[,r_m].")],
    case: Annotated[int | None, typer.Option(help="0-based test case of an SG3 file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    freq_mhz: Annotated[float | None, typer.Option("--freq-mhz")] = None,
    htx_m: Annotated[float | None, typer.Option("--htx-m")] = None,
    hrx_m: Annotated[float | None, typer.Option("--hrx-m")] = None,
    time_pct: Annotated[float, typer.Option("--time-pct")] = 50.0,
    loc_pct: Annotated[float, typer.Option("--loc-pct")] = 50.0,
) -> None:
    """Point-to-point ITU-R P.1812 link report for a path profile."""
    from c2000cov.errors import InvalidInputError
    from c2000cov.files.atomic import require_file
    from c2000cov.radio.link import evaluate_profile_csv, evaluate_sg3

    require_file(profile, "path profile")
    if "{Begin of Profile}" in profile.read_text(encoding="utf-8", errors="replace"):
        rows = evaluate_sg3(profile, case)
    else:
        missing = [n for n, v in (("--freq-mhz", freq_mhz), ("--htx-m", htx_m),
                                  ("--hrx-m", hrx_m)) if v is None]
        if missing:
            raise InvalidInputError(f"{profile.name}: a plain CSV profile needs "
                                    f"{', '.join(missing)}")
        rows = [evaluate_profile_csv(profile, freq_mhz, htx_m, hrx_m, time_pct, loc_pct)]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        typer.echo(f"case {row.get('case', 0)}:")
        for key, value in row.items():
            if key != "case":
                typer.echo(f"  {key:<16} {value:.3f}" if isinstance(value, float)
                           else f"  {key:<16} {value}")


@app.command()
def bench(
    json_path: Annotated[Path, typer.Option("--json", help="Append records to this JSON list.")]
    = Path("bench-results.json"),
    workload: Annotated[list[str] | None, typer.Option(
        help="a-single-25km-25m, b-single-25km-10m, c-demo, a2-single-25km-25m-2freq, "
             "national-25m, map-demo, map-50km, serve-point, prepare-100-tiles (default: "
             "the first three).")] = None,
    threads: Annotated[list[int] | None, typer.Option(
        help="Numba thread counts (default: 1 and all cores).")] = None,
    national_dir: Annotated[Path, typer.Option(help="National folder.")] = Path("out/national"),
    run_dir: Annotated[Path, typer.Option(help="Run folder to serve.")] = Path("out/demo"),
    prepare_dir: Annotated[Path, typer.Option(help="Folder for the prepare benchmark's tiles "
                                              "(about 800 MB).")] = Path("out/bench-prepare"),
    device: Annotated[str, typer.Option(help="Area kernel on cpu|gpu|auto.")] = "cpu",
) -> None:
    """Run the propagation benchmarks and append JSON records."""
    from c2000cov.devtools.bench import DEFAULT_WORKLOADS, append_records, run_workloads
    from c2000cov.devtools.bench import bench_thread_counts as default_counts

    names = workload or list(DEFAULT_WORKLOADS)
    counts = threads or default_counts(device)
    records = []
    map_names = [n for n in names if n.startswith("map-")]
    kernel_names = [n for n in names if n not in ("national-25m", "serve-point",
                                                   "prepare-100-tiles")
                    and n not in map_names]
    for n_threads in counts:
        if kernel_names:
            records += run_workloads(kernel_names, n_threads, device)
    if "national-25m" in names:
        from c2000cov.devtools.national import run_national

        prog, update = _progress(False)
        with prog:
            records.append(run_national(national_dir, 1.0, progress=update, device=device))
    if map_names:
        from c2000cov.devtools.map_bench import MAP_WORKLOADS, run_map_workload

        unknown = [n for n in map_names if n not in MAP_WORKLOADS]
        if unknown:
            raise InvalidInputError(f"bench workload(s) {unknown} unknown; valid map "
                                    f"workloads: {', '.join(MAP_WORKLOADS)}")
        records += [run_map_workload(n) for n in map_names]
    if "serve-point" in names:
        from c2000cov.service.loadtest import serve_point_record

        records.append(serve_point_record(run_dir))
    if "prepare-100-tiles" in names:
        from c2000cov.devtools.bench_prepare import run_prepare_bench

        # two grids over the same tiles: memory follows the output grid, not the tiles
        records += [run_prepare_bench(prepare_dir, resolution_m=r) for r in (5.0, 2.0)]
    append_records(json_path, records)
    for r in records:
        typer.echo(json.dumps(r))


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of `c2000cov run`.")],
    out: Annotated[Path | None, typer.Option(help="Report file (default RUN_DIR/report.html).")]
    = None,
    lang: Annotated[str, typer.Option(help="Language: nl (Dutch) or en (English).")] = "nl",
    bundle_zip: Annotated[Path | None, typer.Option(
        "--bundle", help="Evidence bundle of this run: verified, and its manifest SHA-256 "
        "stated in the report.")] = None,
) -> None:
    """Write the HTML compliance report of a run folder."""
    from c2000cov.products.report import build_report

    typer.echo(f"wrote {build_report(run_dir, out, lang=lang, bundle=bundle_zip)}")


@app.command()
def bundle(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of `c2000cov run`.")],
    out: Annotated[Path | None, typer.Option(help="Zip to write (default RUN_DIR.zip next to "
                                             "the folder).")] = None,
) -> None:
    """Pack a run folder and its report into a verifiable evidence zip."""
    from c2000cov.products.bundle import make_bundle
    from c2000cov.products.report import build_report, bundle_report_path
    from c2000cov.products.verify import verify_bundle

    path = make_bundle(run_dir, out)
    checked = verify_bundle(path)
    checked.raise_for_problems()
    typer.echo(f"wrote {path} ({checked.n_files} files)")
    typer.echo(f"MANIFEST.json sha256 {checked.manifest_sha256}")
    typer.echo(f"wrote {build_report(run_dir, bundle_report_path(path), bundle=path)} "
               "(the report with the bundle's manifest SHA-256)")


@app.command()
def verify(
    bundle_zip: Annotated[Path, typer.Argument(metavar="BUNDLE.zip", help="Evidence bundle.")],
    manifest_sha256: Annotated[str | None, typer.Option(
        help="Manifest SHA-256 recorded when the bundle was made.")] = None,
    rerun: Annotated[bool, typer.Option("--rerun", help="Recompute the run from the bundled "
                                        "inputs and compare the outputs bit for bit.")] = False,
) -> None:
    """Check an evidence bundle: exit 0 and print OK <manifest sha256>, else exit 2."""
    from c2000cov.products.bundle_format import BundleError
    from c2000cov.products.verify import verify_bundle

    checked = verify_bundle(bundle_zip, manifest_sha256)
    checked.raise_for_problems()
    if rerun:
        from c2000cov.pipeline.rerun import rerun_bundle  # the pipeline only when rerunning

        differences = rerun_bundle(bundle_zip)
        if differences:
            raise BundleError(f"{bundle_zip.name}: the rerun does not reproduce the bundle: "
                              + "; ".join(differences))
        typer.echo("rerun reproduces every output bit for bit")
    typer.echo(f"OK {checked.manifest_sha256}")


@app.command()
def query(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of `c2000cov run`.")],
    point: Annotated[str | None, typer.Option(help="LON,LAT in WGS84 degrees.")] = None,
    point_rd: Annotated[str | None, typer.Option("--point-rd", help="X,Y in RD New "
                                                 "(EPSG:28992) metres.")] = None,
    points: Annotated[Path | None, typer.Option(help="CSV (lon,lat or x_m,y_m) or GeoJSON "
                                                "points: one answer per row, in order.")]
    = None,
    profile: Annotated[list[str] | None, typer.Option(help="Profile (repeatable; default "
                                                      "all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    public: Annotated[bool, typer.Option("--public", help="Leave out mast ids, names and "
                                         "positions; answer per 500 m block.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write a --points answer here (CSV, or "
                                             "JSON with --json) instead of printing it.")]
    = None,
    lang: Annotated[str, typer.Option(help="Language of the advice: nl | en.")] = "nl",
) -> None:
    """Coverage, dead zone and advice per profile at a point or for a file of points."""
    from c2000cov.files.vectors import csv_text
    from c2000cov.service.output import point_text, points_table, query_run

    ans = query_run(run_dir, point, point_rd, points, profile, public, lang)
    if isinstance(ans, list):
        text = (json.dumps(ans, indent=1, ensure_ascii=False) if as_json
                else csv_text(points_table(ans)))
    else:
        text = json.dumps(ans, indent=1, ensure_ascii=False) if as_json else point_text(ans)
    if out is not None:
        from c2000cov.files.atomic import atomic_path

        with atomic_path(out) as tmp:
            tmp.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        typer.echo(text.rstrip("\n"))


@app.command()
def route(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of `c2000cov run`.")],
    route_file: Annotated[Path, typer.Argument(metavar="ROUTE", help="GPX track, GeoJSON "
                                               "LineString, GeoPackage line or CSV of points.")],
    profile: Annotated[list[str] | None, typer.Option(help="Profile (repeatable; default "
                                                      "all).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the uncovered stretches here "
                                             "(GeoJSON LineStrings).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    public: Annotated[bool, typer.Option("--public", help="Public run answers (no mast "
                                         "data).")] = False,
) -> None:
    """Kilometres and share of a route below target per profile, and its uncovered stretches."""
    from c2000cov.service.output import route_run, route_text

    ans = route_run(run_dir, route_file, profile, out, public)
    typer.echo(json.dumps(ans, indent=1, ensure_ascii=False) if as_json else route_text(ans))


@app.command()
def serve(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of `c2000cov run`.")],
    host: Annotated[str, typer.Option(help="Address to listen on; other than localhost "
                                      "only with --token-file.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    public: Annotated[bool, typer.Option("--public", help="Leave out mast ids, names and "
                                         "positions; answer per 500 m block.")] = False,
    token_file: Annotated[Path | None, typer.Option(help="File whose first line is the "
                                                    "bearer token every request must "
                                                    "carry.")] = None,
    profile: Annotated[list[str] | None, typer.Option(help="Default profiles (repeatable; "
                                                      "default all).")] = None,
) -> None:
    """Read-only HTTP JSON service of a run folder: /v1/point, /v1/points, /v1/route."""
    from c2000cov.service.server import serve as serve_run

    serve_run(run_dir, host, port, public, token_file, profile)


def _bounds(text: str | None) -> list[float] | None:
    if text is None:
        return None
    from c2000cov.errors import InvalidInputError

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise InvalidInputError(f"--bounds-m must be XMIN,YMIN,XMAX,YMAX in metres, got {text!r}")
    return values


@app.command()
def prepare(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write (scenario.toml, COGs, "
                                            "GeoPackages, prepare.json).")],
    dtm: Annotated[list[str], typer.Option(help="DTM tiles: a file, a folder, a quoted glob "
                                           "or a VRT (repeatable).")],
    masts: Annotated[Path, typer.Option(help="Masts file (CSV, GeoJSON, GeoPackage).")],
    resolution_m: Annotated[float, typer.Option("--resolution-m", help="Grid pixel size (m).")],
    dsm: Annotated[list[str] | None, typer.Option(help="DSM tiles (repeatable).")] = None,
    buildings: Annotated[list[str] | None, typer.Option(
        help="Building footprints, e.g. 3D BAG GeoPackages (repeatable).")] = None,
    areas: Annotated[Path | None, typer.Option(help="Boundary file (e.g. veiligheidsregio's).")]
    = None,
    area: Annotated[str | None, typer.Option(help="Name of the region in --areas "
                                             "(case-insensitive).")] = None,
    name_column: Annotated[str | None, typer.Option(help="Name column of --areas (default: "
                                                    "statnaam, naam, name or area_name).")]
    = None,
    bounds_m: Annotated[str | None, typer.Option("--bounds-m", help="Region as "
                                                 "XMIN,YMIN,XMAX,YMAX (m, --crs).")] = None,
    margin_m: Annotated[float | None, typer.Option("--margin-m", help="Margin around the "
                                                   "region (m; default --radius-m).")] = None,
    radius_m: Annotated[float | None, typer.Option("--radius-m", help="Model radius written to "
                                                   "the scenario (m; default 15000).")] = None,
    population: Annotated[list[str] | None, typer.Option(
        help="Population: CBS squares/points (vector) or a count raster (repeatable).")] = None,
    population_column: Annotated[str, typer.Option(help="People column of vector "
                                                   "population.")] = "aantal_inwoners",
    roads: Annotated[list[str] | None, typer.Option(help="Road lines, e.g. NWB "
                                                    "(repeatable).")] = None,
    landcover: Annotated[list[str] | None, typer.Option(help="Land-cover class raster(s) "
                                                        "(repeatable).")] = None,
    crs: Annotated[str, typer.Option(help="Analysis CRS.")] = "EPSG:28992",
    buildings_layer: Annotated[str | None, typer.Option(help="Layer of the buildings files.")]
    = None,
    roof_column: Annotated[str | None, typer.Option(help="Roof level column (m NAP).")] = None,
    ground_column: Annotated[str | None, typer.Option(help="Ground level column (m NAP).")]
    = None,
    height_column: Annotated[str | None, typer.Option(help="Height above ground column (m).")]
    = None,
    year_column: Annotated[str | None, typer.Option(help="Construction year column.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT_DIR if it "
                                            "exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Build a runnable scenario folder from tiled real data (AHN, 3D BAG, CBS, NWB)."""
    from c2000cov.files.prepare import PrepareRequest
    from c2000cov.files.prepare import prepare as run_prepare

    kwargs = {} if radius_m is None else {"radius_m": radius_m}
    req = PrepareRequest(out_dir=out_dir, dtm=dtm, masts=masts, resolution_m=resolution_m,
                         dsm=dsm or (), buildings=buildings or (), areas=areas, area=area,
                         name_column=name_column, bounds_m=_bounds(bounds_m),
                         margin_m=margin_m, population=population or (),
                         population_column=population_column, roads=roads or (),
                         landcover=landcover or (), crs=crs, buildings_layer=buildings_layer,
                         roof_column=roof_column, ground_column=ground_column,
                         height_column=height_column, year_column=year_column,
                         overwrite=overwrite, **kwargs)
    prog, update = _progress(quiet)
    if prog:
        with prog:
            result = run_prepare(req, progress=update)
    else:
        result = run_prepare(req)
    if not quiet:
        rep = result.report
        err_console.print(f"wrote {out_dir} in {rep['seconds']:.1f} s: grid "
                          f"{rep['grid']['width']} x {rep['grid']['height']} at "
                          f"{rep['grid']['resolution_m']:g} m", soft_wrap=True)
        for key, r in rep["rasters"].items():
            err_console.print(f"  {key}: {r['tiles']} tile(s), {r['resampling']}, filled "
                              f"{r['filled_region_pct']:.2f} % of the region "
                              f"({r['gap_fill']})", soft_wrap=True)
        for line in result.warnings:
            err_console.print(f"warning: {line}", soft_wrap=True, markup=False)
    typer.echo(result.run_command)


@app.command()
def calibrate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    measurements: Annotated[Path, typer.Argument(help="CSV/GeoPackage points with rssi_dbm.")],
    out: Annotated[Path, typer.Option(help="Folder for calibration.toml, .json and .html.")],
    profile: Annotated[str | None, typer.Option(help="Profile of rows without one.")] = None,
    landcover: Annotated[Path | None, typer.Option(help="Class raster [landcover].")] = None,
    slope: Annotated[bool, typer.Option(help="Also fit a log-distance slope.")] = False,
) -> None:
    """Fit the model to measured levels (uses the run's loss cache): offsets, σ, CV error."""
    from c2000cov.pipeline.calibrate import calibrate_scenario

    res = calibrate_scenario(scenario, measurements, out, profile, landcover, slope)
    typer.echo("\n".join(res.lines()))


@app.command()
def validate(run_dir: Annotated[Path, typer.Argument(help="Output folder of `c2000cov run`.")],
             reports: Annotated[Path, typer.Argument(help="Points with status fail or ok.")],
             profile: Annotated[str | None, typer.Option(help="Profile.")] = None) -> None:
    """Check a run's dead zones and poor/none classes against field reports."""
    from c2000cov.pipeline.calibrate import validate as run_validation
    typer.echo("\n".join(run_validation(run_dir, reports, profile).lines()))


def main() -> None:
    """Console entry point with one exit-code contract (:func:`c2000cov.exits.run_app`):
    0 success, 2 bad input / refused / usage mistake (one line), 130 Ctrl-C, 143 SIGTERM,
    1 internal error (one line naming the log file with the traceback)."""
    from c2000cov.exits import run_app

    run_app(app, err_console, before=use_numba_cache_dir)


if __name__ == "__main__":
    main()
