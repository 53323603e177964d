"""Upper convex hulls of a ray's samples and the line-of-sight nu search over them.

The Bullington quantities of a pixel are maxima over the intermediate points of its
ray (ITU-R P.1812-8 eqs. 13-19). With Earth-curvature corrected heights they become
tangents to, and maxima over, the upper convex hull of the points ``(d_j, g_j)``:
built incrementally (:func:`hull_push`, amortised O(1) per sample), queried by
binary search (:func:`hull_tangent_from_right`, :func:`hull_max_above_line`). The
line-of-sight maximum of nu is not a hull query; :func:`los_numax` searches the tree
of nested hulls branch-and-bound (see ``docs/kernels.md``, "Method").
"""

from __future__ import annotations

import math

from .constants import NU_FLOOR, NU_TOL
from .jit import inline_kernel, noref_kernel


@inline_kernel
def hull_push(hx, hy, hi, size, x, y, idx):
    """Append point (x, y) with sample index idx, x larger than all hull x, to an upper
    convex hull; returns the new size. The vertex before it is ``hi[size - 2]``."""
    while size >= 2:
        x0 = hx[size - 2]
        y0 = hy[size - 2]
        # pop the last vertex if it is on or below the segment from vertex size-2 to (x, y)
        if (hx[size - 1] - x0) * (y - y0) - (hy[size - 1] - y0) * (x - x0) >= 0.0:
            size -= 1
        else:
            break
    hx[size] = x
    hy[size] = y
    hi[size] = idx
    return size + 1


@inline_kernel
def hull_tangent_from_right(hx, hy, size, xr, yr):
    """max_k (hy_k - yr) / (xr - hx_k) over the hull, xr > every hx (binary search)."""
    lo = 0
    hi = size - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        # f(mid + 1) >= f(mid), both denominators positive
        if (hy[mid + 1] - yr) * (xr - hx[mid]) >= (hy[mid] - yr) * (xr - hx[mid + 1]):
            lo = mid + 1
        else:
            hi = mid
    return (hy[lo] - yr) / (xr - hx[lo])


@inline_kernel
def hull_max_above_line(hx, hy, size, y0, slope):
    """max_k hy_k - (y0 + slope hx_k) over the hull (binary search on edge slopes)."""
    lo = 0
    hi = size - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if hy[mid + 1] - hy[mid] >= slope * (hx[mid + 1] - hx[mid]):
            lo = mid + 1
        else:
            hi = mid
    return hy[lo] - (y0 + slope * hx[lo])


@inline_kernel
def nu_los(y, x, d, y_tx, slope, lam_m):
    """Diffraction parameter of eq. (15) for curved height y at distance x (km)."""
    return (y - (y_tx + slope * x)) * math.sqrt(0.002 * d / (lam_m * x * (d - x)))


@inline_kernel
def nu_ge(ha, xa, hb, xb, d):
    """nu(a) >= nu(b) (eq. 15) for heights ha, hb above the Tx-Rx line at distances
    xa, xb (km): compares ha / sqrt(xa (d - xa)) with hb / sqrt(xb (d - xb)) without roots."""
    if ha >= 0.0:
        if hb < 0.0:
            return True
        return ha * ha * (xb * (d - xb)) >= hb * hb * (xa * (d - xa))
    if hb >= 0.0:
        return False
    return ha * ha * (xb * (d - xb)) <= hb * hb * (xa * (d - xa))


@inline_kernel
def edge_bound(xp, hp, fp, xq, hq, fq, d, kf):
    """Upper bound of nu for points on or below the hull edge p-q (eq. 15).

    ``hp, hq``: heights of the vertices above the Tx-Rx line (negative in
    line-of-sight), ``fp, fq`` their nu. Along the edge the height above the
    line is linear, a + b x, and nu(x) = (a + b x) sqrt(kf / (x (d - x))) is
    largest at x = a d / (b d + 2 a) (clamped to the edge).
    """
    b = (hq - hp) / (xq - xp)
    a = hp - b * xp
    best = fp if fp > fq else fq
    den = b * d + 2.0 * a
    if den != 0.0:
        xs = a * d / den
        if xp < xs < xq:
            v = (a + b * xs) * math.sqrt(kf / (xs * (d - xs)))
            if v > best:
                best = v
    return best


@noref_kernel
def los_numax(cx, cy, ci, nc, pred, x_km, y_m, d, y_tx, y_rx, lam_m, stack, sbound, hint):
    """Exact max over all intermediate points of nu (eq. 15), line-of-sight case.

    ``cx, cy, ci``: upper hull (x, curved height, sample index) of the points
    ``(x_km[j], y_m[j])``, j = 1..i-1; ``pred[j]``: the hull vertex before j when
    j was added (0 for the first point). The samples under a hull edge (p, q)
    are the samples p+1..q-1; their own upper hull is the chain q-1, pred[q-1],
    ... back to p: a tree of nested hulls.

    Along a concave chain lying below the Tx-Rx line, nu is unimodal (the
    clearance is convex and positive, sqrt(x (d - x)) concave), so the best
    top-level vertex is found by binary search. A point below an edge has a nu
    no larger than the edge's maximum (:func:`edge_bound`), so edges are
    expanded branch-and-bound: outwards from the peak on the top level (edge
    bounds decrease there), then into nested chains, highest bound first, skipping
    every edge whose bound does not beat the best nu found (or -0.78, below which
    J(nu) = 0 anyway). ``hint`` (a sample index, 0 for none), typically the
    best point of the previous receiver on the ray, seeds the best nu so that
    pruning starts tight.

    Returns ``(nu, j)``: the maximum nu, within ``NU_TOL`` (a value <= -0.78
    when the true maximum is <= -0.78), and the sample where it was found.
    """
    slope = (y_rx - y_tx) / d
    kf = 0.002 * d / lam_m
    lo = 0
    hi = nc - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        xa = cx[mid + 1]
        xb = cx[mid]
        if nu_ge(cy[mid + 1] - (y_tx + slope * xa), xa, cy[mid] - (y_tx + slope * xb), xb, d):
            lo = mid + 1
        else:
            hi = mid
    best = nu_los(cy[lo], cx[lo], d, y_tx, slope, lam_m)
    jbest = ci[lo]
    if hint > 0:
        v = nu_los(y_m[hint], x_km[hint], d, y_tx, slope, lam_m)
        if v > best:
            best = v
            jbest = hint
    thr = best + NU_TOL if best + NU_TOL > NU_FLOOR else NU_FLOOR
    nst = 0
    # top level, left of the peak
    xq = cx[lo]
    hq = cy[lo] - (y_tx + slope * xq)
    fq = best
    k = lo
    while k > 0:
        xp = cx[k - 1]
        hp = cy[k - 1] - (y_tx + slope * xp)
        fp = hp * math.sqrt(kf / (xp * (d - xp)))
        bnd = edge_bound(xp, hp, fp, xq, hq, fq, d, kf)
        if bnd <= thr:
            break
        if ci[k] - ci[k - 1] > 1:
            stack[nst] = ci[k]
            sbound[nst] = bnd
            nst += 1
        xq = xp
        hq = hp
        fq = fp
        k -= 1
    # top level, right of the peak
    xp = cx[lo]
    hp = cy[lo] - (y_tx + slope * xp)
    fp = best
    k = lo
    while k < nc - 1:
        xq = cx[k + 1]
        hq = cy[k + 1] - (y_tx + slope * xq)
        fq = hq * math.sqrt(kf / (xq * (d - xq)))
        bnd = edge_bound(xp, hp, fp, xq, hq, fq, d, kf)
        if bnd <= thr:
            break
        if ci[k + 1] - ci[k] > 1:
            stack[nst] = ci[k + 1]
            sbound[nst] = bnd
            nst += 1
        xp = xq
        hp = hq
        fp = fq
        k += 1
    # nested chains under the candidate edges
    while nst > 0:
        # best first: expand the pending edge with the highest bound
        kb = 0
        for kk in range(1, nst):
            if sbound[kk] > sbound[kb]:
                kb = kk
        if sbound[kb] <= thr:
            break  # nothing pending can beat the best found
        q = stack[kb]
        nst -= 1
        stack[kb] = stack[nst]
        sbound[kb] = sbound[nst]
        p = pred[q]
        xp = x_km[p]
        hp = y_m[p] - (y_tx + slope * xp)
        fp = hp * math.sqrt(kf / (xp * (d - xp)))
        # walk the chain q-1 -> pred -> ... -> p: each vertex is a point, each edge
        # (pred[v], v) a nested sub-tree
        v = q - 1
        xv = x_km[v]
        hv = y_m[v] - (y_tx + slope * xv)
        fv = hv * math.sqrt(kf / (xv * (d - xv)))
        while v != p:
            if fv > best:
                best = fv
                jbest = v
                if best + NU_TOL > thr:
                    thr = best + NU_TOL
            u = pred[v]
            if u == p:
                xu = xp
                hu = hp
                fu = fp
            else:
                xu = x_km[u]
                hu = y_m[u] - (y_tx + slope * xu)
                fu = hu * math.sqrt(kf / (xu * (d - xu)))
            if v - u > 1:
                bnd = edge_bound(xu, hu, fu, xv, hv, fv, d, kf)
                if bnd > thr:
                    stack[nst] = v
                    sbound[nst] = bnd
                    nst += 1
            if fu <= fv and fu <= thr:
                # nu is unimodal along the chain: left of its peak every further edge is
                # bounded by its right vertex, here at most fu
                break
            v = u
            xv = xu
            hv = hu
            fv = fu
    return best, jbest
