"""Calibration arithmetic: fit, blocked cross-validation, σ and field-report lift (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.analysis import calibration as cb
from c2000cov.analysis import field_reports as fr


def test_bin_points_averages_per_pixel_and_mast():
    bins = cb.bin_points(pixel=[5, 5, 5, 9], mast=[0, 0, 1, 0], x_m=[0, 2, 0, 10],
                         y_m=[0, 0, 0, 0], measured_dbm=[-80, -90, -70, -60],
                         predicted_dbm=[-85, -85, -75, -65], land_class=[1, 1, 1, 2],
                         dist_m=[100, 100, 200, 300])
    assert len(bins) == 3
    assert bins.pixel.tolist() == [5, 5, 9] and bins.mast.tolist() == [0, 1, 0]
    assert bins.measured_dbm.tolist() == [-85.0, -70.0, -60.0]
    assert bins.n_points.tolist() == [2, 1, 1]
    assert bins.x_m.tolist() == [1.0, 0.0, 10.0]
    assert bins.residual_db.tolist() == [0.0, 5.0, 5.0]


def test_stats_hand_values():
    s = cb.stats([1.0, -1.0, 3.0])
    assert s["count"] == 3
    assert s["mean_error_db"] == pytest.approx(1.0)
    assert s["rmse_db"] == pytest.approx(np.sqrt(11 / 3))
    assert s["std_db"] == pytest.approx(2.0)


def test_fit_without_noise_is_exact():
    cls = np.repeat([1, 2, 3], 20)
    true_total = {1: -2.0, 2: -7.0, 3: -4.0}
    r = np.array([true_total[c] for c in cls])
    fit = cb.fit_correction(r, cls)
    assert fit.global_db == pytest.approx(np.mean(r))
    for c, t in true_total.items():
        assert fit.global_db + fit.offsets_db[c] == pytest.approx(t)
    np.testing.assert_allclose(r - fit.correction_db(cls), 0.0, atol=1e-12)


def test_small_classes_share_global():
    cls = np.array([1] * 30 + [2] * 3 + [-1] * 5)
    r = np.where(cls == 1, -5.0, 1.0)
    fit = cb.fit_correction(r, cls, min_bins=10)
    assert list(fit.offsets_db) == [1]
    assert fit.global_db == pytest.approx(1.0)  # the classes without their own offset
    assert fit.global_db + fit.offsets_db[1] == pytest.approx(-5.0)
    assert cb.public_offsets(fit) == {"global": pytest.approx(1.0), "1": pytest.approx(-6.0)}


def test_slope_recovered():
    d = np.geomspace(200, 12000, 200)
    r = 2.0 - 6.0 * (np.log10(d / 1000.0))
    fit = cb.fit_correction(r, np.full(200, -1), d, use_classes=False, slope=True)
    assert fit.slope_db_per_decade == pytest.approx(-6.0)
    np.testing.assert_allclose(fit.correction_db(np.full(200, -1), d), r, atol=1e-9)


def test_block_folds_keep_blocks_together():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 5000, 2000), rng.uniform(0, 5000, 2000)
    folds = cb.block_folds(x, y, k=5, block_m=1000.0)
    block = (x // 1000).astype(int) * 100 + (y // 1000).astype(int)
    for b in np.unique(block):
        assert len(np.unique(folds[block == b])) == 1
    assert sorted(np.unique(folds).tolist()) == [0, 1, 2, 3, 4]
    # 25 blocks dealt round-robin: 5 blocks per fold
    per_fold = [len(np.unique(block[folds == f])) for f in range(5)]
    assert per_fold == [5, 5, 5, 5, 5]


def test_cv_rmse_near_true_sigma_with_independent_noise():
    rng = np.random.default_rng(7)
    n = 3000
    x, y = rng.uniform(0, 8000, n), rng.uniform(0, 8000, n)
    cls = rng.integers(1, 4, n)
    r = np.array([-2.0, -7.0, -4.0])[cls - 1] + rng.normal(0, 4.0, n)
    cv = cb.cross_validate(r, cls, cb.block_folds(x, y))
    assert abs(cb.rmse(cv) - 4.0) < 0.5
    sigma = cb.sigma_by_class(r - cb.fit_correction(r, cls).correction_db(cls), cls)
    assert abs(sigma["global"] - 4.0) < 0.3
    assert set(sigma) == {"global", "1", "2", "3"}


def leakage_case(seed: int):
    """Land cover in 500 m patches of 8 classes; each patch carries its own error (4 dB)."""
    rng = np.random.default_rng(seed)
    patches = 16  # 8 km x 8 km
    patch_class = rng.integers(0, 8, (patches, patches))
    patch_bias = rng.normal(0.0, 4.0, (patches, patches))
    n = 4000
    x, y = rng.uniform(0, 8000, n), rng.uniform(0, 8000, n)
    i, j = (y // 500).astype(int), (x // 500).astype(int)
    cls = patch_class[i, j]
    r = -3.0 + 0.5 * cls + patch_bias[i, j] + rng.normal(0.0, 2.0, n)
    return x, y, cls, r


def test_blocked_cv_does_not_leak_spatially_correlated_errors():
    """Random folds see a test point's own patch in training: too optimistic. Blocks do not."""
    x, y, cls, r = leakage_case(3)
    blocked = cb.rmse(cb.cross_validate(r, cls, cb.block_folds(x, y, 5, 1000.0), min_bins=5))
    random = cb.rmse(cb.cross_validate(r, cls, cb.random_folds(len(r), 5), min_bins=5))
    # the honest error: patch bias (4 dB) and noise (2 dB) together, about 4.5 dB
    assert random < blocked
    assert blocked - random > 0.05
    assert abs(blocked - np.hypot(4.0, 2.0)) < 0.6


def test_apply_calibration_rasters():
    land = np.array([[1, 2], [3, -1]])
    cal = cb.apply_calibration({"offsets_db": {"global": -3.0, "2": -2.0},
                                "sigma_db": {"global": 5.0, "3": 6.5}}, land)
    np.testing.assert_array_equal(cal.offset_db, [[-3.0, -5.0], [-3.0, -3.0]])
    np.testing.assert_array_equal(cal.sigma_db, [[5.0, 5.0], [6.5, 5.0]])
    scalar = cb.apply_calibration({"offsets_db": {"global": 1.5}, "sigma_db": {"global": 6.0}},
                                  None)
    assert scalar.offset_db == 1.5 and scalar.sigma_db == 6.0


def test_field_report_lift_hand_made():
    # 10 fail reports, 4 in the zone; 5 ok reports, 1 in the zone; zone is 10 % of the area
    fail = np.array([True] * 10 + [False] * 5)
    inside = np.array([True] * 4 + [False] * 6 + [True] + [False] * 4)
    row = fr.zone_row("dead_zones", fail, inside, 10.0)
    assert row == {"zone": "dead_zones", "n_fail": 10, "n_fail_inside": 4,
                   "fail_share_pct": 40.0, "n_ok": 5, "n_ok_inside": 1, "ok_share_pct": 20.0,
                   "area_share_pct": 10.0, "lift": 4.0}
    assert fr.area_share_pct([[True, False], [False, False]], [[True, True], [True, False]]) \
        == pytest.approx(100 / 3)
