"""Executors give bit-identical outputs; a killed run resumes from its cache."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numba
import numpy as np
import pytest

from c2000cov.errors import InvalidInputError
from c2000cov.pipeline import compute
from c2000cov.pipeline.cache import ENTRY_SUFFIX, LossCache
from c2000cov.pipeline.executor import DaskExecutor, Executor, LocalExecutor, make_executor
from c2000cov.pipeline.run import run_scenario
from c2000cov.scenario.config import load_scenario
from tests.scenarios import write_scenario

OUTPUTS = ("p_cover_hh.tif", "dead_zones.gpkg", "areas_coverage.csv", "n1_outage.csv")


def _hilly(n: int, seed: int = 7) -> np.ndarray:
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    h = ndimage.gaussian_filter(rng.standard_normal((n, n)), 12) * 400
    return (h - h.min()).astype("float32")


def _masts(n_masts: int, size_m: float) -> list[str]:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0.15, 0.85, (n_masts, 2)) * size_m
    return [f"M{i:02d},S{i},{150000 + x:.1f},{450000 + y:.1f},30,44,11,8,3"
            for i, (x, y) in enumerate(xy)]


def _scenario(tmp_path: Path, n_px: int = 150, n_masts: int = 4, radius_m: float = 2000.0):
    res = 20.0
    return write_scenario(tmp_path, masts_rows=_masts(n_masts, n_px * res), model="p1812",
                          profiles="[profiles.hh]\n", radius_m=radius_m, size_px=n_px, res=res,
                          heights=_hilly(n_px), with_areas=True)


def _digest(folder: Path) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in OUTPUTS}


def test_serial_local_and_dask_are_bit_identical(tmp_path):
    scen = load_scenario(_scenario(tmp_path))
    digests = {}
    for name, ex in (("serial", Executor()), ("local", LocalExecutor())):
        run_scenario(scen, tmp_path / name, executor=ex, cache_dir=False)
        digests[name] = _digest(tmp_path / name)
    with DaskExecutor(workers=2) as ex:
        assert ex.dashboard_link
        run_scenario(scen, tmp_path / "dask", executor=ex, cache_dir=False)
    digests["dask"] = _digest(tmp_path / "dask")
    assert digests["serial"] == digests["local"] == digests["dask"]


def test_cached_run_equals_fresh_run(tmp_path):
    scen = load_scenario(_scenario(tmp_path))
    first = run_scenario(scen, tmp_path / "a", cache_dir=tmp_path / "cache")
    assert first.cache.misses == 8 and first.cache.hits == 0  # 4 masts x (DL, UL)
    second = run_scenario(scen, tmp_path / "b", cache_dir=tmp_path / "cache")
    assert second.cache.hits == 8 and second.cache.misses == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_killed_run_resumes_and_ends_identical(tmp_path):
    """SIGKILL mid-run, restart: finished masts come from the cache, outputs are identical."""
    path = _scenario(tmp_path, n_px=500, n_masts=12, radius_m=6000.0)
    scen = load_scenario(path)
    run_scenario(scen, tmp_path / "reference", cache_dir=False)
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "c2000cov.cli", "run", str(path), "--out", str(tmp_path / "k"),
           "--cache-dir", str(cache), "--no-map", "--quiet", "--executor", "serial"]
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.time() + 240
    while time.time() < deadline and len(list(cache.rglob(f"*{ENTRY_SUFFIX}"))) < 6:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # SIGKILL cannot be caught: it may land inside a cache write and leave that write's
    # temporary ".<key>.partial-<pid>". What must hold is that every entry under its
    # final name is whole; a temporary file is never read as an entry.
    entries = [p for p in cache.rglob(f"*{ENTRY_SUFFIX}") if not p.name.startswith(".")]
    finished = len(entries)
    assert 6 <= finished < 24, f"kill came at {finished} of 24 windows"
    assert not (tmp_path / "k" / "run.json").exists()
    reader = LossCache(cache)
    for entry in entries:  # every entry under its final name passes its checksum
        assert reader.get(entry.stem).dtype == np.float32
    assert reader.damaged == 0
    resumed = run_scenario(scen, tmp_path / "k", cache_dir=cache)
    assert resumed.cache.hits >= finished
    assert resumed.cache.misses == 24 - resumed.cache.hits
    assert _digest(tmp_path / "k") == _digest(tmp_path / "reference")


def test_executor_modes_are_checked():
    with pytest.raises(InvalidInputError, match="executor 'gpu' is not valid; choose one of: "
                       "serial, local, dask"):
        make_executor("gpu")
    with pytest.raises(InvalidInputError, match="--scheduler and --workers apply only to "
                       "--executor dask"):
        make_executor("local", workers=2)


def test_dask_results_come_in_submission_order():
    with DaskExecutor(workers=2, max_in_flight=3) as ex:
        out = list(ex.map_ordered(_slow_square, [5, 1, 4, 2, 3, 0]))
    assert out == [25, 1, 16, 4, 9, 0]


def _slow_square(x: int) -> int:
    time.sleep(0.05 * x)
    return x * x


def test_loss_cache_put_get_roundtrip(tmp_path):
    cache = LossCache(tmp_path)
    arr = np.arange(12, dtype="float32").reshape(3, 4)
    cache.put("ab" + "0" * 62, arr)
    np.testing.assert_array_equal(cache.get("ab" + "0" * 62), arr)
    assert cache.get("cd" + "0" * 62) is None
    assert cache.hits == 1 and cache.misses == 1


# ------------------------------------------------ the local executor's one unit of lookahead


def _unit_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("c2000cov-unit")]


def test_local_run_overlaps_and_is_bit_identical_on_tiles(tmp_path, monkeypatch):
    """A tiled multi-mast run: serial and local write the same bytes; under local every
    mast's kernel call ran in the background thread, in masts-file order."""
    scen = load_scenario(_scenario(tmp_path, n_masts=5), {"output.tile_px": 64})
    calls: list[tuple[int, str]] = []
    run_job = compute.run_mast_job

    def recorded(job):
        calls.append((job.index, threading.current_thread().name))
        return run_job(job)

    monkeypatch.setattr(compute, "run_mast_job", recorded)
    run_scenario(scen, tmp_path / "serial", executor=Executor(), cache_dir=False)
    assert [c[1] for c in calls] == ["MainThread"] * 5
    calls.clear()
    run_scenario(scen, tmp_path / "local", executor=LocalExecutor(), cache_dir=False)
    assert [c[0] for c in calls] == [0, 1, 2, 3, 4]
    assert all(name.startswith("c2000cov-unit") for _, name in calls)
    assert _digest(tmp_path / "serial") == _digest(tmp_path / "local")
    assert _unit_threads() == []


def test_local_runs_the_next_unit_while_the_caller_holds_a_result():
    """Unit 1 starts without the caller asking for it; unit 2 only when it asks."""
    started = {i: threading.Event() for i in range(4)}

    def unit(i: int) -> int:
        started[i].set()
        return 10 * i

    results = LocalExecutor().map_ordered(unit, range(4))
    assert next(results) == 0
    assert started[1].wait(timeout=60)  # the caller holds result 0; unit 1 ran meanwhile
    assert not started[2].is_set()  # one unit ahead, no more
    assert list(results) == [10, 20, 30]
    assert _unit_threads() == []


def test_local_results_come_in_submission_order():
    out = list(LocalExecutor().map_ordered(_slow_square, [5, 1, 4, 2, 3, 0]))
    assert out == [25, 1, 16, 4, 9, 0]
    assert list(LocalExecutor().map_ordered(_slow_square, [])) == []


def test_local_background_thread_uses_the_callers_numba_threads():
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        got = list(LocalExecutor().map_ordered(lambda _: numba.get_num_threads(), range(3)))
    finally:
        numba.set_num_threads(old)
    assert got == [1, 1, 1]


def test_local_unit_error_surfaces_at_its_turn_and_leaves_no_thread():
    ran: list[int] = []

    def unit(i: int) -> int:
        ran.append(i)
        if i == 2:
            raise ValueError("mast 2: no ground under the mast")
        return i

    got: list[int] = []
    with pytest.raises(ValueError, match="mast 2: no ground under the mast"):
        for r in LocalExecutor().map_ordered(unit, range(6)):
            got.append(r)
    assert got == [0, 1]
    assert set(ran) <= {0, 1, 2, 3} and {0, 1, 2} <= set(ran)  # 3 at most, never 4 or 5
    assert _unit_threads() == []


def test_local_caller_that_stops_early_leaves_no_thread():
    results = LocalExecutor().map_ordered(_slow_square, [1, 2, 3, 4])
    assert next(results) == 1
    results.close()
    assert _unit_threads() == []


def test_failing_mast_surfaces_as_in_serial_and_writes_nothing_half(tmp_path, monkeypatch):
    """A mast whose computation raises: the same error under both executors, no run
    folder, and the same whole cache entries (the masts before it), nothing else."""
    scen = load_scenario(_scenario(tmp_path, n_masts=5), {"output.tile_px": 64})
    run_job = compute.run_mast_job

    def failing(job):
        if job.index == 2:
            raise FloatingPointError(f"mast {job.index}: kernel failed")
        return run_job(job)

    monkeypatch.setattr(compute, "run_mast_job", failing)
    entries = {}
    for name, ex in (("serial", Executor()), ("local", LocalExecutor())):
        with pytest.raises(FloatingPointError, match="mast 2: kernel failed"):
            run_scenario(scen, tmp_path / name, executor=ex, cache_dir=tmp_path / f"c-{name}")
        assert not (tmp_path / name / "run.json").exists()
        assert not list((tmp_path / name).rglob("*.tif"))
        files = sorted(p for p in (tmp_path / f"c-{name}").rglob("*") if p.is_file())
        assert all(p.suffix == ENTRY_SUFFIX and not p.name.startswith(".") for p in files)
        entries[name] = sorted(p.name for p in files)
        assert _unit_threads() == []
    assert len(entries["serial"]) == 4  # masts 0 and 1, DL and UL
    assert entries["local"] == entries["serial"]


def test_masts_are_prepared_as_needed_and_a_partly_cached_run_is_identical(tmp_path,
                                                                           monkeypatch):
    """A mast's window digest and cache lookups are made when the executor or the fold
    first needs it, not all before the first kernel call (so a cold run's digests overlap
    the kernel); masts whose windows are cached in between computed ones are read, not
    computed, and the outputs equal a cold run's."""
    n_px, res = 150, 20.0
    rows = _masts(5, n_px * res)

    def scenario(folder: Path, masts: list[str]):
        return load_scenario(write_scenario(folder, masts_rows=masts, model="p1812",
                                            profiles="[profiles.hh]\n", radius_m=2000.0,
                                            size_px=n_px, res=res, heights=_hilly(n_px),
                                            with_areas=True))

    full = scenario(tmp_path / "full", rows)
    run_scenario(full, tmp_path / "cold", executor=Executor(), cache_dir=False)
    # masts 1 and 3 alone warm the cache: a window's key does not depend on the others
    run_scenario(scenario(tmp_path / "part", [rows[1], rows[3]]), tmp_path / "part_out",
                 cache_dir=tmp_path / "cache")
    events: list[tuple[str, int]] = []
    lock = threading.Lock()
    digest, run_job = compute.window_digest, compute.run_mast_job

    def recorded_digest(*args):
        with lock:
            events.append(("digest", sum(e[0] == "digest" for e in events)))
        return digest(*args)

    def recorded_job(job):
        with lock:
            events.append(("job", job.index))
        return run_job(job)

    monkeypatch.setattr(compute, "window_digest", recorded_digest)
    monkeypatch.setattr(compute, "run_mast_job", recorded_job)
    warm = run_scenario(full, tmp_path / "warm", executor=LocalExecutor(),
                        cache_dir=tmp_path / "cache")
    assert [i for kind, i in events if kind == "job"] == [0, 2, 4]  # 1 and 3 are cached
    assert [i for kind, i in events if kind == "digest"] == [0, 1, 2, 3, 4]
    # mast 0's kernel started after at most the digests of masts 0 and 1 (all five, up
    # front, before this change)
    digests_before_first_job = events.index(("job", 0))
    assert digests_before_first_job <= 2
    assert warm.cache.hits == 4 and warm.cache.misses == 6  # 2 and 3 masts x (DL, UL)
    assert _digest(tmp_path / "warm") == _digest(tmp_path / "cold")
    assert _unit_threads() == []
