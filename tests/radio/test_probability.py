"""Location-probability helpers against standard normal table values."""

import numpy as np
import pytest

from c2000cov.errors import InvalidInputError
from c2000cov.radio.probability import (
    combine_sigma_db,
    coverage_probability,
    fade_margin_db,
    q_function,
)

TOL = 1e-3

# Standard normal upper tail, from printed tables: Q(x) = 1 - Phi(x)
Q_TABLE = [
    (0.0, 0.5),
    (1.0, 0.158655),
    (1.2816, 0.1),
    (1.645, 0.05),
    (1.96, 0.025),
    (2.326, 0.01),
    (3.0, 0.001350),
    (-1.645, 0.95),
]


@pytest.mark.parametrize(("x", "expected"), Q_TABLE)
def test_q_function_table(x, expected):
    assert q_function(x) == pytest.approx(expected, abs=TOL)


def test_q_function_vectorised_and_nan():
    q = q_function(np.array([0.0, np.nan, np.inf]))
    assert q[0] == 0.5 and np.isnan(q[1]) and q[2] == 0.0


@pytest.mark.parametrize(
    ("s_req_dbm", "s_median_dbm", "sigma_db", "expected"),
    [
        (-103.0, -103.0, 8.0, 0.5),  # median at the requirement
        (-103.0, -103.0 + 1.645 * 8.0, 8.0, 0.95),  # 95 % margin
        (-103.0, -103.0 + 5.5, 5.5, 0.841345),  # one sigma above: 1 - Q(1)
        (-103.0, -103.0 - 7.5, 7.5, 0.158655),  # one sigma below: Q(1)
    ],
)
def test_coverage_probability(s_req_dbm, s_median_dbm, sigma_db, expected):
    assert coverage_probability(s_req_dbm, s_median_dbm, sigma_db) == pytest.approx(
        expected, abs=TOL
    )


@pytest.mark.parametrize(
    ("sigma_db", "target_pct", "expected_db"),
    [
        (8.0, 95.0, 1.645 * 8.0),
        (5.5, 95.0, 1.645 * 5.5),
        (7.5, 90.0, 1.2816 * 7.5),
        (8.0, 50.0, 0.0),
        (8.0, 99.0, 2.3263 * 8.0),
    ],
)
def test_fade_margin(sigma_db, target_pct, expected_db):
    assert fade_margin_db(sigma_db, target_pct) == pytest.approx(expected_db, abs=1e-2)


def test_fade_margin_inverts_coverage_probability():
    margin = fade_margin_db(8.0, 97.0)
    assert coverage_probability(-103.0, -103.0 + margin, 8.0) == pytest.approx(0.97, abs=1e-9)


def test_combine_sigma():
    assert combine_sigma_db(3.0, 4.0) == pytest.approx(5.0, abs=1e-12)
    assert combine_sigma_db(8.0) == pytest.approx(8.0, abs=1e-12)
    np.testing.assert_allclose(
        combine_sigma_db(np.array([3.0, 6.0]), 4.0, 0.0), [5.0, np.hypot(6, 4)]
    )


@pytest.mark.parametrize("sigma_db", [0.0, -1.0])
def test_non_positive_sigma_rejected(sigma_db):
    with pytest.raises(InvalidInputError, match="sigma_db"):
        coverage_probability(-103.0, -100.0, sigma_db)
    with pytest.raises(InvalidInputError, match="sigma_db"):
        fade_margin_db(sigma_db, 95.0)


@pytest.mark.parametrize("target_pct", [0.0, 100.0])
def test_target_pct_range(target_pct):
    with pytest.raises(InvalidInputError, match="target_pct"):
        fade_margin_db(8.0, target_pct)


def test_combine_rejects_negative_and_empty():
    with pytest.raises(InvalidInputError, match="argument 2"):
        combine_sigma_db(3.0, -4.0)
    with pytest.raises(InvalidInputError, match="at least one"):
        combine_sigma_db()
