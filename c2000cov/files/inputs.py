"""The input files of a run, named and fingerprinted: what ``run.json`` records and what a
bundle may pack (nothing else).

Each input has a name ``<key path>/<file name>`` (``terrain.dtm/dtm.tif``); shapefile
sidecars sit next to their ``.shp`` and antenna patterns under ``masts.path/`` with the
sub-folders they have next to the masts file.
"""

from __future__ import annotations

from pathlib import Path

from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import sha256_file
from c2000cov.files.mosaic import RASTER_SUFFIXES, expand_paths, is_glob
from c2000cov.files.vectors import VECTOR_SUFFIXES
from c2000cov.scenario.config import scenario_input_paths
from c2000cov.scenario.schema import Scenario

#: Name of the scenario file's own record.
SCENARIO_KEY = "scenario.source"


def _is_tiles(src: Path) -> bool:
    """A folder of tiles or a glob (terrain tiles, 3D BAG tiles), not one file."""
    return is_glob(str(src)) or Path(src).is_dir()


def input_files(scen: Scenario, patterns: list[str] | tuple[str, ...] = ()) -> dict[str, Path]:
    """Every input file of a scenario by name (the scenario file itself left out).

    A file is ``<key path>/<file name>`` with its shapefile sidecars; the files of
    an input named by a folder or a glob are ``<key path>/<tile name>`` (a bundle
    keeps them in one folder, which its scenario names); antenna patterns are
    ``masts.path/<path next to the masts file>``.
    """
    files: dict[str, Path] = {}
    for key, src in scenario_input_paths(scen).items():
        if key == SCENARIO_KEY:
            continue
        members = (expand_paths([src], key, RASTER_SUFFIXES + VECTOR_SUFFIXES)
                   if _is_tiles(src) else [Path(src)])
        for member in members:
            name = f"{key}/{member.name}"
            if name in files:
                raise InvalidInputError(f"{key} = {src}: files from different folders share "
                                        f"the name {member.name}; give tiles unique names")
            files[name] = member
            if member.suffix.lower() == ".shp":
                for side in sorted(member.parent.glob(member.stem + ".*")):
                    files[f"{key}/{side.name}"] = side
    masts_dir = scen.masts.path.parent.resolve()
    for pattern in sorted(set(patterns)):
        resolved = Path(pattern).resolve()
        name = (f"masts.path/{resolved.relative_to(masts_dir).as_posix()}"
                if resolved.is_relative_to(masts_dir) else f"patterns/{resolved.name}")
        files[name] = Path(pattern)
    return files


def input_rewrites(scen: Scenario) -> dict[str, str]:
    """The scenario's path values as names inside a bundle's ``inputs/`` folder: the
    folder ``<key path>`` for tiles, else ``<key path>/<file name>``; a terrain VRT is
    refused (a bundle cannot carry the tiles it refers to)."""
    rewrite: dict[str, str] = {}
    for key, src in scenario_input_paths(scen).items():
        if key == SCENARIO_KEY:
            continue
        if key.startswith("terrain.") and Path(src).suffix.lower() == ".vrt":
            raise InvalidInputError(
                f"{Path(src).name}: a bundle cannot carry the tiles a VRT refers to; name "
                f"the tile folder or a glob in {key} instead")
        rewrite[key] = key if _is_tiles(src) else f"{key}/{Path(src).name}"
    return rewrite


def fingerprint(path: Path) -> dict:
    """``{path, sha256, size_bytes}`` of a file."""
    sha, size = sha256_file(Path(path))
    return {"path": str(Path(path).resolve()), "sha256": sha, "size_bytes": size}


def record_inputs(scen: Scenario, patterns=()) -> dict:
    """What ``run.json`` records of a run's inputs: the scenario file and every input
    (``patterns``: the masts' antenna-pattern paths, None where a mast has none)."""
    patterns = [p for p in patterns if isinstance(p, str)]
    files = {SCENARIO_KEY: scen.source, **input_files(scen, patterns)}
    return {name: fingerprint(path) for name, path in sorted(files.items())}


def check_recorded_inputs(recorded: dict, label: str) -> dict[str, Path]:
    """The recorded inputs as ``{name: path}``, each still present with the recorded SHA-256.

    Raises InvalidInputError naming the first input that is missing or changed since the
    run, or a record that is not a ``{path, sha256, size_bytes}`` object.
    """
    out: dict[str, Path] = {}
    if not isinstance(recorded, dict):
        raise InvalidInputError(f"{label}: 'inputs' is not an object of input records")
    for name, rec in sorted(recorded.items()):
        if not (isinstance(rec, dict) and isinstance(rec.get("path"), str)
                and isinstance(rec.get("sha256"), str)):
            raise InvalidInputError(f"{label}: inputs.{name} is not a {{path, sha256}} record")
        path = Path(rec["path"])
        if not path.is_file():
            raise InvalidInputError(f"{label}: input {name} ({path}) no longer exists; restore "
                                    "it or rerun the scenario")
        sha, _ = sha256_file(path)
        if sha != rec["sha256"]:
            raise InvalidInputError(f"{label}: input {name} ({path}) changed since the run "
                                    f"(sha256 {sha[:12]}..., the run read {rec['sha256'][:12]}"
                                    "...); rerun the scenario or restore the file")
        out[name] = path
    return out
