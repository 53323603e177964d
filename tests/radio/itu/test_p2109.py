"""ITU-R P.2109-2 building entry loss.

References: DOMAIN.md values at 390 MHz (horizontal path), and rows of the
ITU-R Study Group 3 reference workbook values (as reproduced in the ITU-R
reference MATLAB implementation's validate_p2109.m, 0.01 dB tolerance there).
"""

import numpy as np
import pytest

from c2000cov.errors import InvalidInputError, OutsideValidityWarning
from c2000cov.radio.itu import p2109

TOL_DOMAIN_DB = 0.1
TOL_SG3_DB = 0.01

DOMAIN_ROWS = [
    # building_class, prob_pct, expected_db  (390 MHz, horizontal)
    ("traditional", 50.0, 13.9),
    ("traditional", 90.0, 23.6),
    ("thermally_efficient", 50.0, 33.0),
    ("thermally_efficient", 90.0, 47.6),
]

SG3_ROWS = [
    # freq_mhz, elevation_deg, building_class, prob_pct, expected_db
    (28000, 0, "traditional", 1e-5, -0.275),
    (28000, 0, "traditional", 0.1, 1.671),
    (28000, 0, "traditional", 1.0, 2.769),
    (28000, 0, "traditional", 10.0, 6.891),
    (28000, 0, "traditional", 19.95262, 10.644),
    (28000, 0, "traditional", 50.11872, 20.218),
    (28000, 0, "traditional", 97.72372, 45.021),
    (28000, 0, "traditional", 99.77001, 55.440),
    (28000, 0, "thermally_efficient", 1e-5, -2.117),
    (28000, 0, "thermally_efficient", 0.1, 4.774),
    (28000, 0, "thermally_efficient", 1.0, 9.369),
    (28000, 0, "thermally_efficient", 10.0, 19.484),
    (28000, 0, "thermally_efficient", 19.95262, 26.325),
    (28000, 0, "thermally_efficient", 97.72372, 79.602),
    (28000, 0, "thermally_efficient", 99.77001, 95.448),
    (2000, 45, "traditional", 1e-5, -2.484),
    (2000, 45, "traditional", 0.1, 0.281),
    (2000, 45, "traditional", 1.0, 3.508),
    (2000, 45, "traditional", 10.0, 11.251),
    (2000, 45, "traditional", 19.95262, 15.274),
    (2000, 45, "traditional", 97.72372, 43.796),
    (2000, 45, "traditional", 99.77001, 52.300),
    (2000, 45, "thermally_efficient", 1e-5, -2.882),
    (2000, 45, "thermally_efficient", 19.95262, 26.283),
    (2000, 45, "thermally_efficient", 97.72372, 66.905),
    (2000, 45, "thermally_efficient", 99.77001, 79.101),
]


def test_edition_pinned():
    assert p2109.ITU_REC == "ITU-R P.2109-2"


@pytest.mark.parametrize(("building_class", "prob_pct", "expected_db"), DOMAIN_ROWS)
def test_domain_values_390_mhz(building_class, prob_pct, expected_db):
    got = p2109.building_entry_loss_db(390.0, prob_pct, building_class)
    assert got == pytest.approx(expected_db, abs=TOL_DOMAIN_DB)


@pytest.mark.parametrize(
    ("freq_mhz", "elevation_deg", "building_class", "prob_pct", "expected_db"), SG3_ROWS
)
def test_sg3_reference_values(freq_mhz, elevation_deg, building_class, prob_pct, expected_db):
    got = p2109.building_entry_loss_db(freq_mhz, prob_pct, building_class, elevation_deg)
    assert got == pytest.approx(expected_db, abs=TOL_SG3_DB)


def test_elevation_sign_ignored_and_vectorised():
    loss = p2109.building_entry_loss_db(390.0, np.array([50.0, 50.0]), "traditional", [-30, 30])
    assert loss[0] == pytest.approx(loss[1], abs=1e-12)
    assert loss[0] > p2109.building_entry_loss_db(390.0, 50.0, "traditional")


@pytest.mark.parametrize(
    ("building_class", "median_db", "sigma_db"),
    [("traditional", 13.928, 7.582), ("thermally_efficient", 33.019, 11.374)],
)
def test_median_and_equivalent_sigma(building_class, median_db, sigma_db):
    # sigma = (L90 - L50) / 1.2816: (23.6457 - 13.9284) / 1.28155 = 7.582,
    #                               (47.5966 - 33.0195) / 1.28155 = 11.374
    median, sigma = p2109.entry_loss_median_and_sigma_db(390.0, building_class)
    assert median == pytest.approx(median_db, abs=1e-3)
    assert sigma == pytest.approx(sigma_db, abs=1e-3)


@pytest.mark.parametrize(
    ("building_class", "prob_pct", "max_error_db"),
    [
        # documented quality of the lognormal equivalent at 390 MHz
        ("traditional", 95.0, 0.3),
        ("thermally_efficient", 95.0, 0.1),
        ("thermally_efficient", 10.0, 0.4),
        ("traditional", 10.0, 1.6),
    ],
)
def test_equivalent_lognormal_against_distribution(building_class, prob_pct, max_error_db):
    from scipy.special import ndtri

    median, sigma = p2109.entry_loss_median_and_sigma_db(390.0, building_class)
    approx = median + ndtri(prob_pct / 100.0) * sigma
    exact = p2109.building_entry_loss_db(390.0, prob_pct, building_class)
    assert abs(approx - exact) <= max_error_db


def test_bad_class_lists_choices():
    with pytest.raises(InvalidInputError, match="'traditional', 'thermally_efficient'.*'modern'"):
        p2109.building_entry_loss_db(390.0, 50.0, "modern")


@pytest.mark.parametrize("prob_pct", [0.0, 100.0, -5.0])
def test_probability_out_of_range(prob_pct):
    with pytest.raises(InvalidInputError, match="prob_pct"):
        p2109.building_entry_loss_db(390.0, prob_pct)


def test_elevation_out_of_range():
    with pytest.raises(InvalidInputError, match="elevation_deg"):
        p2109.building_entry_loss_db(390.0, 50.0, elevation_deg=95.0)


def test_below_80_mhz_warns():
    with pytest.warns(OutsideValidityWarning, match="80 MHz"):
        p2109.building_entry_loss_db(50.0, 50.0)
