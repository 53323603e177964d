"""Per-pixel work of the loss cache's codec (:mod:`c2000cov.pipeline.cache`).

The cache stores a loss window as 16-bit codes of 0.01 dB above a per-window base,
byte-shuffled (every low byte, then every high byte) and compressed with Zstandard;
these kernels do the per-pixel part of that, one pass each, on flat (1-D) arrays:

- :func:`quantise_into`: ``float32(rint(loss / step) * step)``, the value a stored loss
  reads back as (NaN and +/-inf kept);
- :func:`finite_range_f32` and :func:`finite_range`: the smallest and largest finite
  value of a window;
- :func:`encode_q16_shuffled`: the codes of a window, written straight into the
  shuffled byte order;
- :func:`decode_q16_shuffled`: the losses of shuffled codes, by table lookup;
- :func:`unshuffle_bytes`: items of any size back from their shuffled bytes.

The step arithmetic is that of the cache's numpy code before these kernels, bit for bit
(``tests/kernels/test_codec.py`` compares them with that code, kept as their twins):
float32 losses are scaled, ``rint(float64(x) * steps_per_db)``, other dtypes divided,
``rint(float64(x) / step_db)``; for a float32 ``x`` both give the same float64 (the
cache module's docstring says why). The caller chooses with ``divide``.

One thread each: on two cores shared with the area kernel a ``prange`` version took
6-7x longer on a 4-million-pixel window (thread start-up and the other core busy), and
one thread quantises such a window in about 1.2 ms and encodes it in about 3.5 ms. They
release the GIL (``nogil_kernel``): the local executor quantises a window in its
background thread while the main thread folds the last one and encodes it; a
GIL-holding quantise loop cut the Python work of the other thread by about 35 %.
"""

from __future__ import annotations

import numpy as np

from .jit import nogil_kernel


@nogil_kernel
def quantise_into(loss_db, steps_per_db, step_db, divide, out):
    """``out[i] = float32(rint(loss_db[i] * steps_per_db) * step_db)`` (``/ step_db``
    instead of ``* steps_per_db`` when ``divide``), in float64; NaN and +/-inf kept.

    ``loss_db`` (dB, 1-D, any real dtype) and ``out`` (float32, the same size) may not
    overlap unless they are the same array.
    """
    n = loss_db.size
    if divide:
        for i in range(n):
            out[i] = np.float32(np.rint(np.float64(loss_db[i]) / step_db) * step_db)
    else:
        for i in range(n):
            out[i] = np.float32(np.rint(np.float64(loss_db[i]) * steps_per_db) * step_db)


@nogil_kernel
def finite_range(loss_db):
    """``(lo, hi)``: the smallest and largest finite value of ``loss_db`` (1-D) as
    float64; ``(inf, -inf)`` when none is finite."""
    lo = np.inf
    hi = -np.inf
    for i in range(loss_db.size):
        v = np.float64(loss_db[i])
        if v - v == 0.0:  # finite: inf - inf and NaN - NaN are NaN
            lo = min(lo, v)
            hi = max(hi, v)
    return lo, hi


@nogil_kernel
def finite_range_f32(loss_db):
    """:func:`finite_range` of a float32 array (1-D, contiguous), on its bits.

    A float32's bits, negative values' magnitude bits flipped, order like its value
    (``-0.0`` just below ``0.0``), so the extremes are integer minima and maxima, which
    vectorise (float ``min`` does not without fast-math, and fast-math may drop the NaN
    tests): 1.3 ms on a 4-million-pixel window against 4.2 ms.
    """
    bits = loss_db.view(np.int32)
    exp_mask = np.int32(0x7F800000)  # every exponent bit set: inf or NaN
    mag_mask = np.int32(0x7FFFFFFF)
    lo = mag_mask
    hi = np.int32(-mag_mask - 1)
    for i in range(bits.size):
        b = bits[i]
        key = b ^ ((b >> 31) & mag_mask)  # arithmetic shift: all ones for negatives
        finite = (b & exp_mask) != exp_mask
        lo = min(lo, key if finite else mag_mask)
        hi = max(hi, key if finite else np.int32(-mag_mask - 1))
    if lo > hi:
        return np.inf, -np.inf
    both = np.empty(2, np.int32)
    both[0] = lo ^ ((lo >> 31) & mag_mask)  # the key's inverse is the same flip
    both[1] = hi ^ ((hi >> 31) & mag_mask)
    vals = both.view(np.float32)
    return np.float64(vals[0]), np.float64(vals[1])


@nogil_kernel
def encode_q16_shuffled(loss_db, steps_per_db, step_db, divide, base, code_nan,
                        code_pos_inf, code_neg_inf, out):
    """The 16-bit codes ``rint(loss_db[i] * steps_per_db) - base`` (``/ step_db`` when
    ``divide``) of a window, shuffled into ``out`` (uint8, twice the pixels): the low byte
    of code ``i`` at ``out[i]``, its high byte at ``out[n + i]``.

    NaN takes ``code_nan``, +inf ``code_pos_inf``, -inf ``code_neg_inf``. The caller
    checks that every finite code fits (0 to 65532); the cast is that of numpy
    (float64 through int64 to uint16).
    """
    n = loss_db.size
    for i in range(n):
        v = np.float64(loss_db[i])
        if divide:
            k = np.rint(v / step_db) - base
        else:
            k = np.rint(v * steps_per_db) - base
        if k - k == 0.0:
            code = np.int64(k) & 0xFFFF
        elif k != k:
            code = code_nan
        elif k > 0.0:
            code = code_pos_inf
        else:
            code = code_neg_inf
        out[i] = np.uint8(code & 0xFF)
        out[n + i] = np.uint8(code >> 8)


@nogil_kernel
def decode_q16_shuffled(shuffled, table, out):
    """``out[i] = table[code i]``, the codes read from their shuffled bytes (``shuffled``:
    uint8, the ``n`` low bytes then the ``n`` high bytes; ``table``: 65536 values;
    ``out``: ``n`` pixels)."""
    n = out.size
    for i in range(n):
        out[i] = table[np.int64(shuffled[i]) | (np.int64(shuffled[n + i]) << 8)]


@nogil_kernel
def unshuffle_bytes(shuffled, itemsize, out):
    """The bytes of ``n`` items of ``itemsize`` bytes from their shuffled order (byte 0
    of every item, then byte 1, ...): ``out[i * itemsize + j] = shuffled[j * n + i]``."""
    n = shuffled.size // itemsize
    for j in range(itemsize):
        for i in range(n):
            out[i * itemsize + j] = shuffled[j * n + i]
