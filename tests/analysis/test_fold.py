"""The one-pass best-server fold (kernels/fold.py) against its twin, NumPy's budget and update.

``BestServer.fold`` must leave every array of the reduction bit-identical to
``BestServer.update`` with ``MastBudget.margins()``, for every mix of scalar and
array terms the pipeline produces (omni and sector gains, outdoor and indoor entry
losses, land cover, calibration offsets, noise rise) and for the types it does not
take (which fall back to NumPy). The terms are random, with NaN losses, pixels not
evaluated, windows that overlap, and margins that tie exactly between masts.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from c2000cov.analysis.coverage import BestServer, fold_arguments
from c2000cov.geo.grid import Window
from c2000cov.radio.budget import MastBudget, Terminal
from c2000cov.scenario.schema import ProfileConfig

SHAPE = (40, 50)
TERMINAL = Terminal.from_profile(ProfileConfig())


def _f32(rng, shape, lo, hi, nan_frac=0.0, quarter=False):
    a = rng.uniform(lo, hi, shape).astype("float32")
    if quarter:  # multiples of 0.25 dB: every sum is exact, and margins can tie
        a = (np.round(a * 4) / 4).astype("float32")
    if nan_frac:
        a[rng.random(shape) < nan_frac] = np.nan
    return a


def _budget(rng, shape, *, gain_array, entry_array, offset, d_dl_array, d_ul, quarter=False):
    """Random budget terms; with ``quarter`` every value is a multiple of 0.25 dB."""
    def f32(lo, hi, nan_frac=0.0):
        return _f32(rng, shape, lo, hi, nan_frac, quarter)

    def q(x: float) -> float:
        return round(x * 4) / 4 if quarter else x

    loss_dl = f32(60.0, 190.0, nan_frac=0.05)
    loss_ul = (loss_dl - np.float32(0.5)).astype("float32")
    entry = f32(0.0, 20.0) if entry_array else 0.0
    if offset == "array":
        off = f32(-3.0, 3.0)
    else:
        off = {"none": None, "scalar": 1.25}[offset]
    return MastBudget(
        loss_dl, loss_ul, float(rng.choice([0.0, 3.75])), float(rng.choice([0.0, 3.5])),
        np.float64(q(rng.uniform(38, 46))),
        f32(-20.0, 14.0) if gain_array else float(q(rng.uniform(0, 12))),
        np.float64(q(rng.uniform(2, 6))), np.float64(q(rng.uniform(1, 4))),
        float(rng.choice([0.0, 3.0])), TERMINAL, entry,
        (entry + np.float32(0.5)).astype("float32") if entry_array else 0.0, off,
        rng.random(shape) > 0.1, f32(0.0, 6.0) if d_dl_array else 0.0, d_ul)


def _assert_same(a: BestServer, b: BestServer):
    for name in ("margin_db", "second_margin_db", "margin_dl_db", "margin_ul_db", "server",
                 "signal_dl_dbm", "n_at_target"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype
        assert np.array_equal(x.view(f"u{x.itemsize}"), y.view(f"u{y.itemsize}")), name


CASES = list(itertools.product([False, True], [False, True], ["none", "scalar", "array"],
                               [False, True], [0.0, 2.5]))


@pytest.mark.parametrize("gain_array,entry_array,offset,d_dl_array,d_ul", CASES)
def test_fold_equals_numpy_update(gain_array, entry_array, offset, d_dl_array, d_ul):
    rng = np.random.default_rng(CASES.index((gain_array, entry_array, offset, d_dl_array, d_ul)))
    grid_shape = (70, 90)
    needed = rng.uniform(5, 15, grid_shape)  # float64, like fade_margin_db of a raster
    fast, slow = BestServer.empty(grid_shape), BestServer.empty(grid_shape)
    for i in range(7):
        if i != 3:  # mast 3 repeats mast 2's budget in the same window
            window = Window(int(rng.integers(0, 30)), int(rng.integers(0, 40)), *SHAPE)
            b = _budget(rng, SHAPE, gain_array=gain_array, entry_array=entry_array,
                        offset=offset, d_dl_array=d_dl_array, d_ul=d_ul,
                        quarter=i == 2)  # exact sums: mast 3's margins tie mast 2's exactly
        need = needed[window.slices] if i % 2 else 9.5
        assert fold_arguments(b, need) is not None  # the kernel takes every pipeline type
        fast.fold(i, window, b, need)
        slow.update(i, window, *b.margins(), need)
    _assert_same(fast, slow)
    assert (fast.server >= 0).sum() > 1000  # the masts did reach most of the grid
    assert (fast.server == 2).sum() > 100  # ties keep the earlier mast
    assert (fast.n_at_target > 1).any() and np.isfinite(fast.second_margin_db).any()


def test_fold_of_a_tile_part_equals_numpy():
    """A budget cropped to a tile's part of its window (non-contiguous views)."""
    rng = np.random.default_rng(7)
    b = _budget(rng, SHAPE, gain_array=True, entry_array=True, offset="array",
                d_dl_array=True, d_ul=1.0)
    part = Window(5, 11, 28, 36)
    fast, slow = BestServer.empty((28, 36)), BestServer.empty((28, 36))
    tile = Window(0, 0, 28, 36)
    fast.fold(4, tile, b.crop(part), 8.0)
    slow.update(4, tile, *b.crop(part).margins(), 8.0)
    _assert_same(fast, slow)


@pytest.mark.parametrize("change", ["tx_python_float", "gain_float64_array",
                                    "clutter_numpy_scalar", "entry_float64_array"])
def test_types_the_kernel_does_not_take_fall_back_to_numpy(change):
    """Terms whose types make NumPy compute in another precision are not given to the
    kernel, and the fold still equals NumPy's."""
    rng = np.random.default_rng(11)
    b = _budget(rng, SHAPE, gain_array=True, entry_array=True, offset="none",
                d_dl_array=False, d_ul=0.0)
    fields = {"tx_python_float": {"tx_power_dbm": 43.0},
              "gain_float64_array": {"gain_dbi": b.gain_dbi.astype("float64")},
              "clutter_numpy_scalar": {"clutter_dl_db": np.float64(3.75)},
              "entry_float64_array": {"entry_ul_db": b.entry_ul_db.astype("float64")}}[change]
    b = MastBudget(**{**b.__dict__, **fields})
    assert fold_arguments(b, 9.0) is None
    fast, slow = BestServer.empty(SHAPE), BestServer.empty(SHAPE)
    window = Window(0, 0, *SHAPE)
    fast.fold(0, window, b, 9.0)
    slow.update(0, window, *b.margins(), 9.0)
    _assert_same(fast, slow)


def test_fold_differs_when_numpy_would_round_otherwise():
    """The twin check can fail: computing the uplink in float64 throughout (as a naive
    kernel would) moves the uplink margins by float32 rounding."""
    rng = np.random.default_rng(3)
    b = _budget(rng, SHAPE, gain_array=True, entry_array=True, offset="none",
                d_dl_array=False, d_ul=0.0)
    m_ul = b.margins()[1]
    naive = ((TERMINAL.ul_eirp_dbm - b.entry_ul_db.astype("float64")
              - (b.loss_ul_db.astype("float64") + b.clutter_ul_db)
              + b.gain_dbi.astype("float64") - b.rx_loss_db + b.diversity_db)
             - TERMINAL.bs_sensitivity_dbm)
    naive = np.where(b.evaluated, naive, np.nan)
    ok = np.isfinite(m_ul)
    assert not np.array_equal(m_ul[ok], naive[ok])
    assert np.nanmax(np.abs(m_ul - naive)) < 1e-4


def test_fold_kernel_releases_the_gil():
    """The fold runs beside the local executor's background thread (its Python glue and
    the next kernel call): it must not hold the GIL for the window's duration."""
    from c2000cov.kernels.fold import fold_budget

    assert fold_budget.targetoptions.get("nogil") is True
