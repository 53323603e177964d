"""Model calibration against measurements: binning, residual statistics, fit and cross-validation.

Pure numpy: arrays in, arrays and plain dicts out. :mod:`c2000cov.pipeline.calibrate`
supplies the measured and predicted levels.

Conventions
-----------
- A *residual* is ``measured - predicted`` (dB): positive where the model is
  pessimistic.
- The correction is ``global + offset[class]`` (+ ``slope * (log10(d_km) -
  mean)`` when a slope is fitted), added to every predicted level. The
  per-class offsets are the class means of the residual about the global
  offset, weighted by the number of bins, so that ``global`` is the offset
  one would apply without land cover and the class offsets sum to zero over
  the measurements. Classes with fewer than ``min_bins`` bins get no offset
  of their own.
- Cross-validation is k-fold over *spatial blocks* (square cells of
  ``block_m``, about 1 km): every bin of a block lies in the same fold, so a
  bin is never predicted by a fit that saw its neighbours. Spatially
  correlated errors make random k-fold optimistic; blocked k-fold is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Default side of the cross-validation blocks (m).
BLOCK_M = 1000.0
#: Default number of cross-validation folds.
N_FOLDS = 5
#: Fewest bins a land-cover class needs for an offset of its own.
MIN_BINS_PER_CLASS = 10
#: Distance bands of the residual statistics (km, lower edges).
DISTANCE_BANDS_KM = (0.0, 1.0, 2.0, 5.0, 10.0)
GLOBAL = "global"


@dataclass(frozen=True)
class Bins:
    """Measurements averaged per analysis pixel and serving mast.

    ``measured_dbm`` is the mean of the points' levels in dB (median levels
    are already free of fast fading; the mean of dB values is the local mean
    that the model predicts).
    """

    pixel: np.ndarray  # int64 flat pixel index
    mast: np.ndarray  # int64 serving-mast index
    x_m: np.ndarray
    y_m: np.ndarray
    measured_dbm: np.ndarray
    predicted_dbm: np.ndarray
    land_class: np.ndarray  # int64, -1 none
    dist_m: np.ndarray
    n_points: np.ndarray  # int64 points per bin

    def __len__(self) -> int:
        return len(self.pixel)

    @property
    def residual_db(self) -> np.ndarray:
        """Measured minus predicted level (dB)."""
        return self.measured_dbm - self.predicted_dbm


def bin_points(pixel, mast, x_m, y_m, measured_dbm, predicted_dbm, land_class, dist_m) -> Bins:
    """Average points per (pixel, serving mast).

    Predictions, class and distance are per pixel and mast, so they are the
    same for every point of a bin; positions are averaged.
    """
    pixel = np.asarray(pixel, dtype="int64")
    mast = np.asarray(mast, dtype="int64")
    key = np.stack([pixel, mast], axis=1)
    uniq, first, inv, counts = np.unique(key, axis=0, return_index=True, return_inverse=True,
                                         return_counts=True)
    inv = inv.ravel()

    def mean(values):
        return np.bincount(inv, weights=np.asarray(values, dtype=float)) / counts

    return Bins(uniq[:, 0], uniq[:, 1], mean(x_m), mean(y_m), mean(measured_dbm),
                np.asarray(predicted_dbm, dtype=float)[first],
                np.asarray(land_class, dtype="int64")[first],
                np.asarray(dist_m, dtype=float)[first], counts.astype("int64"))


def stats(residual_db) -> dict[str, float]:
    """Mean error, RMSE, standard deviation and count of residuals (dB)."""
    r = np.asarray(residual_db, dtype=float)
    if len(r) == 0:
        return {"count": 0, "mean_error_db": float("nan"), "rmse_db": float("nan"),
                "std_db": float("nan")}
    return {"count": int(len(r)), "mean_error_db": float(r.mean()),
            "rmse_db": float(np.sqrt(np.mean(r ** 2))),
            "std_db": float(r.std(ddof=1)) if len(r) > 1 else 0.0}


def distance_band(dist_m) -> np.ndarray:
    """Label of the distance band of each distance (``"1-2 km"``, ``">= 10 km"``)."""
    d_km = np.asarray(dist_m, dtype=float) / 1000.0
    edges = DISTANCE_BANDS_KM
    labels = [f"{a:g}-{b:g} km" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f">= {edges[-1]:g} km")
    idx = np.searchsorted(np.asarray(edges), d_km, side="right") - 1
    return np.asarray(labels, dtype=object)[np.clip(idx, 0, len(labels) - 1)]


def grouped_stats(residual_db, groups) -> dict[str, dict[str, float]]:
    """:func:`stats` per group label, labels sorted."""
    r = np.asarray(residual_db, dtype=float)
    g = np.asarray(groups).astype(str)
    return {str(k): stats(r[g == k]) for k in sorted(set(g.tolist()))}


@dataclass
class Fit:
    """A fitted correction: ``global + offsets[class] (+ slope term)``."""

    global_db: float
    offsets_db: dict[int, float] = field(default_factory=dict)
    slope_db_per_decade: float | None = None
    log_d_ref: float = 0.0

    def correction_db(self, land_class, dist_m=None) -> np.ndarray:
        """Correction (dB) to add to predicted levels."""
        cls = np.asarray(land_class, dtype="int64")
        out = np.full(cls.shape, self.global_db, dtype=float)
        for c, off in self.offsets_db.items():
            out[cls == c] += off
        if self.slope_db_per_decade is not None:
            out += self.slope_db_per_decade * (_log_d_km(dist_m) - self.log_d_ref)
        return out


def _log_d_km(dist_m) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(dist_m, dtype=float), 1.0) / 1000.0)


def fit_correction(residual_db, land_class, dist_m=None, use_classes: bool = True,
                   slope: bool = False, min_bins: int = MIN_BINS_PER_CLASS) -> Fit:
    """Least-squares correction of the residuals.

    Parameters
    ----------
    residual_db : array
        Measured minus predicted level per bin (dB).
    land_class : array of int
        Land-cover class per bin (-1: none).
    dist_m : array, optional
        Distance to the serving mast (m); needed when ``slope``.
    use_classes : bool
        Fit per-class offsets (classes with at least ``min_bins`` bins).
    slope : bool
        Also fit a slope in log10 distance (dB per decade).
    """
    r = np.asarray(residual_db, dtype=float)
    cls = np.asarray(land_class, dtype="int64")
    own = []
    if use_classes:
        values, counts = np.unique(cls[cls >= 0], return_counts=True)
        own = [int(v) for v, n in zip(values, counts, strict=True) if n >= min_bins]
    # columns: one indicator per class with its own offset, one for the rest
    rest = ~np.isin(cls, own)
    columns = [(cls == c).astype(float) for c in own]
    if rest.any() or not own:
        columns.append(rest.astype(float))
    log_ref = 0.0
    if slope:
        log_d = _log_d_km(dist_m)
        log_ref = float(log_d.mean())
        columns.append(log_d - log_ref)
    a = np.stack(columns, axis=1)
    coef, *_ = np.linalg.lstsq(a, r, rcond=None)
    n_levels = len(columns) - (1 if slope else 0)
    if len(own) < n_levels:  # a shared level for the classes without their own offset
        global_db = float(coef[len(own)])
    else:  # every bin has a class offset: global is their count-weighted mean
        global_db = float((a[:, :n_levels] @ coef[:n_levels]).mean())
    offsets = {c: float(coef[i] - global_db) for i, c in enumerate(own)}
    return Fit(global_db, offsets, float(coef[-1]) if slope else None, log_ref)


def public_offsets(fit: Fit) -> dict[str, float]:
    """Offsets as written to files: ``global`` and one entry per class code (as a string)."""
    return {GLOBAL: fit.global_db, **{str(c): off for c, off in sorted(fit.offsets_db.items())}}


def block_folds(x_m, y_m, k: int = N_FOLDS, block_m: float = BLOCK_M,
                seed: int = 0) -> np.ndarray:
    """Fold (0..k-1) of each bin: square blocks of ``block_m`` dealt to folds at random.

    Blocks are shuffled with ``seed`` and dealt round-robin, so folds hold
    nearly equal numbers of blocks.
    """
    bx = np.floor(np.asarray(x_m, dtype=float) / block_m).astype("int64")
    by = np.floor(np.asarray(y_m, dtype=float) / block_m).astype("int64")
    blocks, inv = np.unique(np.stack([bx, by], axis=1), axis=0, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(blocks))
    fold_of_block = np.empty(len(blocks), dtype="int64")
    fold_of_block[order] = np.arange(len(blocks)) % k
    return fold_of_block[inv.ravel()]


def random_folds(n: int, k: int = N_FOLDS, seed: int = 0) -> np.ndarray:
    """Fold of each of ``n`` bins, dealt at random (ignores space: leaks with correlated errors)."""
    order = np.random.default_rng(seed).permutation(n)
    folds = np.empty(n, dtype="int64")
    folds[order] = np.arange(n) % k
    return folds


def cross_validate(residual_db, land_class, folds, dist_m=None, use_classes: bool = True,
                   slope: bool = False, min_bins: int = MIN_BINS_PER_CLASS) -> np.ndarray:
    """Out-of-fold corrected residuals: each fold corrected by a fit on the other folds."""
    r = np.asarray(residual_db, dtype=float)
    cls = np.asarray(land_class, dtype="int64")
    d = None if dist_m is None else np.asarray(dist_m, dtype=float)
    out = np.full(len(r), np.nan)
    for f in np.unique(folds):
        test = folds == f
        train = ~test
        if not train.any():
            continue
        fit = fit_correction(r[train], cls[train], None if d is None else d[train],
                             use_classes, slope, min_bins)
        out[test] = r[test] - fit.correction_db(cls[test], None if d is None else d[test])
    return out


def rmse(values) -> float:
    """Root mean square of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.sqrt(np.mean(v ** 2))) if len(v) else float("nan")


def sigma_by_class(residual_after_db, land_class, min_bins: int = MIN_BINS_PER_CLASS,
                   n_params: int = 1) -> dict[str, float]:
    """Location variability: standard deviation of corrected residuals, pooled and per class.

    ``global`` is the pooled value with ``n_params`` fitted parameters removed
    from the degrees of freedom; a class gets its own value from
    ``min_bins`` bins on.
    """
    r = np.asarray(residual_after_db, dtype=float)
    cls = np.asarray(land_class, dtype="int64")
    dof = max(len(r) - n_params, 1)
    out = {GLOBAL: float(np.sqrt(np.sum(r ** 2) / dof))}
    for c in sorted(set(cls[cls >= 0].tolist())):
        sel = r[cls == c]
        if len(sel) >= min_bins:
            out[str(c)] = float(np.sqrt(np.sum(sel ** 2) / (len(sel) - 1)))
    return out


@dataclass(frozen=True)
class AppliedCalibration:
    """A calibration on the analysis grid: what a run adds and which σ it uses.

    ``offset_db`` and ``sigma_db`` are float32 rasters on the grid when the
    calibration has per-class values (classes from ``land_class``), else
    scalars.
    """

    summary: dict
    offset_db: np.ndarray | float
    sigma_db: np.ndarray | float


def class_raster(values: dict[str, float], land_class: np.ndarray | None) -> np.ndarray | float:
    """``values[global]`` everywhere, ``values[code]`` on pixels of that class."""
    base = float(values[GLOBAL])
    per_class = {int(k): v for k, v in values.items() if k != GLOBAL}
    if not per_class or land_class is None:
        return base
    out = np.full(np.shape(land_class), base, dtype="float32")
    for code, v in per_class.items():
        out[land_class == code] = v
    return out


def apply_calibration(summary: dict, land_class: np.ndarray | None) -> AppliedCalibration:
    """Offsets and σ of a calibration (``offsets_db``, ``sigma_db`` in ``summary``) on a grid.

    The offset of a pixel is ``global + offsets[class]``; its σ is
    ``sigma[class]`` where the class has one, else ``sigma[global]``.
    """
    offsets = summary["offsets_db"]
    per_class = class_raster({GLOBAL: 0.0, **{k: v for k, v in offsets.items()
                                              if k != GLOBAL}}, land_class)
    offset = float(offsets[GLOBAL]) + per_class
    if isinstance(offset, np.ndarray):
        offset = offset.astype("float32")
    return AppliedCalibration(summary, offset, class_raster(summary["sigma_db"], land_class))
