"""Best-server reduction, location probability, limiting direction and coverage classes.

The link budget of each mast and profile (:mod:`c2000cov.radio.budget`) gives
a downlink and an uplink margin per pixel. :class:`BestServer` folds the masts
in masts-file order; :func:`finish` turns the result into the bands of
``p_cover_<profile>.tif``: the location probability ``P = Q(-m / sigma)`` of
the best server's limiting margin ``m`` (:func:`c2000cov.radio.probability.location_probability`),
the limiting direction, the redundancy and the meldkamer class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from c2000cov.geo.grid import Grid, Window
from c2000cov.kernels.fold import fold_budget
from c2000cov.radio.budget import MastBudget
from c2000cov.radio.probability import location_probability
from c2000cov.scenario.schema import ClassesConfig

#: Codes of the ``limiting`` band.
LIMITING_NONE, LIMITING_DL, LIMITING_UL = 0, 1, 2
LIMITING_NAMES = {LIMITING_DL: "DL", LIMITING_UL: "UL"}
#: Codes of the ``class`` band, worst to best; 255 = not evaluated.
CLASS_NONE, CLASS_POOR, CLASS_REDUCED, CLASS_GOOD, CLASS_NODATA = 0, 1, 2, 3, 255
CLASS_NAMES = {CLASS_NONE: "none", CLASS_POOR: "poor", CLASS_REDUCED: "reduced",
               CLASS_GOOD: "good"}


def reaches_pct(p_cover, pct: float) -> np.ndarray:
    """Pixels whose location probability (0-1) reaches ``pct`` percent; NaN never does.

    The one "covered" predicate: with ``pct`` the profile target it is the
    covered mask of every table, map, delta and N-1 figure.
    """
    return np.asarray(p_cover) >= pct / 100.0


@dataclass
class BestServer:
    """Running best-server reduction of one profile over the full grid.

    Arrays are NaN / -1 / 0 where no mast reaches. ``update`` is called once
    per mast in masts-file order; the result does not depend on how masts are
    grouped, only on that order (ties keep the earlier mast).
    """

    margin_db: np.ndarray  # limiting margin of the best server (min of DL, UL)
    second_margin_db: np.ndarray  # limiting margin of the runner-up (for N-1 analysis)
    margin_dl_db: np.ndarray
    margin_ul_db: np.ndarray
    server: np.ndarray  # int16 mast index, -1 none
    signal_dl_dbm: np.ndarray
    n_at_target: np.ndarray  # uint8 masts reaching the target on their own

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> BestServer:
        """A reduction with no mast yet."""
        nan = np.full(shape, np.nan, dtype="float32")
        return cls(np.full(shape, -np.inf, dtype="float32"),
                   np.full(shape, -np.inf, dtype="float32"), nan.copy(), nan.copy(),
                   np.full(shape, -1, dtype="int16"), nan.copy(), np.zeros(shape, dtype="uint8"))

    def update(self, mast_index: int, window: Window, margin_dl_db: np.ndarray,
               margin_ul_db: np.ndarray, signal_dl_dbm: np.ndarray,
               margin_needed_db: np.ndarray | float) -> None:
        """Fold one mast's margins over its window into the reduction."""
        sl = window.slices
        m = np.fmin(margin_dl_db, margin_ul_db)
        valid = np.isfinite(m)
        better = valid & (m > self.margin_db[sl])
        second = self.second_margin_db[sl]
        runner_up = valid & ~better & (m > second)
        # copyto(where=) writes in place: boolean indexing gathered and scattered a copy of
        # each array (half of this method's time on the national scenario)
        np.copyto(second, m, where=runner_up)
        np.copyto(second, self.margin_db[sl], where=better)
        for arr, new in ((self.margin_db, m), (self.margin_dl_db, margin_dl_db),
                         (self.margin_ul_db, margin_ul_db), (self.signal_dl_dbm, signal_dl_dbm)):
            np.copyto(arr[sl], np.asarray(new, dtype="float32"), where=better)
        np.copyto(self.server[sl], mast_index, where=better)
        reach = valid & (m >= margin_needed_db)
        self.n_at_target[sl] += reach.astype("uint8")

    def fold(self, mast_index: int, window: Window, budget: MastBudget,
             margin_needed_db: np.ndarray | float) -> None:
        """``update`` with the margins of ``budget`` (terms over ``window``'s pixels).

        One pass of :func:`c2000cov.kernels.fold.fold_budget`, bit-identical to
        ``update(mast_index, window, *budget.margins(), margin_needed_db)``, which it
        falls back to for terms of types the kernel does not reproduce NumPy's
        arithmetic for (see :func:`fold_arguments`).
        """
        args = fold_arguments(budget, margin_needed_db)
        if args is None:
            self.update(mast_index, window, *budget.margins(), margin_needed_db)
            return
        sl = window.slices
        fold_budget(*args, mast_index, self.margin_db[sl], self.second_margin_db[sl],
                    self.margin_dl_db[sl], self.margin_ul_db[sl], self.server[sl],
                    self.signal_dl_dbm[sl], self.n_at_target[sl])


def _is_py_float(x) -> bool:
    return type(x) is float  # a NumPy float64 scalar is a float too, but promotes otherwise


def _f32_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == np.float32


def _float_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64)


def fold_arguments(b: MastBudget, margin_needed_db) -> tuple | None:
    """The arguments of :func:`c2000cov.kernels.fold.fold_budget` before ``mast_index``,
    or None when a term's type would make NumPy compute in another precision than the
    kernel does (its module docstring says which): the caller then folds with NumPy."""
    term = b.terminal
    shape = b.loss_dl_db.shape
    ok = (_f32_array(b.loss_dl_db) and _f32_array(b.loss_ul_db) and b.loss_dl_db.ndim == 2
          and b.loss_ul_db.shape == shape and _is_py_float(b.clutter_dl_db)
          and _is_py_float(b.clutter_ul_db)
          and all(isinstance(x, np.float64) for x in (b.tx_power_dbm, b.tx_loss_db,
                                                        b.rx_loss_db))
          and (_f32_array(b.gain_dbi) or _is_py_float(b.gain_dbi))
          and _is_py_float(term.ul_eirp_dbm) and _is_py_float(term.ms_sensitivity_dbm)
          and (_float_array(b.entry_dl_db) or isinstance(b.entry_dl_db, float))
          and (_f32_array(b.entry_ul_db) or _is_py_float(b.entry_ul_db))
          and (b.offset_db is None or _float_array(b.offset_db)
               or isinstance(b.offset_db, float))
          and (_f32_array(b.d_dl_db) or _is_py_float(b.d_dl_db))
          and isinstance(b.evaluated, np.ndarray) and b.evaluated.dtype == np.bool_
          and (_float_array(margin_needed_db) or isinstance(margin_needed_db, float)))
    if not ok:
        return None

    def grid(x):  # a scalar as a read-only array of the window's shape (zero strides)
        return x if isinstance(x, np.ndarray) else np.broadcast_to(np.float64(x), shape)

    ul_array = isinstance(b.entry_ul_db, np.ndarray)
    ul_head = np.float32(0.0 if ul_array else term.ul_eirp_dbm - b.entry_ul_db)
    d_array = isinstance(b.d_dl_db, np.ndarray)
    # with a noise-rise raster the kernel adds it to the sensitivity in float32
    ms_dbm = term.ms_sensitivity_dbm + (0.0 if d_array else b.d_dl_db)
    offset = 0.0 if b.offset_db is None else b.offset_db
    return (b.loss_dl_db, b.loss_ul_db, np.float32(b.clutter_dl_db),
            np.float32(b.clutter_ul_db), float(b.tx_power_dbm), grid(b.gain_dbi),
            float(b.tx_loss_db), float(b.rx_loss_db), float(b.diversity_db),
            float(term.dl_terminal_db), term.ul_eirp_dbm, grid(b.entry_dl_db),
            grid(b.entry_ul_db), ul_array, ul_head, grid(offset), b.offset_db is not None,
            b.evaluated, ms_dbm, grid(b.d_dl_db), d_array,
            float(term.bs_sensitivity_dbm + b.d_ul_db), grid(margin_needed_db))


@dataclass(frozen=True)
class ProfileCoverage:
    """Coverage of one service profile on the grid (the bands of ``p_cover_<profile>.tif``)."""

    name: str
    grid: Grid
    p_cover: np.ndarray  # float32 0-1, NaN not evaluated
    limiting: np.ndarray  # uint8 LIMITING_*
    server: np.ndarray  # int16 mast index, -1 none
    signal_dl_dbm: np.ndarray  # float32 median DL signal of the best server
    n_at_target: np.ndarray  # uint8
    coverage_class: np.ndarray  # uint8 CLASS_*
    margin_dl_db: np.ndarray
    margin_ul_db: np.ndarray
    sigma_total_db: np.ndarray | float
    target_pct: float
    second_margin_db: np.ndarray | None = None


def finish(name: str, grid: Grid, best: BestServer, sigma_total_db, target_pct: float,
           classes: ClassesConfig, evaluated: np.ndarray) -> ProfileCoverage:
    """Turn a best-server reduction into probabilities, limiting direction and classes."""
    p = p_cover_of(best.margin_db, best.server, sigma_total_db, evaluated)
    reached = evaluated & (best.server >= 0)
    limiting = np.zeros(grid.shape, dtype="uint8")
    dl_limits = best.margin_dl_db <= best.margin_ul_db
    limiting[reached & dl_limits] = LIMITING_DL
    limiting[reached & ~dl_limits] = LIMITING_UL
    cls = classify(p, target_pct, classes.reduced_pct, classes.poor_pct)
    server = np.where(evaluated, best.server, -1).astype("int16")
    n_at = np.where(evaluated, best.n_at_target, 0).astype("uint8")
    sig = np.where(evaluated, best.signal_dl_dbm, np.nan).astype("float32")
    return ProfileCoverage(name, grid, p, limiting, server, sig, n_at, cls,
                           best.margin_dl_db, best.margin_ul_db, sigma_total_db, target_pct,
                           best.second_margin_db)


def p_cover_of(margin_db: np.ndarray, server: np.ndarray, sigma_total_db,
               evaluated: np.ndarray) -> np.ndarray:
    """The ``p_cover`` band of :func:`finish` from the best margin and server, for arrays of
    any shape (a selection of pixels too): NaN not evaluated, 0 where no mast reaches."""
    p = np.asarray(location_probability(margin_db, sigma_total_db), dtype="float32")
    p[~evaluated] = np.nan
    p[evaluated & (server < 0)] = 0.0
    return p


def classify(p_cover: np.ndarray, target_pct: float, reduced_pct: float,
             poor_pct: float) -> np.ndarray:
    """Meldkamer class codes (uint8 ``CLASS_*``) of location probabilities; NaN is not evaluated.

    The rule of the ``class`` band: good at or above the target, reduced and
    poor at or above their limits, none below; CLASS_NODATA where NaN.
    """
    ok = np.isfinite(p_cover)
    cls = np.full(np.shape(p_cover), CLASS_NODATA, dtype="uint8")
    cls[ok] = CLASS_NONE
    cls[ok & reaches_pct(p_cover, poor_pct)] = CLASS_POOR
    cls[ok & reaches_pct(p_cover, reduced_pct)] = CLASS_REDUCED
    cls[ok & reaches_pct(p_cover, target_pct)] = CLASS_GOOD
    return cls


def covered_mask(cov: ProfileCoverage) -> np.ndarray:
    """Boolean raster: evaluated pixels reaching the profile target."""
    return reaches_pct(cov.p_cover, cov.target_pct)


def covered_pct(cov: ProfileCoverage) -> float:
    """Share of the evaluated pixels reaching the profile target (%)."""
    ev = np.isfinite(cov.p_cover)
    return float(100.0 * covered_mask(cov)[ev].mean()) if ev.any() else 0.0


def covered_area_km2(cov: ProfileCoverage) -> float:
    """Area of pixels reaching the profile target, in km^2."""
    return float(covered_mask(cov).sum() * cov.grid.pixel_area_m2 / 1e6)
