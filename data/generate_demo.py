"""Generate the synthetic c2000cov demo region (deterministic).

A Dutch-like region of 20 km x 16 km in EPSG:28992 (RD New), RD x 140000-160000,
y 440000-456000, on a 10 m grid (2000 x 1600 cells): polders with ditches, a
diked meandering river, a forested push moraine (stuwwal), a town with an
industrial estate, a greenhouse area, villages and farms, 8 synthetic radio
sites, solar installations (some of them faulty emitters) and municipality /
meldkamer polygons. Every site, building and name is synthetic.

Usage::

    .venv/bin/python data/generate_demo.py [OUT_DIR] [--seed N]

``OUT_DIR`` defaults to ``data/demo``. The same seed gives byte-identical files
(fixed GeoPackage timestamps, no time stamps in GeoTIFF/GeoJSON/CSV). Every file
is written under a temporary name and renamed when complete.

Tests import :func:`generate` from this file by path (``data/`` is not a package).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.transform import Affine
from scipy import ndimage
from scipy.spatial import cKDTree

from c2000cov.files.masts import MAST_COLUMNS

# --------------------------------------------------------------------------------------
# Region and file constants
# --------------------------------------------------------------------------------------
SEED_DEFAULT = 2000
CRS_EPSG = 28992
X_MIN_M, Y_MIN_M, X_MAX_M, Y_MAX_M = 140000.0, 440000.0, 160000.0, 456000.0
CELL_M = 10.0
N_COLS = int((X_MAX_M - X_MIN_M) / CELL_M)  # 2000
N_ROWS = int((Y_MAX_M - Y_MIN_M) / CELL_M)  # 1600
DTM_NODATA_M = -9999.0
LANDCOVER_NODATA = 0
# GeoPackage embeds a "last_change" time stamp; pin it for reproducible files.
FIXED_TIMESTAMP = "2024-01-01T00:00:00Z"

# ITU-R SG3 style coverage codes used in landcover.tif
LC_WATER, LC_OPEN, LC_SUBURBAN, LC_TREES_URBAN, LC_DENSE_URBAN = 1, 2, 3, 4, 5

# Radio defaults (DOMAIN.md): 44 dBm carrier, 5 dB combiner + 3 dB feeder, 3 dB rx loss.
TX_POWER_DBM = 44.0
TX_LOSS_DB = 8.0
RX_LOSS_DB = 3.0
OMNI_GAIN_DBI = 11.0
SECTOR_GAIN_DBI = 14.0
SECTOR_PATTERN_FILE = "sector_65.msi"

# Sector antenna model (MSI pattern)
SECTOR_H_BEAMWIDTH_DEG = 65.0
SECTOR_FRONT_TO_BACK_DB = 25.0
SECTOR_V_BEAMWIDTH_DEG = 15.0
SECTOR_V_SIDELOBE_DB = 20.0
SECTOR_ELECTRICAL_TILT_DEG = 2.0
SECTOR_MAX_ATTENUATION_DB = 40.0
PATTERN_FREQ_MHZ = 390.0

# Solar: about 0.4 kWp per panel and one optimizer per panel.
PV_KWP_PER_DEVICE = 0.4
# Assumed: compliant equipment measures well below the EN 55011 class B limit, not at it;
# with every device exactly at the limit the whole town would be desensitised, far beyond
# the 7-8 % average sunny-day loss LMS reports.
PV_COMPLIANT_DB_OVER_LIMIT = -20.0
# Assumed: solar parks use string/central inverters (about 100 kWp each), not one
# optimizer per panel as rooftops do.
PV_PARK_KWP_PER_INVERTER = 100.0
# Faulty equipment: 6 rooftops (houses) with one defective optimizer each, 4 of them
# 1-3 km from the hotspot mast, 20-30 dB over the limit (DOMAIN.md range), and one park
# field whose inverters are 10 dB over.
PV_FAULTY_ROOFS = 6
PV_FAULTY_ROOFS_NEAR = 4
PV_FAULTY_PARK_DB = 10.0
PV_PARK_HA_PER_MWP = 1.1
PV_PARK_H_AGL_M = 2.0

# Landscape layout (RD metres)
RIDGE_P0_M = (144000.0, 459000.0)  # push-moraine axis, NW end
RIDGE_P1_M = (162500.0, 445500.0)  # push-moraine axis, SE end
RIDGE_TOP_M = 87.0  # highest point of the DTM (m NAP)
RIVER_Y_M = 442200.0
DIKE_CREST_M = 5.0  # m NAP, west end; rises 0.5 m to the east
CANAL_P0_M = (141800.0, 442000.0)
CANAL_P1_M = (140900.0, 457000.0)
CANAL_HALF_WIDTH_M = 30.0
TOWN_CENTRE_M = (151800.0, 449200.0)
TOWN_A_M, TOWN_B_M = 2100.0, 1500.0  # ellipse semi-axes (along / across the ridge)
CENTRE_RADIUS_M = 520.0
ESTATE_CENTRE_M = (155200.0, 445100.0)
ESTATE_SIZE_M = (1600.0, 900.0)
ESTATE_ANGLE_DEG = 10.0
GREENHOUSE_CENTRE_M = (144300.0, 444400.0)
GREENHOUSE_SIZE_M = (2500.0, 1700.0)
GREENHOUSE_ANGLE_DEG = 20.0
VILLAGES = (  # name, centre, radius
    ("Oudervoort", (143800.0, 451500.0), 560.0),
    ("Valkenhorst", (157800.0, 453600.0), 500.0),
    ("Lekdonk", (150500.0, 440600.0), 420.0),
)
ROADS = (  # road_id, kind, vertices (RD m)
    (
        "A99",
        "motorway",
        [
            (139500, 446300),
            (144000, 446450),
            (148000, 446650),
            (151000, 446750),
            (154000, 446950),
            (157000, 448000),
            (160500, 449300),
        ],
    ),
    (
        "N901",
        "provincial",
        [(151800, 449200), (147500, 450300), (143800, 451500), (139500, 452600)],
    ),
    (
        "N902",
        "provincial",
        [(151800, 449200), (154000, 451200), (156200, 452600), (157800, 453600), (160500, 455000)],
    ),
    (
        "N903",
        "provincial",
        [(151800, 449200), (151200, 446700), (150700, 443500), (150500, 440600), (150400, 439500)],
    ),
)
ROAD_CLEARANCE_M = {"motorway": 30.0, "provincial": 12.0}

MUNICIPALITIES = (  # name, code, landmark inside it
    ("Gemeente Heuvelrode", "GM9901", TOWN_CENTRE_M),
    ("Gemeente Oudervoort", "GM9902", VILLAGES[0][1]),
    ("Gemeente Valkenveen", "GM9903", VILLAGES[1][1]),
    ("Gemeente Lekdonk", "GM9904", VILLAGES[2][1]),
)
MELDKAMER = ("Meldkamer Heuvelrug-Rivieren (demo)", "MK99")

# Synthetic sites: id, name, nominal position, height above ground (m).
# "ROOFTOP" means: on the centre building nearest 48 m tall (h = building + 4 m).
# None of these are C2000 sites. The area behind the ridge (NE) is left without one.
MAST_PLAN = (
    ("M01", "Oudervoort", (143000.0, 452200.0), 40.0),
    ("M02", "Kassengebied", (142600.0, 444000.0), 35.0),
    ("M03", "Heuvelrode Centrum (dak)", "ROOFTOP", None),
    ("M04", "Bedrijvenpark Oost", (156000.0, 443700.0), 45.0),
    ("M05", "Lekdonk", (148500.0, 441000.0), 40.0),
    ("M06", "Rijnpoort", (159400.0, 445200.0), 35.0),
    ("M07", "Knooppunt West", (146600.0, 447900.0), 60.0),  # three sectors
    ("M08", "Heuvelflank", (148500.0, 454200.0), 30.0),
)
SECTOR_SITE = "M07"
PV_HOTSPOT_MAST = "M04"

PRODUCTS = (
    "dtm",
    "landcover",
    "buildings",
    "masts",
    "pattern",
    "pv",
    "areas",
    "roads",
    "drive_test",
    "field_reports",
)
FILE_NAMES = {
    "dtm": "dtm.tif",
    "landcover": "landcover.tif",
    "buildings": "buildings.gpkg",
    "masts": "masts.csv",
    "pattern": SECTOR_PATTERN_FILE,
    "pv": "pv.geojson",
    "areas": "areas.gpkg",
    "roads": "roads.gpkg",
    "drive_test": "drive_test.csv",
    "field_reports": "field_reports.csv",
}

# Synthetic drive test and field reports (issue #15). Their truth is a documented law,
# independent of c2000cov's propagation model, so calibrating the model against them
# measures how far the model is from that law. Drawn from their own generator
# (seed [seed, DRIVE_TEST_STREAM]) so that every other file stays byte-identical.
DRIVE_TEST_STREAM = 15
DRIVE_STEP_M = 20.0  # a point every 20 m along the main roads
DRIVE_PROFILE = "in_car"
DRIVE_TERMINAL_DB = 1.0  # in_car: 2 dBi roof antenna - 1 dB cable (data/demo.toml)
HANDHELD_TERMINAL_DB = -8.0  # handheld: -3 dBi - 5 dB body loss
TRUTH_FREQ_MHZ = 392.5
TRUTH_H_RX_M = 1.5
#: The truth's Okumura-Hata environment and extra loss (dB) per land-cover class of the
#: receiver: open land and water "open area", town "suburban", forest suburban plus 5 dB
#: foliage, dense centre "urban".
TRUTH_CLASS_HATA = {LC_WATER: ("open", 0.0), LC_OPEN: ("open", 0.0),
                    LC_SUBURBAN: ("suburban", 0.0), LC_TREES_URBAN: ("suburban", 5.0),
                    LC_DENSE_URBAN: ("urban", 0.0)}
TRUTH_SHADOW_DB = 5.0  # spatially correlated shadowing (std)
TRUTH_SHADOW_CORR_M = 100.0  # its correlation distance (Gaussian kernel sigma)
TRUTH_NOISE_DB = 2.0  # independent error of each logged median level
DRIVE_BAD_ROWS = {"no_level": 5, "absurd_level": 3, "duplicate": 4, "outside_grid": 3}
N_FIELD_REPORTS = 400
N_FIELD_FAILS = 120
MS_SENSITIVITY_DBM = -103.0


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------
def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _cell_centres() -> tuple[np.ndarray, np.ndarray]:
    """Return 2-D arrays of cell-centre x and y (m, RD)."""
    x_m = X_MIN_M + CELL_M * (np.arange(N_COLS) + 0.5)
    y_m = Y_MAX_M - CELL_M * (np.arange(N_ROWS) + 0.5)
    return np.meshgrid(x_m, y_m)


def _to_cell(x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and in-grid flag of points (m, RD)."""
    col = np.floor((np.asarray(x_m) - X_MIN_M) / CELL_M).astype(np.int64)
    row = np.floor((Y_MAX_M - np.asarray(y_m)) / CELL_M).astype(np.int64)
    inside = (col >= 0) & (col < N_COLS) & (row >= 0) & (row < N_ROWS)
    return np.clip(row, 0, N_ROWS - 1), np.clip(col, 0, N_COLS - 1), inside


def _sample(grid: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, outside=np.nan) -> np.ndarray:
    row, col, inside = _to_cell(x_m, y_m)
    out = grid[row, col]
    if out.dtype == bool:
        return out & inside
    return np.where(inside, out, outside)


def _spectral_noise(
    rng: np.random.Generator, beta: float, min_wavelength_m: float, max_wavelength_m: float
) -> np.ndarray:
    """Gaussian random field with a power-law spectrum, band-limited, unit std."""
    fy = np.fft.fftfreq(N_ROWS, d=CELL_M)[:, None]
    fx = np.fft.rfftfreq(N_COLS, d=CELL_M)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    amp = f ** (-beta / 2.0)
    amp *= np.exp(-((f * min_wavelength_m) ** 2)) * (1.0 - np.exp(-((f * max_wavelength_m) ** 2)))
    amp[0, 0] = 0.0
    white = rng.standard_normal((N_ROWS, N_COLS))
    field = np.fft.irfft2(np.fft.rfft2(white) * amp, s=(N_ROWS, N_COLS))
    return field / field.std()


def _rect_corners(cx, cy, length_m, width_m, angle_rad):
    """Corner coordinates (n, 5, 2) of rotated rectangles (closed rings, CCW)."""
    cx, cy, length_m, width_m, angle_rad = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (cx, cy, length_m, width_m, angle_rad))
    )
    lx = np.array([-1.0, 1.0, 1.0, -1.0, -1.0])
    ly = np.array([-1.0, -1.0, 1.0, 1.0, -1.0])
    c, s = np.cos(angle_rad)[:, None], np.sin(angle_rad)[:, None]
    u = lx[None, :] * (length_m[:, None] / 2.0)
    v = ly[None, :] * (width_m[:, None] / 2.0)
    xs = cx[:, None] + u * c - v * s
    ys = cy[:, None] + u * s + v * c
    return np.stack([xs, ys], axis=-1)


def _lattice(centre_m, half_extent_m, pitch_u_m, pitch_v_m, angle_rad, stagger=0.0):
    """Points of a rotated lattice covering a square of half-size half_extent_m."""
    nu = int(half_extent_m / pitch_u_m) + 1
    nv = int(half_extent_m / pitch_v_m) + 1
    u = np.arange(-nu, nu + 1) * pitch_u_m
    v = np.arange(-nv, nv + 1) * pitch_v_m
    uu, vv = np.meshgrid(u, v)
    uu = uu + stagger * pitch_u_m * (np.arange(-nv, nv + 1)[:, None] % 2)
    uu, vv = uu.ravel(), vv.ravel()
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return centre_m[0] + uu * c - vv * s, centre_m[1] + uu * s + vv * c


def _in_ellipse(x_m, y_m, centre_m, a_m, b_m, angle_rad, wobble=None):
    dx, dy = np.asarray(x_m) - centre_m[0], np.asarray(y_m) - centre_m[1]
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    u, v = dx * c + dy * s, -dx * s + dy * c
    r = np.hypot(u / a_m, v / b_m)
    if wobble is not None:
        theta = np.arctan2(v, u)
        r = r / (1.0 + wobble[0] * np.sin(3 * theta + wobble[1]) + wobble[2] * np.sin(5 * theta))
    return r


def _in_rect(x_m, y_m, centre_m, size_m, angle_rad):
    dx, dy = np.asarray(x_m) - centre_m[0], np.asarray(y_m) - centre_m[1]
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    u, v = dx * c + dy * s, -dx * s + dy * c
    return (np.abs(u) <= size_m[0] / 2) & (np.abs(v) <= size_m[1] / 2)


def _segment_distance(x_m, y_m, p0, p1):
    """Distance (m) from points to the segment p0-p1."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    t = ((x_m - p0[0]) * dx + (y_m - p0[1]) * dy) / (dx * dx + dy * dy)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(x_m - (p0[0] + t * dx), y_m - (p0[1] + t * dy))


def _river_centre_y(x_m: np.ndarray, ph: np.ndarray) -> np.ndarray:
    return (
        RIVER_Y_M
        + 380.0 * np.sin(2 * np.pi * x_m / 5200.0 + ph[0])
        + 170.0 * np.sin(2 * np.pi * x_m / 3100.0 + ph[6])
        + 110.0 * np.sin(2 * np.pi * x_m / 1900.0 + ph[1])
        + 60.0 * np.sin(2 * np.pi * x_m / 11000.0 + ph[7])
        + 120.0 * (x_m - 150000.0) / 10000.0
    )


def _river_width(x_m: np.ndarray, ph: np.ndarray) -> np.ndarray:
    """Water width (m): 150-300 m."""
    return (
        225.0
        + 55.0 * np.sin(2 * np.pi * x_m / 7300.0 + ph[2])
        + 15.0 * np.sin(2 * np.pi * x_m / 1900.0 + ph[3])
    )


# --------------------------------------------------------------------------------------
# Terrain
# --------------------------------------------------------------------------------------
def _terrain(rng: np.random.Generator) -> dict:
    """DTM (m NAP) and the masks the rest of the generator needs."""
    xg, yg = _cell_centres()

    # --- push moraine (stuwwal) -----------------------------------------------------
    ax, ay = RIDGE_P1_M[0] - RIDGE_P0_M[0], RIDGE_P1_M[1] - RIDGE_P0_M[1]
    length = math.hypot(ax, ay)
    ux, uy = ax / length, ay / length
    s_m = (xg - RIDGE_P0_M[0]) * ux + (yg - RIDGE_P0_M[1]) * uy  # along axis
    d_m = (xg - RIDGE_P0_M[0]) * (-uy) + (yg - RIDGE_P0_M[1]) * ux  # + to the NE
    ph = rng.uniform(0, 2 * np.pi, 6)
    crest_m = (
        70.0
        + 12.0 * np.sin(2 * np.pi * s_m / 9000.0 + ph[0])
        + 7.0 * np.sin(2 * np.pi * s_m / 3700.0 + ph[1])
    )
    width_m = np.where(d_m < 0, 1900.0, 1500.0)  # gentler SW flank
    core = np.exp(-((np.abs(d_m) / width_m) ** 2.4))
    taper = _smoothstep(s_m / 2500.0) * _smoothstep((length - s_m) / 2500.0)
    core *= taper
    apron = 11.0 * np.exp(-np.abs(d_m) / 2300.0) * taper  # sandr / outwash fans

    n_low = _spectral_noise(rng, 3.0, 400.0, 6000.0)
    n_mid = _spectral_noise(rng, 2.5, 60.0, 800.0)
    n_fine = _spectral_noise(rng, 2.0, 20.0, 200.0)
    relief = core * (crest_m + 9.0 * n_low + 1.8 * n_mid) + apron * (1.0 + 0.25 * n_low)
    relief = np.maximum(relief, 0.0)

    # --- polders: Voronoi level units, ditch pattern, parcel bulge ------------------
    n_units = 34
    seeds = np.column_stack(
        [rng.uniform(X_MIN_M, X_MAX_M, n_units), rng.uniform(Y_MIN_M, Y_MAX_M, n_units)]
    )
    level_m = np.round(rng.uniform(-1.8, -0.4, n_units), 1)
    ditch_angle = np.deg2rad(rng.choice([28.0, 33.0, 118.0, 123.0, 75.0], n_units))
    ditch_angle += np.deg2rad(rng.uniform(-4, 4, n_units))
    ditch_pitch_m = rng.uniform(70.0, 130.0, n_units)
    step = 5  # units resolved at 50 m, then repeated
    _, unit_coarse = cKDTree(seeds).query(
        np.column_stack([xg[::step, ::step].ravel(), yg[::step, ::step].ravel()])
    )
    unit = np.repeat(
        np.repeat(unit_coarse.reshape(N_ROWS // step, N_COLS // step), step, 0), step, 1
    )
    proj = xg * np.cos(ditch_angle[unit]) + yg * np.sin(ditch_angle[unit])
    phase = np.mod(proj, ditch_pitch_m[unit]) / ditch_pitch_m[unit]
    ditch = phase < (CELL_M / ditch_pitch_m[unit])
    bulge = 0.15 * np.sin(np.pi * phase)
    polder_plain = level_m[unit] + bulge + 0.07 * n_fine + 0.05 * n_mid

    # --- settlements are raised and have no ditches --------------------------------
    zones = _zone_masks(xg, yg, rng)
    urban = zones["town"] | zones["estate"] | zones["village"]
    urban_w = np.clip(
        1.0 - ndimage.distance_transform_edt(~urban, sampling=CELL_M) / 250.0, 0.0, 1.0
    )
    polder = polder_plain - 0.55 * ditch * (1.0 - urban_w)
    polder = (1.0 - urban_w) * polder + urban_w * np.maximum(polder_plain, 0.6 + 0.2 * n_mid)

    w_high = _smoothstep((relief - 0.5) / 4.0)
    z = (1.0 - w_high) * polder + w_high * (relief - 1.0 + 0.3 * n_fine)

    # --- river, forelands (uiterwaarden) and dikes ----------------------------------
    ph_r = rng.uniform(0, 2 * np.pi, 8)
    xs = np.arange(X_MIN_M + CELL_M / 2, X_MAX_M, CELL_M / 2)
    ys = _river_centre_y(xs, ph_r)
    rr, cc, inside = _to_cell(xs, ys)
    line = np.zeros((N_ROWS, N_COLS), dtype=bool)
    line[rr[inside], cc[inside]] = True
    dist_c, idx = ndimage.distance_transform_edt(~line, sampling=CELL_M, return_indices=True)
    x_near = xg[idx[0], idx[1]]
    side_north = yg > _river_centre_y(xg, ph_r)
    half_w = _river_width(x_near, ph_r) / 2.0
    fp_n = 260.0 + 140.0 * np.sin(2 * np.pi * x_near / 6100.0 + ph_r[4])
    fp_s = 230.0 + 130.0 * np.sin(2 * np.pi * x_near / 4700.0 + ph_r[5])
    foreland = np.where(side_north, fp_n, fp_s)
    dike_axis = half_w + foreland + 20.0
    water_level = -0.1 + 0.3 * (xg - X_MIN_M) / (X_MAX_M - X_MIN_M)
    crest = DIKE_CREST_M + 0.5 * (xg - X_MIN_M) / (X_MAX_M - X_MIN_M)
    river_water = dist_c <= half_w
    inner = dist_c < dike_axis
    z_fore = 1.0 + 0.35 * n_mid + 0.1 * n_fine
    z = np.where(inner, z_fore, z)
    z = np.where(river_water, water_level, z)
    z_dike = crest - np.maximum(np.abs(dist_c - dike_axis) - 5.0, 0.0) / 3.0
    z = np.maximum(z, np.where(dist_c > half_w, z_dike, -np.inf))
    dike_zone = (np.abs(dist_c - dike_axis) < 5.0 + 3.0 * (crest + 2.5)) | inner

    # --- canal with low embankments --------------------------------------------------
    dist_canal = _segment_distance(xg, yg, CANAL_P0_M, CANAL_P1_M)
    canal_water = (dist_canal <= CANAL_HALF_WIDTH_M) & ~inner
    kade = 1.0 - np.maximum(np.abs(dist_canal - CANAL_HALF_WIDTH_M - 12.0) - 4.0, 0.0) / 2.5
    z = np.where(dist_canal < CANAL_HALF_WIDTH_M + 40.0, np.maximum(z, kade), z)
    z = np.where(canal_water, 0.0 - 0.4, z)
    water = river_water | canal_water

    # --- scale so the highest summit is RIDGE_TOP_M ---------------------------------
    z_max = float(z.max())
    hi = z > 6.0
    z = np.where(hi, 6.0 + (z - 6.0) * (RIDGE_TOP_M - 6.0) / (z_max - 6.0), z)

    # --- forest on the ridge (heath clearings), a few lowland estates --------------
    n_forest = _spectral_noise(rng, 3.0, 100.0, 3000.0)
    forest = ((relief > 7.0) & (n_forest > -0.9)) | (n_forest > 2.3)
    forest &= ~water & ~dike_zone & ~urban

    # parks, sports fields and water squares inside settlements (low values)
    n_green = _spectral_noise(rng, 2.0, 150.0, 900.0)
    dtm = np.round(z, 2).astype(np.float32)
    nobuild = water | dike_zone | (dist_canal < CANAL_HALF_WIDTH_M + 45.0)
    return {
        "dtm": dtm,
        "water": water,
        "nobuild": nobuild,
        "forest": forest,
        "zones": zones,
        "green": n_green,
        "river_phase": ph_r,
    }


def _zone_masks(xg, yg, rng) -> dict:
    ang = math.atan2(RIDGE_P1_M[1] - RIDGE_P0_M[1], RIDGE_P1_M[0] - RIDGE_P0_M[0])
    wob = (0.10, rng.uniform(0, 2 * np.pi), 0.06)
    town_r = _in_ellipse(xg, yg, TOWN_CENTRE_M, TOWN_A_M, TOWN_B_M, ang, wob)
    centre = np.hypot(xg - TOWN_CENTRE_M[0], yg - TOWN_CENTRE_M[1]) <= CENTRE_RADIUS_M
    estate = _in_rect(xg, yg, ESTATE_CENTRE_M, ESTATE_SIZE_M, np.deg2rad(ESTATE_ANGLE_DEG))
    greenhouse = _in_rect(
        xg, yg, GREENHOUSE_CENTRE_M, GREENHOUSE_SIZE_M, np.deg2rad(GREENHOUSE_ANGLE_DEG)
    )
    village = np.zeros(xg.shape, dtype=bool)
    for _, c, r in VILLAGES:
        village |= np.hypot(xg - c[0], yg - c[1]) <= r
    return {
        "town": town_r <= 1.0,
        "town_angle": ang,
        "centre": centre,
        "estate": estate,
        "greenhouse": greenhouse,
        "village": village,
    }


# --------------------------------------------------------------------------------------
# Buildings
# --------------------------------------------------------------------------------------
_ERAS = (
    (1900, 1930),
    (1920, 1945),
    (1946, 1965),
    (1960, 1975),
    (1970, 1985),
    (1980, 1995),
    (1995, 2006),
    (2005, 2024),
)

# typology per era class: pitch_u, pitch_v, length lo/hi, depth lo/hi, height lo/hi, p_flat
_TYPOLOGY = {
    "prewar": (52.0, 36.0, 22.0, 44.0, 8.5, 11.0, 9.0, 13.0, 0.0),
    "postwar": (60.0, 40.0, 28.0, 50.0, 9.0, 11.5, 8.0, 10.5, 0.30),
    "bloemkool": (46.0, 34.0, 24.0, 38.0, 8.5, 10.0, 7.5, 10.0, 0.05),
    "vinex": (40.0, 33.0, 12.0, 32.0, 9.0, 11.0, 8.0, 11.0, 0.10),
    "village": (44.0, 36.0, 10.0, 26.0, 8.0, 11.0, 6.0, 10.0, 0.0),
}


def _typology(last_year: int) -> str:
    """Street-plan type of a neighbourhood finished in last_year."""
    if last_year <= 1945:
        return "prewar"
    if last_year <= 1975:
        return "postwar"
    if last_year <= 1995:
        return "bloemkool"
    return "vinex"


def _candidates_residential(rng, terrain) -> list[dict]:
    """Town neighbourhoods (wijken): one rotated street lattice per Voronoi cell."""
    zones = terrain["zones"]
    out = []
    # wijk seeds inside the town ellipse, 450 m apart at least
    pts = []
    while len(pts) < 15:
        p = (
            TOWN_CENTRE_M[0] + rng.uniform(-TOWN_A_M, TOWN_A_M),
            TOWN_CENTRE_M[1] + rng.uniform(-TOWN_A_M, TOWN_A_M),
        )
        r = _in_ellipse(p[0], p[1], TOWN_CENTRE_M, TOWN_A_M, TOWN_B_M, zones["town_angle"])
        if r > 0.95 or np.hypot(p[0] - TOWN_CENTRE_M[0], p[1] - TOWN_CENTRE_M[1]) < 650.0:
            continue
        if pts and min(math.hypot(p[0] - q[0], p[1] - q[1]) for q in pts) < 450.0:
            continue
        pts.append(p)
    seeds = np.array(pts)
    r_norm = _in_ellipse(
        seeds[:, 0], seeds[:, 1], TOWN_CENTRE_M, TOWN_A_M, TOWN_B_M, zones["town_angle"]
    )
    order = np.argsort(r_norm)
    era_idx = np.clip(np.round(r_norm / 0.95 * 6.0 + rng.integers(-1, 2, len(pts))), 0, 6)
    era_idx = era_idx.astype(int)
    era_idx[order[-1]] = 7  # the outermost wijk is the newest (2005-2024)
    era_idx[order[-2]] = 7
    era_idx[order[-3]] = max(era_idx[order[-3]], 6)
    tree = cKDTree(seeds)
    ext = TOWN_A_M + 200.0
    for k in range(len(pts)):
        lo, hi = _ERAS[era_idx[k]]
        pu, pv, l_lo, l_hi, d_lo, d_hi, h_lo, h_hi, p_flat = _TYPOLOGY[_typology(hi)]
        angle = rng.uniform(0, np.pi)
        x, y = _lattice(TOWN_CENTRE_M, ext, pu, pv, angle, stagger=rng.uniform(0, 0.5))
        _, owner = tree.query(np.column_stack([x, y]))
        keep = (owner == k) & _sample(zones["town"], x, y, False)
        keep &= ~_sample(zones["centre"], x, y, False)
        x, y = x[keep], y[keep]
        # parks and playing fields where a smooth random field is low, a few gaps
        keep = (_sample(terrain["green"], x, y, 0.0) > -0.8) & (rng.random(len(x)) > 0.10)
        x, y = x[keep], y[keep]
        n = len(x)
        flat = rng.random(n) < p_flat
        length = np.where(flat, rng.uniform(45.0, 56.0, n), rng.uniform(l_lo, l_hi, n))
        length = np.minimum(length, pu - 6.0)
        depth = np.where(flat, rng.uniform(10.0, 12.0, n), rng.uniform(d_lo, d_hi, n))
        height = np.where(flat, rng.uniform(12.0, 15.0, n), rng.uniform(h_lo, h_hi, n))
        year = rng.integers(lo, hi + 1, n)
        jitter = rng.normal(0.0, 1.0, (2, n))
        out.append(
            dict(
                kind="residential",
                cx=x + jitter[0],
                cy=y + jitter[1],
                length=length,
                depth=depth,
                angle=np.full(n, angle) + rng.normal(0, 0.01, n),
                height=height,
                year=year,
                priority=3,
            )
        )
    return out


def _candidates_centre_towers(rng) -> list[dict]:
    out = []
    # 4 towers around the station / centre edge
    n_t = 4
    theta = np.deg2rad(np.array([200.0, 235.0, 265.0, 20.0]) + rng.uniform(-10, 10, n_t))
    r = rng.uniform(300.0, 480.0, n_t)
    side = rng.uniform(28.0, 40.0, n_t)
    out.append(
        dict(
            kind="tower",
            cx=TOWN_CENTRE_M[0] + r * np.cos(theta),
            cy=TOWN_CENTRE_M[1] + r * np.sin(theta),
            length=side,
            depth=side * rng.uniform(0.8, 1.0, n_t),
            angle=rng.uniform(0, np.pi / 2, n_t),
            height=rng.uniform(80.0, 100.0, n_t),
            year=rng.integers(1998, 2024, n_t),
            priority=0,
        )
    )
    angle = rng.uniform(0, np.pi / 2)
    x, y = _lattice(TOWN_CENTRE_M, CENTRE_RADIUS_M + 50, 44.0, 40.0, angle, stagger=0.3)
    keep = np.hypot(x - TOWN_CENTRE_M[0], y - TOWN_CENTRE_M[1]) <= CENTRE_RADIUS_M
    keep &= rng.random(len(x)) > 0.08
    x, y = x[keep], y[keep]
    n = len(x)
    out.append(
        dict(
            kind="centre",
            cx=x + rng.normal(0, 1.5, n),
            cy=y + rng.normal(0, 1.5, n),
            length=rng.uniform(18.0, 38.0, n),
            depth=rng.uniform(14.0, 32.0, n),
            angle=angle + rng.normal(0, 0.03, n),
            height=20.0 + 40.0 * rng.beta(1.3, 3.0, n),
            year=np.clip(np.round(1900 + 120 * rng.beta(1.0, 1.6, n)), 1900, 2024).astype(int),
            priority=1,
        )
    )
    return out


def _candidates_estate_greenhouse(rng) -> list[dict]:
    out = []
    a = np.deg2rad(ESTATE_ANGLE_DEG)
    x, y = _lattice(ESTATE_CENTRE_M, ESTATE_SIZE_M[0], 150.0, 120.0, a)
    keep = _in_rect(x, y, ESTATE_CENTRE_M, (ESTATE_SIZE_M[0] - 80, ESTATE_SIZE_M[1] - 60), a)
    keep &= rng.random(len(x)) > 0.15
    x, y = x[keep], y[keep]
    n = len(x)
    u = (x - ESTATE_CENTRE_M[0]) / ESTATE_SIZE_M[0] + 0.5  # west 0 .. east 1
    year = np.clip(np.round(1966 + 50 * u + rng.normal(0, 5, n)), 1966, 2024).astype(int)
    out.append(
        dict(
            kind="warehouse",
            cx=x,
            cy=y,
            length=rng.uniform(50.0, 130.0, n),
            depth=rng.uniform(35.0, 100.0, n),
            angle=np.full(n, a),
            height=rng.uniform(8.0, 14.0, n),
            year=year,
            priority=2,
        )
    )
    a = np.deg2rad(GREENHOUSE_ANGLE_DEG)
    x, y = _lattice(GREENHOUSE_CENTRE_M, GREENHOUSE_SIZE_M[0], 260.0, 170.0, a)
    keep = _in_rect(x, y, GREENHOUSE_CENTRE_M, GREENHOUSE_SIZE_M, a)
    keep &= rng.random(len(x)) > 0.25
    x, y = x[keep], y[keep]
    n = len(x)
    out.append(
        dict(
            kind="greenhouse",
            cx=x,
            cy=y,
            length=rng.uniform(120.0, 240.0, n),
            depth=rng.uniform(70.0, 150.0, n),
            angle=np.full(n, a),
            height=rng.uniform(5.0, 7.0, n),
            year=rng.integers(1975, 2024, n),
            priority=2,
        )
    )
    return out


def _candidates_villages(rng) -> list[dict]:
    out = []
    pu, pv, l_lo, l_hi, d_lo, d_hi, h_lo, h_hi, _ = _TYPOLOGY["village"]
    for _, c, radius in VILLAGES:
        for core in (True, False):
            angle = rng.uniform(0, np.pi)
            x, y = _lattice(c, radius + 50, pu, pv, angle, stagger=0.5)
            r = np.hypot(x - c[0], y - c[1])
            keep = (r <= 0.5 * radius) if core else ((r > 0.5 * radius) & (r <= radius))
            keep &= rng.random(len(x)) > (0.15 if core else 0.35)
            x, y = x[keep], y[keep]
            n = len(x)
            year = rng.integers(1900, 1951, n) if core else rng.integers(1960, 2025, n)
            out.append(
                dict(
                    kind="residential",
                    cx=x,
                    cy=y,
                    length=rng.uniform(l_lo, l_hi, n),
                    depth=rng.uniform(d_lo, d_hi, n),
                    angle=angle + rng.normal(0, 0.05, n),
                    height=rng.uniform(h_lo, h_hi, n),
                    year=year,
                    priority=4,
                )
            )
    return out


def _candidates_farms(rng, terrain, n_farms=120) -> list[dict]:
    zones = terrain["zones"]
    blocked = (
        terrain["nobuild"]
        | terrain["forest"]
        | zones["town"]
        | zones["estate"]
        | zones["greenhouse"]
        | zones["village"]
    )
    blocked = ndimage.binary_dilation(blocked, iterations=8)  # 80 m margin
    cand = np.column_stack(
        [
            rng.uniform(X_MIN_M + 200, X_MAX_M - 200, 6000),
            rng.uniform(Y_MIN_M + 200, Y_MAX_M - 200, 6000),
        ]
    )
    ok = ~_sample(blocked, cand[:, 0], cand[:, 1], True)
    cand = cand[ok]
    chosen: list[np.ndarray] = []
    for p in cand:
        if len(chosen) >= n_farms:
            break
        if chosen and np.min(np.hypot(*(np.array(chosen) - p).T)) < 420.0:
            continue
        chosen.append(p)
    farms = np.array(chosen)
    n = len(farms)
    angle = np.deg2rad(rng.choice([28.0, 33.0, 118.0, 123.0], n) + rng.uniform(-5, 5, n))
    house = dict(
        kind="farm",
        cx=farms[:, 0],
        cy=farms[:, 1],
        length=rng.uniform(14.0, 20.0, n),
        depth=rng.uniform(9.0, 12.0, n),
        angle=angle,
        height=rng.uniform(7.0, 10.0, n),
        year=rng.integers(1900, 1961, n),
        priority=5,
    )
    off = rng.uniform(34.0, 46.0, n)
    barn_len = rng.uniform(28.0, 50.0, n)
    barn = dict(
        kind="farm",
        cx=farms[:, 0] + (off + barn_len / 2 - 14) * np.cos(angle),
        cy=farms[:, 1] + (off + barn_len / 2 - 14) * np.sin(angle),
        length=barn_len,
        depth=rng.uniform(15.0, 24.0, n),
        angle=angle,
        height=rng.uniform(8.0, 12.0, n),
        year=rng.integers(1955, 2016, n),
        priority=5,
    )
    return [house, barn]


def _buildings(rng, terrain, roads_gdf) -> gpd.GeoDataFrame:
    groups = (
        _candidates_centre_towers(rng)
        + _candidates_estate_greenhouse(rng)
        + _candidates_residential(rng, terrain)
        + _candidates_villages(rng)
        + _candidates_farms(rng, terrain)
    )
    cat = {
        k: np.concatenate(
            [np.asarray(g[k]) if k != "kind" else np.full(len(g["cx"]), g[k]) for g in groups]
        )
        for k in groups[0]
        if k != "priority"
    }
    cat["priority"] = np.concatenate([np.full(len(g["cx"]), g["priority"]) for g in groups])
    corners = _rect_corners(cat["cx"], cat["cy"], cat["length"], cat["depth"], cat["angle"])
    # every corner and the centre must be on buildable land inside the region
    pts_x = np.concatenate([corners[:, :4, 0], cat["cx"][:, None]], axis=1)
    pts_y = np.concatenate([corners[:, :4, 1], cat["cy"][:, None]], axis=1)
    ok = (pts_x > X_MIN_M + 20) & (pts_x < X_MAX_M - 20) & (pts_y > Y_MIN_M + 20)
    ok &= pts_y < Y_MAX_M - 20
    ok &= ~_sample(terrain["nobuild"], pts_x, pts_y, True)
    rural_kind = np.isin(cat["kind"], ["farm", "greenhouse"])[:, None]
    ok &= ~(rural_kind & _sample(terrain["forest"], pts_x, pts_y, False))
    ok = ok.all(axis=1)
    # road clearance
    polys = shapely.polygons(np.round(corners, 2))
    tree = shapely.STRtree(polys)
    for _, road in roads_gdf.iterrows():
        hit = tree.query(road.geometry.buffer(ROAD_CLEARANCE_M[road["kind"]]), "intersects")
        ok[hit] = False
    # greedy overlap removal, by priority then generation order, with 2 m clearance
    order = np.lexsort((np.arange(len(polys)), cat["priority"]))
    order = order[ok[order]]
    grown = shapely.polygons(
        _rect_corners(cat["cx"], cat["cy"], cat["length"] + 4.0, cat["depth"] + 4.0, cat["angle"])
    )
    tree = shapely.STRtree(polys)
    left, right = tree.query(grown, predicate="intersects")
    pairs = left != right
    neighbours: dict[int, list[int]] = {}
    for a_i, b_i in zip(left[pairs], right[pairs], strict=True):
        neighbours.setdefault(int(a_i), []).append(int(b_i))
    accepted = np.zeros(len(polys), dtype=bool)
    for i in order:
        if not any(accepted[j] for j in neighbours.get(int(i), ())):
            accepted[i] = True
    sel = np.flatnonzero(accepted)
    # ground level (m NAP) at the footprint centroid, as a 3D BAG user would sample it
    cxy = shapely.get_coordinates(shapely.centroid(polys[sel]))
    ground = _sample(terrain["dtm"], cxy[:, 0], cxy[:, 1]).astype(float)
    height = np.round(cat["height"][sel], 2)
    gdf = gpd.GeoDataFrame(
        {
            "kind": cat["kind"][sel].astype(str),
            "b3_h_maaiveld": np.round(ground, 2),
            "b3_h_dak_70p": np.round(ground + height, 2),
            "height_m": height,
            "oorspronkelijkbouwjaar": cat["year"][sel].astype(np.int32),
        },
        geometry=polys[sel],
        crs=CRS_EPSG,
    )
    return gdf


# --------------------------------------------------------------------------------------
# Areas and roads
# --------------------------------------------------------------------------------------
def _roads() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"road_id": [r[0] for r in ROADS], "kind": [r[1] for r in ROADS]},
        geometry=[shapely.LineString(r[2]) for r in ROADS],
        crs=CRS_EPSG,
    )


def _areas(rng, terrain) -> gpd.GeoDataFrame:
    region = shapely.box(X_MIN_M, Y_MIN_M, X_MAX_M, Y_MAX_M)
    xs = np.arange(X_MIN_M - 500.0, X_MAX_M + 500.0, 100.0)
    river = shapely.LineString(np.column_stack([xs, _river_centre_y(xs, terrain["river_phase"])]))
    yb = np.arange(441000.0, Y_MAX_M + 600.0, 250.0)
    xb = 147200.0 - 0.05 * (yb - 441000.0) + np.cumsum(rng.normal(0.0, 35.0, len(yb)))
    west = shapely.LineString(np.column_stack([xb, yb]))
    xc = np.arange(145500.0, X_MAX_M + 600.0, 250.0)
    yc = 452600.0 - 0.32 * (xc - 145500.0) + np.cumsum(rng.normal(0.0, 35.0, len(xc)))
    north = shapely.LineString(np.column_stack([xc, yc]))
    noded = shapely.union_all([region.exterior, river, west, north])
    faces = [
        shapely.set_precision(f, 0.01)
        for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
        if region.contains(f.representative_point())
    ]
    names, codes, geoms = [], [], []
    for name, code, landmark in MUNICIPALITIES:
        p = shapely.Point(landmark)
        owner = [f for f in faces if f.contains(p)]
        if len(owner) != 1:
            raise RuntimeError(f"demo areas: landmark of {name} lies in {len(owner)} faces")
        names.append(name)
        codes.append(code)
        geoms.append(owner[0])
    if len(faces) != len(MUNICIPALITIES):
        raise RuntimeError(f"demo areas: {len(faces)} faces, expected {len(MUNICIPALITIES)}")
    meldkamer = shapely.union_all(geoms)
    return gpd.GeoDataFrame(
        {
            "name": names + [MELDKAMER[0]],
            "kind": ["gemeente"] * len(names) + ["meldkamer"],
            "code": codes + [MELDKAMER[1]],
        },
        geometry=geoms + [meldkamer],
        crs=CRS_EPSG,
    )


# --------------------------------------------------------------------------------------
# Landcover, masts, pattern, PV
# --------------------------------------------------------------------------------------
def _landcover(terrain, buildings: gpd.GeoDataFrame) -> np.ndarray:
    zones = terrain["zones"]
    lc = np.full((N_ROWS, N_COLS), LC_OPEN, dtype=np.uint8)
    lc[terrain["forest"]] = LC_TREES_URBAN
    built = zones["town"] | zones["estate"] | zones["village"]
    lc[built] = LC_SUBURBAN
    lc[zones["centre"]] = LC_DENSE_URBAN
    # the blocks with towers are dense urban too
    xg, yg = _cell_centres()
    for geom in buildings.geometry[buildings["kind"].to_numpy() == "tower"]:
        c = geom.centroid
        lc[np.hypot(xg - c.x, yg - c.y) < 150.0] = LC_DENSE_URBAN
    lc[terrain["water"]] = LC_WATER
    return lc


def _snap(x_m, y_m, ok_mask, radius_m=1000.0):
    """Nearest cell centre to (x_m, y_m) where ok_mask is True."""
    row, col, _ = _to_cell(x_m, y_m)
    r = int(radius_m / CELL_M)
    r0, r1 = max(row - r, 0), min(row + r + 1, N_ROWS)
    c0, c1 = max(col - r, 0), min(col + r + 1, N_COLS)
    win = ok_mask[r0:r1, c0:c1]
    rr, cc = np.nonzero(win)
    if len(rr) == 0:
        raise RuntimeError(f"demo: no allowed cell within {radius_m} m of ({x_m}, {y_m})")
    d2 = (rr + r0 - row) ** 2 + (cc + c0 - col) ** 2
    k = int(np.argmin(d2))
    return (
        X_MIN_M + CELL_M * (cc[k] + c0 + 0.5),
        Y_MAX_M - CELL_M * (rr[k] + r0 + 0.5),
    )


def _masts(terrain, buildings: gpd.GeoDataFrame, lc: np.ndarray) -> list[dict]:
    site_ok = ~terrain["nobuild"] & (lc != LC_WATER)
    bld_tree = shapely.STRtree(buildings.geometry.values)
    rows = []
    for mast_id, name, pos, h_agl in MAST_PLAN:
        if pos == "ROOFTOP":
            cen = buildings[buildings["kind"] == "centre"]
            pick = cen.iloc[int(np.argmin(np.abs(cen["height_m"].to_numpy() - 48.0)))]
            c = pick.geometry.centroid
            x_m, y_m, h = round(c.x, 1), round(c.y, 1), round(float(pick["height_m"]) + 4.0, 1)
        else:
            x_m, y_m = _snap(pos[0], pos[1], site_ok)
            p = shapely.Point(x_m, y_m)
            if len(bld_tree.query(p.buffer(15.0), "intersects")):
                # a mast stands next to buildings, not on them: move 40 m away
                x_m, y_m = _snap(pos[0] + 40.0, pos[1] + 40.0, site_ok)
            h = h_agl
        base = {
            "name": name,
            "x_m": x_m,
            "y_m": y_m,
            "h_agl_m": h,
            "tx_power_dbm": TX_POWER_DBM,
            "tx_loss_db": TX_LOSS_DB,
            "rx_loss_db": RX_LOSS_DB,
            "tilt_deg": 0.0,
        }
        if mast_id == SECTOR_SITE:
            for suffix, az in zip("ABC", (0.0, 120.0, 240.0), strict=True):
                rows.append(
                    {
                        **base,
                        "mast_id": mast_id + suffix,
                        "name": f"{name} {suffix}",
                        "gain_dbi": SECTOR_GAIN_DBI,
                        "azimuth_deg": az,
                        "pattern": SECTOR_PATTERN_FILE,
                    }
                )
        else:
            rows.append(
                {
                    **base,
                    "mast_id": mast_id,
                    "gain_dbi": OMNI_GAIN_DBI,
                    "azimuth_deg": None,
                    "pattern": None,
                }
            )
    return rows


def _sector_pattern() -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical attenuation (dB, >= 0) at 0..359 degrees.

    Horizontal: 12 (phi / phi_3dB)^2 capped at the front-to-back ratio (3 dB at
    +-32.5 deg for a 65 deg beam). Vertical cut through boresight, MSI convention
    (0 = horizon in front, 90 = straight down, 180 = horizon behind, 270 = up),
    with the electrical down-tilt built in: 12 ((theta - tilt) / theta_3dB)^2
    capped at the side-lobe floor in front, front-to-back plus up to 10 dB behind.
    """
    ang = np.arange(360.0)
    phi = np.minimum(ang, 360.0 - ang)
    horiz = np.minimum(12.0 * (phi / SECTOR_H_BEAMWIDTH_DEG) ** 2, SECTOR_FRONT_TO_BACK_DB)
    elev_down = np.where(ang <= 180.0, ang, ang - 360.0)  # front half: -90..90 (down +)
    front = np.abs(elev_down) <= 90.0
    a_front = np.minimum(
        12.0 * ((elev_down - SECTOR_ELECTRICAL_TILT_DEG) / SECTOR_V_BEAMWIDTH_DEG) ** 2,
        SECTOR_V_SIDELOBE_DB,
    )
    back_down = 180.0 - ang  # back half: elevation below the rear horizon
    a_back = SECTOR_FRONT_TO_BACK_DB + np.minimum(
        12.0 * ((back_down + SECTOR_ELECTRICAL_TILT_DEG) / SECTOR_V_BEAMWIDTH_DEG) ** 2, 10.0
    )
    vert = np.where(front, a_front, a_back)
    vert = np.minimum(vert, SECTOR_MAX_ATTENUATION_DB)
    return np.round(horiz, 2), np.round(vert, 2)


def _msi_text() -> str:
    horiz, vert = _sector_pattern()
    lines = [
        "NAME C2000COV_DEMO_SECTOR_65",
        "MAKE c2000cov synthetic",
        f"FREQUENCY {PATTERN_FREQ_MHZ:.0f}",
        f"H_WIDTH {SECTOR_H_BEAMWIDTH_DEG:.0f}",
        f"V_WIDTH {SECTOR_V_BEAMWIDTH_DEG:.0f}",
        f"FRONT_TO_BACK {SECTOR_FRONT_TO_BACK_DB:.0f}",
        f"GAIN {SECTOR_GAIN_DBI:.1f} dBi",
        f"TILT ELECTRICAL {SECTOR_ELECTRICAL_TILT_DEG:.0f}",
        "POLARIZATION V",
        "COMMENT synthetic 65 deg sector for the c2000cov demo; 12(a/a3dB)^2 model, "
        "electrical tilt included in the vertical pattern",
        "HORIZONTAL 360",
    ]
    lines += [f"{a} {v:.2f}" for a, v in enumerate(horiz)]
    lines.append("VERTICAL 360")
    lines += [f"{a} {v:.2f}" for a, v in enumerate(vert)]
    return "\n".join(lines) + "\n"


def _find_park_site(rng, centre_m, r_lo_m, r_hi_m, size_m, ok_mask, bld_tree, roads_gdf):
    """Random rotated rectangle on allowed land, clear of buildings and roads."""
    road_buf = shapely.union_all(roads_gdf.geometry.buffer(40.0).values)
    for _ in range(4000):
        r = rng.uniform(r_lo_m, r_hi_m)
        t = rng.uniform(0, 2 * np.pi)
        cx, cy = centre_m[0] + r * math.cos(t), centre_m[1] + r * math.sin(t)
        angle = np.deg2rad(rng.choice([28.0, 33.0, 118.0, 123.0]))
        u, v = np.meshgrid(
            np.linspace(-size_m[0] / 2, size_m[0] / 2, 25),
            np.linspace(-size_m[1] / 2, size_m[1] / 2, 17),
        )
        px = cx + u * math.cos(angle) - v * math.sin(angle)
        py = cy + u * math.sin(angle) + v * math.cos(angle)
        if not _sample(ok_mask, px, py, False).all():
            continue
        poly = shapely.polygons(_rect_corners([cx], [cy], [size_m[0]], [size_m[1]], [angle]))[0]
        if len(bld_tree.query(poly.buffer(30.0), "intersects")) or poly.intersects(road_buf):
            continue
        return cx, cy, angle
    raise RuntimeError(f"demo: no site for a solar park near {centre_m}")


def _pv(rng, terrain, buildings, lc, masts, roads_gdf) -> gpd.GeoDataFrame:
    ok = (lc == LC_OPEN) & ~terrain["nobuild"] & ~terrain["zones"]["greenhouse"]
    bld_tree = shapely.STRtree(buildings.geometry.values)
    hot = next(m for m in masts if m["mast_id"] == PV_HOTSPOT_MAST)
    hot_xy = (hot["x_m"], hot["y_m"])
    parks = (  # name, kwp, search centre, r_lo, r_hi, faulty share, over-limit dB
        ("Zonnepark Rijnpoort", 14000.0, hot_xy, 1300.0, 2600.0, 0.4, PV_FAULTY_PARK_DB),
        ("Zonnepark Polderwijk", 8500.0, (146000.0, 450500.0), 0.0, 1500.0, 0.0, 0.0),
        ("Zonnepark Valkenveen", 6000.0, (157800.0, 451500.0), 0.0, 1500.0, 0.0, 0.0),
    )
    recs = []
    for k, (name, kwp, centre, r_lo, r_hi, faulty_share, over_db) in enumerate(parks, 1):
        area_m2 = kwp / 1000.0 * PV_PARK_HA_PER_MWP * 1e4
        length = math.sqrt(area_m2 * 1.6)
        size = (length, area_m2 / length)
        cx, cy, angle = _find_park_site(rng, centre, r_lo, r_hi, size, ok, bld_tree, roads_gdf)
        # split into fields (sections); a faulty section gets its own feature
        shares = [1.0 - faulty_share, faulty_share] if faulty_share > 0 else [1.0]
        u0 = -size[0] / 2
        for j, share in enumerate(shares):
            seg_len = size[0] * share
            uc = u0 + seg_len / 2
            u0 += seg_len
            fx = cx + uc * math.cos(angle)
            fy = cy + uc * math.sin(angle)
            geom = shapely.polygons(
                np.round(_rect_corners([fx], [fy], [seg_len - 4.0], [size[1]], [angle]), 2)
            )[0]
            faulty = j == 1
            kwp_j = round(kwp * share, 1)
            recs.append(
                dict(
                    pv_id=f"PARK{k:02d}{'AB'[j] if len(shares) > 1 else ''}",
                    name=name,
                    kind="park",
                    kwp=kwp_j,
                    n_devices=max(1, int(round(kwp_j / PV_PARK_KWP_PER_INVERTER))),
                    emission_db_over_limit=over_db if faulty else PV_COMPLIANT_DB_OVER_LIMIT,
                    h_agl_m=PV_PARK_H_AGL_M,
                    geometry=geom,
                )
            )
    # rooftops: ~270 houses and ~30 warehouses
    kinds = buildings["kind"].to_numpy()
    cent = buildings.geometry.centroid
    bx, by = cent.x.to_numpy(), cent.y.to_numpy()
    house_idx = np.flatnonzero(kinds == "residential")
    ware_idx = np.flatnonzero(kinds == "warehouse")
    houses = np.sort(rng.choice(house_idx, 270, replace=False))
    wares = np.sort(rng.choice(ware_idx, min(30, len(ware_idx)), replace=False))
    roof = np.concatenate([houses, wares])
    kwp = np.concatenate(
        [
            np.clip(np.round(rng.lognormal(math.log(5.0), 0.45, len(houses)), 1), 2.0, 15.0),
            np.round(rng.uniform(50.0, 500.0, len(wares)), 0),
        ]
    )
    dist = np.hypot(bx[roof] - hot_xy[0], by[roof] - hot_xy[1])
    is_house = np.arange(len(roof)) < len(houses)
    # candidates near the hotspot: the 20 houses closest to it beyond 1 km
    beyond = np.flatnonzero(is_house & (dist >= 1000.0))
    near = np.sort(beyond[np.argsort(dist[beyond], kind="stable")[:20]])
    far = np.setdiff1d(np.flatnonzero(is_house), near)
    n_near = min(PV_FAULTY_ROOFS_NEAR, len(near))
    faulty = np.zeros(len(roof), dtype=bool)
    faulty[rng.choice(near, n_near, replace=False)] = True
    faulty[rng.choice(far, PV_FAULTY_ROOFS - n_near, replace=False)] = True
    over = np.where(faulty, np.round(rng.uniform(20.0, 30.0, len(roof)), 1),
                    PV_COMPLIANT_DB_OVER_LIMIT)
    for i, b in enumerate(roof):
        recs.append(
            dict(
                pv_id=f"ROOF{i + 1:04d}",
                name="",
                kind="rooftop",
                kwp=float(kwp[i]),
                # a faulty rooftop has one defective optimizer; the compliant rest is
                # negligible beside it and is not listed
                n_devices=1 if faulty[i] else max(1, int(round(kwp[i] / PV_KWP_PER_DEVICE))),
                emission_db_over_limit=float(over[i]),
                h_agl_m=float(buildings["height_m"].iloc[b]),
                geometry=shapely.Point(round(bx[b], 2), round(by[b], 2)),
            )
        )
    gdf = gpd.GeoDataFrame(recs, geometry="geometry", crs=CRS_EPSG)
    gdf["n_devices"] = gdf["n_devices"].astype(np.int32)
    gdf["mitigated"] = False
    gdf["compliant"] = gdf["emission_db_over_limit"] <= 0.0
    cols = [
        "pv_id",
        "name",
        "kind",
        "kwp",
        "n_devices",
        "emission_db_over_limit",
        "h_agl_m",
        "mitigated",
        "compliant",
        "geometry",
    ]
    return gdf[cols]


# --------------------------------------------------------------------------------------
# Drive test and field reports (the truth is a documented law, see data/README.md)
# --------------------------------------------------------------------------------------
def _hata_db(d_km: np.ndarray, h_tx_m: np.ndarray, environment: np.ndarray) -> np.ndarray:
    """Okumura-Hata median loss (small/medium city a(hm)), with its suburban and open-area
    corrections where ``environment`` says so (the truth's median loss)."""
    f = TRUTH_FREQ_MHZ
    a_hm = (1.1 * math.log10(f) - 0.7) * TRUTH_H_RX_M - (1.56 * math.log10(f) - 0.8)
    urban = (69.55 + 26.16 * math.log10(f) - 13.82 * np.log10(h_tx_m) - a_hm
             + (44.9 - 6.55 * np.log10(h_tx_m)) * np.log10(np.maximum(d_km, 0.05)))
    suburban = 2.0 * math.log10(f / 28.0) ** 2 + 5.4
    open_area = 4.78 * math.log10(f) ** 2 - 18.33 * math.log10(f) + 40.94
    return urban - np.select([environment == "suburban", environment == "open"],
                             [suburban, open_area], 0.0)


def _truth_levels_dbm(x_m, y_m, masts: list[dict], lc: np.ndarray, shadow: np.ndarray,
                      terminal_db: float) -> tuple[np.ndarray, np.ndarray]:
    """True median downlink level per point and mast (points x masts), and the shadowing."""
    horiz, _ = _sector_pattern()
    cls = _sample(lc, x_m, y_m, outside=LC_OPEN)
    env = np.array([TRUTH_CLASS_HATA[c][0] for c in cls.tolist()], dtype=object)
    extra = np.array([TRUTH_CLASS_HATA[c][1] for c in cls.tolist()])
    fade = _sample(shadow, x_m, y_m, outside=0.0)
    levels = []
    for m in masts:
        dx, dy = x_m - m["x_m"], y_m - m["y_m"]
        d_km = np.hypot(dx, dy) / 1000.0
        gain = np.full(len(x_m), m["gain_dbi"], dtype=float)
        if m["azimuth_deg"] is not None:
            rel = np.mod(np.degrees(np.arctan2(dx, dy)) - m["azimuth_deg"], 360.0)
            gain -= np.interp(rel, np.arange(361.0), np.append(horiz, horiz[0]))
        levels.append(m["tx_power_dbm"] + gain - m["tx_loss_db"] + terminal_db
                      - _hata_db(d_km, np.full(len(x_m), m["h_agl_m"]), env))
    return np.stack(levels, axis=1) - extra[:, None] + fade[:, None]


def _shadow_field(rng) -> np.ndarray:
    white = rng.standard_normal((N_ROWS, N_COLS)).astype(np.float32)
    field = ndimage.gaussian_filter(white, TRUTH_SHADOW_CORR_M / CELL_M, mode="wrap")
    return (field * (TRUTH_SHADOW_DB / field.std())).astype(np.float32)


def _drive_test(rng, roads_gdf, masts, lc, shadow) -> str:
    pts = []
    for road_id, line in zip(roads_gdf["road_id"], roads_gdf.geometry, strict=True):
        dist = np.arange(0.0, line.length, DRIVE_STEP_M)
        p = shapely.line_interpolate_point(line, dist)
        pts += [(road_id, pt.x, pt.y) for pt in p]
    x = np.array([q[1] for q in pts]) + rng.normal(0.0, 3.0, len(pts))
    y = np.array([q[2] for q in pts]) + rng.normal(0.0, 3.0, len(pts))
    inside = _to_cell(x, y)[2]
    x, y = x[inside], y[inside]
    road = np.array([q[0] for q in pts], dtype=object)[inside]
    level = _truth_levels_dbm(x, y, masts, lc, shadow, DRIVE_TERMINAL_DB)
    serving = np.argmax(level, axis=1)
    rssi = level[np.arange(len(x)), serving] + rng.normal(0.0, TRUTH_NOISE_DB, len(x))
    ids = [masts[i]["mast_id"] for i in serving]
    t0 = 8 * 3600
    rows = [[f"{x[i]:.1f}", f"{y[i]:.1f}", f"{rssi[i]:.1f}", ids[i], DRIVE_PROFILE,
             f"2024-05-14T{(t0 + 2 * i) // 3600:02d}:{(t0 + 2 * i) // 60 % 60:02d}:"
             f"{(t0 + 2 * i) % 60:02d}", road[i]] for i in range(len(x))]
    # logging faults a real file has: counted by c2000cov, never silently dropped
    pick = rng.choice(len(rows), sum(DRIVE_BAD_ROWS.values()), replace=False)
    k = 0
    for reason, n in DRIVE_BAD_ROWS.items():
        for i in pick[k:k + n]:
            if reason == "no_level":
                rows[i][2] = ""
            elif reason == "absurd_level":
                rows[i][2] = "5.0"
            elif reason == "outside_grid":
                rows[i][0] = f"{X_MAX_M + 500.0:.1f}"
            else:
                rows.append(list(rows[i]))
        k += n
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["x_m", "y_m", "rssi_dbm", "mast_id", "profile", "time", "road_id"])
    w.writerows(rows)
    return buf.getvalue()


def _field_reports(rng, masts, lc, shadow) -> str:
    """Meldkamer records: every 'geen bereik' (fail) among random handheld positions, up to
    N_FIELD_FAILS, and N_FIELD_REPORTS - N_FIELD_FAILS routine 'ok' position reports."""
    built = np.flatnonzero(np.isin(lc.ravel(), [LC_SUBURBAN, LC_DENSE_URBAN]))
    n = 40000
    cells = np.concatenate([rng.choice(built, n // 2), rng.choice(N_ROWS * N_COLS, n // 2)])
    row, col = np.divmod(cells, N_COLS)
    x = X_MIN_M + CELL_M * (col + rng.uniform(0.0, 1.0, n))
    y = Y_MAX_M - CELL_M * (row + rng.uniform(0.0, 1.0, n))
    level = _truth_levels_dbm(x, y, masts, lc, shadow, HANDHELD_TERMINAL_DB).max(axis=1)
    level += rng.normal(0.0, TRUTH_NOISE_DB, n)
    fail = level < MS_SENSITIVITY_DBM
    pick = np.concatenate([np.flatnonzero(fail)[:N_FIELD_FAILS],
                           np.flatnonzero(~fail)[:N_FIELD_REPORTS - N_FIELD_FAILS]])
    pick = np.sort(pick)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["x_m", "y_m", "status", "report_id"])
    w.writerows([[f"{x[i]:.1f}", f"{y[i]:.1f}", "fail" if fail[i] else "ok",
                  f"MK99-{k + 1:04d}"] for k, i in enumerate(pick)])
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# Writers (temporary name, then rename)
# --------------------------------------------------------------------------------------
def _tmp_path(path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    if tmp.exists():
        tmp.unlink()
    return tmp


def _write_raster(path: Path, array: np.ndarray, nodata, description: str) -> None:
    tmp = _tmp_path(path)
    profile = dict(
        driver="COG",
        width=N_COLS,
        height=N_ROWS,
        count=1,
        dtype=array.dtype.name,
        crs=f"EPSG:{CRS_EPSG}",
        transform=Affine(CELL_M, 0.0, X_MIN_M, 0.0, -CELL_M, Y_MAX_M),
        nodata=nodata,
        compress="DEFLATE",
        blocksize=256,
        predictor=3 if array.dtype.kind == "f" else 2,
        overview_resampling="nearest",
    )
    with rasterio.open(tmp, "w", **profile) as ds:
        ds.write(array, 1)
        ds.set_band_description(1, description)
    os.replace(tmp, path)


def _write_vector(path: Path, gdf: gpd.GeoDataFrame, layer: str, driver: str) -> None:
    tmp = _tmp_path(path)
    kw = {"layer_options": {"COORDINATE_PRECISION": 2}} if driver == "GeoJSON" else {}
    pyogrio.write_dataframe(gdf, tmp, layer=layer, driver=driver, **kw)
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = _tmp_path(path)
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def _masts_csv(rows: list[dict]) -> str:
    cols = list(MAST_COLUMNS)  # exactly the columns c2000cov reads
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r[c] for c in cols])  # optional: empty
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------
def generate(
    out_dir: Path, seed: int = SEED_DEFAULT, products: Iterable[str] | None = None
) -> dict[str, Path]:
    """Generate the demo region into ``out_dir``.

    Parameters
    ----------
    out_dir : pathlib.Path
        Output folder (created if missing). Existing files of the same name are
        replaced atomically.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives byte-identical
        files on the same platform and library versions.
    products : iterable of str, optional
        Subset of ``PRODUCTS`` to write (all by default). Everything is still
        computed (the products depend on each other); only the writing is skipped.

    Returns
    -------
    dict of str to pathlib.Path
        Product name (``"dtm"``, ``"landcover"``, ``"buildings"``, ``"masts"``,
        ``"pattern"``, ``"pv"``, ``"areas"``, ``"roads"``) to the written file.
    """
    wanted = set(PRODUCTS if products is None else products)
    unknown = wanted - set(PRODUCTS)
    if unknown:
        raise ValueError(f"products: unknown {sorted(unknown)}; valid: {list(PRODUCTS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    terrain = _terrain(rng)
    roads = _roads()
    buildings = _buildings(rng, terrain, roads)
    areas = _areas(rng, terrain)
    # BAG-like ids: NL.IMBAG.Pand.<gemeente digits>10<sequence>
    gm = areas[areas["kind"] == "gemeente"]
    cen = buildings.geometry.centroid
    gm_code = np.full(len(buildings), "9900", dtype=object)
    for _, a in gm.iterrows():
        gm_code[shapely.contains_xy(a.geometry, cen.x.to_numpy(), cen.y.to_numpy())] = a["code"][2:]
    buildings.insert(
        0,
        "identificatie",
        [f"NL.IMBAG.Pand.{g}10{i + 1:010d}" for i, g in enumerate(gm_code)],
    )
    lc = _landcover(terrain, buildings)
    masts = _masts(terrain, buildings, lc)
    pv = _pv(rng, terrain, buildings, lc, masts, roads)
    field_rng = np.random.default_rng([seed, DRIVE_TEST_STREAM])
    shadow = _shadow_field(field_rng)
    drive = _drive_test(field_rng, roads, masts, lc, shadow)
    reports = _field_reports(field_rng, masts, lc, shadow)

    written: dict[str, Path] = {}
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIMESTAMP})
    try:
        for name in PRODUCTS:
            if name not in wanted:
                continue
            path = out_dir / FILE_NAMES[name]
            if name == "dtm":
                _write_raster(path, terrain["dtm"], DTM_NODATA_M, "h_terrain_m_nap")
            elif name == "landcover":
                _write_raster(path, lc, LANDCOVER_NODATA, "landcover_itu_code")
            elif name == "buildings":
                _write_vector(path, buildings, "buildings", "GPKG")
            elif name == "masts":
                _write_text(path, _masts_csv(masts))
            elif name == "pattern":
                _write_text(path, _msi_text())
            elif name == "pv":
                _write_vector(path, pv, "pv", "GeoJSON")
            elif name == "areas":
                _write_vector(path, areas, "areas", "GPKG")
            elif name == "roads":
                _write_vector(path, roads, "roads", "GPKG")
            elif name == "drive_test":
                _write_text(path, drive)
            elif name == "field_reports":
                _write_text(path, reports)
            written[name] = path
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default=str(Path(__file__).parent / "demo"))
    parser.add_argument("--seed", type=int, default=SEED_DEFAULT)
    args = parser.parse_args(argv)
    written = generate(Path(args.out_dir), seed=args.seed)
    for name, path in written.items():
        print(f"{name:10s} {path}  {path.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
