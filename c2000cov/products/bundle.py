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

from rasterio.crs import CRS

from c2000cov import __version__
from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.files.atomic import atomic_path, sha256_file
from c2000cov.files.masts import read_masts
from c2000cov.files.mosaic import RASTER_SUFFIXES, expand_paths, is_glob
from c2000cov.files.vectors import VECTOR_SUFFIXES
from c2000cov.products.bundle_format import (
    BUNDLE_FORMAT,
    MANIFEST_NAME,
    BundleError,
    entry_name_problem,
    write_canonical_zip,
)
from c2000cov.products.report import build_report
from c2000cov.products.runfolder import MANIFEST, REPORT, timestamp_utc
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


def scenario_inputs(scenario_path: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Every input file of a scenario: ``{bundle name: source path}`` and the scenario's
    path values rewritten to bundle-relative names (``{key path: name}``).

    Inputs go to ``inputs/<key path>/<file name>``; antenna patterns next to the
    masts file (keeping their sub-folders), shapefile sidecars next to their .shp;
    the files of an input named by a folder or a glob (terrain tiles, 3D BAG tiles)
    into the folder ``inputs/<key path>/``, which the bundled scenario names.
    """
    scen = load_scenario(scenario_path)
    files: dict[str, Path] = {}
    rewrite: dict[str, str] = {}
    keys = {"terrain.dtm": scen.terrain.dtm, "terrain.dsm": scen.terrain.dsm,
            "masts.path": scen.masts.path, "interference.mitigate_within":
            scen.interference.mitigate_within}
    for section in ("buildings", "pv", "areas", "roads", "population"):
        obj = getattr(scen, section)
        if obj is not None:
            keys[f"{section}.path"] = obj.path
    for key, src in keys.items():
        if src is None:
            continue
        if key.startswith("terrain.") and Path(src).suffix.lower() == ".vrt":
            raise InvalidInputError(
                f"{Path(src).name}: a bundle cannot carry the tiles a VRT refers to; name "
                f"the tile folder or a glob in {key} instead")
        if is_glob(str(src)) or Path(src).is_dir():
            # tiles (a folder or a glob) travel as a folder the bundled scenario names
            tiles = expand_paths([src], key, RASTER_SUFFIXES + VECTOR_SUFFIXES)
            names = [t.name for t in tiles]
            if len(set(names)) != len(names):
                raise InvalidInputError(f"{key} = {src}: files from different folders share "
                                        "a name; a bundle keeps them in one folder")
            for tile in tiles:
                files[f"{INPUTS_DIR}/{key}/{tile.name}"] = tile
                if tile.suffix.lower() == ".shp":
                    for side in sorted(tile.parent.glob(tile.stem + ".*")):
                        files[f"{INPUTS_DIR}/{key}/{side.name}"] = side
            rewrite[key] = key
            continue
        src = Path(src)
        name = f"{INPUTS_DIR}/{key}/{src.name}"
        rewrite[key] = f"{key}/{src.name}"  # relative to inputs/scenario.toml
        files[name] = src
        if src.suffix.lower() == ".shp":
            for side in sorted(src.parent.glob(src.stem + ".*")):
                files[f"{INPUTS_DIR}/{key}/{side.name}"] = side

    masts = read_masts(scen.masts.path, CRS.from_user_input(scen.scenario.crs), scen.masts.layer)
    for pattern in sorted(set(p for p in masts["pattern"] if isinstance(p, str))):
        rel = Path(pattern).relative_to(scen.masts.path.parent.resolve()).as_posix()
        files[f"{INPUTS_DIR}/masts.path/{rel}"] = Path(pattern)
    return files, rewrite


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
    listed = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8")).get("files", [])
    missing = [f for f in listed if not (run_dir / f).is_file()]
    if missing:
        raise BundleError(f"{run_dir}: run.json lists {missing[0]} but the file is missing; the "
                          "run folder is incomplete, rerun the scenario")
    if with_report and not (run_dir / REPORT).is_file():
        build_report(run_dir)

    names = [n for n in bundle_files(run_dir, exclude=(out,))
             if not n.startswith(f"{INPUTS_DIR}/")]
    sources: dict[str, Path] = {}
    scenario_text = None
    run = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    scenario_path = Path(run.get("parameters", {}).get("source", ""))
    if with_inputs and scenario_path.is_file():
        scenario_text = scenario_path.read_text(encoding="utf-8")
        inputs, rewrite = scenario_inputs(scenario_path)
        rewrite["output.dir"] = "out"
        rewritten = scenario_to_toml(load_scenario(scenario_path), rewrite)
        scen_file = run_dir / f".{Path(SCENARIO_NAME).name}.bundle"
        scen_file.write_text(rewritten, encoding="utf-8")
        sources = {**inputs, SCENARIO_NAME: scen_file}
    else:
        inputs = {}
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
