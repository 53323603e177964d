"""Verifiable evidence bundles: a run folder as one deterministic zip with a manifest.

:func:`make_bundle` packs every file of a run folder (hidden files and
folders such as ``.cache`` and temporary ``.partial`` files left out), plus
``report.html`` (written first when missing), and a ``MANIFEST.json`` that
lists each file's SHA-256 and size together with the software version and
git commit recorded in ``run.json``. The zip is canonical: entries in
sorted order, stored uncompressed (so no compression library's version can
change a byte), every timestamp 1980-01-01 00:00:00, permissions 0644, no
extra fields, no comment; the same run folder gives the same bytes on any
machine.

The SHA-256 of ``MANIFEST.json`` identifies the bundle's content: an
inspector who records it can later check a copy with
:func:`verify_bundle` (``c2000cov verify BUNDLE.zip --manifest-sha256 HEX``),
which reports a changed byte, a missing or an extra file, an unsafe entry
name (``../x``, absolute paths, backslashes) and duplicate entries; a bundle
whose contents are intact is finally compared byte for byte with the
canonical zip of those contents, so a change to any header byte is caught too.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

from c2000cov import __version__
from c2000cov.errors import InputNotFoundError
from c2000cov.files.atomic import atomic_path, sha256_file
from c2000cov.files.inputs import (
    SCENARIO_KEY,
    check_recorded_inputs,
    input_files,
    input_rewrites,
)
from c2000cov.products.bundle_format import (
    BUNDLE_FORMAT,
    MANIFEST_NAME,
    BundleError,
    entry_name_problem,
    write_canonical_zip,
)
from c2000cov.products.report import build_report
from c2000cov.products.runfolder import (
    MANIFEST,
    REPORT,
    VALIDATION_POINTS,
    VALIDATION_TABLE,
    read_run_manifest,
    timestamp_utc,
)
from c2000cov.scenario.config import load_scenario, scenario_to_toml


def bundle_files(run_dir: Path, exclude: tuple[Path, ...] = ()) -> list[str]:
    """Relative POSIX paths of the files a bundle of ``run_dir`` holds, sorted.

    Hidden files and folders (name starting with '.') are left out, as are
    the paths in ``exclude``. Raises :class:`BundleError` for symbolic links
    and unsafe names.
    """
    run_dir = Path(run_dir)
    skip = {p.resolve() for p in exclude}
    out = []
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir)
        if any(part.startswith(".") for part in rel.parts) or path.resolve() in skip:
            continue
        if path.is_symlink():
            raise BundleError(f"{run_dir}: {rel.as_posix()} is a symbolic link; a bundle holds "
                              "regular files only (copy the target into the folder)")
        if not path.is_file():
            continue
        name = rel.as_posix()
        problem = entry_name_problem(name)
        if problem:
            raise BundleError(f"{run_dir}: {problem}; rename the file")
        if name == MANIFEST_NAME:
            raise BundleError(f"{run_dir}: holds a file named {MANIFEST_NAME}, the name the "
                              "bundle's own manifest needs; remove or rename it")
        out.append(name)
    return sorted(out)


#: Packages whose versions the manifest records.
RECORDED_PACKAGES = ("numpy", "numba", "llvmlite", "scipy", "pandas", "shapely", "geopandas",
                     "pyogrio", "pyproj", "rasterio", "folium", "jinja2", "matplotlib", "dask",
                     "distributed", "typer", "rich")
INPUTS_DIR = "inputs"
#: Files a later step writes into a run folder (``c2000cov validate``): run.json does not
#: list them, but the report shows them, so a bundle carries them when present (a rerun
#: does not recompute them: the field reports are not an input of the run).
ADDED_LATER = (VALIDATION_TABLE, VALIDATION_POINTS)
SCENARIO_NAME = f"{INPUTS_DIR}/scenario.toml"


def package_versions() -> dict[str, str]:
    """Installed versions of the recorded dependencies (``missing`` when absent)."""

    out = {}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def bundle_time_utc() -> str:
    """Creation time: ``SOURCE_DATE_EPOCH`` when set (reproducible bundles), else now."""
    return timestamp_utc()


def run_overrides(run: dict) -> dict:
    """The command-line overrides a run was made with (``run --calibration``, ``--sun``,
    ``--model``...), from ``run.json``: the bundled scenario must carry them, or a rerun
    computes another run (a calibrated run would be rerun uncalibrated)."""
    origins, params = run.get("parameter_origins") or {}, run.get("parameters") or {}
    return {k: params[k] for k, origin in sorted(origins.items())
            if origin == "override" and k in params}


def recorded_inputs(run: dict, run_dir: Path) -> tuple[dict[str, Path], dict[str, str],
                                                   Path | None]:
    """The inputs ``run.json`` recorded, each checked unchanged since the run:
    ``{bundle name: source path}``, the scenario's path values rewritten to
    bundle-relative names (``{key path: name}``) and the scenario file.

    Only files the run recorded (with their SHA-256) are packed: a run folder's
    ``run.json`` cannot make a bundle read any other file. A run folder without
    records (an older c2000cov) is bundled without inputs.
    """
    recorded = run.get("inputs")
    if not recorded:
        return {}, {}, None
    checked = check_recorded_inputs(recorded, str(Path(run_dir) / MANIFEST))
    scenario = checked.pop(SCENARIO_KEY, None)
    if scenario is None:
        raise BundleError(f"{Path(run_dir) / MANIFEST}: inputs record no {SCENARIO_KEY}; the "
                          "run folder is damaged, rerun the scenario")
    files: dict[str, Path] = {}
    rewrite: dict[str, str] = {}
    for name, path in checked.items():
        problem = entry_name_problem(name)
        if problem:
            raise BundleError(f"{Path(run_dir) / MANIFEST}: inputs: {problem}")
        files[f"{INPUTS_DIR}/{name}"] = path
    scen = load_scenario(scenario, run_overrides(run))
    rewrite.update(input_rewrites(scen))  # relative to inputs/scenario.toml
    expected = input_files(scen)
    unrecorded = sorted(set(expected) - set(checked))
    if unrecorded:
        raise BundleError(f"{scenario}: names input {unrecorded[0]} that the run did not "
                          "record; the scenario changed since the run, rerun it")
    return files, rewrite, scenario


def build_manifest(run_dir: Path, names: list[str], inputs: dict[str, Path] | None = None,
                   scenario_text: str | None = None, command: list[str] | None = None,
                   sources: dict[str, Path] | None = None) -> bytes:
    """The ``MANIFEST.json`` bytes for the files ``names`` of ``run_dir``.

    ``sources`` maps bundle names that do not live in ``run_dir`` (the inputs)
    to their files. The manifest records every file's SHA-256 and size, the
    inputs' original paths, the software and dependency versions, the command
    line, creation time and host, and the scenario text.
    """
    run_dir = Path(run_dir)
    run = {}
    if (run_dir / MANIFEST).is_file():
        try:
            run = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BundleError(f"{run_dir / MANIFEST}: not valid JSON ({exc}); the run folder "
                              "is damaged, rerun the scenario") from None
    sources = sources or {}
    files = []
    for name in names:
        sha, size = sha256_file(sources.get(name, run_dir / name))
        files.append({"path": name, "sha256": sha, "size_bytes": size})
    manifest = {
        "format": BUNDLE_FORMAT,
        "scenario": run.get("scenario"),
        "software": run.get("software"),
        "bundled_with": f"c2000cov {__version__}",
        "dependencies": package_versions(),
        "python": platform.python_version(),
        "command": command,
        "created_utc": bundle_time_utc(),
        "host": platform.node(),
        "scenario_toml": scenario_text,
        "inputs": {name: str(path) for name, path in sorted((inputs or {}).items())},
        "files": files,
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()


def default_bundle_path(run_dir: Path) -> Path:
    """``<parent>/<run folder name>.zip``, next to the run folder."""
    run_dir = Path(run_dir).resolve()
    return run_dir.parent / f"{run_dir.name}.zip"


def make_bundle(run_dir: str | Path, out_zip: str | Path | None = None,
                with_report: bool = True, with_inputs: bool = True,
                command: list[str] | None = None) -> Path:
    """Pack a run folder into a deterministic, verifiable zip.

    Parameters
    ----------
    run_dir : str or Path
        Output folder of ``c2000cov run`` (holds ``run.json``).
    out_zip : str or Path, optional
        The zip to write; default :func:`default_bundle_path`. It may lie
        inside ``run_dir`` (it is not packed into itself).
    with_report : bool
        Write ``report.html`` into the run folder first when it is missing.
    with_inputs : bool
        Also pack every input file of the scenario (``run.json`` names it)
        under ``inputs/``, with ``inputs/scenario.toml`` pointing at them, so
        :func:`rerun_bundle` can recompute the run from the bundle alone.
    command : list of str, optional
        The command line to record (default: this process's ``sys.argv``).

    Returns
    -------
    Path
        The zip (written atomically).

    Raises
    ------
    InputNotFoundError
        No ``run.json`` in ``run_dir``.
    BundleError
        A file that ``run.json`` lists is missing, or the folder holds a
        symbolic link or a file with an unsafe name.
    """
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).is_file():
        raise InputNotFoundError(f"{run_dir}: no run.json; give the output folder of "
                                 "`c2000cov run`")
    out = Path(out_zip) if out_zip is not None else default_bundle_path(run_dir)
    listed = read_run_manifest(run_dir).get("files", [])
    if not isinstance(listed, list) or not all(isinstance(f, str) for f in listed):
        raise BundleError(f"{run_dir / MANIFEST}: 'files' is not a list of file names; the run "
                          "folder is damaged, rerun the scenario")
    missing = [f for f in listed if not (run_dir / f).is_file()]
    if missing:
        raise BundleError(f"{run_dir}: run.json lists {missing[0]} but the file is missing; the "
                          "run folder is incomplete, rerun the scenario")
    if with_report and not (run_dir / REPORT).is_file():
        build_report(run_dir)

    present = set(bundle_files(run_dir, exclude=(out,)))
    names = sorted(n for n in present if n in set(listed) | {MANIFEST, REPORT, *ADDED_LATER})
    sources: dict[str, Path] = {}
    scenario_text = None
    run = read_run_manifest(run_dir)
    inputs, rewrite, scenario_path = (recorded_inputs(run, run_dir) if with_inputs
                                      else ({}, {}, None))
    if scenario_path is not None:
        scenario_text = scenario_path.read_text(encoding="utf-8")
        rewrite["output.dir"] = "out"
        rewritten = scenario_to_toml(load_scenario(scenario_path, run_overrides(run)), rewrite)
        scen_file = run_dir / f".{Path(SCENARIO_NAME).name}.bundle"
        scen_file.write_text(rewritten, encoding="utf-8")
        sources = {**inputs, SCENARIO_NAME: scen_file}
    try:
        all_names = sorted(names + list(sources))
        manifest = build_manifest(run_dir, all_names, inputs, scenario_text,
                                  command if command is not None else list(sys.argv),
                                  sources)

        def opener(name: str):
            return lambda: sources.get(name, run_dir / name).open("rb")

        with atomic_path(out) as tmp:
            with tmp.open("wb") as fh:
                write_canonical_zip(fh, [(n, opener(n), sources.get(n, run_dir / n).stat().st_size)
                                         for n in all_names], manifest)
    finally:
        if sources.get(SCENARIO_NAME) is not None and sources[SCENARIO_NAME].exists():
            sources[SCENARIO_NAME].unlink()
    return out


#: Outputs that record where and when they were made, so a rerun cannot match them byte
#: for byte: the manifest of parameters (absolute paths), the report and maps.
