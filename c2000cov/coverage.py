"""TETRA link budgets per pixel, per mast and per direction, and coverage probability.

For each service profile and mast (DOMAIN.md; ETSI EN 300 392-2 defaults):

- downlink: ``S_dl = tx_power_dbm + G(pixel) - tx_loss_db - L_dl + ms_gain_dbi
  - body_loss_db - extra_loss_db - BEL``, required ``ms_sensitivity_dbm + D_dl(pixel)``;
- uplink: ``S_ul = ms_tx_power_dbm + ms_gain_dbi - body_loss_db - extra_loss_db - BEL
  - L_ul + G(pixel) - rx_loss_db``, required ``bs_sensitivity_dbm + D_ul(mast)``;

where G is the mast antenna gain toward the pixel, L the path loss at the
DL/UL frequency, BEL the median building entry loss (ITU-R P.2109, indoor
profiles only) and D the noise rise from solar-panel interference (0 dB when
no PV layer is given).

The shadowing of a path is the same in both directions, so a pixel is
covered by a mast when both margins exceed the same lognormal fade X ~ N(0,
sigma): ``P = Q(-min(m_dl, m_ul) / sigma_total) = Q((S_req - S_median) / sigma)``
for the limiting direction, with ``sigma_total`` the root-sum-square of the
location variability and the entry-loss spread. The best server is the mast
with the largest limiting margin (ties: the earlier mast in the masts file).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from c2000cov.config import ClassesConfig, ProfileConfig, RadioConfig
from c2000cov.grid import Grid, Window
from c2000cov.probability import q_function

#: Codes of the ``limiting`` band.
LIMITING_NONE, LIMITING_DL, LIMITING_UL = 0, 1, 2
LIMITING_NAMES = {LIMITING_DL: "DL", LIMITING_UL: "UL"}
#: Codes of the ``class`` band, worst to best; 255 = not evaluated.
CLASS_NONE, CLASS_POOR, CLASS_REDUCED, CLASS_GOOD, CLASS_NODATA = 0, 1, 2, 3, 255
CLASS_NAMES = {CLASS_NONE: "none", CLASS_POOR: "poor", CLASS_REDUCED: "reduced",
               CLASS_GOOD: "good"}


@dataclass(frozen=True)
class Terminal:
    """The terminal-side terms of one profile, in dB, shared by all masts."""

    dl_terminal_db: float  # ms_gain - body - extra (added to DL)
    ul_eirp_dbm: float  # ms_tx_power + ms_gain - body - extra
    ms_sensitivity_dbm: float
    bs_sensitivity_dbm: float

    @classmethod
    def from_profile(cls, prof: ProfileConfig) -> Terminal:
        """Terminal terms of a service profile."""
        common = prof.ms_gain_dbi - prof.body_loss_db - prof.extra_loss_db
        return cls(common, prof.ms_tx_power_dbm + common, prof.ms_sensitivity_dbm,
                   prof.bs_sensitivity_dbm)


def downlink_signal_dbm(tx_power_dbm, gain_dbi, tx_loss_db, loss_db, terminal: Terminal,
                        entry_loss_db=0.0):
    """Median downlink signal at the terminal receiver input (dBm)."""
    return tx_power_dbm + gain_dbi - tx_loss_db - loss_db + terminal.dl_terminal_db - entry_loss_db


def uplink_signal_dbm(gain_dbi, rx_loss_db, loss_db, terminal: Terminal, entry_loss_db=0.0):
    """Median uplink signal at the mast receiver input (dBm)."""
    return terminal.ul_eirp_dbm - entry_loss_db - loss_db + gain_dbi - rx_loss_db


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
        second[runner_up] = m[runner_up]
        second[better] = self.margin_db[sl][better]
        for arr, new in ((self.margin_db, m), (self.margin_dl_db, margin_dl_db),
                         (self.margin_ul_db, margin_ul_db), (self.signal_dl_dbm, signal_dl_dbm)):
            view = arr[sl]
            view[better] = np.asarray(new, dtype="float32")[better]
        self.server[sl][better] = mast_index
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
    p = np.asarray(q_function(-best.margin_db / sigma_total_db), dtype="float32")
    p[~evaluated] = np.nan
    reached = evaluated & (best.server >= 0)
    p[evaluated & ~reached] = 0.0
    limiting = np.zeros(grid.shape, dtype="uint8")
    dl_limits = best.margin_dl_db <= best.margin_ul_db
    limiting[reached & dl_limits] = LIMITING_DL
    limiting[reached & ~dl_limits] = LIMITING_UL
    cls = np.full(grid.shape, CLASS_NODATA, dtype="uint8")
    cls[evaluated] = CLASS_NONE
    cls[evaluated & (p >= classes.poor_pct / 100.0)] = CLASS_POOR
    cls[evaluated & (p >= classes.reduced_pct / 100.0)] = CLASS_REDUCED
    cls[evaluated & (p >= target_pct / 100.0)] = CLASS_GOOD
    server = np.where(evaluated, best.server, -1).astype("int16")
    n_at = np.where(evaluated, best.n_at_target, 0).astype("uint8")
    sig = np.where(evaluated, best.signal_dl_dbm, np.nan).astype("float32")
    return ProfileCoverage(name, grid, p, limiting, server, sig, n_at, cls,
                           best.margin_dl_db, best.margin_ul_db, sigma_total_db, target_pct,
                           best.second_margin_db)


def noise_floor_dbm(radio: RadioConfig, noise_figure_db: float) -> float:
    """Receiver noise floor kTB + NF in the channel bandwidth (dBm)."""
    from c2000cov.units import thermal_noise_dbm

    return thermal_noise_dbm(radio.bandwidth_khz * 1e3, noise_figure_db)


def covered_area_km2(cov: ProfileCoverage) -> float:
    """Area of pixels reaching the profile target, in km^2."""
    good = np.nan_to_num(cov.p_cover, nan=0.0) >= cov.target_pct / 100.0
    return float(good.sum() * cov.grid.pixel_area_m2 / 1e6)
