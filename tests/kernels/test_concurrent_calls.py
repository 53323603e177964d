"""The parallel kernels release the GIL and may be called from two threads at once.

The local executor (:class:`c2000cov.pipeline.executor.LocalExecutor`) runs the next
mast's area-kernel call in a background thread while the main thread folds the last
one: the call must let the main thread run Python meanwhile, and two calls at once (the
main thread computes a window itself when its cache entry vanished) must give the
results of one call at a time, bit for bit. Numba's ``omp`` and ``tbb`` threading
layers take concurrent calls; ``workqueue`` would abort the process here.

Measured with numba 0.68: a ``parallel=True`` function releases the GIL inside its
``prange`` loops even without ``nogil``, but holds it in the serial code between them
(the area kernel's table setup and mast pixel); ``nogil=True`` releases it for the
whole call.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from c2000cov.kernels import area, profile, tables
from c2000cov.kernels.area import area_loss_multi_db
from tests.kernels.windows import random_window

FREQS_MHZ = np.array([392.5, 382.5])
AE_KM = 8495.0


def _args(n: int, seed: int):
    surf, grnd = random_window(n, seed)
    c = n // 2
    return (surf, grnd, c, c, 30.0, 1.5, 25.0, 25.0 * c, FREQS_MHZ, AE_KM)


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint32)


def test_every_parallel_kernel_is_compiled_without_the_gil():
    parallel = [obj for mod in (area, profile, tables) for obj in vars(mod).values()
                if isinstance(obj, numba.core.registry.CPUDispatcher)
                and obj.targetoptions.get("parallel")]
    assert {k.__name__ for k in parallel} >= {"area_loss_multi_db", "sph_fill_missing",
                                              "p1812_point_losses_db"}
    assert [k.__name__ for k in parallel if not k.targetoptions.get("nogil")] == []


def test_the_main_thread_runs_while_the_area_kernel_does():
    """The main thread sees the output of a call in another thread half written: neither
    the value it was filled with nor the result. A call that held the GIL throughout
    would be atomic to the main thread (it could only see the one or the other)."""
    args = _args(801, 5)
    ref = area_loss_multi_db(*args)
    seen_partial = False
    for _ in range(5):  # one call is about 0.2 s; the main thread polls all along
        out = np.zeros_like(ref)
        worker = threading.Thread(target=area_loss_multi_db, args=args, kwargs={"out": out})
        worker.start()
        while worker.is_alive() and not seen_partial:
            snap = out.copy()
            seen_partial = bool((snap != 0.0).any()) and not np.array_equal(_bits(snap),
                                                                            _bits(ref))
        worker.join()
        assert np.array_equal(_bits(out), _bits(ref))
        if seen_partial:
            break
    assert seen_partial


def test_two_threads_calling_at_once_get_the_serial_results():
    cases = [_args(241, seed) for seed in (1, 2, 3, 4)]
    serial = [area_loss_multi_db(*a) for a in cases]
    got: dict[tuple[int, int], np.ndarray] = {}
    start = threading.Barrier(2)

    def calls(t: int) -> None:
        for rep in range(3):
            start.wait()  # both threads enter the kernel together, every round
            for k in range(t, len(cases), 2):
                got[(rep, k)] = area_loss_multi_db(*cases[k])

    other = threading.Thread(target=calls, args=(1,))
    other.start()
    calls(0)
    other.join()
    assert sorted(got) == [(rep, k) for rep in range(3) for k in range(4)]
    for (rep, k), arr in got.items():
        assert np.array_equal(_bits(arr), _bits(serial[k])), (rep, k)
