"""The codec kernels (:mod:`c2000cov.kernels.codec`) against their slow twins, the numpy
code the loss cache ran before them (``tests/kernels/codec_twins.py``), bit for bit: the
quantised values, the range, the codes in shuffled order, the entries written (header
and compressed bytes), and what reads back."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import c2000cov.pipeline.cache as cache_module
from c2000cov.kernels import codec
from c2000cov.pipeline.cache import ENTRY_MAGIC, LossCache
from tests.kernels import codec_twins as twin

KEY = "cd" * 32


def _window(case: str, rng: np.random.Generator) -> np.ndarray:
    """A loss window (dB) of one kind; float32 unless the case says otherwise."""
    shape = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))
    n = shape[0] * shape[1]
    ties = (2 * rng.integers(-1000, 1000, n) + 1) / 8.0  # x * 100 ends in .5 exactly
    x = {
        "losses": lambda: rng.uniform(60.0, 200.0, n),
        "negative": lambda: rng.uniform(-300.0, 20.0, n),
        "ties": lambda: ties,
        "near_ties": lambda: np.nextafter(ties.astype(np.float32),
                                          np.where(rng.random(n) < 0.5, -np.inf, np.inf)),
        "huge_span": lambda: rng.uniform(-1e4, 1e4, n),  # > 655.32 dB: stored as float32
        "huge_base": lambda: rng.uniform(1e20, 1.01e20, n),  # |base| > 2**52
        "extremes": lambda: rng.choice([3.4e38, -3.4e38, 1e-45, -1e-45, 0.0, -0.0, 655.32,
                                        65532 * 0.01, 65533 * 0.01], n),
        "zeros": lambda: rng.choice([0.0, -0.0], n),
        "tiny_span": lambda: np.full(n, 123.456),
    }[case]().astype(np.float32)
    special = rng.random(n)
    x[special < 0.1] = np.nan
    x[(special >= 0.1) & (special < 0.12)] = np.inf
    x[(special >= 0.12) & (special < 0.14)] = -np.inf
    return x.reshape(shape)


CASES = ["losses", "negative", "ties", "near_ties", "huge_span", "huge_base", "extremes",
         "zeros", "tiny_span"]
DTYPES = ["float32", "float64", ">f4", "int32"]


def _windows():
    rng = np.random.default_rng(2026)
    out = []
    for case in CASES:
        for k in range(4):
            out.append((f"{case}-{k}", _window(case, rng)))
    special = np.full((7, 9), np.nan, np.float32)
    out.append(("all_nan", special))
    inf = special.copy()
    inf[::2] = np.inf
    inf[1::2] = -np.inf
    out.append(("all_inf", inf))
    out.append(("empty", np.zeros((0, 5), np.float32)))
    out.append(("one", np.array([[80.125]], np.float32)))
    # more than one of the twin's blocks of rows, an infinity in the second
    big = rng.uniform(90.0, 95.0, (1100, 1000)).astype(np.float32)
    big[1050, 3], big[1050, 4] = np.inf, 60.004
    big[::7, ::5] = np.nan
    out.append(("two_blocks", big))
    return out


WINDOWS = _windows()
IDS = [name for name, _ in WINDOWS]


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype.itemsize == 4 else np.uint64)


def _cast(win: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "int32":
        return np.nan_to_num(win, nan=0.0, posinf=1e6, neginf=-1e6).clip(-1e6, 1e6).astype(
            dtype)
    return win.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, win", WINDOWS, ids=IDS)
def test_quantise_is_its_twin_bit_for_bit(name, win, dtype):
    x = _cast(win, dtype)
    got = cache_module.quantise_loss_db(x)
    want = twin.quantise_loss_db(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_quantise_of_a_scalar_and_of_a_strided_window():
    for v in (80.125, -0.375, np.nan, np.inf, 1e20):
        for t in (np.float32, np.float64):
            got, want = cache_module.quantise_loss_db(t(v)), twin.quantise_loss_db(t(v))
            assert type(got) is np.float32 and _bits(np.array(got)) == _bits(np.array(want))
    win = WINDOWS[0][1]
    grid = np.zeros((win.shape[0] + 4, 3 * win.shape[1]), np.float32)
    grid[2:-2, ::3] = win
    got = cache_module.quantise_loss_db(grid[2:-2, ::3])  # neither rows nor columns contiguous
    np.testing.assert_array_equal(_bits(got), _bits(twin.quantise_loss_db(win)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, win", WINDOWS, ids=IDS)
def test_the_finite_range_is_its_twin(name, win, dtype):
    x = win.astype(dtype)
    kernel = codec.finite_range_f32 if dtype == "float32" else codec.finite_range
    lo, hi = kernel(x.reshape(-1))
    want_lo, want_hi = twin.window_range(x)
    assert (lo, hi) == (want_lo, want_hi)  # -0.0 == 0.0: both give the same base and codes
    if not np.isfinite(x).any():
        assert (lo, hi) == (np.inf, -np.inf)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, win", WINDOWS, ids=IDS)
def test_the_shuffled_codes_are_the_twins_codes_shuffled(name, win, dtype):
    x = _cast(win, dtype)
    got, want = cache_module._encode_loss(x), twin.encode_loss(x)
    assert (got is None) == (want is None)
    if want is None:
        assert name.startswith(("huge", "extremes")) or dtype == "int32"
        return
    assert got[0] == want[0]
    assert got[1].dtype == np.uint8
    codes = np.ascontiguousarray(want[1]).astype("<u2")
    assert got[1].tobytes() == twin.shuffle(codes.tobytes(), 2)


@pytest.mark.parametrize("name, win", WINDOWS, ids=IDS)
def test_an_entry_is_written_byte_for_byte_as_before_and_reads_back(tmp_path, name, win):
    cache = LossCache(tmp_path)
    cache.put_loss(KEY, win)
    payload = twin.loss_payload(win)
    entry = cache._path(KEY).read_bytes()
    assert entry == ENTRY_MAGIC + hashlib.sha256(payload).digest() + payload
    back = cache.get(KEY, shape=win.shape, dtype="float32")
    coded = twin.encode_loss(win)
    if coded is None:
        want = twin.quantise_loss_db(win)
    else:  # the codes keep no sign of zero: -0.0 reads back as 0.0, as it always did
        raw = np.ascontiguousarray(coded[1]).astype("<u2").tobytes()
        want = twin.decode_loss(coded[0], raw)
    np.testing.assert_array_equal(_bits(back), _bits(want))
    np.testing.assert_array_equal(back, twin.quantise_loss_db(win))  # by value, NaN included


@pytest.mark.parametrize("name, win", WINDOWS, ids=IDS)
def test_decoding_is_the_twins_table_lookup(name, win):
    coded = twin.encode_loss(win)
    if coded is None:
        return
    header, codes = coded
    raw = np.ascontiguousarray(codes).astype("<u2").tobytes()
    got = cache_module._decode_loss(header, twin.shuffle(raw, 2))
    np.testing.assert_array_equal(_bits(got), _bits(twin.decode_loss(header, raw)))


@pytest.mark.parametrize("arr", [
    np.random.default_rng(1).normal(size=(30, 20)).astype("float32"),
    np.arange(10, dtype="int64"),
    np.array([0.1, np.nan]),
    np.array(["M01", "mast-two", ""]),  # <U8: 32 bytes an item
    np.array([True, False, True]),
    np.arange(7, dtype="uint8"),
    np.zeros((0, 3), "float64"),
], ids=["float32", "int64", "float64", "str", "bool", "uint8", "empty"])
def test_other_arrays_unshuffle_as_the_twin_and_their_entries_are_unchanged(tmp_path, arr):
    raw = arr.tobytes()
    shuffled = twin.shuffle(raw, arr.dtype.itemsize) if arr.size else b""
    back = cache_module._unshuffle(shuffled, arr.dtype, arr.shape)
    assert back.dtype == arr.dtype and back.tobytes() == raw
    assert back.flags.writeable and back.flags.c_contiguous
    cache = LossCache(tmp_path)
    cache.put(KEY, arr)
    header = {"codec": "raw", "dtype": arr.dtype.str, "shape": list(arr.shape)}
    payload = twin.payload(header, arr)
    assert cache._path(KEY).read_bytes() == (ENTRY_MAGIC + hashlib.sha256(payload).digest()
                                             + payload)
    np.testing.assert_array_equal(cache.get(KEY, shape=arr.shape, dtype=arr.dtype), arr)


def test_every_codec_kernel_releases_the_gil():
    """The local executor quantises in its background thread while the main thread encodes
    and folds: a kernel holding the GIL would stall the other thread for its whole call."""
    import numba

    kernels = [obj for obj in vars(codec).values()
               if isinstance(obj, numba.core.registry.CPUDispatcher)]
    assert {k.__name__ for k in kernels} == {
        "quantise_into", "finite_range", "finite_range_f32", "encode_q16_shuffled",
        "decode_q16_shuffled", "unshuffle_bytes"}
    assert [k.__name__ for k in kernels if not k.targetoptions.get("nogil")] == []
    assert [k.__name__ for k in kernels if k.targetoptions.get("parallel")] == []
