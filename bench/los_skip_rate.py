"""How many line-of-sight pixels could skip the nu search of the area kernel.

J(nu) = 0 for nu <= -0.78 (ITU-R P.1812-8 eq. 12), so an exact skip of the line-of-sight nu
search can only spare the pixels whose largest nu is at or below -0.78. This counts them on
the benchmark terrain (workload a: --pixel-m 25; b: 10), and those the cheapest bound
catches: every intermediate point is below the Tx-Rx line, at most hmax (the curved hull's
highest point above it, O(log n)) and x (d - x) <= d^2 / 4, so nu <= hmax 2 sqrt(kf) / d.

    .venv/bin/python bench/los_skip_rate.py 25
"""

import json
import math
import sys

import numpy as np
from numba import njit

from c2000cov.devtools.bench import synthetic_surface
from c2000cov.kernels.area import n_rays, ray_direction, trace_ray
from c2000cov.kernels.constants import CURVATURE_M_KM, NU_FLOOR
from c2000cov.kernels.hulls import hull_max_above_line, hull_push, los_argmax, nu_los
from c2000cov.units import effective_earth_radius_km


@njit
def count(surf, grnd, tr, tc, h_tx, h_rx, pixel_m, radius_m, ae_km, lam):
    """(pixels, line-of-sight pixels, those with max nu <= -0.78, those the bound catches)."""
    rr = int(radius_m // pixel_m)
    n_max = rr + 1
    x, sv, gv, yall = np.empty(n_max), np.empty(n_max), np.empty(n_max), np.empty(n_max)
    ints = np.empty((5, n_max), np.int64)
    rows, cols, ci, pred, stack = ints[0], ints[1], ints[2], ints[3], ints[4]
    cx, cy, sb = np.empty(n_max), np.empty(n_max), np.empty(n_max)
    need = np.zeros(n_max, np.bool_)
    g_tx = grnd[tr, tc]
    hts = g_tx + h_tx
    c = CURVATURE_M_KM / ae_km
    n_pix = n_los = n_true = n_bound = 0
    for ray in range(n_rays(rr)):
        cm, sign, e = ray_direction(ray, rr)
        n = trace_ray(
            surf,
            grnd,
            tr,
            tc,
            cm,
            sign,
            e,
            rr,
            pixel_m,
            radius_m,
            g_tx,
            x,
            sv,
            gv,
            need,
            rows,
            cols,
        )
        nc = 0
        st_max = -np.inf
        for i in range(1, n):
            d = x[i]
            if need[i] and not math.isnan(gv[i]):
                n_pix += 1
                hrs = gv[i] + h_rx
                if nc > 0 and st_max + c * d < (hrs - hts) / d:
                    n_los += 1
                    yrx = hrs - c * d * d
                    key_floor = -(NU_FLOOR * NU_FLOOR) * lam / (0.002 * d)
                    j = los_argmax(cx, cy, ci, nc, pred, x, yall, d, hts, yrx, key_floor,
                                   stack, sb, 0)
                    nu = nu_los(yall[j], x[j], d, hts, (yrx - hts) / d, lam)
                    if nu <= NU_FLOOR:
                        n_true += 1
                    hmax = hull_max_above_line(cx, cy, nc, hts, (yrx - hts) / d)
                    if hmax * 2.0 * math.sqrt(0.002 * d / lam) / d < NU_FLOOR:
                        n_bound += 1
            hs = sv[i] if not math.isnan(sv[i]) else gv[i]
            y = hs - c * d * d
            yall[i] = y
            nc = hull_push(cx, cy, ci, nc, d, y, i)
            pred[i] = ci[nc - 2] if nc >= 2 else 0
            st_max = max(st_max, (y - hts) / d)
    return n_pix, n_los, n_true, n_bound


if __name__ == "__main__":
    pixel_m = float(sys.argv[1]) if len(sys.argv) > 1 else 25.0
    surf, grnd, tr, tc = synthetic_surface(25000.0, pixel_m)
    lam_m = 0.2998 / 0.3925  # 392.5 MHz, P.1812's wavelength
    n_pix, n_los, n_true, n_bound = count(
        surf, grnd, tr, tc, 40.0, 1.5, pixel_m, 25000.0, effective_earth_radius_km(), lam_m
    )
    print(
        json.dumps(
            {
                "pixel_m": pixel_m,
                "pixels": n_pix,
                "los": n_los,
                "los_max_nu_le_floor": n_true,
                "los_bound_le_floor": n_bound,
            }
        )
    )
