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
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

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

#: Limits checked on the central directory before any entry is inflated. A canonical
#: bundle stores every entry uncompressed, so its entries together never hold more bytes
#: than the zip itself: a compressed entry, or declared sizes beyond the zip's size, are
#: refused without reading them (zip bombs).
MAX_ENTRIES = 100_000
#: Largest MANIFEST.json read into memory (a manifest of MAX_ENTRIES files is ~20 MB).
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


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
                RuntimeError, ValueError, struct.error, KeyError, IndexError, OverflowError)


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
    except _READ_ERRORS as exc:
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
        if problems:  # refused before a single entry is inflated
            return done()
        problem = _directory_problem(infos, path.stat().st_size)
        if problem:
            problems.append(problem)
            return done()
        manifest_infos = [i for i in infos if i.orig_filename == MANIFEST_NAME]
        if not manifest_infos:
            problems.append(f"no {MANIFEST_NAME} in the bundle")
            return done()
        if manifest_infos[0].file_size > MAX_MANIFEST_BYTES:
            problems.append(f"{MANIFEST_NAME} declares {manifest_infos[0].file_size} bytes, more "
                            f"than the {MAX_MANIFEST_BYTES} a manifest may hold")
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
            try:
                problem = _layout_problem(path, zf, infos)
            except _READ_ERRORS as exc:
                problem = f"the zip's headers cannot be read ({_one_line(exc)})"
            if problem:
                problems.append(problem)
        return done(manifest_sha, len(listed))


def _directory_problem(infos: list[zipfile.ZipInfo], zip_bytes: int) -> str | None:
    """Refuse, from the central directory alone, what no canonical bundle holds: too many
    entries, compressed entries, or declared sizes beyond the zip's own size."""
    if len(infos) > MAX_ENTRIES:
        return f"the zip holds {len(infos)} entries, more than the {MAX_ENTRIES} a bundle may hold"
    total = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            return (f"entry {info.orig_filename!r} is compressed (method {info.compress_type}), "
                    "which differs from the canonical bundle layout (every entry stored "
                    "uncompressed): the zip was repacked; nothing was inflated")
        if info.file_size != info.compress_size or info.file_size > zip_bytes:
            return (f"entry {info.orig_filename!r} declares {info.file_size} bytes in "
                    f"{info.compress_size} stored bytes of a {zip_bytes}-byte zip; the zip's "
                    "directory is damaged or forged")
        total += info.file_size
    if total > zip_bytes:
        return (f"the entries declare {total} bytes in all, more than the zip's own "
                f"{zip_bytes} bytes; the zip's directory is damaged or forged")
    return None


class _CompareSink:
    """A seekable, write-only file that compares what is written with an existing file
    instead of storing it: the canonical layout is checked without writing a byte.

    A region written twice (zipfile rewrites each local header once the CRC is known)
    is judged by its last write.
    """

    def __init__(self, path: Path):
        self._fh = path.open("rb")
        self._size = path.stat().st_size
        self._pos = 0
        self._end = 0
        self._bad: dict[tuple[int, int], int] = {}  # (start, end) -> first differing offset

    def write(self, data) -> int:
        data = bytes(data)
        start, end = self._pos, self._pos + len(data)
        for key in [k for k in self._bad if start <= k[0] and k[1] <= end]:
            del self._bad[key]
        self._fh.seek(start)
        offset = 0
        while offset < len(data):
            chunk = data[offset:offset + CHUNK_BYTES]
            theirs = self._fh.read(len(chunk))
            if theirs != chunk:
                n = min(len(theirs), len(chunk))
                diff = next((i for i in range(n) if theirs[i] != chunk[i]), n)
                self._bad[(start, end)] = start + offset + diff
                break
            offset += len(chunk)
        self._pos = end
        self._end = max(self._end, end)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else (self._pos + offset if whence == 1
                                                else self._end + offset)
        return self._pos

    def seekable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def first_difference(self) -> int | None:
        """Offset of the first byte that differs, or None when the file is identical."""
        firsts = list(self._bad.values())
        if self._end != self._size:
            firsts.append(min(self._end, self._size))
        return min(firsts) if firsts else None

    def close(self) -> None:
        self._fh.close()


def _layout_problem(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    """Compare the bundle byte for byte with the canonical zip of its own entries.

    Catches changes that leave every file's content intact (timestamps,
    permissions, extra fields, comments, padding, compression flags). The
    canonical zip is compared as it is produced; nothing is written to disk.
    """
    files = [(i.orig_filename, (lambda i=i: zf.open(i)), i.file_size) for i in infos
             if i.orig_filename != MANIFEST_NAME]
    manifest = zf.read(MANIFEST_NAME)
    sink = _CompareSink(path)
    try:
        write_canonical_zip(sink, files, manifest)
        offset = sink.first_difference()
    finally:
        sink.close()
    if offset is None:
        return None
    where = "the zip's central directory"
    if offset < zf.start_dir:
        before = [i for i in infos if i.header_offset <= offset]
        where = (f"entry {max(before, key=lambda i: i.header_offset).orig_filename!r}" if before
                 else "the start of the zip")
    return (f"byte {offset} (in {where}) differs from the canonical bundle layout: the zip was "
            "changed outside the file contents (timestamps, permissions, headers)")
