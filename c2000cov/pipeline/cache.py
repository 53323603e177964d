"""On-disk cache of per-mast path-loss windows, quantised and compressed.

The key is a SHA-256 over everything a loss window depends on: the surface
and ground heights of the window (the SHA-256 of their bytes,
:func:`window_digest`, computed once per mast), the window's transform, the
mast's pixel and antenna height, the model parameters, the frequency, the
receiver height, :data:`c2000cov.radio.models.KERNEL_VERSION` (the SHA-256 of
every kernel source file, :func:`c2000cov.resources.kernel_source_digest`) and
the entry format (:data:`CACHE_FORMAT`). Editing one mast therefore recomputes
that mast only; a changed building recomputes the masts whose window holds it.
Entries are written under a temporary name and renamed, so a run killed at any
moment leaves only whole entries, and a restarted run reuses every finished mast.

Loss windows (:meth:`LossCache.put_loss`) are stored as 16-bit codes of
:data:`LOSS_STEP_DB` (0.01 dB) above a per-window offset: ``code = round(loss_db
/ 0.01) - base``, ``base`` the window's smallest ``round(loss_db / 0.01)``.
Reserved codes keep no-data (NaN, 65535) and +/-inf (65534, 65533); a window
whose finite losses span more than 65532 steps (655.32 dB) is stored as its
quantised float32 values instead. A stored loss is therefore
:func:`quantise_loss_db` of the computed one, within half a step
(:data:`LOSS_ERROR_DB`, 0.005 dB) plus the float32 rounding of the result
(under 6.2e-5 dB below 1024 dB). The pipeline quantises every window it
computes (:func:`c2000cov.pipeline.compute.run_mast_job`), cached or not, so a
run from a warm cache is bit-identical to a cold run; the kernels and their
twins are not quantised. The codes are byte-shuffled (low bytes, then high
bytes, as blosc does) and compressed with Zstandard level 1 (the ``zstandard``
package): 3.4x smaller than float32 on a demo window, where deflate alone gives
float32 windows 1.36x (delta-coding the rows first gained 1 % and cost 30 % more
time). On windows of the 1/16 national scenario zstd level 1 compresses the
shuffled codes 6.4x faster than zlib level 1 (which took 12 % of a cold run) to
a 3 % smaller entry, and reads them back 5x faster; entries deflated by zlib
(written before) are still read. Other arrays (:meth:`LossCache.put`, the
downlink noise rise, a run's stored reduction) are stored exactly: byte-shuffled
and compressed the same way.

The per-pixel work of loss windows runs in Numba kernels
(:mod:`c2000cov.kernels.codec`): the quantisation, the finite range, the codes
written straight in shuffled order (one contiguous buffer, compressed by one call
of the same streaming compressor, which writes the same frame as block by block;
the one-shot ``ZstdCompressor.compress`` does not), and on reading the lookup from
the shuffled bytes. Entries are the bytes the numpy code wrote before (kept as the
kernels' twins, ``tests/kernels/codec_twins.py``), so the format is unchanged. On
the 1/16 national scenario (38 masts, 76 windows, serial, cProfile, one run each
back to back, ``bench/records/vm-2026-11-30-codec.json``) that cut
``quantise_loss_db`` from 1.22 to 0.39 s, ``_encode_loss`` from 1.80 to 0.49 s and
``put_loss`` from 3.75 to 1.99 s, of which zstd level 1 is now about 1.0 s (level -1
would save a fifth of it for 1.7 % more bytes); reading the 76 entries back
(:meth:`LossCache.get`) takes 0.85 CPU-s instead of 2.54.

Each entry is :data:`ENTRY_MAGIC`, the SHA-256 of the rest, then a one-line
JSON header (codec, dtype, shape, offset) and the deflated bytes. An entry
that is truncated, overwritten, of the wrong shape or dtype, or a folder in
its place, is reported once (a :class:`DamagedCacheWarning`), removed and
recomputed, never used. A write that fails (full disk, read-only folder)
leaves no partial entry and is reported once; the run goes on without caching.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import zstandard

from c2000cov.kernels import codec
from c2000cov.scenario.schema import ModelConfig

#: Entry format: 2 = quantised, compressed loss windows (format 1: float32 ``.npy``).
CACHE_FORMAT = 2
#: First bytes of a cache entry, then the SHA-256 of the rest.
ENTRY_MAGIC = b"c2000cov-cache/2\n"
#: File name ending of an entry (format 1 entries, ``*.npy``, are never read).
ENTRY_SUFFIX = ".c2c"
#: Quantisation step of stored loss windows (dB).
LOSS_STEP_DB = 0.01
#: Largest difference between a loss and its quantised value (dB), float32 rounding aside.
LOSS_ERROR_DB = LOSS_STEP_DB / 2
#: Zstandard level of new entries: level 3 took 50 % longer for 0.5 % fewer bytes.
ZSTD_LEVEL = 1
#: Compressors an entry may name (``zlib``: entries written before zstd, read only).
COMPRESSORS = ("zstd", "zlib")
_DIGEST_BYTES = 32
_CODE_NAN, _CODE_POS_INF, _CODE_NEG_INF = 65535, 65534, 65533
_CODE_MAX = 65532  # largest code of a finite loss
_BLOCK_PX = 1 << 20  # put: bytes are shuffled in blocks of this many items (bounded memory)
_F32 = np.dtype("=f4")  # native float32: the losses the codec kernels scale, not divide


def window_digest(surface_win: np.ndarray, ground_win: np.ndarray) -> bytes:
    """SHA-256 of a window's surface and ground heights (float32 bytes), the part of
    :func:`loss_key` that its (frequency, receiver height) keys share."""
    h = hashlib.sha256(b"surface+ground float32")
    for arr in (surface_win, ground_win):
        arr = np.asarray(arr, dtype="float32")
        if arr.ndim == 2 and arr.strides[1] == arr.itemsize:
            # a window of a grid: its rows are contiguous, so they are hashed in place, in
            # order, the same bytes as the whole window's copy (which cost 0.5 s of a
            # cold 1/16 national run, 8 bytes per window pixel)
            for row in arr:
                h.update(row.view(np.uint8))
        else:
            h.update(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
    return h.digest()


def loss_key(surface_win: np.ndarray, ground_win: np.ndarray, window_transform, mast_row: int,
             mast_col: int, h_agl_m: float, model: ModelConfig, freq_mhz: float,
             h_rx_m: float, kernel_version: str, digest: bytes | None = None) -> str:
    """Hex SHA-256 key of one loss window.

    The heights enter through :func:`window_digest` (``digest``, when given, is that of
    these windows), so a mast's keys for every frequency and receiver height hash its
    windows once: hashing them per key took 1.2-1.7 s of a 1/16 national-25m run,
    about 30 s of the whole country's.
    """
    h = hashlib.sha256()
    meta = {"transform": list(window_transform)[:6], "mast_rc": [int(mast_row), int(mast_col)],
            "h_agl_m": float(h_agl_m), "model": asdict(model), "freq_mhz": float(freq_mhz),
            "h_rx_m": float(h_rx_m), "kernel": kernel_version,
            "shape": list(surface_win.shape), "cache_format": CACHE_FORMAT,
            "loss_step_db": LOSS_STEP_DB}
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(digest if digest is not None else window_digest(surface_win, ground_win))
    return h.hexdigest()


def array_key(*parts) -> str:
    """Hex SHA-256 over arrays (their dtype, shape and bytes) and JSON-able values."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


#: ``1 / LOSS_STEP_DB``: float32 losses are scaled by it (see :func:`_flat_steps`).
_STEPS_PER_DB = 100.0


def _flat_steps(arr: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(flat, divide)``: ``arr`` as a contiguous 1-D float array for the codec kernels
    (:mod:`c2000cov.kernels.codec`, no copy for a contiguous float32 or float64 array),
    and whether its steps ``round(loss_db / LOSS_STEP_DB)`` are computed by division.

    For float32 values the quotient is ``x * 100`` in float64, bit for bit, and a
    multiplication is cheaper than a division: ``x * 100`` is exact (a 24-bit times a
    5-bit significand), and ``x / fl(0.01)`` differs from it by ``x * 100 * 2.1e-17``,
    under half a float64 spacing (``x * 100 * 5.5e-17``), so the correctly rounded
    quotient is ``x * 100``. Other dtypes divide, in float64 (as ``np.divide(x, 0.01,
    dtype=float64)``, which casts them first).
    """
    if arr.dtype == _F32:
        return np.ascontiguousarray(arr).reshape(-1), False
    if arr.dtype != np.dtype("=f8"):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr).reshape(-1), True


def quantise_loss_db(loss_db: np.ndarray) -> np.ndarray:
    """Loss values (dB) as the cache stores them: the nearest multiple of 0.01 dB, float32.

    ``float32(round(loss_db / 0.01) * 0.01)``; NaN and +/-inf are kept. The
    difference from ``loss_db`` is at most :data:`LOSS_ERROR_DB` (0.005 dB) plus
    the float32 rounding of the result (under 6.2e-5 dB below 1024 dB). The
    function is idempotent, and :meth:`LossCache.get` returns exactly its value
    (-0.0 reads back as 0.0, equal in value). One pass of
    :func:`c2000cov.kernels.codec.quantise_into`.
    """
    arr = np.asarray(loss_db)
    flat, divide = _flat_steps(arr)
    out = np.empty(arr.shape, np.float32)
    codec.quantise_into(flat, _STEPS_PER_DB, LOSS_STEP_DB, divide, out.reshape(-1))
    return out[()] if arr.ndim == 0 else out


def _encode_loss(loss_db: np.ndarray) -> tuple[dict, np.ndarray] | None:
    """``(header, shuffled codes)`` of a loss window: the uint16 codes' low bytes, then
    their high bytes (uint8); None when the span is out of range."""
    flat, divide = _flat_steps(loss_db)
    if flat.dtype == _F32:
        lo, hi = codec.finite_range_f32(flat)
    else:
        lo, hi = codec.finite_range(flat)
    # rounding is monotonic: the smallest and largest steps are those of the extremes
    base = float(np.rint(np.float64(lo) / LOSS_STEP_DB)) if lo <= hi else 0.0
    if lo <= hi and (float(np.rint(np.float64(hi) / LOSS_STEP_DB)) - base > _CODE_MAX
                     or abs(base) > 2**52):
        return None
    shuffled = np.empty(2 * flat.size, np.uint8)
    codec.encode_q16_shuffled(flat, _STEPS_PER_DB, LOSS_STEP_DB, divide, base, _CODE_NAN,
                              _CODE_POS_INF, _CODE_NEG_INF, shuffled)
    return {"codec": "q16", "dtype": "<f4", "shape": list(loss_db.shape), "base": int(base),
            "step_db": LOSS_STEP_DB}, shuffled


def _decode_loss(header: dict, shuffled: bytes) -> np.ndarray:
    """The losses of an entry's shuffled codes, as :func:`quantise_loss_db` computes them."""
    shape = tuple(header["shape"])
    # every code's value, as quantise_loss_db computes it; a lookup is one pass per pixel
    table = ((np.arange(65536, dtype=np.float64) + header["base"]) * header["step_db"]
             ).astype(np.float32)
    table[[_CODE_NAN, _CODE_POS_INF, _CODE_NEG_INF]] = [np.nan, np.inf, -np.inf]
    out = np.empty(shape, np.float32)
    codec.decode_q16_shuffled(np.frombuffer(shuffled, np.uint8), table, out.reshape(-1))
    return out


def _unshuffle(data: bytes, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The array of ``shape`` whose items' bytes ``data`` holds shuffled."""
    if dtype.itemsize == 1:
        return np.frombuffer(data, dtype).reshape(shape).copy()
    out = np.empty(len(data), np.uint8)
    codec.unshuffle_bytes(np.frombuffer(data, np.uint8), dtype.itemsize, out)
    return out.view(dtype).reshape(shape)


def _header_line(header: dict) -> bytes:
    header = {**header, "filter": "shuffle", "compressor": "zstd", "level": ZSTD_LEVEL}
    return json.dumps(header, sort_keys=True).encode() + b"\n"


def _payload(header: dict, arr: np.ndarray):
    """Yield an entry's payload in pieces: the header line, then the array's bytes
    shuffled (byte ``j`` of every item together, for each j, as blosc's shuffle: they
    compress better) and compressed, about ``_BLOCK_PX`` items at a time.

    The body is one Zstandard frame of the shuffled bytes, as :func:`_from_payload` reads
    it, made without a whole-array copy (a run's stored reduction is six grid-sized
    arrays: the bytes and their shuffled copy were 8 bytes per pixel of a float32 band)."""
    yield _header_line(header)
    flat = np.ascontiguousarray(arr).reshape(-1)
    planes = flat.view(np.uint8).reshape(-1, flat.dtype.itemsize)
    # a compressor per entry: a ZstdCompressor must not be shared between threads
    z = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj(size=flat.nbytes)
    for j in range(planes.shape[1]):  # byte j of every item
        for start in range(0, planes.shape[0], _BLOCK_PX):
            yield z.compress(np.ascontiguousarray(planes[start:start + _BLOCK_PX, j]))
    yield z.flush()


def _shuffled_payload(header: dict, shuffled: np.ndarray):
    """Yield the payload of an array already shuffled (a loss window's codes): the header
    line, then its bytes compressed by one call, the same frame as :func:`_payload` makes
    in pieces. (``ZstdCompressor.compress``, the one-shot call, makes another frame:
    it decodes to the same bytes, but 76 of 76 national windows differed in their
    compressed bytes.)"""
    yield _header_line(header)
    z = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj(size=shuffled.nbytes)
    yield z.compress(shuffled)
    yield z.flush()


def _decompress(header: dict, body: bytes, size: int) -> bytes:
    """The ``size`` bytes of an entry's body; ValueError when it cannot be read."""
    compressor = header.get("compressor", "zlib")  # entries before zstd name none
    try:
        if compressor == "zstd":
            return zstandard.ZstdDecompressor().decompress(body, max_output_size=size)
        if compressor == "zlib":
            return zlib.decompress(body)
    except (zstandard.ZstdError, zlib.error) as exc:
        raise ValueError(str(exc)) from exc
    raise ValueError(f"unknown compressor {compressor!r}; expected one of "
                     + ", ".join(COMPRESSORS))


def _from_payload(payload: bytes) -> np.ndarray:
    """The array of an entry's payload; ValueError when it cannot be read."""
    line, sep, body = payload.partition(b"\n")
    if not sep:
        raise ValueError("no header")
    try:
        header = json.loads(line)
        shape = tuple(int(n) for n in header["shape"])
        kind = header["codec"]
        itemsize = 2 if kind == "q16" else np.dtype(header["dtype"]).itemsize
        size = itemsize * int(np.prod(shape, dtype=np.int64))
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    raw = _decompress(header, body, size)
    if len(raw) != size:
        raise ValueError(f"{len(raw)} bytes for shape {shape}")
    if kind == "q16":
        return _decode_loss(header, raw)
    if kind == "raw":
        return _unshuffle(raw, np.dtype(header["dtype"]), shape)
    raise ValueError(f"unknown codec {kind!r}")


class DamagedCacheWarning(UserWarning):
    """A cache entry was damaged (and recomputed) or could not be written."""


class LossCache:
    """A folder of ``<key>.c2c`` entries (loss windows and other arrays) with checksums."""

    def __init__(self, folder: Path | str | None):
        self.folder = Path(folder) if folder else None
        self.hits = 0
        self.misses = 0
        self.damaged = 0
        self.failed_writes = 0
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{ENTRY_SUFFIX}"

    def has(self, key: str) -> bool:
        """True when the key is cached; an absent key counts as a miss."""
        found = bool(self.folder) and self._path(key).is_file()
        if self.folder and not found:
            self.misses += 1
        return found

    def _damaged(self, path: Path, why: str) -> None:
        if self.damaged == 0:
            warnings.warn(f"cache entry {path} is damaged ({why}); it is removed and "
                          "recomputed (further damaged entries are counted, not reported)",
                          DamagedCacheWarning, stacklevel=3)
        self.damaged += 1
        self.misses += 1
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache: the entry stays unused

    def get(self, key: str, shape: tuple[int, ...] | None = None,
            dtype: str | np.dtype | None = None) -> np.ndarray | None:
        """The cached array, or None (absent or damaged; a damaged entry is removed).

        A loss window comes back as its :func:`quantise_loss_db` values (float32).
        ``shape`` and ``dtype``, when given, are what the entry must hold.
        """
        if not self.folder:
            return None
        path = self._path(key)
        if not path.exists():
            self.misses += 1
            return None
        try:
            raw = path.read_bytes()
        except OSError as exc:  # a folder in its place, unreadable
            self._damaged(path, exc.strerror or type(exc).__name__)
            return None
        head = len(ENTRY_MAGIC) + _DIGEST_BYTES
        if len(raw) < head or not raw.startswith(ENTRY_MAGIC):
            self._damaged(path, "not a c2000cov cache entry")
            return None
        payload = raw[head:]
        if hashlib.sha256(payload).digest() != raw[len(ENTRY_MAGIC):head]:
            self._damaged(path, "checksum differs: truncated or overwritten")
            return None
        try:
            arr = _from_payload(payload)
        except ValueError as exc:
            self._damaged(path, f"unreadable array: {exc}")
            return None
        if shape is not None and arr.shape != tuple(shape):
            self._damaged(path, f"shape {arr.shape}, expected {tuple(shape)}")
            return None
        if dtype is not None and arr.dtype != np.dtype(dtype):
            self._damaged(path, f"dtype {arr.dtype}, expected {np.dtype(dtype)}")
            return None
        self.hits += 1
        return arr

    def put(self, key: str, arr: np.ndarray) -> None:
        """Store an array exactly (shuffled, deflated), atomically, with its checksum."""
        if not self.folder:
            return
        arr = np.ascontiguousarray(arr)
        if arr.dtype.hasobject:
            raise TypeError("LossCache stores numeric arrays only")
        header = {"codec": "raw", "dtype": arr.dtype.str, "shape": list(arr.shape)}
        self._write(key, _payload(header, arr))

    def put_loss(self, key: str, loss_db: np.ndarray) -> None:
        """Store a loss window (dB) as 0.01 dB codes; :meth:`get` returns
        ``quantise_loss_db(loss_db)``, so store windows already quantised to reuse them
        bit for bit."""
        if not self.folder:
            return
        coded = _encode_loss(np.asarray(loss_db))
        if coded is None:  # finite losses span more than 655.32 dB: their float32 values
            self.put(key, quantise_loss_db(loss_db))
            return
        self._write(key, _shuffled_payload(*coded))

    def _write(self, key: str, payload) -> None:
        """Write an entry (its payload in pieces) under a temporary name and rename it; a
        failed write leaves nothing. The checksum is written last, over the bytes written."""
        path = self._path(key)
        tmp = path.with_name(f".{key}.partial-{os.getpid()}")  # not *.c2c: never an entry
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            digest = hashlib.sha256()
            with tmp.open("wb") as fh:
                fh.write(ENTRY_MAGIC + bytes(_DIGEST_BYTES))
                for piece in payload:
                    digest.update(piece)
                    fh.write(piece)
                fh.seek(len(ENTRY_MAGIC))
                fh.write(digest.digest())
            os.replace(tmp, path)
        except OSError as exc:
            if self.failed_writes == 0:
                warnings.warn(f"cache entry {path} could not be written ({exc.strerror or exc}); "
                              "the run goes on without caching it", DamagedCacheWarning,
                              stacklevel=3)
            self.failed_writes += 1
        finally:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass

    def entry_paths(self) -> list[Path]:
        """This cache's entries (``<prefix>/<key>.c2c``), sorted; a cache kept in a
        sub-folder (a run's stored reduction) is not listed."""
        if not self.folder:
            return []
        return sorted(self.folder.glob(f"*/*{ENTRY_SUFFIX}"))

    def size_mb(self) -> float:
        """Total size of the files in the cache folder (MB), entries of older formats included."""
        if not self.folder:
            return 0.0
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) / 1e6
