"""The evidence-bundle format: names, the canonical zip layout and safe entry names.

Shared by :mod:`c2000cov.products.bundle` (making bundles) and
:mod:`c2000cov.products.verify` (checking them).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import BinaryIO

from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import CHUNK_BYTES

BUNDLE_FORMAT = "c2000cov-evidence-bundle/1"
MANIFEST_NAME = "MANIFEST.json"
#: The earliest time a zip header can hold; every entry gets it.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
#: Regular file, rw-r--r--.
ZIP_FILE_MODE = 0o100644
ZIP_CREATE_SYSTEM_UNIX = 3
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class BundleError(InvalidInputError):
    """An evidence bundle cannot be made, or a bundle fails verification."""


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
