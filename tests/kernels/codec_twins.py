"""The loss cache's codec in numpy, as :mod:`c2000cov.pipeline.cache` computed it before
the kernels of :mod:`c2000cov.kernels.codec` (commit 5adc523): the slow twins that
``tests/kernels/test_codec.py`` compares the kernels with, bit for bit.

Kept as it was, block by block (``_BLOCK_PX`` pixels at a time): the entries it writes
are the cache format the kernels must keep.
"""

from __future__ import annotations

import json

import numpy as np
import zstandard

from c2000cov.pipeline.cache import LOSS_STEP_DB, ZSTD_LEVEL

STEPS_PER_DB = 100.0
CODE_NAN, CODE_POS_INF, CODE_NEG_INF = 65535, 65534, 65533
CODE_MAX = 65532
BLOCK_PX = 1 << 20


def row_blocks(shape: tuple[int, ...]):
    n = shape[0] if shape else 1
    per_row = max(1, int(np.prod(shape[1:], dtype=np.int64))) if len(shape) > 1 else 1
    step = max(1, BLOCK_PX // per_row)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def steps(block: np.ndarray) -> np.ndarray:
    """``round(loss_db / LOSS_STEP_DB)`` in float64 (NaN and inf kept); float32 scaled."""
    if block.dtype == np.float32:
        k = np.multiply(block, STEPS_PER_DB, dtype=np.float64)
    else:
        k = np.divide(block, LOSS_STEP_DB, dtype=np.float64)
    return np.rint(k, out=k) if isinstance(k, np.ndarray) else np.rint(k)


def quantise_loss_db(loss_db: np.ndarray) -> np.ndarray:
    arr = np.asarray(loss_db)
    if arr.ndim == 0:
        return np.float32(steps(arr) * LOSS_STEP_DB)
    out = np.empty(arr.shape, np.float32)
    for sl in row_blocks(arr.shape):
        out[sl] = steps(arr[sl]) * LOSS_STEP_DB
    return out


def finite_range(block: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite value of a block (NaN, NaN when there is none)."""
    lo, hi = np.fmin.reduce(block, axis=None), np.fmax.reduce(block, axis=None)
    if np.isinf(lo) or np.isinf(hi):
        fin = np.isfinite(block)
        lo = np.min(block, where=fin, initial=np.inf)
        hi = np.max(block, where=fin, initial=-np.inf)
        if lo > hi:
            return np.nan, np.nan
    return float(lo), float(hi)


def window_range(loss_db: np.ndarray) -> tuple[float, float]:
    """``encode_loss``'s range: (inf, -inf) when no value is finite."""
    lo, hi = np.inf, -np.inf
    for sl in row_blocks(loss_db.shape):
        if loss_db[sl].size:
            b_lo, b_hi = finite_range(loss_db[sl])
            if b_lo <= b_hi:
                lo, hi = min(lo, b_lo), max(hi, b_hi)
    return lo, hi


def encode_loss(loss_db: np.ndarray) -> tuple[dict, np.ndarray] | None:
    """``(header, uint16 codes)`` of a loss window; None when the span is out of range."""
    lo, hi = window_range(loss_db)
    base = float(steps(np.float64(lo))) if lo <= hi else 0.0
    if lo <= hi and (float(steps(np.float64(hi))) - base > CODE_MAX or abs(base) > 2**52):
        return None
    codes = np.empty(loss_db.shape, np.uint16)
    for sl in row_blocks(loss_db.shape):
        k = steps(loss_db[sl])
        np.subtract(k, base, out=k)
        bad = ~np.isfinite(k)
        if bad.any():
            kb = k[bad]
            k[bad] = np.where(np.isnan(kb), CODE_NAN, np.where(kb > 0, CODE_POS_INF,
                                                                CODE_NEG_INF))
        codes[sl] = k
    return {"codec": "q16", "dtype": "<f4", "shape": list(loss_db.shape), "base": int(base),
            "step_db": LOSS_STEP_DB}, codes


def decode_loss(header: dict, raw: bytes) -> np.ndarray:
    """The losses of unshuffled codes."""
    codes = np.frombuffer(raw, np.uint16).reshape(tuple(header["shape"]))
    table = ((np.arange(65536, dtype=np.float64) + header["base"]) * header["step_db"]
             ).astype(np.float32)
    table[[CODE_NAN, CODE_POS_INF, CODE_NEG_INF]] = [np.nan, np.inf, -np.inf]
    return table[codes]


def shuffle(data: bytes, itemsize: int) -> bytes:
    return np.frombuffer(data, np.uint8).reshape(-1, itemsize).T.tobytes()


def unshuffle(data: bytes, itemsize: int) -> bytes:
    if itemsize == 1:
        return data
    return np.frombuffer(data, np.uint8).reshape(itemsize, -1).T.tobytes()


def payload(header: dict, arr: np.ndarray) -> bytes:
    """An entry's payload: the header line and the shuffled bytes, compressed in blocks."""
    header = {**header, "filter": "shuffle", "compressor": "zstd", "level": ZSTD_LEVEL}
    pieces = [json.dumps(header, sort_keys=True).encode() + b"\n"]
    flat = np.ascontiguousarray(arr).reshape(-1)
    planes = flat.view(np.uint8).reshape(-1, flat.dtype.itemsize)
    z = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj(size=flat.nbytes)
    for j in range(planes.shape[1]):
        for start in range(0, planes.shape[0], BLOCK_PX):
            pieces.append(z.compress(np.ascontiguousarray(planes[start:start + BLOCK_PX, j])))
    pieces.append(z.flush())
    return b"".join(pieces)


def loss_payload(loss_db: np.ndarray) -> bytes:
    """The payload ``put_loss`` wrote: codes, or the quantised float32 values."""
    coded = encode_loss(np.asarray(loss_db))
    if coded is None:
        q = quantise_loss_db(loss_db)
        return payload({"codec": "raw", "dtype": q.dtype.str, "shape": list(q.shape)}, q)
    return payload(*coded)
