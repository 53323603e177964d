"""TETRA link budgets per pixel, per mast and per direction, and coverage probability.

For each service profile and mast (DOMAIN.md; ETSI EN 300 392-2 defaults):

- downlink: ``S_dl = tx_power_dbm + G(pixel) - tx_loss_db - L_dl + ms_gain_dbi
  - body_loss_db - extra_loss_db - BEL``, required ``ms_sensitivity_dbm + D_dl(pixel)``;
- uplink: ``S_ul = ms_tx_power_dbm + ms_gain_dbi - body_loss_db - extra_loss_db - BEL
  - L_ul + G(pixel) - rx_loss_db + G_div``, required ``bs_sensitivity_dbm + D_ul(mast)``;

where G is the mast antenna gain toward the pixel, L the path loss at the
DL/UL frequency, G_div the mast's receive-diversity gain (masts-file
``rx_diversity_gain_db``, else ``[radio] bs_diversity_gain_db``: the
sensitivity is per branch, the combined branches need that much less signal),
BEL the median building entry loss (ITU-R P.2109, indoor
profiles only) plus the land-cover terminal loss (``[landcover]
terminal_loss_db`` of the class the terminal stands in, e.g. a forest; every
profile, both directions) and D the noise rise from solar-panel interference (0 dB when
no PV layer is given).

Indoors, L is the outdoor loss *at the facade* (:func:`facade_pixels`): ITU-R
P.2109 defines the entry loss as the difference between the level outside the
building, at the same height, and the level inside it. The area kernel's loss
at a pixel inside a footprint is to a point 1.5 m above ground *behind* the
building's own walls and roof, i.e. it already carries the building as an
obstacle; adding P.2109 on top counts the building twice.

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

from c2000cov.geo.grid import Window, window_of
from c2000cov.geo.surface import Surface
from c2000cov.radio.itu import p2109
from c2000cov.radio.probability import combine_sigma_db, fade_margin_db
from c2000cov.scenario.schema import ProfileConfig, RadioConfig, Scenario
from c2000cov.units import thermal_noise_dbm


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


def uplink_signal_dbm(gain_dbi, rx_loss_db, loss_db, terminal: Terminal, entry_loss_db=0.0,
                      diversity_gain_db=0.0):
    """Median uplink signal at the mast receiver input (dBm), diversity gain included."""
    return (terminal.ul_eirp_dbm - entry_loss_db - loss_db + gain_dbi - rx_loss_db
            + diversity_gain_db)


def mast_diversity_gain_db(mast, radio: RadioConfig) -> float:
    """A mast's receive-diversity gain: its masts-file value, else the scenario default."""
    value = mast.get("rx_diversity_gain_db", np.nan) if hasattr(mast, "get") else np.nan
    return float(radio.bs_diversity_gain_db if value is None or np.isnan(value) else value)


def noise_floor_dbm(radio: RadioConfig, noise_figure_db: float) -> float:
    """Receiver noise floor kTB + NF in the channel bandwidth (dBm)."""
    return thermal_noise_dbm(radio.bandwidth_khz * 1e3, noise_figure_db)


#: Step along the ray toward the mast when looking for the facade (pixels).
FACADE_STEP_PX = 0.5
#: Deepest point inside a footprint that looks for its facade (m); deeper pixels (and the
#: pixels of a building that holds the mast itself) keep their own loss.
FACADE_MAX_DEPTH_M = 250.0


def facade_pixels(building: np.ndarray, tx_row: int, tx_col: int, res_m: float,
                  max_depth_m: float = FACADE_MAX_DEPTH_M):
    """The facade pixel of every building pixel of a window, seen from the mast.

    Walking from a building pixel toward the mast (in ``FACADE_STEP_PX`` steps
    along the straight line between pixel centres), the facade pixel is the
    first pixel off the building footprint: the outdoor spot in front of the
    wall that faces the mast, where the P.2109 reference level is measured.

    Parameters
    ----------
    building : 2-D bool array
        Building footprints of the mast's window.
    tx_row, tx_col : int
        The mast's pixel in the window.
    res_m : float
        Pixel size (m).
    max_depth_m : float
        Pixels farther than this from their facade, and pixels whose walk
        reaches the mast without leaving the footprint, are left out.

    Returns
    -------
    (rows, cols, facade_rows, facade_cols) : int arrays
        Building pixels and their facade pixels, window coordinates.
    """
    rows, cols = np.nonzero(building)
    dr = (tx_row - rows).astype("float64")
    dc = (tx_col - cols).astype("float64")
    dist = np.hypot(dr, dc)
    keep = dist > 0
    rows, cols, dr, dc, dist = rows[keep], cols[keep], dr[keep], dc[keep], dist[keep]
    ur, uc = dr / dist, dc / dist
    f_rows = np.full(rows.shape, -1, dtype=np.int64)
    f_cols = np.full(rows.shape, -1, dtype=np.int64)
    pending = np.ones(rows.shape, dtype=bool)
    h, w = building.shape
    n_steps = int(np.ceil(max_depth_m / res_m / FACADE_STEP_PX))
    for k in range(1, n_steps + 1):
        idx = np.flatnonzero(pending)
        if idx.size == 0:
            break
        t = np.minimum(k * FACADE_STEP_PX, dist[idx])  # never walk past the mast
        rr = np.clip(np.rint(rows[idx] + t * ur[idx]).astype(np.int64), 0, h - 1)
        cc = np.clip(np.rint(cols[idx] + t * uc[idx]).astype(np.int64), 0, w - 1)
        out = ~building[rr, cc]
        hit = idx[out]
        f_rows[hit], f_cols[hit] = rr[out], cc[out]
        pending[hit] = False
        pending[idx[~out & (t >= dist[idx])]] = False  # reached the mast inside the building
    found = f_rows >= 0
    return rows[found], cols[found], f_rows[found], f_cols[found]


def loss_at_facade_db(loss_db: np.ndarray, facade) -> np.ndarray:
    """A loss window with every building pixel given the loss of its facade pixel."""
    rows, cols, f_rows, f_cols = facade
    out = np.array(loss_db, copy=True)
    out[rows, cols] = loss_db[f_rows, f_cols]
    return out


@dataclass(frozen=True)
class ProfilePlan:
    """Per-profile constants for the link budget."""

    name: str
    terminal: Terminal
    h_rx_m: float
    evaluated: np.ndarray  # bool: pixels evaluated (all, or buildings for indoor)
    bel_dl_db: np.ndarray | float
    bel_ul_db: np.ndarray | float
    sigma_total_db: np.ndarray | float
    margin_needed_db: np.ndarray | float
    target_pct: float
    indoor: bool = False


def terminal_loss_db(landcover: np.ndarray | None, table: dict[str, float]
                     ) -> np.ndarray | float:
    """Extra loss (dB, float32) of a terminal standing in each pixel's land-cover class.

    Classes not in ``table`` and no-data cells (-1) add 0 dB; without land
    cover or with an empty table it is 0.0.
    """
    if landcover is None or not table:
        return 0.0
    out = np.zeros(landcover.shape, dtype="float32")
    for code, loss_db in table.items():
        out[landcover == int(code)] = loss_db
    return out


def plan_profiles(scen: Scenario, surf: Surface,
                  sigma_db: np.ndarray | float | None = None,
                  landcover: np.ndarray | None = None) -> list[ProfilePlan]:
    """Terminal terms, evaluated pixels and entry losses of every profile.

    ``sigma_db`` (a scalar or a raster on the grid), when given, replaces every
    profile's location variability (a calibration's fitted σ). The land-cover
    terminal loss (``landcover``: class codes on the grid) is added to the entry losses.
    """
    lc_db = terminal_loss_db(landcover, scen.landcover.terminal_loss_db
                             if scen.landcover is not None else {})
    plans = []
    for name, prof in scen.profiles.items():
        loc_sigma_db = prof.sigma_db if sigma_db is None else sigma_db
        valid = np.isfinite(surf.ground_m)
        if prof.indoor:
            evaluated = valid & surf.building_mask
            if prof.building_class == "by_year":
                efficient = surf.building_year >= prof.year_threshold
                efficient &= surf.building_year > 0
            else:
                efficient = np.full(surf.grid.shape,
                                    prof.building_class == "thermally_efficient")
            bel = {}
            for key, freq in (("dl", scen.radio.dl_freq_mhz), ("ul", scen.radio.ul_freq_mhz)):
                trad_med, trad_sig = p2109.entry_loss_median_and_sigma_db(freq, "traditional")
                eff_med, eff_sig = p2109.entry_loss_median_and_sigma_db(freq,
                                                                        "thermally_efficient")
                bel[key] = np.where(efficient, eff_med, trad_med).astype("float32")
                if key == "dl":
                    bel_sigma = np.where(efficient, eff_sig, trad_sig).astype("float32")
            sigma_total = np.asarray(combine_sigma_db(loc_sigma_db, bel_sigma), dtype="float32")
            bel_dl, bel_ul = bel["dl"], bel["ul"]
        else:
            # an outdoor terminal is not on a roof: building pixels are not evaluated
            evaluated = valid & ~surf.building_mask
            bel_dl = bel_ul = 0.0
            sigma_total = loc_sigma_db
        if isinstance(lc_db, np.ndarray):
            bel_dl, bel_ul = bel_dl + lc_db, bel_ul + lc_db
        plans.append(ProfilePlan(name, Terminal.from_profile(prof), prof.h_rx_m, evaluated,
                                 bel_dl, bel_ul, sigma_total,
                                 fade_margin_db(sigma_total, prof.target_pct), prof.target_pct,
                                 prof.indoor))
    return plans


@dataclass(frozen=True)
class MastBudget:
    """One mast's link-budget terms over its window (or a part of it), for one profile
    and noise state: what its margins are computed from.

    Array terms have the window's shape; the others are scalars of the types the
    pipeline gives them (NumPy float64 for the masts-file values, Python floats for
    the scenario's). :meth:`margins` is the budget of the module docstring in NumPy;
    :func:`c2000cov.kernels.fold.fold_budget` computes the same, bit for bit, in one
    pass (:meth:`c2000cov.analysis.coverage.BestServer.fold`).
    """

    loss_dl_db: np.ndarray  # float32 path loss (indoors: at the facade), DL frequency
    loss_ul_db: np.ndarray
    clutter_dl_db: float  # clutter correction added to each loss
    clutter_ul_db: float
    tx_power_dbm: float
    gain_dbi: np.ndarray | float  # mast antenna gain toward the pixel
    tx_loss_db: float
    rx_loss_db: float
    diversity_db: float
    terminal: Terminal
    entry_dl_db: np.ndarray | float  # BEL plus the land-cover terminal loss
    entry_ul_db: np.ndarray | float
    offset_db: np.ndarray | float | None  # a calibration's fitted correction, both directions
    evaluated: np.ndarray  # bool
    d_dl_db: np.ndarray | float  # downlink noise rise per pixel (0.0: none)
    d_ul_db: float  # the mast's uplink noise rise

    def crop(self, part: Window) -> MastBudget:
        """The terms over ``part`` of the window (in its pixels: a tile's part of it)."""
        return MastBudget(**{k: window_of(v, part) for k, v in self.__dict__.items()})

    def margins(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(margin_dl_db, margin_ul_db, signal_dl_dbm)``: NaN margins where the profile
        does not evaluate the pixel."""
        loss_dl = self.loss_dl_db + self.clutter_dl_db
        loss_ul = self.loss_ul_db + self.clutter_ul_db
        s_dl = downlink_signal_dbm(self.tx_power_dbm, self.gain_dbi, self.tx_loss_db, loss_dl,
                                   self.terminal, self.entry_dl_db)
        s_ul = uplink_signal_dbm(self.gain_dbi, self.rx_loss_db, loss_ul, self.terminal,
                                 self.entry_ul_db, self.diversity_db)
        if self.offset_db is not None:
            s_dl = s_dl + self.offset_db
            s_ul = s_ul + self.offset_db
        req_dl = self.terminal.ms_sensitivity_dbm + self.d_dl_db
        req_ul = self.terminal.bs_sensitivity_dbm + self.d_ul_db
        return (np.where(self.evaluated, s_dl - req_dl, np.nan),
                np.where(self.evaluated, s_ul - req_ul, np.nan), s_dl)
