"""The area kernel against the full point-to-point ITU-R P.1812-8 on real terrain profiles.

On the same profile at p = 50 % and 390 MHz, for paths under 30 km, the kernel's
Lbfs + Ld50 and the recommendation's complete Lb (with troposcatter, ducting and
their combination; sigma_L = 0) agree within 0.1 dB.
"""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.files.sg3 import read_sg3
from c2000cov.kernels.area import ray_loss_db
from c2000cov.radio.itu.p1812 import p1812
from c2000cov.radio.validation import P1812_DATA_DIR

TOL_DB = 0.1
PROFILES = P1812_DATA_DIR / "validation_profiles"
FREQ_MHZ = 392.5


@pytest.mark.parametrize("name", ["rburg_rural_noclutter.csv", "rburg.csv",
                                  "b2iseac_rural_land_100km_eqdist.csv"])
@pytest.mark.parametrize("h_tx_m", [30.0, 60.0])
@pytest.mark.parametrize("length_km", [2.0, 5.0, 10.0, 20.0, 29.9])
def test_kernel_agrees_with_point_to_point(name, h_tx_m, length_km):
    f = read_sg3(PROFILES / name)
    d, h = np.asarray(f.distance_km, float), np.asarray(f.h_m, float)
    keep = d <= length_km
    d, h = d[keep], h[keep]
    assert d[-1] > 0.8 * length_km or length_km < 2.5
    res = p1812(FREQ_MHZ, 50.0, 50.0, d, h, np.zeros_like(h), np.full(len(d), 4),
                h_tx_m, 1.5, 2, f.tx_lat_deg, f.rx_lat_deg, f.tx_lon_deg, f.rx_lon_deg,
                dn_n_units_km=f.dn_n_units_km, n0_n_units=f.n0_n_units)
    kernel = ray_loss_db(d, h, h[0] + h_tx_m, 1.5, h, FREQ_MHZ, res.ae_km)
    dev = abs(kernel[-1] - res.lb_db)
    assert dev <= TOL_DB, (f"{name} {length_km} km, h_tx {h_tx_m} m: kernel "
                           f"{kernel[-1]:.3f} dB, P.1812 {res.lb_db:.3f} dB, dev {dev:.3f} dB")
