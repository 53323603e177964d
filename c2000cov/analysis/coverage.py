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
