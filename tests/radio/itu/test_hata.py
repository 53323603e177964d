"""Okumura-Hata (Hata 1980 / ITU-R P.529-3) against hand-worked values.

Hand calculation for f = 392.5 MHz, Hb = 30 m, Hm = 1.5 m:

    log f  = log10(392.5) = 2.5938397
    log Hb = log10(30)    = 1.4771213
    a(Hm)  = (1.1 * 2.5938397 - 0.7) * 1.5 - (1.56 * 2.5938397 - 0.8)
           = 3.2298354 - 3.2463899 = -0.0165544
    L_u(d) = 69.55 + 26.16 * 2.5938397 - 13.82 * 1.4771213 - (-0.0165544)
             + (44.9 - 6.55 * 1.4771213) log d
           = 69.55 + 67.8548455 - 20.4138157 + 0.0165544 + 35.2248558 log d
           = 117.0075842 + 35.2248558 log d
    suburban correction = 2 (log10(392.5 / 28))^2 + 5.4 = 2 * 1.1466816^2 + 5.4
                        = 2.6297575 + 5.4 = 8.0297575
    open correction     = 4.78 * 2.5938397^2 - 18.33 * 2.5938397 + 40.94
                        = 32.1599 - 47.5451 + 40.94 = 25.5547790
"""

import warnings

import numpy as np
import pytest

from c2000cov.errors import InvalidInputError, OutsideValidityWarning
from c2000cov.radio.itu import hata

TOL_DB = 1e-3

URBAN_0_DB = 117.0075842  # L_u at d = 1 km
SLOPE_DB = 35.2248558  # dB per decade of distance
SUBURBAN_CORR_DB = 8.0297575
OPEN_CORR_DB = 25.5547790

HAND_WORKED = [
    # freq_mhz, dist_km, h_base_m, h_mobile_m, environment, expected_db
    (392.5, 1.0, 30.0, 1.5, "urban", URBAN_0_DB),  # 117.0076
    (392.5, 5.0, 30.0, 1.5, "urban", URBAN_0_DB + SLOPE_DB * 0.6989700),  # 141.6287
    (392.5, 10.0, 30.0, 1.5, "urban", URBAN_0_DB + SLOPE_DB),  # 152.2324
    (392.5, 20.0, 30.0, 1.5, "urban", URBAN_0_DB + SLOPE_DB * 1.3010300),  # 162.8362
    (392.5, 10.0, 30.0, 1.5, "suburban", URBAN_0_DB + SLOPE_DB - SUBURBAN_CORR_DB),  # 144.2027
    (392.5, 10.0, 30.0, 1.5, "open", URBAN_0_DB + SLOPE_DB - OPEN_CORR_DB),  # 126.6777
    # f = 382.5 MHz, Hb = 60 m, Hm = 1.5 m, d = 5 km:
    # log f = 2.5826314, log Hb = 1.7781513, a(Hm) = -0.0175632
    # 69.55 + 67.5616 - 24.5740 + 0.0176 + (44.9 - 11.6469) * 0.6989700 = 135.7981
    (382.5, 5.0, 60.0, 1.5, "urban", 135.7980773),
]


def test_source_constant():
    assert "Hata" in hata.ITU_REC and "P.529-3" in hata.ITU_REC


@pytest.mark.parametrize(
    ("freq_mhz", "dist_km", "h_base_m", "h_mobile_m", "environment", "expected_db"), HAND_WORKED
)
def test_hand_worked(freq_mhz, dist_km, h_base_m, h_mobile_m, environment, expected_db):
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideValidityWarning)
        loss = hata.hata_loss_db(freq_mhz, dist_km, h_base_m, h_mobile_m, environment)
    assert loss == pytest.approx(expected_db, abs=TOL_DB)


def test_mobile_height_correction():
    assert hata.mobile_height_correction_db(392.5, 1.5) == pytest.approx(-0.0165544, abs=1e-6)


def test_vectorised_over_distance():
    d = np.array([1.0, 10.0])
    loss = hata.hata_loss_db(392.5, d, 30.0, 1.5)
    np.testing.assert_allclose(loss, [URBAN_0_DB, URBAN_0_DB + SLOPE_DB], atol=TOL_DB)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(freq_mhz=100.0, dist_km=5.0, h_base_m=30.0, h_mobile_m=1.5), "freq_mhz"),
        (dict(freq_mhz=392.5, dist_km=0.5, h_base_m=30.0, h_mobile_m=1.5), "dist_km"),
        (dict(freq_mhz=392.5, dist_km=5.0, h_base_m=20.0, h_mobile_m=1.5), "h_base_m"),
        (dict(freq_mhz=392.5, dist_km=5.0, h_base_m=30.0, h_mobile_m=12.0), "h_mobile_m"),
    ],
)
def test_outside_validity_warns_but_computes(kwargs, name):
    with pytest.warns(OutsideValidityWarning, match=name):
        loss = hata.hata_loss_db(**kwargs)
    assert np.isfinite(loss)


def test_bad_environment_lists_choices():
    with pytest.raises(InvalidInputError, match="'urban', 'suburban', 'open'.*'rural'"):
        hata.hata_loss_db(392.5, 5.0, 30.0, 1.5, environment="rural")


def test_zero_distance_is_an_error():
    with pytest.raises(InvalidInputError, match="dist_km"):
        hata.hata_loss_db(392.5, 0.0, 30.0, 1.5)
