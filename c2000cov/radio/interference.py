"""Solar-panel (PV optimizer/inverter) interference: uplink noise rise per mast, downlink raster.

Model (DOMAIN.md, "Solar-panel interference"; every number is a field of
:class:`~c2000cov.scenario.config.InterferenceConfig`):

1. **Emission.** A device at the emission limit (CISPR 11 / EN 55011 class B,
   230-1000 MHz: ``E = 37 dBuV/m`` quasi-peak at 10 m in 120 kHz) has, by the
   free-space relation ``E[dBuV/m] = EIRP[dBm] - 20 log10(d[m]) + 104.77``
   (:data:`c2000cov.units.FIELD_EIRP_CONSTANT_DB`), less the test site's ground
   reflection R and the quasi-peak-to-RMS excess Q (:func:`device_eirp_dbm`),
   ``EIRP = 37 - R - Q - 104.77 + 20 log10(10)`` per 120 kHz; noise-like, so
   -54.58 dBm (R = Q = 0; -63.58 dBm at the defaults 6 + 3 dB) in 25 kHz. An
   installation radiates ``EIRP = EIRP_device + emission_db_over_limit + 10 log10(n_devices) +
   10 log10(sun_factor)`` (incoherent power sum of its devices), unless a
   measured ``eirp_dbm_per_25khz`` is given, which replaces the first three
   terms. A mitigated installation has its excess capped at
   ``mitigated_db_over_limit`` (default 0 dB: the devices brought to the
   limit). ``sun_factor = 0`` (night) means no emission at all; powers are
   kept in mW internally, so night gives exactly zero and no ``-inf`` arithmetic.
2. **Sources.** A point installation is one source; a polygon (solar park) is
   sampled on a regular grid of ``park_sample_m`` spacing centred on its
   bounding box (at least one point: its representative point), the points
   sharing the devices equally. Source height above ground: ``h_agl_m`` when
   given, else the roof (surface minus ground) plus ``roof_offset_m`` on a
   building pixel, else ``park_h_agl_m``. Points outside the grid or on
   no-data terrain cannot be propagated and are dropped with a warning.
3. **Uplink.** At each mast ``I = sum_i EIRP_i - L_i + G_mast(i) - rx_loss_db``
   (power sum, mW) with ``L_i`` the loss from the source to the mast antenna at
   the uplink frequency with the coverage model
   (:func:`c2000cov.radio.models.point_loss_db`) and ``G_mast`` the mast gain
   toward the source (pattern shape on top of the mast's ``gain_dbi``). The
   noise floor is ``N = kTB + bs_noise_figure_db`` (-126 dBm in 25 kHz with
   4 dB) and the noise rise ``D_ul = 10 log10(1 + I / N)``.
4. **Downlink.** Around each source, the area loss to every pixel within a
   radius (:func:`c2000cov.radio.models.path_loss_db`, the source acting as a
   "mast" at its height), summed in mW into ``I`` at a handheld (``h_rx_m``,
   antenna gain minus body loss ``rx_gain_db``), gives
   ``D_dl = 10 log10(1 + I / N_ms)`` with ``N_ms = kTB + ms_noise_figure_db``.

Pruning (uplink)
----------------
The free-space loss over the horizontal distance never exceeds the model's
loss (:func:`c2000cov.radio.models.point_loss_lower_bound_db`), and the gain
toward the source is computed exactly (it is cheap), so
``B_i = EIRP_i - L_lower(d_i) + G_i - rx_loss`` bounds each contribution from
above. Per mast the sources are sorted by ``B_i`` and the largest set of
smallest bounds whose sum stays at or below ``N * 10^(-prune_margin_db / 10)``
is left out; only the rest get the (expensive) path loss. The left-out
interference ``eps`` then changes ``D_ul`` by at most
``10 log10(1 + eps / N) <= 10 log10(1 + 10^(-prune_margin_db / 10))``,
0.0043 dB at the default 30 dB.

Pruning (downlink)
------------------
Each source's radius is where the free-space bound of its contribution at
the handheld falls ``prune_margin_db`` below ``N_ms`` (the same lower bound of
the loss), capped at ``dl_max_radius_m``. This bounds each source's
left-out part, not their sum; the cap (default 3000 m) decides for most
sources. With the ``p1812`` model the loss at a 1.5 m handheld 3 km away in a
town is far above free space; with ``fspl`` the cap leaves out real power.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.crs import CRS

from c2000cov.errors import InvalidInputError
from c2000cov.files.msi import AntennaPattern
from c2000cov.files.vectors import read_vector
from c2000cov.geo.surface import Surface
from c2000cov.radio.antenna import mast_gain_toward_dbi
from c2000cov.radio.models import (
    MastGeometry,
    mast_geometry,
    path_loss_db,
    point_loss_db,
    point_loss_lower_bound_db,
)
from c2000cov.scenario.schema import InterferenceConfig, ModelConfig, RadioConfig
from c2000cov.units import FIELD_EIRP_CONSTANT_DB, thermal_noise_dbm

#: Number of top contributors listed per mast in ``masts_interference``.
N_TOP = 5

ProgressFn = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- emission


def device_eirp_dbm(cfg: InterferenceConfig, bandwidth_khz: float) -> float:
    """EIRP (dBm) of one device exactly at the emission limit, in the receiver bandwidth.

    ``EIRP = E_limit - R - Q - 104.77 + 20 log10(d_limit) + 10 log10(B / B_limit)``
    (the limit less the test site's ground reflection R and the detector's
    quasi-peak-to-RMS excess Q, the free-space field-EIRP relation, then
    noise-like scaling to the channel): -54.58 dBm for 37 dBuV/m at 10 m in
    120 kHz, 25 kHz and R = Q = 0; -63.58 dBm at R = 6 dB, Q = 3 dB.

    Parameters
    ----------
    cfg : InterferenceConfig
        ``limit_dbuv_m``, ``limit_dist_m``, ``limit_bandwidth_khz``,
        ``ground_reflection_db``, ``qp_to_rms_db``.
    bandwidth_khz : float
        Receiver channel bandwidth (kHz).
    """
    field_rms_dbuv_m = cfg.limit_dbuv_m - cfg.ground_reflection_db - cfg.qp_to_rms_db
    eirp_limit_bw_dbm = (field_rms_dbuv_m - FIELD_EIRP_CONSTANT_DB
                         + 20.0 * math.log10(cfg.limit_dist_m))
    return float(eirp_limit_bw_dbm + 10.0 * math.log10(bandwidth_khz / cfg.limit_bandwidth_khz))


def read_mitigation_area(path, crs: CRS, layer: str | None = None) -> gpd.GeoSeries:
    """Read the polygons of a ``mitigate_within`` what-if, in the grid CRS."""
    gdf = read_vector(path, "mitigate_within", layer, crs)
    poly = gdf.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if len(gdf) == 0 or not poly.all():
        got = "no features" if len(gdf) == 0 else gdf.geom_type.iloc[int(np.argmin(poly))]
        raise InvalidInputError(f"{path}: interference.mitigate_within must hold polygons, got "
                                f"{got}; give the area whose installations are mitigated")
    return gdf.geometry


def effective_pv(pv: gpd.GeoDataFrame, cfg: InterferenceConfig, radio: RadioConfig,
                 mitigate_area: gpd.GeoSeries | None = None) -> gpd.GeoDataFrame:
    """The installations with their effective (sunny-day) emission.

    Parameters
    ----------
    pv : GeoDataFrame
        As read by :func:`c2000cov.files.pv.read_pv` (``pv_id, kwp,
        emission_db_over_limit``, optional ``n_devices``, ``eirp_dbm_per_25khz``,
        ``h_agl_m``, ``mitigated``), in the grid CRS.
    cfg : InterferenceConfig
        Emission limit, ``kwp_per_device``, mitigation settings.
    radio : RadioConfig
        ``bandwidth_khz``.
    mitigate_area : GeoSeries, optional
        Polygons of the ``mitigate_within`` what-if (see
        :func:`read_mitigation_area`); an installation is inside when its
        representative point is.

    Returns
    -------
    GeoDataFrame
        ``pv_id, kwp, n_devices, emission_db_over_limit`` (effective, after
        mitigation), ``mitigated`` (effective), ``eirp_dbm_per_25khz``
        (effective installation EIRP in the channel at sun_factor 1, dBm),
        ``eirp_source`` (``measured`` or ``limit``), ``h_agl_m`` (input, NaN:
        from the surface), geometry.

    Raises
    ------
    InvalidInputError
        Bad values (naming the pv_id) or a ``mitigate_ids`` entry that is no pv_id.
    """
    n = len(pv)
    ids = pv["pv_id"].astype(str).to_numpy()
    kwp = pv["kwp"].to_numpy(float)
    emission = pv["emission_db_over_limit"].to_numpy(float)
    n_dev = (pv["n_devices"].to_numpy(float) if "n_devices" in pv else np.full(n, np.nan))
    n_dev = np.where(np.isnan(n_dev), np.maximum(1.0, np.round(kwp / cfg.kwp_per_device)), n_dev)
    measured = (pv["eirp_dbm_per_25khz"].to_numpy(float) if "eirp_dbm_per_25khz" in pv
                else np.full(n, np.nan))
    h_agl = pv["h_agl_m"].to_numpy(float) if "h_agl_m" in pv else np.full(n, np.nan)
    for col, values, ok, expect in (
        ("n_devices", n_dev, n_dev > 0, "> 0"),
        ("emission_db_over_limit", emission, np.isfinite(emission), "a finite number (dB)"),
        ("eirp_dbm_per_25khz", measured, ~np.isinf(measured), "finite or empty"),
        ("h_agl_m", h_agl, np.isnan(h_agl) | (h_agl > 0), "> 0 m or empty"),
    ):
        bad = ~ok
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"pv row {i + 1} (pv_id {ids[i]}): {col} must be {expect}, "
                                    f"got {values[i]:g}")
    mitigated = (pv["mitigated"].to_numpy(bool) if "mitigated" in pv
                 else np.zeros(n, bool)).copy()
    if cfg.mitigate_ids:
        known = set(ids)
        unknown = [m for m in cfg.mitigate_ids if m not in known]
        if unknown:
            raise InvalidInputError(
                f"interference.mitigate_ids: pv_id {unknown[0]!r} is not in the PV layer "
                f"({len(unknown)} unknown of {len(cfg.mitigate_ids)}); valid ids look like "
                + ", ".join(repr(x) for x in ids[:3]))
        mitigated |= np.isin(ids, list(cfg.mitigate_ids))
    if mitigate_area is not None:
        area = shapely.union_all(np.asarray(mitigate_area.to_numpy()))
        pts = shapely.point_on_surface(pv.geometry.to_numpy())
        mitigated |= shapely.within(pts, area)
    dev_dbm = device_eirp_dbm(cfg, radio.bandwidth_khz)
    n_term_db = 10.0 * np.log10(n_dev)
    eff_emission = np.where(mitigated, np.minimum(emission, cfg.mitigated_db_over_limit), emission)
    eirp = dev_dbm + eff_emission + n_term_db
    has_measured = np.isfinite(measured)
    cap = dev_dbm + cfg.mitigated_db_over_limit + n_term_db
    eirp_meas = np.where(mitigated, np.minimum(measured, cap), measured)
    eirp = np.where(has_measured, eirp_meas, eirp)
    # for a measured source the excess over the limit follows from its EIRP
    eff_emission = np.where(has_measured, eirp - dev_dbm - n_term_db, eff_emission)
    return gpd.GeoDataFrame({
        "pv_id": ids, "kwp": kwp, "n_devices": n_dev, "emission_db_over_limit": eff_emission,
        "mitigated": mitigated, "eirp_dbm_per_25khz": eirp,
        "eirp_source": np.where(has_measured, "measured", "limit"), "h_agl_m": h_agl,
    }, geometry=pv.geometry.to_numpy(), crs=pv.crs)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class PvSources:
    """Point emitters of the installations, at one sun factor.

    Attributes
    ----------
    pv_id : (n_inst,) str array
        Installation ids, in the order of the effective PV table.
    eirp_dbm : (n_inst,) float array
        Installation EIRP in the channel at sun factor 1 (dBm).
    sun_factor : float
        Emission scaling of this state (0 = night).
    inst : (n_pts,) int array
        Installation index of each point.
    x_m, y_m : (n_pts,) float arrays
        Point positions in the grid CRS (m).
    h_agl_m : (n_pts,) float array
        Point height above the ground of its pixel (m).
    eirp_mw : (n_pts,) float array
        Point EIRP in the channel at ``sun_factor`` (mW); 0 at night.
    n_dropped : int
        Points left out because they lie outside the grid or on no-data terrain.
    """

    pv_id: np.ndarray
    eirp_dbm: np.ndarray
    sun_factor: float
    inst: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    h_agl_m: np.ndarray
    eirp_mw: np.ndarray
    n_dropped: int = 0

    @property
    def emitting(self) -> np.ndarray:
        """Indices of the points that emit (power > 0)."""
        return np.flatnonzero(self.eirp_mw > 0)


def sample_points(geom, spacing_m: float, label: str = "PV geometry") -> np.ndarray:
    """Sample points (k, 2) of one installation geometry.

    A point is itself; a multipoint its points; a polygon the nodes inside it
    of a regular grid of ``spacing_m`` centred on its bounding box, or its
    representative point when no node falls inside.
    """
    gtype = geom.geom_type
    if gtype == "Point":
        return np.array([[geom.x, geom.y]])
    if gtype == "MultiPoint":
        return shapely.get_coordinates(geom)[:, :2]
    if gtype in ("Polygon", "MultiPolygon"):
        xmin, ymin, xmax, ymax = geom.bounds
        nx = max(1, int(math.ceil((xmax - xmin) / spacing_m)))
        ny = max(1, int(math.ceil((ymax - ymin) / spacing_m)))
        xs = 0.5 * (xmin + xmax) + (np.arange(nx) - 0.5 * (nx - 1)) * spacing_m
        ys = 0.5 * (ymin + ymax) + (np.arange(ny) - 0.5 * (ny - 1)) * spacing_m
        gx, gy = np.meshgrid(xs, ys)
        gx, gy = gx.ravel(), gy.ravel()
        inside = shapely.contains_xy(geom, gx, gy)
        if inside.any():
            return np.column_stack([gx[inside], gy[inside]])
        p = geom.representative_point()
        return np.array([[p.x, p.y]])
    raise InvalidInputError(f"{label} must be a point or a polygon, got {gtype}; give "
                            "rooftop installations as points and parks as polygons")


def pv_sources(eff: gpd.GeoDataFrame, surface: Surface, cfg: InterferenceConfig,
               sun_factor: float | None = None) -> PvSources:
    """Point emitters of the effective installations (see :func:`effective_pv`).

    Parameters
    ----------
    eff : GeoDataFrame
        Output of :func:`effective_pv`, in the grid CRS.
    surface : Surface
        Terrain and buildings (source heights, grid extent).
    cfg : InterferenceConfig
        ``park_sample_m``, ``roof_offset_m``, ``park_h_agl_m``, ``sun_factor``.
    sun_factor : float, optional
        Overrides ``cfg.sun_factor`` (0 night .. 1 sunny day).
    """
    sf = cfg.sun_factor if sun_factor is None else float(sun_factor)
    if not 0.0 <= sf <= 1.0:
        raise InvalidInputError(f"sun_factor must be between 0 (night) and 1 (sunny day), "
                                f"got {sf!r}")
    ids = eff["pv_id"].to_numpy().astype(str)
    eirp_dbm = eff["eirp_dbm_per_25khz"].to_numpy(float)
    h_in = eff["h_agl_m"].to_numpy(float)
    inst, xy, share = [], [], []
    for i, geom in enumerate(eff.geometry.to_numpy()):
        pts = sample_points(geom, cfg.park_sample_m, f"pv row {i + 1} (pv_id {ids[i]})")
        inst.append(np.full(len(pts), i))
        xy.append(pts)
        share.append(np.full(len(pts), 1.0 / len(pts)))
    inst_a = np.concatenate(inst) if inst else np.zeros(0, int)
    xy_a = np.concatenate(xy) if xy else np.zeros((0, 2))
    share_a = np.concatenate(share) if share else np.zeros(0)
    grid = surface.grid
    inside = grid.contains(xy_a[:, 0], xy_a[:, 1])
    rows, cols = grid.rowcol(xy_a[:, 0], xy_a[:, 1])
    rows = np.clip(rows, 0, grid.height - 1)
    cols = np.clip(cols, 0, grid.width - 1)
    ground = surface.ground_m[rows, cols].astype(float)
    keep = inside & np.isfinite(ground)
    n_dropped = int((~keep).sum())
    if n_dropped:
        lost = sorted(set(ids[inst_a[~keep]]))
        warnings.warn(f"PV: {n_dropped} source points of {len(lost)} installations (e.g. "
                      f"{lost[0]}) lie outside the grid or on no-data terrain and are left out "
                      "of the interference", stacklevel=2)
    roof = np.where(surface.building_mask[rows, cols],
                    surface.surface_m[rows, cols].astype(float) - ground + cfg.roof_offset_m,
                    np.nan)
    h = np.where(np.isfinite(h_in[inst_a]), h_in[inst_a],
                 np.where(np.isfinite(roof) & (roof > 0), roof, cfg.park_h_agl_m))
    if sf > 0:
        eirp_mw = share_a * 10.0 ** (eirp_dbm[inst_a] / 10.0) * sf
    else:
        eirp_mw = np.zeros(len(inst_a))
    return PvSources(ids, eirp_dbm, sf, inst_a[keep], xy_a[keep, 0], xy_a[keep, 1], h[keep],
                     eirp_mw[keep], n_dropped)


# --------------------------------------------------------------------------- uplink


def prune_mask(bound_mw: np.ndarray, budget_mw: float) -> np.ndarray:
    """True for the sources to keep: all but the largest set of smallest bounds summing <= budget.

    Parameters
    ----------
    bound_mw : 1-D array
        Upper bounds of the contributions (mW), >= 0.
    budget_mw : float
        The most interference that may be left out (mW).
    """
    order = np.argsort(bound_mw, kind="stable")
    csum = np.cumsum(bound_mw[order])
    n_drop = int(np.searchsorted(csum, budget_mw, side="right"))
    keep = np.ones(len(bound_mw), bool)
    keep[order[:n_drop]] = False
    return keep


@dataclass
class UplinkResult:
    """Uplink interference of every mast.

    Attributes
    ----------
    masts : DataFrame
        ``mast_id, d_ul_db, i_dbm`` (NaN when nothing emits), ``n_dbm,
        n_sources`` (emitting installations evaluated), ``n_pruned``
        (emitting installations wholly left out), ``top1_pv_id,
        top1_share_pct, ... top5_pv_id, top5_share_pct`` (share of I in %).
    contributions : DataFrame
        ``mast_id, pv_id, i_dbm, share_pct, dist_m`` (nearest point),
        ``loss_db`` (smallest over the installation's points): one row per mast
        and evaluated installation, strongest first.
    """

    masts: pd.DataFrame
    contributions: pd.DataFrame

    @property
    def d_ul_db(self) -> np.ndarray:
        """Noise rise per mast (dB), in the order of the masts table."""
        return self.masts["d_ul_db"].to_numpy(float)


def uplink_interference(sources: PvSources, masts: pd.DataFrame, surface: Surface,
                        model: ModelConfig, radio: RadioConfig, cfg: InterferenceConfig,
                        patterns: dict[str, AntennaPattern] | None = None, prune: bool = True,
                        progress: ProgressFn | None = None) -> UplinkResult:
    """Uplink noise rise at every mast from the PV sources.

    Parameters
    ----------
    sources : PvSources
        From :func:`pv_sources`.
    masts : DataFrame
        As read by :func:`c2000cov.files.masts.read_masts` (``mast_id, x_m, y_m,
        h_agl_m, gain_dbi, rx_loss_db, azimuth_deg, tilt_deg, pattern``).
    surface : Surface
    model : ModelConfig
        The coverage model (``[model] name``); its radius is not applied.
    radio : RadioConfig
        ``ul_freq_mhz``, ``bandwidth_khz``, ``bs_noise_figure_db``.
    cfg : InterferenceConfig
        ``prune_margin_db``.
    patterns : dict, optional
        Antenna patterns by the masts' ``pattern`` value.
    prune : bool, optional
        Leave out negligible sources (default); False evaluates every pair.
    progress : callable, optional
        ``progress("interference_ul", done, total)``.
    """
    patterns = patterns or {}
    n_dbm = thermal_noise_dbm(radio.bandwidth_khz * 1e3, radio.bs_noise_figure_db)
    n_mw = 10.0 ** (n_dbm / 10.0)
    budget_mw = n_mw * 10.0 ** (-cfg.prune_margin_db / 10.0) if prune else -1.0
    em = sources.emitting
    inst_em = sources.inst[em]
    emitting_inst = np.unique(inst_em)
    eirp_dbm_pt = 10.0 * np.log10(sources.eirp_mw[em]) if em.size else np.zeros(0)
    res = surface.grid.resolution_m
    rows_out, contrib = [], []
    for k in range(len(masts)):
        mast = masts.iloc[k]
        if not surface.grid.contains(mast["x_m"], mast["y_m"]):
            raise InvalidInputError(f"mast {mast['mast_id']}: position ({mast['x_m']:.1f}, "
                                    f"{mast['y_m']:.1f}) lies outside the grid "
                                    f"{[round(b) for b in surface.grid.bounds_m]}")
        geom = mast_geometry(surface, mast["x_m"], mast["y_m"], mast["h_agl_m"])
        if not math.isfinite(geom.ground_m):
            raise InvalidInputError(f"mast {mast['mast_id']}: the terrain has no data at "
                                    f"({mast['x_m']:.1f}, {mast['y_m']:.1f})")
        dx = sources.x_m[em] - mast["x_m"]
        dy = sources.y_m[em] - mast["y_m"]
        dist = np.hypot(dx, dy)
        r_pt, c_pt = surface.grid.rowcol(sources.x_m[em], sources.y_m[em])
        h_pt_amsl = surface.ground_m[r_pt, c_pt].astype(float) + sources.h_agl_m[em]
        gain = mast_gain_toward_dbi(mast, patterns, dx, dy, h_pt_amsl - geom.h_amsl_m,
                                    np.maximum(dist, 0.5 * res))
        base_dbm = eirp_dbm_pt + gain - float(mast["rx_loss_db"])
        lower = point_loss_lower_bound_db(model, dist, sources.h_agl_m[em], geom.h_agl_m,
                                          radio.ul_freq_mhz, res)
        keep = prune_mask(10.0 ** ((base_dbm - lower) / 10.0), budget_mw)
        kept = np.flatnonzero(keep)
        loss = point_loss_db(model, surface, sources.x_m[em][kept], sources.y_m[em][kept],
                             sources.h_agl_m[em][kept], mast["x_m"], mast["y_m"],
                             geom.h_agl_m, radio.ul_freq_mhz)
        i_mw_pt = 10.0 ** ((base_dbm[kept] - loss) / 10.0)
        if np.isnan(i_mw_pt).any():  # cannot happen for points on valid terrain
            raise InvalidInputError(f"mast {mast['mast_id']}: path loss to a PV source is NaN")
        n_inst = len(sources.pv_id)
        i_inst = np.bincount(inst_em[kept], weights=i_mw_pt, minlength=n_inst)
        evaluated = np.zeros(n_inst, bool)
        evaluated[inst_em[kept]] = True
        i_total = float(i_inst.sum())
        row = {"mast_id": mast["mast_id"],
               "d_ul_db": float(10.0 * math.log10(1.0 + i_total / n_mw)),
               "i_dbm": float(10.0 * math.log10(i_total)) if i_total > 0 else float("nan"),
               "n_dbm": n_dbm, "n_sources": int(evaluated.sum()),
               "n_pruned": int(len(emitting_inst) - evaluated.sum())}
        order = np.argsort(-i_inst, kind="stable")
        for t in range(N_TOP):
            has = t < len(order) and i_inst[order[t]] > 0
            row[f"top{t + 1}_pv_id"] = sources.pv_id[order[t]] if has else ""
            row[f"top{t + 1}_share_pct"] = (float(100.0 * i_inst[order[t]] / i_total) if has
                                            else float("nan"))
        rows_out.append(row)
        if kept.size:
            best_loss = np.full(n_inst, np.inf)
            np.minimum.at(best_loss, inst_em[kept], loss)
            near = np.full(n_inst, np.inf)
            np.minimum.at(near, inst_em[kept], dist[kept])
            sel = [j for j in order if evaluated[j]]
            contrib.append(pd.DataFrame({
                "mast_id": mast["mast_id"], "pv_id": sources.pv_id[sel],
                "i_dbm": 10.0 * np.log10(i_inst[sel]),
                "share_pct": 100.0 * i_inst[sel] / i_total,
                "dist_m": near[sel], "loss_db": best_loss[sel]}))
        if progress:
            progress("interference_ul", k + 1, len(masts))
    cols = (["mast_id", "d_ul_db", "i_dbm", "n_dbm", "n_sources", "n_pruned"]
            + [f"top{t + 1}_{c}" for t in range(N_TOP) for c in ("pv_id", "share_pct")])
    table = pd.DataFrame(rows_out, columns=cols)
    contributions = (pd.concat(contrib, ignore_index=True) if contrib else pd.DataFrame(
        columns=["mast_id", "pv_id", "i_dbm", "share_pct", "dist_m", "loss_db"]))
    return UplinkResult(table, contributions)


# --------------------------------------------------------------------------- downlink


def dl_radius_m(eirp_dbm, rx_gain_db: float, n_ms_dbm: float, model: ModelConfig,
                h_src_m, h_rx_m: float, freq_mhz: float, cfg: InterferenceConfig,
                pixel_m: float) -> np.ndarray:
    """Radius (m) around each source beyond which its bounded contribution is negligible.

    The smallest multiple of the pixel size beyond which ``EIRP + rx_gain -
    L_lower(d) < N_ms - prune_margin_db`` (``L_lower``:
    :func:`c2000cov.radio.models.point_loss_lower_bound_db`), capped at
    ``cfg.dl_max_radius_m``; at least one pixel.
    """
    eirp = np.atleast_1d(np.asarray(eirp_dbm, dtype=float))
    h_src = np.broadcast_to(np.asarray(h_src_m, dtype=float), eirp.shape)
    d_grid = pixel_m * np.arange(1, int(math.ceil(cfg.dl_max_radius_m / pixel_m)) + 1)
    thr = n_ms_dbm - cfg.prune_margin_db
    out = np.full(eirp.shape, pixel_m)
    for i in range(eirp.size):
        lower = point_loss_lower_bound_db(model, d_grid, h_rx_m, h_src[i], freq_mhz, pixel_m)
        above = np.flatnonzero(eirp[i] + rx_gain_db - lower >= thr)
        if above.size:  # first grid distance past the last one still above the threshold
            out[i] = d_grid[min(above[-1] + 1, d_grid.size - 1)]
    return np.minimum(out, cfg.dl_max_radius_m)


def downlink_noise_rise_db(sources: PvSources, surface: Surface, model: ModelConfig,
                           radio: RadioConfig, cfg: InterferenceConfig, h_rx_m: float = 1.5,
                           rx_gain_db: float = -8.0,
                           progress: ProgressFn | None = None) -> np.ndarray:
    """Downlink noise rise (dB) at a handheld on every pixel, from the PV sources.

    Parameters
    ----------
    sources : PvSources
    surface : Surface
    model : ModelConfig
        The coverage model; ``radius_m`` is replaced per source.
    radio : RadioConfig
        ``dl_freq_mhz``, ``bandwidth_khz``, ``ms_noise_figure_db``.
    cfg : InterferenceConfig
        ``prune_margin_db``, ``dl_max_radius_m``.
    h_rx_m : float, optional
        Handheld antenna height above ground (m), default 1.5.
    rx_gain_db : float, optional
        Terminal antenna gain minus body loss (dB) applied to the interference
        as to the wanted signal; default -8 (-3 dBi handheld, 5 dB body loss,
        DOMAIN.md, assumed).
    progress : callable, optional
        ``progress("interference_dl", done, total)``.

    Returns
    -------
    float32 array (grid shape)
        ``D_dl = 10 log10(1 + I / N_ms)`` in dB; 0 where no source reaches;
        NaN where the ground has no data.
    """
    n_ms_dbm = thermal_noise_dbm(radio.bandwidth_khz * 1e3, radio.ms_noise_figure_db)
    grid = surface.grid
    i_mw = np.zeros(grid.shape, dtype=np.float64)
    em = sources.emitting
    if em.size:
        rows, cols = grid.rowcol(sources.x_m[em], sources.y_m[em])
        # points on the same pixel at the same height radiate as one
        key = pd.DataFrame({"r": rows, "c": cols, "h": sources.h_agl_m[em],
                            "p": sources.eirp_mw[em]})
        merged = key.groupby(["r", "c", "h"], sort=True, as_index=False)["p"].sum()
        eirp_dbm = 10.0 * np.log10(merged["p"].to_numpy())
        radius = dl_radius_m(eirp_dbm, rx_gain_db, n_ms_dbm, model, merged["h"].to_numpy(),
                             h_rx_m, radio.dl_freq_mhz, cfg, grid.resolution_m)
        for j in range(len(merged)):
            r, c = int(merged["r"].iloc[j]), int(merged["c"].iloc[j])
            geom = MastGeometry(r, c, float(surface.ground_m[r, c]), float(merged["h"].iloc[j]))
            window, loss = path_loss_db(dataclasses.replace(model, radius_m=float(radius[j])),
                                        surface, geom, radio.dl_freq_mhz, h_rx_m)
            contrib = 10.0 ** ((eirp_dbm[j] + rx_gain_db - loss.astype(np.float64)) / 10.0)
            i_mw[window.slices] += np.nan_to_num(contrib, nan=0.0)
            if progress:
                progress("interference_dl", j + 1, len(merged))
    n_mw = 10.0 ** (n_ms_dbm / 10.0)
    d_db = (10.0 * np.log10(1.0 + i_mw / n_mw)).astype("float32")
    d_db[np.isnan(surface.ground_m)] = np.nan
    return d_db


def noise_rise_summary(up: UplinkResult, d_dl_db: np.ndarray | None = None) -> dict:
    """Small dict for ``run.json``: largest and mean uplink rise, downlink rise percentiles."""
    out = {"d_ul_db_max": float(np.nanmax(up.d_ul_db)) if len(up.d_ul_db) else 0.0,
           "d_ul_db_mean": float(np.nanmean(up.d_ul_db)) if len(up.d_ul_db) else 0.0}
    if d_dl_db is not None and np.isfinite(d_dl_db).any():
        v = d_dl_db[np.isfinite(d_dl_db)]
        out.update({"d_dl_db_max": float(v.max()), "d_dl_db_p99": float(np.percentile(v, 99)),
                    "d_dl_area_over_1db_pct": float(100.0 * (v >= 1.0).mean())})
    return out


def pv_table(eff: gpd.GeoDataFrame, columns: Sequence[str] = (
        "pv_id", "kwp", "n_devices", "emission_db_over_limit", "mitigated",
        "eirp_dbm_per_25khz")) -> gpd.GeoDataFrame:
    """The ``pv_used.gpkg`` layer: the effective table's reported columns and geometry."""
    return eff[list(columns) + ["geometry"]]
