"""Every constant of the kernels, defined once, with its unit in the name and its source.

Physics constants cite ITU-R P.1812-8 (equation numbers of Annex 1 as labelled
in the ITU-R SG3 validation logs); the table and search constants bound the
approximations described in ``docs/kernels.md``.
"""

from __future__ import annotations

ITU_REC = "ITU-R P.1812-8"

# ------------------------------------------------------------------ physics

# Free-space constant of eq. (8): Lbfs = 92.4 + 20 log f(GHz) + 20 log d(km).
LBFS_CONST_DB = 92.4

# Curvature term 500 Ce di (d - di) of eq. (13): 500 m per km^2 times 1/ap.
CURVATURE_M_KM = 500.0

# Speed of light used by P.1812 for the wavelength, lambda = 0.2998 / f_GHz (m).
P1812_SPEED_OF_LIGHT_M_GHZ = 0.2998

# The knife-edge loss J(nu) is zero at and below this diffraction parameter (eq. 12).
NU_FLOOR = -0.78

# Ground electrical constants of section 4.3.3 (relative permittivity, S/m).
LAND_EPS_R = 22.0
LAND_SIGMA_S_M = 0.003
SEA_EPS_R = 80.0
SEA_SIGMA_S_M = 5.0

# Polarisation codes (TETRA uses vertical).
POL_HORIZONTAL = 1
POL_VERTICAL = 2

M_PER_KM = 1000.0
MHZ_PER_GHZ = 1000.0

# ------------------------------------------------------------- raster rules

# Horizontal distance used for the mast's own pixel (area kernel) and the shortest
# free-space distance of a point-to-point path, in pixels.
MIN_DIST_PIXELS = 0.5

# ----------------------------------------------------------- search and threads

# Rays are split into this many chunks for the CPU threads, each a block of adjacent rays
# (they share the rasters' cache lines); each chunk allocates its scratch buffers once.
# Chunk c takes block (c RAY_CHUNK_STRIDE) mod n_chunks: a prime above RAY_CHUNKS is
# coprime with every chunk count, so that is a permutation, and it spreads each thread's
# contiguous range of chunks over every direction. Results do not depend on either.
RAY_CHUNKS = 256
RAY_CHUNK_STRIDE = 997

# GPU kernel (area_cuda.py): GPU memory for the scratch of the rays in flight (one
# thread each), and threads per block. A ray in flight holds 9 x 8 + 6 x 8 + 1 bytes per
# sample plus 8 bytes per sample and frequency: all 20,000 rays of a 25 km radius at
# 10 m with two frequencies take 6.9 GB, so one wave runs them all.
GPU_SCRATCH_BYTES = 8 * 1024**3
GPU_THREADS_PER_BLOCK = 64

# ------------------------------------------------------------------- tables

# Lbull(nu, d) = J(nu) + (1 - exp(-J(nu) / 6)) (10 + 0.02 d) (eqs. 12, 21) is J(nu) plus
# E(nu) (10 + 0.02 d), J and E functions of nu alone, tabulated per call at
# LBULL_TAB_STEP_NU on [NU_FLOOR, LBULL_TAB_MAX_NU] and interpolated linearly. With
# |J''| <= 3.34 and |E''| <= 2.65 the error is at most h^2 / 8 (3.34 + 2.65 (10 + 0.02 d)),
# 6.7e-5 dB for d <= 100 km (LBULL_TAB_ERR_DB); the exact formula above the range.
LBULL_TAB_STEP_NU = 1.0 / 256.0
LBULL_TAB_ERR_DB = 6.7e-5
LBULL_TAB_MAX_NU = 16.0

# Ldsph (eqs. 22-27) in the smooth-path line-of-sight case d < dlos is
# (1 - hse / hreq) Ldft(aem), clipped at 0: the ratio r = hse / hreq and Ldft(aem) are
# smooth functions of (d, hte, hre), tabulated per call on a grid uniform in a
# piecewise-linear log2 of each (steps below), interpolated trilinearly; the clipping
# is applied after the interpolation, so the kink where the path clears (r = 1) is
# exact. Outside the grid, and for d >= dlos, the exact function.
SPH_TAB_STEP_PLOG2_D = 1.0 / 16.0
SPH_TAB_STEP_PLOG2 = 1.0 / 8.0
SPH_TAB_MAX_NODES = 256
# Heights above the window's ground relief the table covers (hts' <= h_tx_agl + relief
# usually; higher ones take the exact function).
SPH_TAB_RELIEF_FACTOR = 1.5
SPH_TAB_RELIEF_MARGIN_M = 10.0
# Smallest height the table covers (m); lower effective heights take the exact function.
SPH_TAB_MIN_H_M = 0.5
