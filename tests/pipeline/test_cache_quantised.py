"""Loss windows are cached as 0.01 dB codes, compressed (issue #20): the stated bound holds,
a warm run equals a cold one, the key follows the format, and the entries are small."""

from __future__ import annotations

import hashlib
import json
import zlib

import numpy as np
import pytest
import zstandard

import c2000cov.pipeline.cache as cache_module
import c2000cov.pipeline.compute as compute
from c2000cov.devtools.bench import synthetic_surface
from c2000cov.kernels.area import area_loss_db
from c2000cov.pipeline.cache import (
    ENTRY_MAGIC,
    LOSS_ERROR_DB,
    LOSS_STEP_DB,
    DamagedCacheWarning,
    LossCache,
    loss_key,
    quantise_loss_db,
)
from c2000cov.pipeline.run import run_scenario
from c2000cov.scenario.config import load_scenario
from c2000cov.scenario.schema import ModelConfig
from c2000cov.units import effective_earth_radius_km
from tests.kernels.codec_twins import steps
from tests.pipeline.test_executor import _scenario

#: The stated bound: half a step, plus the float32 rounding of the result below 1024 dB.
BOUND_DB = LOSS_ERROR_DB + 2.0**-14
KEY = "ab" * 32


def _kernel_window(radius_m: float = 3000.0, pixel_m: float = 25.0) -> np.ndarray:
    """A real loss window: the area kernel on the benchmark's hilly, built-up terrain."""
    surf, grnd, tr, tc = synthetic_surface(radius_m, pixel_m)
    return area_loss_db(surf, grnd, tr, tc, 40.0, 1.5, pixel_m, radius_m, 392.5,
                        effective_earth_radius_km())


def test_quantised_losses_are_within_half_a_step():
    rng = np.random.default_rng(5)
    loss = rng.uniform(-20.0, 1000.0, 200_000).astype("float32")
    q = quantise_loss_db(loss)
    err = np.abs(q.astype(np.float64) - loss)
    assert q.dtype == np.float32
    assert LOSS_STEP_DB == 0.01 and LOSS_ERROR_DB == 0.005
    assert err.max() <= BOUND_DB
    assert err.max() > 0.0049  # the bound is reached: the step is 0.01 dB, not finer
    np.testing.assert_allclose(q * 100.0, np.round(q * 100.0), atol=0.01)
    np.testing.assert_array_equal(quantise_loss_db(q), q)  # idempotent


@pytest.mark.parametrize("case", ["kernel", "special", "negative", "wide", "row", "empty",
                                  "infinite", "inf_in_second_block"])
def test_a_stored_window_reads_back_as_its_quantised_values(tmp_path, case):
    rng = np.random.default_rng(9)
    loss = {
        "kernel": lambda: _kernel_window(),
        # no data, +/-inf: the reserved codes
        "special": lambda: np.array([[np.nan, 80.123, np.inf], [-np.inf, 140.0049, np.nan]],
                                    "float32"),
        "negative": lambda: rng.uniform(-30.0, 20.0, (40, 7)).astype("float32"),
        # finite losses 700 dB apart do not fit 16-bit codes: kept as float32
        "wide": lambda: np.array([[10.0, 710.004, np.nan]], "float32"),
        "row": lambda: rng.uniform(60.0, 170.0, 33).astype("float32"),
        "empty": lambda: np.full((3, 4), np.nan, "float32"),
        "infinite": lambda: np.array([[np.inf, np.nan, -np.inf]], "float32"),  # none finite
        # the smallest finite loss and an infinity in a later block of rows than the first
        "inf_in_second_block": lambda: np.concatenate(
            [rng.uniform(90.0, 95.0, (1 << 10, 1 << 10)),
             [[np.inf, 60.004] + [np.nan] * ((1 << 10) - 2)]]).astype("float32"),
    }[case]()
    cache = LossCache(tmp_path)
    cache.put_loss(KEY, loss)
    back = cache.get(KEY, shape=loss.shape, dtype="float32")
    np.testing.assert_array_equal(back, quantise_loss_db(loss))  # NaN positions included
    both = np.isfinite(loss)
    assert np.all(np.abs(back[both].astype(np.float64) - loss[both]) <= BOUND_DB)
    assert np.array_equal(np.isposinf(back), np.isposinf(loss))
    assert np.array_equal(np.isneginf(back), np.isneginf(loss))
    cache.put_loss(KEY, back)  # a quantised window is stored and read back bit for bit
    np.testing.assert_array_equal(cache.get(KEY), back)


def test_a_loss_entry_is_under_half_of_the_float32_window(tmp_path):
    loss = quantise_loss_db(_kernel_window(radius_m=5000.0))
    assert np.isnan(loss).any() and loss.shape == (401, 401)
    cache = LossCache(tmp_path)
    cache.put_loss(KEY, loss)
    size = cache._path(KEY).stat().st_size
    assert size < 0.5 * loss.nbytes, f"{size} bytes for a {loss.nbytes}-byte window"


def test_other_arrays_are_stored_exactly(tmp_path):
    cache = LossCache(tmp_path)
    for k, arr in enumerate([np.random.default_rng(2).normal(size=(30, 20)).astype("float32"),
                             np.arange(10, dtype="int64"), np.array([0.1, np.nan])]):
        key = f"{k:02d}" * 32
        cache.put(key, arr)
        back = cache.get(key, dtype=arr.dtype)
        np.testing.assert_array_equal(back, arr)


def test_an_array_of_several_blocks_is_stored_in_pieces_as_one_shuffled_stream(
        tmp_path, monkeypatch):
    # small blocks: the float32 array (3 x 1000 items) is deflated in 12 pieces
    monkeypatch.setattr(cache_module, "_BLOCK_PX", 256)
    arr = np.random.default_rng(5).normal(size=(3, 1000)).astype("float32")
    arr[1, 7] = np.nan
    cache = LossCache(tmp_path)
    cache.put(KEY, arr)
    raw = cache._path(KEY).read_bytes()
    head = len(ENTRY_MAGIC) + 32
    assert raw[len(ENTRY_MAGIC):head] == hashlib.sha256(raw[head:]).digest()
    line, _, body = raw[head:].partition(b"\n")
    assert json.loads(line)["shape"] == [3, 1000]
    # the body is byte 0 of every item, then byte 1, ... (blosc's shuffle), one zstd frame
    shuffled = np.frombuffer(arr.tobytes(), np.uint8).reshape(-1, 4).T.tobytes()
    assert zstandard.ZstdDecompressor().decompress(body) == shuffled
    np.testing.assert_array_equal(cache.get(KEY, shape=(3, 1000), dtype="float32"), arr)


def test_a_loss_entry_with_a_false_header_is_damage(tmp_path):
    cache = LossCache(tmp_path)
    cache.put_loss(KEY, np.full((4, 4), 100.0, "float32"))
    path = cache._path(KEY)
    head = len(ENTRY_MAGIC) + 32
    line, _, body = path.read_bytes()[head:].partition(b"\n")
    header = json.loads(line)
    header["shape"] = [4, 5]  # the body holds 16 codes, not 20
    payload = json.dumps(header).encode() + b"\n" + body
    path.write_bytes(ENTRY_MAGIC + hashlib.sha256(payload).digest() + payload)
    with pytest.warns(DamagedCacheWarning, match="unreadable array: 32 bytes for shape"):
        assert cache.get(KEY) is None
    assert cache.damaged == 1 and not path.exists()


def test_the_key_changes_with_the_entry_format(monkeypatch):
    win = np.zeros((5, 5), dtype="float32")
    args = (win, win, (1, 0, 0, 0, -1, 0), 2, 2, 30.0, ModelConfig(), 392.5, 1.5, "digest")
    before = loss_key(*args)
    assert loss_key(*args[:-1], "other digest") != before
    monkeypatch.setattr(cache_module, "CACHE_FORMAT", cache_module.CACHE_FORMAT + 1)
    assert loss_key(*args) != before


def test_pipeline_windows_are_the_kernels_within_the_bound():
    surf, grnd, tr, tc = synthetic_surface(2000.0, 25.0)
    job = compute.MastJob(0, ModelConfig(name="p1812", radius_m=2000.0), surf, grnd, tr, tc,
                          40.0, 25.0, ((392.5, 1.5), (382.5, 1.5)))
    out = compute.run_mast_job(job)
    for (f, h), loss in out.items():
        raw = area_loss_db(surf, grnd, tr, tc, 40.0, h, 25.0, 2000.0, f,
                           effective_earth_radius_km())
        np.testing.assert_array_equal(loss, quantise_loss_db(raw))
        ok = np.isfinite(raw)
        assert np.abs(loss[ok].astype(np.float64) - raw[ok]).max() <= BOUND_DB


def test_a_warm_run_is_a_cold_run_and_within_the_bound_of_unquantised_levels(tmp_path,
                                                                             monkeypatch):
    scen = load_scenario(_scenario(tmp_path))
    cold = run_scenario(scen, tmp_path / "cold", cache_dir=tmp_path / "cache")
    warm = run_scenario(scen, tmp_path / "warm", cache_dir=tmp_path / "cache")
    assert cold.cache.misses == 8 and warm.cache.hits == 8
    for name, c in cold.coverage.items():
        w = warm.coverage[name]
        for band in ("p_cover", "signal_dl_dbm", "margin_dl_db", "margin_ul_db", "server"):
            np.testing.assert_array_equal(getattr(w, band), getattr(c, band))
    # the same run with the kernel's float32 losses, unquantised and uncached
    monkeypatch.setattr(compute, "quantise_loss_db", lambda loss: loss)
    exact = run_scenario(scen, tmp_path / "exact", cache_dir=False)
    for name, c in cold.coverage.items():
        e = exact.coverage[name]
        same = c.server == e.server
        assert same.mean() > 0.999  # the best server flips only on near-ties
        for band in ("signal_dl_dbm", "margin_dl_db", "margin_ul_db"):
            a, b = getattr(c, band)[same], getattr(e, band)[same]
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            ok = ~np.isnan(a)
            diff = np.abs(a[ok].astype(np.float64) - b[ok])
            assert diff.max() <= BOUND_DB + 1e-4, band  # + float32 rounding of the budget
            assert diff.max() > 0.0, band  # the runs do differ: the test sees quantisation


def _rewrite(path, header: dict, body: bytes) -> None:
    payload = json.dumps(header, sort_keys=True).encode() + b"\n" + body
    path.write_bytes(ENTRY_MAGIC + hashlib.sha256(payload).digest() + payload)


def _entry(path) -> tuple[dict, bytes]:
    line, _, body = path.read_bytes()[len(ENTRY_MAGIC) + 32:].partition(b"\n")
    return json.loads(line), body


def test_entries_are_zstd_and_older_zlib_entries_still_read(tmp_path):
    loss = quantise_loss_db(_kernel_window())
    cache = LossCache(tmp_path)
    cache.put_loss(KEY, loss)
    header, body = _entry(cache._path(KEY))
    assert header["compressor"] == "zstd" and header["level"] == cache_module.ZSTD_LEVEL
    # the same codes as an entry written before zstd: deflated, no compressor named
    raw = zstandard.ZstdDecompressor().decompress(body)
    old = {k: v for k, v in header.items() if k not in ("compressor", "level")}
    _rewrite(cache._path(KEY), {**old, "zlib": 1}, zlib.compress(raw, 1))
    np.testing.assert_array_equal(cache.get(KEY, shape=loss.shape, dtype="float32"), loss)
    assert cache.hits == 1 and cache.damaged == 0


@pytest.mark.parametrize("compressor, why", [("lz4", "unknown compressor 'lz4'; expected one "
                                                     "of zstd, zlib"),
                                             ("zlib", "Error -3 while decompressing")])
def test_an_entry_of_another_compressor_is_damage(tmp_path, compressor, why):
    cache = LossCache(tmp_path)
    cache.put_loss(KEY, np.full((4, 4), 100.0, "float32"))
    header, body = _entry(cache._path(KEY))
    _rewrite(cache._path(KEY), {**header, "compressor": compressor}, body)  # zstd bytes
    with pytest.warns(DamagedCacheWarning, match=f"unreadable array: {why}"):
        assert cache.get(KEY) is None
    assert cache.damaged == 1 and not cache._path(KEY).exists()


def test_a_masts_keys_hash_its_heights_once_and_follow_every_pixel():
    surf, grnd, tr, tc = synthetic_surface(1000.0, 25.0)
    args = ((25, 0, 0, 0, -25, 0), tr, tc, 30.0, ModelConfig(), 392.5, 1.5, "digest")
    key = loss_key(surf, grnd, *args)
    digest = cache_module.window_digest(surf, grnd)
    assert loss_key(surf, grnd, *args, digest) == key
    # a slice of a larger grid (not contiguous) hashes as its float32 values
    big = np.zeros((surf.shape[0] + 3, surf.shape[1] + 5), np.float64)
    big[1:-2, 2:-3] = surf
    assert loss_key(big[1:-2, 2:-3], grnd, *args) == key
    # a float32 window of a grid is hashed row by row in place: the same bytes
    big32 = big.astype(np.float32)
    assert loss_key(big32[1:-2, 2:-3], grnd, *args) == key
    assert loss_key(big32[1:-2, 2:-3], grnd, *args) != loss_key(big32[1:-2, 3:-2], grnd, *args)
    for arr in (surf, grnd):
        changed = arr.copy()
        changed[-1, 0] += 0.25  # one height of one pixel
        other = (changed, grnd) if arr is surf else (surf, changed)
        assert loss_key(*other, *args) != key
    assert loss_key(grnd, surf, *args) != key  # surface and ground are not interchangeable
    assert len({loss_key(surf, grnd, *args[:5], f, h, "digest", digest)
                for f in (392.5, 382.5) for h in (1.5, 4.0)}) == 4


def test_float32_steps_are_the_quotient_by_the_step():
    """The cache scales float32 losses by 100 instead of dividing by 0.01 (faster): the same
    float64 steps, halfway values (which round to even) and extremes included; the
    codec kernels' quantised values are those steps times the step."""
    rng = np.random.default_rng(21)
    k = rng.integers(-5000, 200_000, 1_000_000)
    x = np.concatenate([
        rng.uniform(-50.0, 2000.0, 1_000_000),
        (k + 0.5) * 0.01,  # halfway between two steps
        (k + 0.5 + rng.uniform(-1e-6, 1e-6, k.size)) * 0.01,
        k * 0.01,
        10.0 ** rng.uniform(-40, 38, 100_000),
        [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, 3.4e38, 0.125, 0.005, -0.005],
    ]).astype(np.float32)
    x = np.concatenate([x, np.nextafter(x, np.float32(np.inf)),
                        np.nextafter(x, np.float32(-np.inf))])
    with np.errstate(over="ignore", invalid="ignore"):
        want = np.round(x.astype(np.float64) / LOSS_STEP_DB)
    np.testing.assert_array_equal(steps(x), want)  # the twin of the codec kernels
    np.testing.assert_array_equal(steps(x.astype(np.float64)), want)
    with np.errstate(over="ignore"):
        q = (want * LOSS_STEP_DB).astype(np.float32)
    np.testing.assert_array_equal(quantise_loss_db(x).view(np.uint32), q.view(np.uint32))
    np.testing.assert_array_equal(quantise_loss_db(x.astype(np.float64)), q)
