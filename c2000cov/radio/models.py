"""Path loss from one mast to every pixel of its window, for the chosen model.

Models (``[model] name``):

- ``fspl``: free space, ITU-R P.525 over the 3-D distance;
- ``hata``: Okumura-Hata (Hata 1980 / ITU-R P.529), 2-D distance, never below
  free space over the 3-D distance (near the mast, under Hata's 1 km validity,
  the formula falls below it: 10 dB at 0.1 km);
- ``p1812``: free space + delta-Bullington diffraction over the path profile of
  terrain and buildings, ITU-R P.1812 section 4.3, by the radial-sweep area
  kernel in :mod:`c2000cov.kernels.area`.

Each model is one entry of :data:`MODELS`, a :class:`PropagationModel` that
states its source and the three things a run asks of it: the loss over a
mast's window (NaN outside the radius or where the terrain has no data), the
loss between pairs of points (solar installation to mast) and a cheap lower
bound of that loss (for pruning). :func:`model_for` is the one place a model
name is resolved. Loss is reciprocal: the same array serves downlink and
uplink at a given frequency.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from c2000cov.errors import InvalidInputError
from c2000cov.geo.grid import Window
from c2000cov.geo.surface import Surface
from c2000cov.kernels.area import area_loss_multi_db
from c2000cov.kernels.area_cuda import area_loss_multi_db_gpu
from c2000cov.kernels.constants import POL_VERTICAL
from c2000cov.kernels.profile import p1812_point_losses_db
from c2000cov.radio.itu import hata, p525
from c2000cov.radio.itu.p2108 import CLUTTER_TYPES, height_gain_correction_db
from c2000cov.radio.sph_store import SPH_STORE
from c2000cov.resources import kernel_source_digest
from c2000cov.scenario.schema import ModelConfig
from c2000cov.units import effective_earth_radius_km


@dataclass(frozen=True)
class MastGeometry:
    """Where a mast sits on the grid."""

    row: int
    col: int
    ground_m: float
    h_agl_m: float

    @property
    def h_amsl_m(self) -> float:
        """Antenna height above mean sea level (m)."""
        return self.ground_m + self.h_agl_m


def mast_geometry(surface: Surface, x_m: float, y_m: float, h_agl_m: float) -> MastGeometry:
    """Pixel and ground height of a mast position."""
    row, col = surface.grid.rowcol(x_m, y_m)
    row, col = int(row), int(col)
    return MastGeometry(row, col, float(surface.ground_m[row, col]), float(h_agl_m))


#: Digest of every kernel source file; part of every loss-cache key, so a changed kernel
#: never reuses a stale loss window.
KERNEL_VERSION = kernel_source_digest()


def window_distances_m(shape: tuple[int, int], tx_row: int, tx_col: int, res_m: float):
    """Horizontal distance (m) from pixel (tx_row, tx_col) to each pixel centre of a window."""
    rows = (np.arange(shape[0]) - tx_row) * res_m
    cols = (np.arange(shape[1]) - tx_col) * res_m
    return np.hypot(rows[:, None], cols[None, :])



class PropagationModel:
    """A propagation model: its source and the losses a run asks of it.

    Subclasses implement :meth:`distance_loss_db` (analytic models over the
    window's distances) or override :meth:`window_losses_db` and
    :meth:`point_losses_db` (terrain models).
    """

    name = ""
    source = ""

    def distance_loss_db(self, model: ModelConfig, freq_mhz: float, dist_m, dz_m, h_tx_agl_m,
                         h_rx_m):
        """Loss (dB) at horizontal distances ``dist_m`` and height differences ``dz_m``."""
        raise NotImplementedError

    def window_losses_db(self, model: ModelConfig, surface_win: np.ndarray,
                         ground_win: np.ndarray, tx_row: int, tx_col: int, h_tx_agl_m: float,
                         h_rx_m: float, res_m: float, freqs: list[float]
                         ) -> dict[float, np.ndarray]:
        """``{freq_mhz: float32 loss}`` over one window; NaN outside the radius."""
        dist_m = np.maximum(window_distances_m(ground_win.shape, tx_row, tx_col, res_m),
                            0.5 * res_m)
        outside = (dist_m > model.radius_m) | np.isnan(ground_win)
        dz_m = np.nan_to_num((ground_win[tx_row, tx_col] + h_tx_agl_m) - (ground_win + h_rx_m))
        out = {}
        for f in freqs:
            loss = np.asarray(self.distance_loss_db(model, f, dist_m, dz_m, h_tx_agl_m, h_rx_m),
                              dtype="float32")
            loss[outside] = np.nan
            out[f] = loss
        return out

    def point_losses_db(self, model: ModelConfig, surface: Surface, pts: PointPairs,
                        freq_mhz: float) -> np.ndarray:
        """Loss (dB) between point pairs where both lie on known ground; NaN elsewhere."""
        loss = np.full(pts.ok.shape, np.nan)
        ok = pts.ok
        dz_m = np.where(ok, (pts.g0 + pts.h0) - (pts.g1 + pts.h1), 0.0)
        loss[ok] = self.distance_loss_db(model, freq_mhz, pts.dist_m[ok], dz_m[ok], pts.h1[ok],
                                         pts.h0[ok])
        return loss

    def lower_bound_db(self, model: ModelConfig, d_m: np.ndarray, h0_agl_m, h1_agl_m,
                       freq_mhz: float) -> np.ndarray:
        """Free space over the horizontal distance: a lower bound unless a subclass says else."""
        return np.asarray(p525.free_space_loss_db(freq_mhz, d_m / 1000.0), dtype=float)


class FreeSpace(PropagationModel):
    """Free space, ITU-R P.525 over the 3-D distance."""

    name = "fspl"
    source = p525.ITU_REC

    def distance_loss_db(self, model, freq_mhz, dist_m, dz_m, h_tx_agl_m, h_rx_m):
        return p525.free_space_loss_db(freq_mhz, np.hypot(dist_m, dz_m) / 1000.0)


class Hata(PropagationModel):
    """Okumura-Hata (Hata 1980 / ITU-R P.529) over the 2-D distance, floored at free space.

    Outside its validity (short paths, high mobiles) the Hata formula falls
    below free-space loss, which no real path can beat; the loss is therefore
    ``max(Hata, P.525 free space over the 3-D distance)``, and free space over
    the horizontal distance (the base class's bound) bounds it from below.
    """

    name = "hata"
    source = hata.ITU_REC + ", floored at ITU-R P.525 free space"

    def distance_loss_db(self, model, freq_mhz, dist_m, dz_m, h_tx_agl_m, h_rx_m):
        with warnings.catch_warnings():
            # distances under 1 km near every mast are expected; the run reports the validity
            warnings.simplefilter("ignore")
            loss = hata.hata_loss_db(freq_mhz, dist_m / 1000.0, h_tx_agl_m, h_rx_m,
                                     model.hata_environment)
        free_db = p525.free_space_loss_db(freq_mhz, np.hypot(dist_m, dz_m) / 1000.0)
        return np.maximum(loss, free_db)


class P1812(PropagationModel):
    """Free space plus delta-Bullington diffraction, ITU-R P.1812-8 section 4.3."""

    name = "p1812"
    source = "ITU-R P.1812-8 section 4.3 (delta-Bullington) area kernel"

    def window_losses_db(self, model, surface_win, ground_win, tx_row, tx_col, h_tx_agl_m,
                         h_rx_m, res_m, freqs):
        """One sweep of :func:`c2000cov.kernels.area.area_loss_multi_db` for every frequency;
        of :func:`c2000cov.kernels.area_cuda.area_loss_multi_db_gpu` when ``model.device`` is
        ``gpu`` (a run resolves ``auto`` first: :mod:`c2000cov.radio.device`)."""
        if not freqs:
            return {}
        # one argument signature for every call (C-contiguous float32 windows, Python
        # scalars): Numba then compiles and caches a single specialization, which also keeps
        # processes that share the cache (Dask workers) from racing on different ones
        # the Ldsph tables come from the process-wide store: built once per run and physics,
        # not per mast (the same tables, so the same results)
        kernel = area_loss_multi_db_gpu if model.device == "gpu" else area_loss_multi_db
        ground = np.ascontiguousarray(ground_win, dtype=np.float32)
        freqs_mhz = np.asarray(freqs, dtype=np.float64)
        ae_km = float(effective_earth_radius_km(model.k_factor))
        sph_tabs, sph_org = SPH_STORE.tables(ground, float(h_tx_agl_m), float(h_rx_m),
                                             float(res_m), float(model.radius_m), freqs_mhz,
                                             ae_km, POL_VERTICAL, 0.0)
        loss = kernel(np.ascontiguousarray(surface_win, dtype=np.float32), ground,
                      int(tx_row), int(tx_col), float(h_tx_agl_m), float(h_rx_m), float(res_m),
                      float(model.radius_m), freqs_mhz, ae_km, POL_VERTICAL, 0.0,
                      sph_tabs=sph_tabs, sph_org=sph_org)
        return {f: loss[k].astype("float32", copy=False) for k, f in enumerate(freqs)}

    def point_losses_db(self, model, surface, pts, freq_mhz):
        """P.1812-8 eq. (8) free space over the 3-D distance plus delta-Bullington over the
        profile sampled from the surface
        (:func:`c2000cov.kernels.profile.p1812_point_losses_db`)."""
        loss = np.full(pts.ok.shape, np.nan)
        idx = np.flatnonzero(pts.ok)
        if idx.size:
            loss[idx] = p1812_point_losses_db(
                surface.surface_m, surface.ground_m, pts.r0[idx], pts.c0[idx], pts.h0[idx],
                pts.r1[idx], pts.c1[idx], pts.h1[idx], surface.grid.resolution_m,
                float(freq_mhz), effective_earth_radius_km(model.k_factor))
        return loss


#: Every propagation model by its ``[model] name``.
MODELS: dict[str, PropagationModel] = {m.name: m for m in (FreeSpace(), Hata(), P1812())}
#: Model source strings that outputs and reports repeat.
MODEL_SOURCES = {name: m.source for name, m in MODELS.items()}


def model_for(model: ModelConfig) -> PropagationModel:
    """The registry entry of a model configuration (the one place a name is resolved)."""
    try:
        return MODELS[model.name]
    except KeyError:
        raise InvalidInputError(f"unknown model {model.name!r}; choose one of: "
                                + ", ".join(MODELS)) from None


def window_loss_db(model: ModelConfig, surface_win: np.ndarray, ground_win: np.ndarray,
                   tx_row: int, tx_col: int, h_tx_agl_m: float, h_rx_m: float, res_m: float,
                   freq_mhz: float) -> np.ndarray:
    """Basic transmission loss (dB, float32) over one window; NaN outside the radius.

    Parameters
    ----------
    model : ModelConfig
        Model name, radius (m), k-factor.
    surface_win, ground_win : 2-D float32 arrays
        Surface (terrain + buildings) and terrain heights of the window (m amsl).
    tx_row, tx_col : int
        Transmitter pixel inside the window.
    h_tx_agl_m, h_rx_m : float
        Antenna heights above ground (m) of transmitter and receivers.
    res_m : float
        Pixel size (m).
    freq_mhz : float
        Frequency (MHz).
    """
    return window_losses_db(model, surface_win, ground_win, tx_row, tx_col, h_tx_agl_m, h_rx_m,
                            res_m, [freq_mhz])[float(freq_mhz)]


def window_losses_db(model: ModelConfig, surface_win: np.ndarray, ground_win: np.ndarray,
                     tx_row: int, tx_col: int, h_tx_agl_m: float, h_rx_m: float, res_m: float,
                     freqs_mhz) -> dict[float, np.ndarray]:
    """:func:`window_loss_db` at several frequencies: ``{freq_mhz: loss}``.

    For ``p1812`` one sweep of the area kernel computes every frequency; each
    array is bit-identical to what :func:`window_loss_db` returns for that
    frequency alone.

    Parameters
    ----------
    model, surface_win, ground_win, tx_row, tx_col, h_tx_agl_m, h_rx_m, res_m
        As for :func:`window_loss_db`.
    freqs_mhz : iterable of float
        Frequencies (MHz); duplicates are computed once.
    """
    freqs = list(dict.fromkeys(float(f) for f in freqs_mhz))
    return model_for(model).window_losses_db(model, surface_win, ground_win, tx_row, tx_col,
                                             h_tx_agl_m, h_rx_m, res_m, freqs)


def path_loss_db(model: ModelConfig, surface: Surface, mast: MastGeometry, freq_mhz: float,
                 h_rx_m: float) -> tuple[Window, np.ndarray]:
    """Basic transmission loss (dB) from a mast to receivers ``h_rx_m`` above ground.

    Returns the mast's window (``model.radius_m`` around it, clipped to the
    grid) and its float32 loss, NaN outside the radius or on no-data terrain.
    """
    window = surface.grid.window_around(mast.row, mast.col, model.radius_m)
    loss = window_loss_db(model, surface.surface_m[window.slices], surface.ground_m[window.slices],
                          mast.row - window.row_off, mast.col - window.col_off, mast.h_agl_m,
                          h_rx_m, surface.grid.resolution_m, freq_mhz)
    return window, loss


# --------------------------------------------------------------------------- point to point


@dataclass(frozen=True)
class PointPairs:
    """Point pairs on the grid: fractional pixels, heights above ground, ground heights,
    horizontal distance (at least half a pixel) and whether both points lie on known ground."""

    r0: np.ndarray
    c0: np.ndarray
    h0: np.ndarray
    r1: np.ndarray
    c1: np.ndarray
    h1: np.ndarray
    g0: np.ndarray
    g1: np.ndarray
    dist_m: np.ndarray
    ok: np.ndarray


def _point_pixels(surface: Surface, x_m, y_m):
    """Fractional pixel coordinates (row_f, col_f) of points, and whether they lie inside."""
    t = surface.grid.transform
    col_f = (np.asarray(x_m, dtype=float) - t.c) / t.a
    row_f = (np.asarray(y_m, dtype=float) - t.f) / t.e
    inside = np.asarray(surface.grid.contains(x_m, y_m), dtype=bool)
    return row_f, col_f, inside


def _ground_at(surface: Surface, row_f, col_f, inside):
    h, w = surface.grid.shape
    r = np.clip(np.floor(row_f).astype(np.int64), 0, h - 1)
    c = np.clip(np.floor(col_f).astype(np.int64), 0, w - 1)
    return np.where(inside, surface.ground_m[r, c].astype(float), np.nan)


def point_loss_db(model: ModelConfig, surface: Surface, x0_m, y0_m, h0_agl_m, x1_m, y1_m,
                  h1_agl_m, freq_mhz: float) -> np.ndarray:
    """Basic transmission loss (dB) between pairs of points, with the coverage model.

    The point-to-point twin of :func:`path_loss_db`: the same model and the
    same rules, for paths that do not start at a mast (solar installation to
    mast antenna). Inputs broadcast against each other.

    - ``p1812``: P.1812-8 eq. (8) free space over the 3-D distance plus
      delta-Bullington diffraction (section 4.3.4) over the profile sampled
      from the surface at about one pixel spacing, terminals at ground height,
      effective Earth radius from ``model.k_factor``
      (:func:`c2000cov.kernels.profile.p1812_point_loss_db`);
    - ``fspl``: P.525 free space over the 3-D distance;
    - ``hata``: Okumura-Hata with point 1 as the base station (``h1_agl_m`` =
      base height, ``h0_agl_m`` = mobile height), floored at free space;
      outside Hata's validity the loss is computed without a warning, as in
      :func:`path_loss_db`.

    The horizontal distance is at least half a pixel (the area kernel's rule
    for the mast pixel). ``model.radius_m`` is not applied.

    Parameters
    ----------
    model : ModelConfig
        Model name, k-factor, Hata environment.
    surface : Surface
        Terrain and buildings on the analysis grid.
    x0_m, y0_m : float or array_like
        Position of point 0 in the grid CRS (m).
    h0_agl_m : float or array_like
        Antenna height of point 0 above the ground of its pixel (m), > 0.
    x1_m, y1_m : float or array_like
        Position of point 1 (m).
    h1_agl_m : float or array_like
        Antenna height of point 1 above the ground of its pixel (m), > 0.
    freq_mhz : float
        Frequency (MHz).

    Returns
    -------
    ndarray of float64
        Loss in dB, broadcast shape of the inputs; NaN where a point lies
        outside the grid or on a pixel with no ground height.
    """
    x0, y0, h0, x1, y1, h1 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (x0_m, y0_m, h0_agl_m, x1_m, y1_m, h1_agl_m)))
    shape = x0.shape
    x0, y0, h0, x1, y1, h1 = (v.ravel() for v in (x0, y0, h0, x1, y1, h1))
    r0, c0, in0 = _point_pixels(surface, x0, y0)
    r1, c1, in1 = _point_pixels(surface, x1, y1)
    g0 = _ground_at(surface, r0, c0, in0)
    g1 = _ground_at(surface, r1, c1, in1)
    dist_m = np.maximum(np.hypot(x1 - x0, y1 - y0), 0.5 * surface.grid.resolution_m)
    pts = PointPairs(r0, c0, h0, r1, c1, h1, g0, g1, dist_m, np.isfinite(g0) & np.isfinite(g1))
    return model_for(model).point_losses_db(model, surface, pts, freq_mhz).reshape(shape)


def point_loss_lower_bound_db(model: ModelConfig, dist_m, h0_agl_m, h1_agl_m, freq_mhz: float,
                              pixel_m: float) -> np.ndarray:
    """A cheap lower bound (dB) of :func:`point_loss_db` from the horizontal distance alone.

    - ``p1812`` and ``fspl``: free-space loss over the horizontal distance
      (at least half a pixel). The 3-D distance is never shorter and the
      delta-Bullington loss is never negative (J(nu) >= 0 in P.1812-8
      eq. 12, and eq. 39 adds only non-negative terms), so this bounds the
      loss from below exactly.
    - ``hata``: the same free-space loss: the Hata loss is floored at free
      space over the 3-D distance.

    Parameters
    ----------
    model : ModelConfig
    dist_m : array_like
        Horizontal distance between the points (m).
    h0_agl_m, h1_agl_m : array_like
        Heights above ground of point 0 and point 1 (m); used by ``hata`` only.
    freq_mhz : float
        Frequency (MHz).
    pixel_m : float
        Pixel size (m) (the shortest distance used is half a pixel).
    """
    d_m = np.maximum(np.asarray(dist_m, dtype=float), 0.5 * pixel_m)
    return model_for(model).lower_bound_db(model, d_m, h0_agl_m, h1_agl_m, freq_mhz)


def loss_height_m(model: ModelConfig, h_rx_m: float) -> float:
    """Receiver height (m) the path loss is computed to.

    With ``clutter_correction`` and a terminal below the clutter, ITU-R
    P.2108-1 section 3.1 computes the basic transmission loss to the
    representative clutter height R of ``clutter_type`` and adds ``Ah``
    (:func:`clutter_loss_db`) for the terminal below it; otherwise the terminal
    height itself.
    """
    if not model.clutter_correction:
        return float(h_rx_m)
    return max(float(h_rx_m), CLUTTER_TYPES[model.clutter_type][1])


def clutter_loss_db(model: ModelConfig, freq_mhz: float, h_rx_m: float) -> float:
    """ITU-R P.2108 section 3.1 height-gain correction at the receiver (0 dB when off).

    It adds to a loss computed to :func:`loss_height_m`, not to ``h_rx_m``.
    """
    if not model.clutter_correction:
        return 0.0
    return float(height_gain_correction_db(freq_mhz, h_rx_m, model.clutter_type))
