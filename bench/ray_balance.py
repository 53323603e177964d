"""Work per thread of the area kernel on 2 threads: contiguous against interleaved ray chunks.

A model, not a timing (the shared machine gives a process 15-50 % of a core, so the wall
time of two threads says nothing about their balance): each ray costs 328 ns per pixel
it owns plus 455 ns per line-of-sight pixel (the per-pixel CPU times of
bench/kernel_parts.py at 25 m: everything but the nu search, and the nu search per
line-of-sight pixel); Numba gives each of 2 threads half of the 256 chunks, contiguous.

    .venv/bin/python bench/ray_balance.py
"""

import json
import math

import numpy as np
from numba import njit

from c2000cov.devtools.bench import synthetic_surface
from c2000cov.kernels.area import n_rays, ray_direction, trace_ray
from c2000cov.kernels.constants import CURVATURE_M_KM
from c2000cov.units import effective_earth_radius_km


@njit
def per_ray(surf, grnd, tr, tc, h_tx, h_rx, pixel_m, radius_m, ae_km):
    rr = int(radius_m // pixel_m)
    n_max = rr + 1
    x = np.empty(n_max)
    sv = np.empty(n_max)
    gv = np.empty(n_max)
    need = np.zeros(n_max, np.bool_)
    rows = np.empty(n_max, np.int64)
    cols = np.empty(n_max, np.int64)
    g_tx = grnd[tr, tc]
    hts = g_tx + h_tx
    c = CURVATURE_M_KM / ae_km
    nr = n_rays(rr)
    px = np.zeros(nr)
    los = np.zeros(nr)
    for ray in range(nr):
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
        st_max = -np.inf
        for i in range(1, n):
            d = x[i]
            if need[i]:
                px[ray] += 1
                if i > 1 and st_max + c * d < (gv[i] + h_rx - hts) / d:
                    los[ray] += 1
            hs = sv[i] if not math.isnan(sv[i]) else gv[i]
            st_max = max(st_max, (hs - c * d * d - hts) / d)
    return px, los


for pixel_m in (25.0, 10.0):
    surf, grnd, tr, tc = synthetic_surface(25000.0, pixel_m)
    px, los = per_ray(surf, grnd, tr, tc, 40.0, 1.5, pixel_m, 25000.0, effective_earth_radius_km())
    cost = 328.0 * px + 455.0 * los  # ns, from the part shares at 25 m
    nr = len(cost)
    nch = min(nr, 256)
    contig = np.array([cost[c * nr // nch : (c + 1) * nr // nch].sum() for c in range(nch)])
    inter = np.array([cost[c::nch].sum() for c in range(nch)])
    for name, ch in (("contiguous", contig), ("interleaved", inter)):
        halves = np.array([ch[: nch // 2].sum(), ch[nch // 2 :].sum()])
        print(
            json.dumps(
                {
                    "pixel_m": pixel_m,
                    "chunks": name,
                    "thread_share": (halves / halves.sum()).round(4).tolist(),
                    "two_thread_speedup_bound": float(halves.sum() / halves.max()),
                }
            )
        )
