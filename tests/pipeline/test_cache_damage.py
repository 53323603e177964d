"""Damaged cache entries are detected by their checksum, reported once and recomputed;
a failed cache write leaves no partial entry (issue #16)."""

from __future__ import annotations

import errno
import hashlib
import io
import os

import numpy as np
import pytest

import c2000cov.pipeline.cache as cache_module
from c2000cov.pipeline.basestate import BASE_STATE_DIR
from c2000cov.pipeline.cache import ENTRY_SUFFIX, DamagedCacheWarning, LossCache
from c2000cov.pipeline.run import run_scenario
from c2000cov.scenario.config import load_scenario
from tests.scenarios import write_scenario

ARR = np.arange(12, dtype="float32").reshape(3, 4)


def _entry(tmp_path, method="put"):
    cache = LossCache(tmp_path / "c")
    getattr(cache, method)("ab" * 32, ARR)  # put: exact; put_loss: 0.01 dB codes
    return cache, cache._path("ab" * 32)


def test_round_trip(tmp_path):
    cache, path = _entry(tmp_path)
    np.testing.assert_array_equal(cache.get("ab" * 32, shape=(3, 4), dtype="float32"), ARR)
    assert cache.hits == 1 and cache.damaged == 0


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-7])


def _random(path):
    path.write_bytes(np.random.default_rng(1).bytes(path.stat().st_size))


def _flip(path):
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x10
    path.write_bytes(bytes(raw))


def _empty(path):
    path.write_bytes(b"")


def _plain_npy(path):  # an entry without the checksum header (an older cache)
    with path.open("wb") as fh:
        np.save(fh, ARR)


def _format_1(path):  # an entry of format 1: checksum header, then float32 .npy bytes
    buf = io.BytesIO()
    np.save(buf, ARR)
    path.write_bytes(b"c2000cov-cache/1\n" + hashlib.sha256(buf.getvalue()).digest()
                     + buf.getvalue())


def _folder(path):
    path.unlink()
    path.mkdir()
    (path / "x").write_text("x")


@pytest.mark.parametrize("damage", [_truncate, _random, _flip, _empty, _plain_npy,
                                    _format_1, _folder])
@pytest.mark.parametrize("method", ["put", "put_loss"])
def test_damaged_entries_are_reported_removed_and_missed(tmp_path, damage, method):
    cache, path = _entry(tmp_path, method)
    damage(path)
    with pytest.warns(DamagedCacheWarning, match="is damaged"):
        assert cache.get("ab" * 32) is None
    assert cache.damaged == 1 and not path.exists()
    getattr(cache, method)("ab" * 32, ARR)  # recomputed and stored again
    np.testing.assert_array_equal(cache.get("ab" * 32), ARR)


@pytest.mark.parametrize(("kwargs", "why"), [({"shape": (4, 3)}, "shape"),
                                             ({"dtype": "float64"}, "dtype")])
def test_wrong_shape_or_dtype_is_damage(tmp_path, kwargs, why):
    cache, path = _entry(tmp_path)
    with pytest.warns(DamagedCacheWarning, match=why):
        assert cache.get("ab" * 32, **kwargs) is None
    assert not path.exists()


def test_damage_is_reported_once(tmp_path, recwarn):
    cache = LossCache(tmp_path / "c")
    for k in range(3):
        key = f"{k:02d}" * 32
        cache.put(key, ARR)
        _truncate(cache._path(key))
        assert cache.get(key) is None
    assert cache.damaged == 3
    assert len([w for w in recwarn if w.category is DamagedCacheWarning]) == 1


def test_a_failed_write_leaves_no_partial_entry(tmp_path, monkeypatch):
    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(cache_module.os, "replace", disk_full)
    cache = LossCache(tmp_path / "c")
    with pytest.warns(DamagedCacheWarning, match="could not be written"):
        cache.put("ab" * 32, ARR)
    assert cache.failed_writes == 1
    assert [p for p in (tmp_path / "c").rglob("*") if p.is_file()] == []
    assert cache.get("ab" * 32) is None


def test_a_run_over_a_damaged_cache_gives_the_same_outputs(tmp_path):
    scen = load_scenario(write_scenario(tmp_path, masts_rows=[
        "M01,A,151000.5,451000.5,30,44,11,8,3", "M02,B,153000.5,453000.5,30,44,11,8,3"]))
    cache = tmp_path / "cache"
    first = run_scenario(scen, tmp_path / "a", cache_dir=cache)
    entries = sorted(p for p in cache.rglob(f"*{ENTRY_SUFFIX}") if p.is_file()
                     and BASE_STATE_DIR not in p.relative_to(cache).parts)
    assert len(entries) == 4  # two masts, downlink and uplink frequency
    for k, entry in enumerate(entries):
        (_truncate, _random, _flip, _empty)[k](entry)
    with pytest.warns(DamagedCacheWarning):
        second = run_scenario(scen, tmp_path / "b", cache_dir=cache)
    assert second.cache.damaged == 4 and second.cache.hits == 0
    for name in ("p_cover_handheld_outdoor.tif", "masts_used.csv", "areas_coverage.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.cache.misses >= 2
    third = run_scenario(scen, tmp_path / "c", cache_dir=cache)  # repaired entries are used
    assert third.cache.hits == 4 and third.cache.damaged == 0
    assert not [p for p in cache.rglob("*") if ".partial-" in p.name]
    assert os.listdir(tmp_path / "c")
