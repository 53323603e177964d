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

import hashlib
import io
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from c2000cov import __version__
from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.io import atomic_path

BUNDLE_FORMAT = "c2000cov-evidence-bundle/1"
MANIFEST_NAME = "MANIFEST.json"
#: The earliest time a zip header can hold; every entry gets it.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
#: Regular file, rw-r--r--.
ZIP_FILE_MODE = 0o100644
ZIP_CREATE_SYSTEM_UNIX = 3
CHUNK_BYTES = 1 << 20
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class BundleError(InvalidInputError):
    """An evidence bundle cannot be made, or a bundle fails verification."""


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify_bundle`."""

    path: Path
    manifest_sha256: str | None
    n_files: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the bundle is intact."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise :class:`BundleError` naming every problem (changed, missing, extra files)."""
        if self.problems:
            raise BundleError(f"{self.path.name} failed verification: "
                              + "; ".join(self.problems))


def entry_name_problem(name: str) -> str | None:
    """Why a zip entry name is unsafe or not normalised, or None when it is fine."""
    if not name:
        return "empty entry name"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return f"entry {name!r} has control characters in its name"
    if "\\" in name:
        return f"entry {name!r} has a backslash in its name"
    if name.startswith("/") or _DRIVE_RE.match(name):
        return f"entry {name!r} is an absolute path"
    parts = name.split("/")
    if ".." in parts:
        return f"entry {name!r} leaves the bundle folder (path traversal)"
    if any(p in ("", ".") for p in parts):
        return f"entry {name!r} is not a normalised relative file path"
    return None


def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


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
    from importlib import metadata

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


def timestamp_utc() -> str:
    """``YYYY-MM-DDThh:mm:ssZ``: ``SOURCE_DATE_EPOCH`` when set (reproducible files), else now."""
    import datetime as dt
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit()
            else dt.datetime.now(dt.UTC))
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def scenario_inputs(scenario_path: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Every input file of a scenario: ``{bundle name: source path}`` and the scenario's
    path values rewritten to bundle-relative names (``{key path: name}``).

    Inputs go to ``inputs/<key path>/<file name>``; antenna patterns next to the
    masts file (keeping their sub-folders), shapefile sidecars next to their .shp.
    """
    from c2000cov.config import load_scenario
    from c2000cov.io import read_masts

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
        src = Path(src)
        name = f"{INPUTS_DIR}/{key}/{src.name}"
        rewrite[key] = f"{key}/{src.name}"  # relative to inputs/scenario.toml
        files[name] = src
        if src.suffix.lower() == ".shp":
            for side in sorted(src.parent.glob(src.stem + ".*")):
                files[f"{INPUTS_DIR}/{key}/{side.name}"] = side
    from rasterio.crs import CRS

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
    import platform
    run_dir = Path(run_dir)
    run = {}
    if (run_dir / "run.json").is_file():
        try:
            run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BundleError(f"{run_dir / 'run.json'}: not valid JSON ({exc}); the run folder "
                              "is damaged, rerun the scenario") from None
    sources = sources or {}
    files = []
    for name in names:
        sha, size = _sha256_file(sources.get(name, run_dir / name))
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


def _zipinfo(name: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = ZIP_FILE_MODE << 16
    info.create_system = ZIP_CREATE_SYSTEM_UNIX
    info.file_size = size
    return info


def write_canonical_zip(fh: BinaryIO, files: list[tuple[str, Callable[[], BinaryIO], int]],
                        manifest: bytes) -> None:
    """Write the canonical bundle layout to a seekable binary file.

    Entries are ``files`` (name, opener returning a readable binary file,
    size in bytes) plus ``MANIFEST.json``, in sorted name order, stored
    uncompressed (so the bytes depend on no compression library), each with
    the fixed timestamp and permissions and no extra fields or comments.
    """
    items = {name: (opener, size) for name, opener, size in files}
    items[MANIFEST_NAME] = (lambda: io.BytesIO(manifest), len(manifest))
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(items):
            opener, size = items[name]
            with opener() as src, zf.open(_zipinfo(name, size), "w") as dst:
                while chunk := src.read(CHUNK_BYTES):
                    dst.write(chunk)


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
    if not (run_dir / "run.json").is_file():
        raise InputNotFoundError(f"{run_dir}: no run.json; give the output folder of "
                                 "`c2000cov run`")
    out = Path(out_zip) if out_zip is not None else default_bundle_path(run_dir)
    listed = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("files", [])
    missing = [f for f in listed if not (run_dir / f).is_file()]
    if missing:
        raise BundleError(f"{run_dir}: run.json lists {missing[0]} but the file is missing; the "
                          "run folder is incomplete, rerun the scenario")
    if with_report and not (run_dir / "report.html").is_file():
        from c2000cov.report import build_report

        build_report(run_dir)
    import sys

    names = [n for n in bundle_files(run_dir, exclude=(out,))
             if not n.startswith(f"{INPUTS_DIR}/")]
    sources: dict[str, Path] = {}
    scenario_text = None
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    scenario_path = Path(run.get("parameters", {}).get("source", ""))
    if with_inputs and scenario_path.is_file():
        from c2000cov.config import load_scenario, scenario_to_toml

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
NOT_COMPARED = ("run.json", "report.html")


def rerun_bundle(zip_path: str | Path, work_dir: str | Path | None = None) -> list[str]:
    """Recompute a bundle's run from its own inputs and compare the outputs bit for bit.

    The bundle is verified first. Every output in the manifest (except
    :data:`NOT_COMPARED` and HTML maps, which embed paths or times) must come
    out byte-identical. Returns the list of differences (empty: reproduced).
    """
    from c2000cov.config import load_scenario
    from c2000cov.run import run_scenario

    checked = verify_bundle(zip_path)
    checked.raise_for_problems()
    with zipfile.ZipFile(zip_path) as zf:
        names = [i.orig_filename for i in zf.infolist()]
        if SCENARIO_NAME not in names:
            raise BundleError(f"{Path(zip_path).name}: no {SCENARIO_NAME}; the bundle was made "
                              "without its inputs and cannot be rerun")
        with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
            root = Path(tmp)
            for name in names:  # names were checked safe by verify_bundle
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
            scen = load_scenario(root / SCENARIO_NAME)
            out = root / "rerun"
            run_scenario(scen, out, cache_dir=False)
            differences = []
            for name in sorted(names):
                if (name.startswith(f"{INPUTS_DIR}/") or name == MANIFEST_NAME
                        or name in NOT_COMPARED or name.endswith(".html")):
                    continue
                fresh = out / name
                if not fresh.is_file():
                    differences.append(f"{name}: not produced by the rerun")
                elif fresh.read_bytes() != zf.read(name):
                    differences.append(f"{name}: differs from the bundled output")
            return differences


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with zf.open(info) as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError, ValueError)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _manifest_files(manifest, problems: list[str]) -> dict[str, dict]:
    """Validate the manifest's structure; the listed files by path."""
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        problems.append(f"{MANIFEST_NAME} is not a {BUNDLE_FORMAT} manifest")
        return {}
    files = manifest.get("files")
    if not isinstance(files, list):
        problems.append(f"{MANIFEST_NAME} has no 'files' list")
        return {}
    out: dict[str, dict] = {}
    for i, rec in enumerate(files):
        ok = (isinstance(rec, dict) and isinstance(rec.get("path"), str)
              and isinstance(rec.get("sha256"), str) and _SHA256_RE.match(rec["sha256"])
              and isinstance(rec.get("size_bytes"), int) and rec["size_bytes"] >= 0)
        if not ok:
            problems.append(f"{MANIFEST_NAME} files[{i}] is not a {{path, sha256, size_bytes}} "
                            "record")
            continue
        name = rec["path"]
        problem = entry_name_problem(name)
        if problem:
            problems.append(f"{MANIFEST_NAME} lists an unsafe path: {problem}")
        elif name in out:
            problems.append(f"{MANIFEST_NAME} lists {name!r} twice")
        elif name == MANIFEST_NAME:
            problems.append(f"{MANIFEST_NAME} lists itself")
        else:
            out[name] = rec
    return out


def verify_bundle(zip_path: str | Path, expected_manifest_sha256: str | None = None
                  ) -> VerifyReport:
    """Check an evidence bundle against its manifest without extracting it.

    Parameters
    ----------
    zip_path : str or Path
        The bundle.
    expected_manifest_sha256 : str, optional
        The manifest SHA-256 recorded when the bundle was made; when given, a
        different manifest is a problem too (catches a bundle whose files and
        manifest were both replaced).

    Returns
    -------
    VerifyReport
        ``ok`` when intact; otherwise ``problems`` names each bad entry.
        :meth:`VerifyReport.raise_for_problems` turns them into a
        :class:`BundleError`.

    Raises
    ------
    InputNotFoundError
        ``zip_path`` does not exist.
    """
    path = Path(zip_path)
    if not path.is_file():
        raise InputNotFoundError(f"bundle {path} does not exist")
    problems: list[str] = []

    def done(sha=None, n=0) -> VerifyReport:
        return VerifyReport(path, sha, n, tuple(problems))

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        problems.append(f"not a readable zip file ({_one_line(exc)})")
        return done()
    with zf:
        infos = zf.infolist()
        counts: dict[str, int] = {}
        for info in infos:
            counts[info.orig_filename] = counts.get(info.orig_filename, 0) + 1
        for name, n in counts.items():
            if n > 1:
                problems.append(f"entry {name!r} appears {n} times (duplicate entries)")
            problem = entry_name_problem(name)
            if problem:
                problems.append(problem)
        manifest_infos = [i for i in infos if i.orig_filename == MANIFEST_NAME]
        if not manifest_infos:
            problems.append(f"no {MANIFEST_NAME} in the bundle")
            return done()
        try:
            with zf.open(manifest_infos[0]) as fh:
                manifest_bytes = fh.read()
        except _READ_ERRORS as exc:
            problems.append(f"entry {MANIFEST_NAME!r} cannot be read ({_one_line(exc)})")
            return done()
        manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
        if expected_manifest_sha256 is not None and (
                manifest_sha != expected_manifest_sha256.strip().lower()):
            problems.append(f"{MANIFEST_NAME} sha256 is {manifest_sha}, expected "
                            f"{expected_manifest_sha256.strip().lower()}")
        try:
            manifest = json.loads(manifest_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{MANIFEST_NAME} is not valid JSON ({_one_line(exc)})")
            return done(manifest_sha)
        listed = _manifest_files(manifest, problems)
        present = set(counts)
        for name in sorted(set(listed) - present):
            problems.append(f"entry {name!r} listed in {MANIFEST_NAME} is missing from the "
                            "bundle")
        for name in sorted(present - set(listed) - {MANIFEST_NAME}):
            problems.append(f"entry {name!r} is not listed in {MANIFEST_NAME} (extra file)")
        for info in infos:
            rec = listed.get(info.orig_filename)
            if rec is None:
                continue
            try:
                sha, size = _read_entry(zf, info)
            except _READ_ERRORS as exc:
                problems.append(f"entry {info.orig_filename!r} cannot be read, its data is "
                                f"damaged ({_one_line(exc)})")
                continue
            if size != rec["size_bytes"]:
                problems.append(f"entry {info.orig_filename!r} has {size} bytes, "
                                f"{MANIFEST_NAME} says {rec['size_bytes']}")
            elif sha != rec["sha256"]:
                problems.append(f"entry {info.orig_filename!r} sha256 differs from "
                                f"{MANIFEST_NAME} (content changed)")
        if not problems:
            problem = _layout_problem(path, zf, infos)
            if problem:
                problems.append(problem)
        return done(manifest_sha, len(listed))


def _first_difference(path: Path, other: BinaryIO) -> int | None:
    """Offset of the first byte where the file at ``path`` and ``other`` differ, or None."""
    offset = 0
    with path.open("rb") as fh:
        while True:
            a, b = fh.read(CHUNK_BYTES), other.read(CHUNK_BYTES)
            if a != b:
                n = min(len(a), len(b))
                diff = [i for i in range(n) if a[i] != b[i]][:1]
                return offset + (diff[0] if diff else n)
            if not a:
                return None
            offset += len(a)


def _layout_problem(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    """Compare the bundle byte for byte with the canonical zip of its own entries.

    Catches changes that leave every file's content intact (timestamps,
    permissions, extra fields, comments, padding, compression flags).
    """
    files = [(i.orig_filename, (lambda i=i: zf.open(i)), i.file_size) for i in infos
             if i.orig_filename != MANIFEST_NAME]
    manifest = zf.read(MANIFEST_NAME)
    with tempfile.TemporaryFile() as canon:
        write_canonical_zip(canon, files, manifest)
        canon.seek(0)
        offset = _first_difference(path, canon)
    if offset is None:
        return None
    where = "the zip's central directory"
    if offset < zf.start_dir:
        before = [i for i in infos if i.header_offset <= offset]
        where = (f"entry {max(before, key=lambda i: i.header_offset).orig_filename!r}" if before
                 else "the start of the zip")
    return (f"byte {offset} (in {where}) differs from the canonical bundle layout: the zip was "
            "changed outside the file contents (timestamps, permissions, headers)")
