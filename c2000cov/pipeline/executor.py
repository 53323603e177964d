"""The one place that decides how work units run: serially, locally, or on Dask.

The rest of the code hands an :class:`Executor` a function and a list of work
units (per-mast path-loss windows, per-tile reductions) and receives the
results **in submission order**, so every reduction folds them in the same
order whatever the mode: outputs are bit-identical across modes.

- ``serial``: one unit after the other in this process. The Numba kernels
  still use all cores inside each unit (``prange`` over rays).
- ``local`` (default): one unit of lookahead. While the caller folds unit i
  (cache store, link budget, best-server update: Python and numpy on one
  core), unit i + 1 runs in one background thread. The ray-parallel kernel
  keeps every core busy while it runs, but the serial work between two kernel
  calls left all cores but one idle: on national-25m 1.59 of 2 CPUs were used
  on average. The kernels release the GIL (``nogil``) so the two overlap:
  512 s against 586 s serial, 1.67 CPUs against 1.51 (2 cores; the record is
  bench/records/vm-2026-11-30-national-25m-overlap.json).
  Results still come in submission order, so outputs are bit-identical to
  ``serial``; memory grows by at most one unit's result and working arrays
  (:mod:`c2000cov.pipeline.memory` counts them: about 24 bytes per window pixel).
- ``dask``: units go to a ``dask.distributed`` cluster, either an existing
  scheduler (``tcp://HOST:PORT``) or a LocalCluster of ``workers`` processes.
  At most ``max_in_flight`` units are outstanding, which bounds memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from c2000cov.errors import InvalidInputError

EXECUTOR_MODES = ("serial", "local", "dask")


class Executor:
    """Runs work units and yields their results in submission order."""

    mode = "serial"
    dashboard_link: str | None = None

    def map_ordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``fn(item)`` for each item, in order."""
        for item in items:
            yield fn(item)

    def close(self) -> None:
        """Release resources (clusters, clients)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalExecutor(Executor):
    """All cores on this machine: the kernels' own thread parallelism, and unit i + 1
    computed in one background thread while the caller works on unit i."""

    mode = "local"

    def map_ordered(self, fn, items):
        """Yield ``fn(item)`` for each item, in order, one item ahead.

        Unit i + 1 is started before unit i's result is yielded, so it runs while the
        caller uses that result; unit i + 2 only when the caller asks for the next
        result. A unit that raises does so here, at its turn: the units before it
        were yielded, the one after it is cancelled or, when already running, left to
        finish and dropped. However the iteration ends (exhausted, an exception, the
        generator closed), the background thread has exited when this generator has.
        """
        import numba

        # Numba's thread count is per thread: the background thread takes the caller's
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="c2000cov-unit",
                                  initializer=numba.set_num_threads,
                                  initargs=(numba.get_num_threads(),))
        try:
            pending = None
            for item in items:
                ahead = pool.submit(fn, item)
                if pending is not None:
                    yield pending.result()
                pending = ahead
            if pending is not None:
                yield pending.result()
        finally:
            # a kernel call cannot be interrupted: wait for a running unit, drop the rest
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Work units on a dask.distributed cluster, results in order, bounded in flight."""

    mode = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 max_in_flight: int | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is a declared dependency
            raise InvalidInputError("--executor dask needs dask.distributed: "
                                    "pip install 'dask[distributed]'") from None
        self._cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self._cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1,
                                         processes=True, dashboard_address=":0")
            self.client = Client(self._cluster)
        self.dashboard_link = self.client.dashboard_link
        n_workers = len(self.client.scheduler_info().get("workers", {})) or 1
        self.max_in_flight = max_in_flight or 2 * n_workers

    def map_ordered(self, fn, items):
        pending: deque = deque()
        for item in items:
            pending.append(self.client.submit(fn, item, pure=False))
            if len(pending) >= self.max_in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


#: Most workers of a local Dask cluster (each is a process).
MAX_WORKERS = 256


def make_executor(mode: str = "local", scheduler: str | None = None,
                  workers: int | None = None) -> Executor:
    """Build the executor for a mode: ``serial``, ``local`` or ``dask``."""
    if mode not in EXECUTOR_MODES:
        raise InvalidInputError(f"executor {mode!r} is not valid; choose one of: "
                                + ", ".join(EXECUTOR_MODES))
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise InvalidInputError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if mode == "dask":
        return DaskExecutor(scheduler, workers)
    if scheduler or workers:
        raise InvalidInputError("--scheduler and --workers apply only to --executor dask")
    return LocalExecutor() if mode == "local" else Executor()
