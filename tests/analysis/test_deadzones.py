"""Dead-zone polygons: exact areas, holes, minimum area, simplification, attributes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from c2000cov.analysis.coverage import BestServer, finish
from c2000cov.analysis.deadzones import dead_zones
from c2000cov.geo.grid import Grid, Window
from c2000cov.scenario.schema import ClassesConfig

RES_M = 10.0


def _coverage(p: np.ndarray, limiting_ul: np.ndarray | None = None):
    """A ProfileCoverage whose p_cover is ``p`` (via margins, sigma 1 dB)."""
    from scipy.special import ndtri

    grid = Grid.from_bounds((0, 0, p.shape[1] * RES_M, p.shape[0] * RES_M), RES_M, "EPSG:28992")
    best = BestServer.empty(p.shape)
    margin = ndtri(np.clip(p, 1e-9, 1 - 1e-9)).astype("float32")
    ul = np.zeros(p.shape, bool) if limiting_ul is None else limiting_ul
    m_dl = np.where(ul, margin + 1.0, margin).astype("float32")
    m_ul = np.where(ul, margin, margin + 1.0).astype("float32")
    best.update(0, Window(0, 0, *p.shape), m_dl, m_ul, m_dl, 1.6448536)
    return finish("hh", grid, best, 1.0, 95.0, ClassesConfig(), np.ones(p.shape, bool))


MASTS = pd.DataFrame({"mast_id": ["A", "B"], "x_m": [5.0, 995.0], "y_m": [995.0, 5.0]})


def test_polygon_areas_equal_pixel_count_and_holes_survive():
    rng = np.random.default_rng(5)
    p = np.where(rng.random((100, 100)) < 0.3, 0.5, 0.99)
    p[40:60, 40:60] = 0.2  # a ring-shaped zone around a covered island
    p[48:52, 48:52] = 0.99
    cov = _coverage(p)
    zones = dead_zones(cov, MASTS, None, min_area_m2=0.0)
    below = int((cov.p_cover < 0.95).sum())
    assert zones["n_pixels"].sum() == below
    assert zones.area.sum() == pytest.approx(below * RES_M ** 2, rel=1e-9)
    assert zones.is_valid.all()
    ring = zones[zones.geometry.contains(shapely.Point(450.0, 550.0))]
    assert len(ring) == 1 and len(ring.geometry.iloc[0].interiors) >= 1
    # no two zones overlap
    geoms = zones.geometry.to_numpy()
    overlap = shapely.area(shapely.intersection(geoms[:, None], geoms[None, :]))
    assert np.allclose(overlap - np.diag(np.diag(overlap)), 0.0)


def test_minimum_area_drops_slivers_and_simplify_keeps_validity():
    p = np.full((60, 60), 0.99)
    p[5, 5] = 0.3  # one pixel: 100 m2
    p[20:40, 10:50] = 0.6  # 800 pixels
    p[30, 10:50] = 0.1
    cov = _coverage(p)
    zones = dead_zones(cov, MASTS, None, min_area_m2=500.0)
    assert list(zones["n_pixels"]) == [800]
    simple = dead_zones(cov, MASTS, None, min_area_m2=500.0, simplify_m=15.0)
    assert simple.is_valid.all()
    assert simple.area.sum() == pytest.approx(800 * RES_M ** 2, rel=0.05)


def test_zone_attributes():
    p = np.full((50, 50), 0.99)
    p[10:20, 10:20] = 0.6  # reduced class (80 % limit not reached: poor)
    p[12, 12] = 0.3
    ul = np.zeros((50, 50), bool)
    ul[10:20, 10:15] = True
    cov = _coverage(p, ul)
    zone = dead_zones(cov, MASTS, None).iloc[0]
    assert zone["area_km2"] == pytest.approx(100 * RES_M ** 2 / 1e6)
    assert zone["p_cover_min"] == pytest.approx(0.3, abs=1e-4)
    assert zone["p_cover_median"] == pytest.approx(0.6, abs=1e-4)
    assert zone["limiting"] == "both" and zone["ul_limited_share"] == pytest.approx(0.5)
    assert zone["class_worst"] == "none"  # the worst pixel is below 50 %
    # 99 of 100 pixels are poor (50-80 %), one is none: a poor zone, not "none"
    assert zone["class"] == "poor"
    assert zone["share_poor_pct"] == pytest.approx(99.0)
    assert zone["share_none_pct"] == pytest.approx(1.0)
    assert zone["share_reduced_pct"] == pytest.approx(0.0)
    assert zone["nearest_mast_id"] == "A"
    # the zone spans x 100..200 m, y 300..400 m; its corner (100, 400) is nearest A (5, 995)
    assert zone["nearest_mast_dist_m"] == pytest.approx(np.hypot(95.0, 595.0))


def test_class_mix_labels_a_zone_by_its_dominant_class():
    # the demo zone: mostly reduced, some poor, a little none
    p = np.full((40, 40), 0.99)
    p[10:20, 10:20] = 0.9  # 100 reduced (80-95 %)
    p[10:20, 20:26] = 0.6  # 60 poor
    p[10:15, 26] = 0.3  # 5 none
    zone = dead_zones(_coverage(p), MASTS, None).iloc[0]
    assert zone["n_pixels"] == 165
    assert zone["share_reduced_pct"] == pytest.approx(100 * 100 / 165)
    assert zone["share_poor_pct"] == pytest.approx(100 * 60 / 165)
    assert zone["share_none_pct"] == pytest.approx(100 * 5 / 165)
    assert (zone["class"], zone["class_worst"]) == ("reduced", "none")


def test_dominant_class_tie_goes_to_the_worse_class():
    p = np.full((30, 30), 0.99)
    p[5, 5:9] = 0.9  # 4 reduced
    p[5, 9:13] = 0.6  # 4 poor
    zone = dead_zones(_coverage(p), MASTS, None).iloc[0]
    assert zone["share_reduced_pct"] == zone["share_poor_pct"] == pytest.approx(50.0)
    assert zone["class"] == "poor"
