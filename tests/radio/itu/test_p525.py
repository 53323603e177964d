"""ITU-R P.525-4 free-space loss against hand-worked values."""

import numpy as np
import pytest

from c2000cov.errors import InvalidInputError
from c2000cov.radio.itu import p525

TOL_DB = 1e-3

# Lbf = 32.4 + 20 log10(f_MHz) + 20 log10(d_km)
# 20 log10(392.5) = 20 * 2.5938397 = 51.876793
# 20 log10(382.5) = 20 * 2.5826314 = 51.652629 ; 20 log10(5) = 13.979400
HAND_WORKED = [
    # freq_mhz, dist_km, expected_db
    (392.5, 1.0, 32.4 + 51.876793 + 0.0),  # 84.276793
    (392.5, 10.0, 32.4 + 51.876793 + 20.0),  # 104.276793
    (382.5, 5.0, 32.4 + 51.652629 + 13.979400),  # 98.032029
    (1000.0, 1.0, 32.4 + 60.0 + 0.0),  # 92.4
]


def test_edition_pinned():
    assert p525.ITU_REC == "ITU-R P.525-4"


@pytest.mark.parametrize(("freq_mhz", "dist_km", "expected_db"), HAND_WORKED)
def test_hand_worked(freq_mhz, dist_km, expected_db):
    assert p525.free_space_loss_db(freq_mhz, dist_km) == pytest.approx(expected_db, abs=TOL_DB)


def test_vectorised_and_6db_per_doubling():
    d = np.array([[1.0, 2.0], [4.0, 8.0]])
    loss = p525.free_space_loss_db(392.5, d)
    assert loss.shape == (2, 2)
    np.testing.assert_allclose(np.diff(loss.ravel()), 20 * np.log10(2.0), atol=1e-12)


def test_nan_passes_through():
    loss = p525.free_space_loss_db(392.5, np.array([1.0, np.nan]))
    assert np.isnan(loss[1]) and loss[0] == pytest.approx(84.276793, abs=TOL_DB)


@pytest.mark.parametrize(
    ("freq_mhz", "dist_km", "name"), [(392.5, 0.0, "dist_km"), (-1.0, 1.0, "freq_mhz")]
)
def test_rejects_non_positive(freq_mhz, dist_km, name):
    with pytest.raises(InvalidInputError, match=name):
        p525.free_space_loss_db(freq_mhz, dist_km)
