"""Delta-Bullington kernels (kernels/diffraction.py): hand values, slow twins, SG3 logs."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from c2000cov.files.sg3 import read_sg3, read_validation_log
from c2000cov.kernels.diffraction import (
    bullington_db,
    delta_bullington_db,
    diffraction_surface_heights,
    fresnel_j_db,
    smooth_surface_heights,
    sph_earth_diffraction_db,
    wavelength_p1812_m,
)
from c2000cov.radio.validation import P1812_DATA_DIR

DATA_DIR = P1812_DATA_DIR

# Tolerances of this file.
HAND_TOL_DB = 1e-9  # closed-form values computed here
TWIN_TOL_DB = 1e-9  # kernel vs. plain-Python twin
LSQ_TOL_M = 1e-3  # least-squares line vs. a densely sampled numpy fit
LOG_TOL_DB = 0.05  # kernel vs. ITU-R SG3 validation logs

A_BETA_KM = 3.0 * 6371.0


# ---------------------------------------------------------------- slow twins


def _j_twin(nu):
    return 6.9 + 20 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1) + nu - 0.1) if nu > -0.78 else 0.0


def _bullington_twin(d, h, hts, hrs, ce, lam):
    """Plain-Python transcription of P.1812-8 section 4.3.1 with list comprehensions."""
    dt = d[-1] - d[0]
    pts = [(x - d[0], y) for x, y in zip(d[1:-1], h[1:-1], strict=True)]
    stim = max((y + 500 * ce * x * (dt - x) - hts) / x for x, y in pts)
    if stim < (hrs - hts) / dt:
        nu = max(
            (y + 500 * ce * x * (dt - x) - (hts * (dt - x) + hrs * x) / dt)
            * math.sqrt(0.002 * dt / (lam * x * (dt - x)))
            for x, y in pts
        )
        luc = _j_twin(nu)
    else:
        srim = max((y + 500 * ce * x * (dt - x) - hrs) / (dt - x) for x, y in pts)
        dbp = (hrs - hts + srim * dt) / (stim + srim)
        nub = (hts + stim * dbp - (hts * (dt - dbp) + hrs * dbp) / dt) * math.sqrt(
            0.002 * dt / (lam * dbp * (dt - dbp))
        )
        luc = _j_twin(nub)
    return luc + (1 - math.exp(-luc / 6)) * (10 + 0.02 * dt)


def _random_profile(rng, n):
    d = np.sort(rng.uniform(0.0, 1.0, n))
    d = (d - d[0]) / (d[-1] - d[0]) * rng.uniform(1.0, 60.0)
    h = np.cumsum(rng.normal(0.0, 8.0, n)) + 50.0
    return d, h


# ---------------------------------------------------------------- knife edge


def test_fresnel_j_hand_values():
    # J(0) = 6.9 + 20 log10(sqrt(1.01) - 0.1) = 6.0326 dB: grazing incidence, ~6 dB.
    assert fresnel_j_db(0.0) == pytest.approx(
        6.9 + 20 * math.log10(math.sqrt(1.01) - 0.1), abs=HAND_TOL_DB
    )
    assert fresnel_j_db(0.0) == pytest.approx(6.03, abs=0.01)
    assert fresnel_j_db(-0.78) == 0.0
    assert fresnel_j_db(-2.0) == 0.0
    # Continuous at the cut-off (J -> ~0 just above -0.78).
    assert fresnel_j_db(-0.7799) == pytest.approx(0.0, abs=0.01)
    # Large nu: J -> 6.9 + 20 log10(2 (nu - 0.1)), i.e. about 13 + 20 log10(nu).
    assert fresnel_j_db(10.0) == pytest.approx(6.9 + 20 * math.log10(19.8), abs=0.05)


@pytest.mark.parametrize("nu", np.linspace(-1.5, 5.0, 27))
def test_fresnel_j_matches_twin(nu):
    assert fresnel_j_db(nu) == pytest.approx(_j_twin(nu), abs=TWIN_TOL_DB)


# ---------------------------------------------------------------- Bullington


def test_single_knife_edge_on_flat_earth():
    # One obstacle 20 m above the ray at mid-path of 10 km, flat earth (Ce = 0), 390 MHz:
    # nu = h sqrt(2 d / (lambda d1 d2)) in the units of eq. (15).
    lam = wavelength_p1812_m(0.39)
    d = np.array([0.0, 5.0, 10.0])
    h = np.array([0.0, 30.0, 0.0])
    nu = 20.0 * math.sqrt(0.002 * 10.0 / (lam * 5.0 * 5.0))
    luc = _j_twin(nu)
    expected = luc + (1 - math.exp(-luc / 6)) * (10 + 0.02 * 10.0)
    assert bullington_db(d, h, 10.0, 10.0, 0.0, lam) == pytest.approx(expected, abs=HAND_TOL_DB)


def test_clear_path_gives_zero_loss():
    d = np.linspace(0.0, 5.0, 51)
    h = np.zeros(51)
    lam = wavelength_p1812_m(0.39)
    assert bullington_db(d, h, 200.0, 200.0, 1.0 / 8500.0, lam) == 0.0


@pytest.mark.parametrize("seed", range(12))
def test_bullington_matches_twin_on_random_profiles(seed):
    rng = np.random.default_rng(seed)
    d, h = _random_profile(rng, int(rng.integers(3, 60)))
    hts = h[0] + rng.uniform(1.0, 80.0)
    hrs = h[-1] + rng.uniform(1.0, 30.0)
    ce = 1.0 / rng.uniform(6371.0, 20000.0)
    lam = wavelength_p1812_m(rng.uniform(0.03, 6.0))
    h_before = h.copy()
    got = bullington_db(d, h, hts, hrs, ce, lam)
    assert got == pytest.approx(_bullington_twin(d, h, hts, hrs, ce, lam), abs=TWIN_TOL_DB)
    np.testing.assert_array_equal(h, h_before)  # kernels never modify their inputs


def test_degenerate_profiles_give_nan():
    lam = wavelength_p1812_m(0.39)
    assert math.isnan(bullington_db(np.array([0.0]), np.array([0.0]), 10.0, 10.0, 1e-4, lam))
    assert math.isnan(bullington_db(np.array([0.0, 0.0]), np.zeros(2), 10.0, 10.0, 1e-4, lam))
    assert math.isnan(sph_earth_diffraction_db(10.0, -1.0, 10.0, 8500.0, 0.39, 0.0, 2))
    # A missing height (NaN) along the path gives NaN, not a silently clear path.
    h_gap = np.array([0.0, np.nan, 0.0])
    d3 = np.array([0.0, 0.5, 1.0])
    assert math.isnan(bullington_db(d3, h_gap, 10.0, 10.0, 1e-4, lam))
    assert all(
        math.isnan(x) for x in delta_bullington_db(d3, h_gap, 10.0, 10.0, 8500.0, 0.39, 0.0, 2)
    )
    # Repeated distances do not raise (kernels never raise).
    assert (
        bullington_db(np.array([0.0, 0.0, 1.0]), np.array([0.0, 5.0, 0.0]), 1.0, 1.0, 0.0, lam)
        == 0.0
    )


# ---------------------------------------------------------------- smooth surface


@pytest.mark.parametrize("seed", range(6))
def test_smooth_surface_is_least_squares_line(seed):
    # Twin: fit a line to the piecewise-linear profile sampled densely.
    rng = np.random.default_rng(100 + seed)
    d, h = _random_profile(rng, int(rng.integers(3, 40)))
    x = np.linspace(d[0], d[-1], 400_001)
    slope, intercept = np.polyfit(x, np.interp(x, d, h), 1)
    hst, hsr = smooth_surface_heights(d, h)
    assert hst == pytest.approx(intercept + slope * d[0], abs=LSQ_TOL_M)
    assert hsr == pytest.approx(intercept + slope * d[-1], abs=LSQ_TOL_M)


def test_diffraction_surface_capped_at_terminal_ground():
    # A valley path: the least-squares line lies above both ends, so hstd = h1, hsrd = hn.
    d = np.linspace(0.0, 10.0, 11)
    h = np.array([0, 50, 80, 90, 95, 95, 95, 90, 80, 50, 0], dtype=float)
    hstd, hsrd = diffraction_surface_heights(d, h, 30.0, 30.0)
    assert (hstd, hsrd) == (0.0, 0.0)


# ---------------------------------------------------------------- spherical Earth


def test_spherical_earth_high_clearance_is_zero():
    # 5 km, 100 m antennas, 390 MHz: far inside the radio horizon with large clearance.
    assert sph_earth_diffraction_db(5.0, 100.0, 100.0, 8500.0, 0.39, 0.0, 2) == 0.0


def test_spherical_earth_grows_beyond_horizon():
    near = sph_earth_diffraction_db(40.0, 30.0, 1.5, 8500.0, 0.39, 0.0, 2)
    far = sph_earth_diffraction_db(60.0, 30.0, 1.5, 8500.0, 0.39, 0.0, 2)
    assert 0.0 < near < far


def test_delta_bullington_on_smooth_zero_profile():
    # With all heights zero and hstd = hsrd = 0, Lbulla = Lbulls, so Ld = max(Lbulla, Ldsph).
    d = np.linspace(0.0, 30.0, 301)
    h = np.zeros(301)
    ld, lbulla, lbulls, ldsph = delta_bullington_db(d, h, 30.0, 1.5, 8500.0, 0.39, 0.0, 2)
    assert lbulla == pytest.approx(lbulls, abs=HAND_TOL_DB)
    assert ld == pytest.approx(max(lbulla, ldsph), abs=HAND_TOL_DB)


# ---------------------------------------------------------------- SG3 validation logs

LOGS = sorted((DATA_DIR / "validation_results").glob("*_log.csv"))


@pytest.mark.parametrize("log", LOGS, ids=[p.name[:-8] for p in LOGS])
def test_delta_bullington_matches_validation_log(log):
    # The logs list Lbulla/Lbulls/Ldsph for a_beta = 3 x 6371 km, giving Ldb.
    name, k = re.fullmatch(r"(.+)_(\d+)_log\.csv", log.name).groups()
    sg3 = read_sg3(DATA_DIR / "validation_profiles" / f"{name}.csv")
    ref = read_validation_log(log)
    d, h = sg3.distance_km, sg3.h_m
    g = h + sg3.r_m
    g[0], g[-1] = h[0], h[-1]
    hts, hrs = ref["hts (m)"], ref["hrs (m)"]
    hstd, hsrd = diffraction_surface_heights(d, h, hts, hrs)
    assert hstd == pytest.approx(ref["hstd (m)"], abs=1e-6)
    assert hsrd == pytest.approx(ref["hsrd (m)"], abs=1e-6)
    got = delta_bullington_db(
        d, g, hts, hrs, A_BETA_KM, ref["f (GHz)"], ref["w"], int(ref["pol"]), hstd, hsrd
    )
    want = (ref["Ldb (dB)"], ref["Lbulla (dB)"], ref["Lbulls (dB)"], ref["Ldsph (dB)"])
    dev = np.abs(np.array(got) - np.array(want))
    assert np.all(dev <= LOG_TOL_DB), (
        f"{log.name}: (Ld, Lbulla, Lbulls, Ldsph) = {got}, log {want}, |dev| {dev} dB"
    )
