"""Unit conversions and physical constants, in one place.

Every name carries its unit (``freq_mhz``, ``dist_m``, ``power_dbm``).
"""

from __future__ import annotations

import numpy as np

SPEED_OF_LIGHT_M_S = 299_792_458.0
BOLTZMANN_J_K = 1.380649e-23
REFERENCE_TEMPERATURE_K = 290.0
EARTH_RADIUS_KM = 6371.0
#: Median refractivity lapse rate over the lowest 1 km for the Netherlands (N-units/km): the
#: ITU-R P.452 / P.1812 DN50 map gives about 40 there. The one default of link and area runs.
DEFAULT_DN_N_UNITS_KM = 40.0
#: Median effective Earth-radius factor from it, k50 = 157 / (157 - dN) (ITU-R P.452 and
#: P.1812): 1.342 (4/3 would be dN = 39.25).
DEFAULT_K_FACTOR = 157.0 / (157.0 - DEFAULT_DN_N_UNITS_KM)


def wavelength_m(freq_mhz):
    """Free-space wavelength in metres for a frequency in MHz."""
    return SPEED_OF_LIGHT_M_S / (np.asarray(freq_mhz, dtype=float) * 1e6)


def dbm_to_mw(power_dbm):
    """dBm to milliwatt."""
    return 10.0 ** (np.asarray(power_dbm, dtype=float) / 10.0)


def mw_to_dbm(power_mw):
    """Milliwatt to dBm (``-inf`` for zero power)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(power_mw, dtype=float))


def db_sum(*levels_db):
    """Power sum of levels in dB (incoherent addition)."""
    total = sum(10.0 ** (np.asarray(x, dtype=float) / 10.0) for x in levels_db)
    return 10.0 * np.log10(total)


def thermal_noise_dbm(bandwidth_hz: float, noise_figure_db: float = 0.0) -> float:
    """kTB noise power in dBm at 290 K, plus a receiver noise figure in dB."""
    ktb_w = BOLTZMANN_J_K * REFERENCE_TEMPERATURE_K * bandwidth_hz
    return float(10.0 * np.log10(ktb_w * 1e3) + noise_figure_db)


def effective_earth_radius_km(k_factor: float = DEFAULT_K_FACTOR) -> float:
    """Effective Earth radius in km for a k-factor (ITU-R P.452/P.1812 ae = k * 6371 km)."""
    return float(k_factor * EARTH_RADIUS_KM)


def field_dbuv_m_to_eirp_dbm(field_dbuv_m, dist_m):
    """Free-space field strength at a distance to EIRP: E = EIRP - 20 log10(d) + 104.8.

    The constant 104.8 dB follows from E = sqrt(30 P) / d with P in W, E in V/m,
    converted to dBuV/m and dBm (20 log10(sqrt(30)) + 120 - 30 = 104.77 dB).
    """
    return np.asarray(field_dbuv_m, dtype=float) + 20.0 * np.log10(dist_m) - FIELD_EIRP_CONSTANT_DB


FIELD_EIRP_CONSTANT_DB = 10.0 * np.log10(30.0) + 120.0 - 30.0
