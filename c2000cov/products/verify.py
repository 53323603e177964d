"""Verifying an evidence bundle: every byte, every name, and the canonical layout.

:func:`verify_bundle` reports a changed byte, a missing or an extra file, an
unsafe entry name (``../x``, absolute paths, backslashes) and duplicate
entries; a bundle whose contents are intact is finally compared byte for
byte with the canonical zip of those contents, so a change to any header
byte is caught too.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from c2000cov.errors import InputNotFoundError
from c2000cov.products.bundle_format import (
    BUNDLE_FORMAT,
    CHUNK_BYTES,
    MANIFEST_NAME,
    SHA256_RE,
    BundleError,
    entry_name_problem,
    write_canonical_zip,
)


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
              and isinstance(rec.get("sha256"), str) and SHA256_RE.match(rec["sha256"])
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
