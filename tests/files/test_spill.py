"""Spill files (issue #20): arrays in unlinked files, their pages dropped on demand, their
data kept."""

from __future__ import annotations

import errno

import numpy as np
import pytest

import c2000cov.files.spill as spill_module
from c2000cov.files.spill import Spill, SpillError, is_spilled, release_pages

MB = 2**20


def _mapping_rss_kb(arr: np.ndarray) -> int:
    """Resident kB of the one mapping that holds ``arr`` (``/proc/self/smaps``)."""
    start = arr.__array_interface__["data"][0]
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= start < hi
            elif inside and head == "Rss:":
                return int(line.split()[1])
    raise AssertionError("no mapping holds the array")


def test_a_spilled_array_keeps_its_data_when_its_pages_are_dropped(tmp_path):
    spill = Spill(tmp_path)
    arr = spill.empty((1024, 4096), "float32")  # 16 MB
    assert is_spilled(arr) and is_spilled(arr[3:5, 7:9])
    assert list(tmp_path.iterdir()) == []  # unlinked: a killed run leaves no file
    assert not arr.any()  # a new spill file reads as zeros
    values = np.random.default_rng(0).normal(size=arr.shape).astype("float32")
    arr[:] = values
    assert _mapping_rss_kb(arr) * 1024 >= 16 * MB
    spill.release()
    assert _mapping_rss_kb(arr) == 0  # nothing of it stays resident
    np.testing.assert_array_equal(arr, values)  # read back from the file
    release_pages(arr[100:200])  # a view releases its whole file
    assert _mapping_rss_kb(arr) == 0
    np.testing.assert_array_equal(arr[100:200], values[100:200])


def test_without_a_folder_the_arrays_are_in_memory():
    spill = Spill(None)
    arr = spill.empty((3, 4), "int16")
    arr[:] = 7
    assert not is_spilled(arr) and spill.arrays == []
    spill.release()
    release_pages(arr, 1.5, None)  # in-memory arrays and scalars are left alone
    assert (arr == 7).all() and arr.dtype == np.int16


def test_an_empty_grid_spills(tmp_path):
    arr = Spill(tmp_path).empty((0, 5), "uint8")
    assert arr.shape == (0, 5) and is_spilled(arr)


def test_a_full_disk_is_a_clear_error_before_anything_is_written(tmp_path, monkeypatch):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill_module.os, "posix_fallocate", full)
    with pytest.raises(SpillError, match=r"no room for a 0\.40 GB spill file .*No space left"):
        Spill(tmp_path).empty((10_000, 10_000), "float32")
    assert list(tmp_path.iterdir()) == []
