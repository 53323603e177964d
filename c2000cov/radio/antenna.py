"""Antenna geometry: bearing, elevation and the gain of a mast toward targets.

Gain toward a target (the combination method)
---------------------------------------------
:func:`gain_toward_dbi` uses the common *summing* method of 2-D pattern
cuts: the direction to the target is expressed in the antenna's own frame
(after mechanical tilt), the horizontal table is read at the relative azimuth
``phi`` and the front half of the vertical table at the depression angle
``-el`` in that frame, and::

    G = G_max - min(A_h(phi) + A_v(-el), A_cap)

``A_cap`` (default: the largest value of either table) keeps the sum from
double counting in the back and side-down directions. The back half of the
vertical table (91-269 degrees) is not used: the back-lobe level comes from the
horizontal table, and an electrically tilted vertical cut acts as a cone (the
same downtilt at every azimuth), which is what electrical tilt does. Mechanical
downtilt is an exact rotation about the antenna's horizontal axis: it tilts
the front down, the back up and leaves the sides unchanged. Between the
1-degree samples the tables are interpolated linearly, wrapping at 360.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from c2000cov.errors import InvalidInputError
from c2000cov.files.msi import PATTERN_POINTS, AntennaPattern
from c2000cov.geo.grid import Window
from c2000cov.geo.surface import Surface
from c2000cov.radio.models import MastGeometry
from c2000cov.units import EARTH_RADIUS_KM


def bearing_deg(dx_m, dy_m):
    """Bearing from one point to another, degrees clockwise from north, in [0, 360).

    Parameters
    ----------
    dx_m : float or array_like
        Eastward offset of the target in m (RD x, EPSG:28992, increases east).
    dy_m : float or array_like
        Northward offset of the target in m (RD y increases north).

    Returns
    -------
    numpy.ndarray or float
        Bearing in degrees (0 = north, 90 = east); 0 for a zero offset. This is
        bearing relative to the grid north of RD, which differs from true
        north by under 2 degrees in the Netherlands.
    """
    b = np.degrees(np.arctan2(np.asarray(dx_m, dtype=float), np.asarray(dy_m, dtype=float)))
    b = np.mod(b, 360.0)
    return float(b) if b.ndim == 0 else b


def elevation_deg(dh_m, dist_m, effective_earth_radius_km=None):
    """Elevation angle of a target seen from an antenna, degrees, positive up.

    Parameters
    ----------
    dh_m : float or array_like
        Target height minus antenna height, in m (same vertical datum).
    dist_m : float or array_like
        Horizontal distance in m (>= 0).
    effective_earth_radius_km : float, optional
        If given, the Earth's curvature drop ``d^2 / (2 a_e)`` is subtracted
        from ``dh_m`` (e.g. ``units.effective_earth_radius_km()`` = 8495 km
        for k = 4/3). Flat Earth if None.

    Returns
    -------
    numpy.ndarray or float
        Elevation angle in degrees (-90..90); -90 straight below.
    """
    dh = np.asarray(dh_m, dtype=float)
    d = np.asarray(dist_m, dtype=float)
    if effective_earth_radius_km is not None:
        if effective_earth_radius_km <= 0:
            raise InvalidInputError(
                f"effective_earth_radius_km must be > 0, got {effective_earth_radius_km!r} "
                f"(the true Earth radius is {EARTH_RADIUS_KM} km)"
            )
        dh = dh - d**2 / (2.0 * effective_earth_radius_km * 1000.0)
    e = np.degrees(np.arctan2(dh, d))
    return float(e) if e.ndim == 0 else e


# --------------------------------------------------------------------------- gain


def omni_gain_dbi(gain_dbi, like=None):
    """Gain of an omnidirectional antenna without a pattern: the same in every direction.

    Parameters
    ----------
    gain_dbi : float
        Antenna gain in dBi.
    like : array_like, optional
        If given, the gain is returned as an array of this shape.

    Returns
    -------
    float or numpy.ndarray
        ``gain_dbi``, or an array of it shaped like ``like``.
    """
    g = float(gain_dbi)
    if like is None:
        return g
    return np.full(np.shape(like), g)


def antenna_frame_angles_deg(azimuth_deg, mech_tilt_deg, bearing_deg, elevation_deg):
    """Direction to a target in the antenna's own frame, after mechanical tilt.

    Parameters
    ----------
    azimuth_deg : float
        Boresight azimuth of the antenna, degrees clockwise from north.
    mech_tilt_deg : float
        Mechanical downtilt in degrees (positive = boresight below horizon).
    bearing_deg : float or array_like
        Bearing to the target, degrees clockwise from north.
    elevation_deg : float or array_like
        Elevation of the target seen from the antenna, degrees, positive up.

    Returns
    -------
    tuple of numpy.ndarray
        ``(phi_deg, el_deg)``: relative azimuth clockwise from boresight in
        [0, 360), and elevation above the antenna's tilted horizontal plane.
    """
    phi = np.radians(np.asarray(bearing_deg, dtype=float) - float(azimuth_deg))
    el = np.radians(np.asarray(elevation_deg, dtype=float))
    t = math.radians(float(mech_tilt_deg))
    cos_el = np.cos(el)
    x = cos_el * np.cos(phi)  # forward (boresight, horizontal)
    y = cos_el * np.sin(phi)  # to the right (clockwise)
    z = np.sin(el)  # up
    # rotating the target by +t about the y axis undoes a downtilt of t
    x_a = x * math.cos(t) - z * math.sin(t)
    z_a = x * math.sin(t) + z * math.cos(t)
    phi_a = np.mod(np.degrees(np.arctan2(y, x_a)), 360.0)
    el_a = np.degrees(np.arcsin(np.clip(z_a, -1.0, 1.0)))
    return phi_a, el_a


def gain_toward_dbi(
    pattern, azimuth_deg, mech_tilt_deg, bearing_deg, elevation_deg, max_att_db=None
):
    """Antenna gain toward targets, in dBi, from a pattern's horizontal and vertical cuts.

    ``G = G_max - min(A_h(phi) + A_v(-el), A_cap)`` with ``(phi, el)`` the
    direction in the antenna frame (:func:`antenna_frame_angles_deg`); see the
    module docstring for the method and the MSI angle conventions. Electrical
    tilt is already in the vertical table; only mechanical tilt is applied here.

    Parameters
    ----------
    pattern : AntennaPattern
        The antenna pattern.
    azimuth_deg : float
        Boresight azimuth of the mast antenna, degrees clockwise from north.
    mech_tilt_deg : float
        Mechanical downtilt in degrees, positive down.
    bearing_deg : float or array_like
        Bearing from the antenna to each target, degrees clockwise from north
        (see :func:`bearing_deg`).
    elevation_deg : float or array_like
        Elevation of each target seen from the antenna, degrees, positive up
        (see :func:`elevation_deg`).
    max_att_db : float, optional
        Cap on the summed attenuation in dB; default ``pattern.max_att_db``
        (the largest value of either table).

    Returns
    -------
    numpy.ndarray or float
        Gain in dBi, broadcast over ``bearing_deg`` and ``elevation_deg``
        (NaN where an input is NaN); a float for scalar inputs.
    """
    if not isinstance(pattern, AntennaPattern):
        raise InvalidInputError(
            f"pattern must be an AntennaPattern (see read_msi), got {type(pattern).__name__}; "
            "use omni_gain_dbi for an antenna without a pattern"
        )
    cap_db = pattern.max_att_db if max_att_db is None else float(max_att_db)
    if not cap_db >= 0:
        raise InvalidInputError(f"max_att_db must be >= 0 dB, got {max_att_db!r}")
    phi_deg, el_deg = antenna_frame_angles_deg(
        azimuth_deg, mech_tilt_deg, bearing_deg, elevation_deg
    )
    grid = np.arange(PATTERN_POINTS, dtype=float)
    a_h = np.interp(phi_deg, grid, pattern.h_att_db, period=360.0)
    a_v = np.interp(np.mod(-el_deg, 360.0), grid, pattern.v_att_db, period=360.0)
    gain = pattern.gain_dbi - np.minimum(a_h + a_v, cap_db)
    return float(gain) if gain.ndim == 0 else gain


def mast_gain_toward_dbi(mast, patterns: dict, dx_m, dy_m, dh_m, dist_m):
    """Gain (dBi) of a mast toward targets at offsets (dx east, dy north, dh up) in m.

    The masts file's ``gain_dbi`` is the antenna's maximum gain; the pattern
    named in its ``pattern`` column (when there is one) gives the shape around
    ``azimuth_deg`` with mechanical ``tilt_deg``. A mast with a pattern but no
    ``azimuth_deg`` is an omni antenna with that pattern's vertical cut
    (:func:`omni_vertical_gain_dbi`). Omni masts without a pattern get
    ``gain_dbi`` everywhere (a broadcast view, no copy).

    Parameters
    ----------
    mast : mapping
        A row of the masts table (``gain_dbi``, ``pattern``, ``azimuth_deg``,
        ``tilt_deg``).
    patterns : dict
        Patterns by the ``pattern`` value.
    dx_m, dy_m, dh_m, dist_m : array_like
        Offsets east, north and up, and horizontal distance (> 0), in m.
    """
    gain = float(mast["gain_dbi"])
    pat = mast["pattern"]
    if pat is None or (isinstance(pat, float) and math.isnan(pat)) or pat == "":
        return np.broadcast_to(np.float64(gain), np.shape(dx_m))
    pattern = patterns[pat]
    if math.isnan(float(mast["azimuth_deg"])):
        shape_db = omni_vertical_gain_dbi(pattern, elevation_deg(dh_m, dist_m))
    else:
        shape_db = gain_toward_dbi(pattern, float(mast["azimuth_deg"]),
                                   float(mast["tilt_deg"]), bearing_deg(dx_m, dy_m),
                                   elevation_deg(dh_m, dist_m))
    return gain + np.asarray(shape_db) - pattern.gain_dbi


def omni_vertical_gain_dbi(pattern: AntennaPattern, elevation_deg):
    """Gain (dBi) of an omni antenna toward targets, from its pattern's vertical cut only.

    ``G = G_max - min(A_v(-el), A_cap)`` with the front half of the vertical
    table, as for a sector (:func:`gain_toward_dbi`) but the same at every
    bearing: the horizontal table is not used. Electrical tilt is in the
    table; an omni has no mechanical tilt.
    """
    el = np.asarray(elevation_deg, dtype=float)
    grid = np.arange(PATTERN_POINTS, dtype=float)
    a_v = np.interp(np.mod(-el, 360.0), grid, pattern.v_att_db, period=360.0)
    gain = pattern.gain_dbi - np.minimum(a_v, pattern.max_att_db)
    return float(gain) if gain.ndim == 0 else gain


def mast_gain_dbi(mast: pd.Series, geom: MastGeometry, window: Window, surface: Surface,
                  h_rx_m: float, patterns: dict[str, AntennaPattern]):
    """Mast antenna gain toward each window pixel (dBi): omni gain, or the pattern."""
    if not isinstance(mast["pattern"], str):
        return float(mast["gain_dbi"])
    res = surface.grid.resolution_m
    rows = np.arange(window.row_off, window.row_off + window.height) - geom.row
    cols = np.arange(window.col_off, window.col_off + window.width) - geom.col
    dx = np.broadcast_to(cols[None, :] * res, (window.height, window.width))
    dy = np.broadcast_to(-rows[:, None] * res, (window.height, window.width))
    dh = surface.ground_m[window.slices] + h_rx_m - geom.h_amsl_m
    dist = np.maximum(np.hypot(dx, dy), 0.5 * res)
    return mast_gain_toward_dbi(mast, patterns, dx, dy, dh, dist).astype("float32")
