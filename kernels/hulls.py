"""Upper convex hulls of a ray's samples and the line-of-sight nu search over them.

The Bullington quantities of a pixel are maxima over the intermediate points of its
ray (ITU-R P.1812-8 eqs. 13-19). With Earth-curvature corrected heights they become
tangents to, and maxima over, the upper convex hull of the points ``(d_j, g_j)``:
built incrementally (:func:`hull_push`, amortised O(1) per sample), queried by
binary search (:func:`hull_tangent_from_right`, :func:`hull_max_above_line`). The
line-of-sight maximum of nu is not a hull query; :func:`los_argmax` searches the tree
of nested hulls branch-and-bound (see ``docs/kernels.md``, "Method").
"""

from __future__ import annotations

import math

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
def nu_key(h, w):
    """The key of a point h metres above the Tx-Rx line, w = x (d - x) (km^2): h |h| / w.
    nu of eq. (15) is sqrt(0.002 d / lambda) h / sqrt(w), so nu |nu| is the key times
    0.002 d / lambda: the key orders points as nu does, at every frequency, without a root."""
    return h * math.fabs(h) / w


@inline_kernel
def edge_key(xp, hp, kp, xq, hq, kq, d):
    """Upper bound of the key (:func:`nu_key`) of the points on or below the hull edge p-q.

    ``hp, hq``: heights of the vertices above the Tx-Rx line (negative in line-of-sight),
    ``kp, kq`` their keys. Along the edge the height above the line is linear,
    (A + B x) / dx with dx = xq - xp, B = hq - hp, A = hp dx - B xp, and h / sqrt(x (d - x))
    is largest at x = A d / (B d + 2 A) (clamped to the edge); a point below the edge has
    a smaller height at its x, so a smaller key.
    """
    best = kp if kp > kq else kq
    dx = xq - xp
    bb = hq - hp
    aa = hp * dx - bb * xp
    den = bb * d + 2.0 * aa
    if den != 0.0:
        xs = aa * d / den
        if xp < xs < xq:
            hs = aa + bb * xs  # dx times the height above the line at xs
            v = hs * math.fabs(hs) / (xs * (d - xs) * dx * dx)
            if v > best:
                best = v
    return best


@noref_kernel
def los_argmax(cx, cy, ci, nc, pred, x_km, y_m, d, y_tx, y_rx, key_floor, stack, sbound,
               hint):
    """The intermediate point of largest nu (eq. 15), line-of-sight case: its sample index.

    ``cx, cy, ci``: upper hull (x, curved height, sample index) of the points
    ``(x_km[j], y_m[j])``, j = 1..i-1; ``pred[j]``: the hull vertex before j when
    j was added (0 for the first point). The samples under a hull edge (p, q)
    are the samples p+1..q-1; their own upper hull is the chain q-1, pred[q-1],
    ... back to p: a tree of nested hulls.

    nu = sqrt(0.002 d / lambda) h / sqrt(x (d - x)), so its maximiser does not depend on
    the frequency: the search compares keys h |h| / (x (d - x)) (:func:`nu_key`), exactly,
    without roots, and one search serves every frequency of a sweep. Along a concave chain
    lying below the Tx-Rx line the key is unimodal (the clearance is convex and positive,
    sqrt(x (d - x)) concave), so the best top-level vertex is found by binary search. A
    point below an edge has a key no larger than the edge's bound (:func:`edge_key`), so
    edges are expanded branch-and-bound: outwards from the peak on the top level (edge
    bounds decrease there), then into nested chains, highest bound first, skipping every
    edge whose bound does not beat the best key found or ``key_floor``. ``hint`` (a sample
    index, 0 for none), typically the previous receiver's answer, seeds the best key so
    that pruning starts tight; it changes the work, not the answer.

    ``key_floor``: keys at or below it need no answer. With -0.78^2 lambda / (0.002 d) for
    the longest wavelength of a sweep, every frequency's nu is at or below -0.78, where
    J(nu) = 0 (eq. 12), whenever the best key is below the floor.

    Returns the sample index of the largest key when that key is above ``key_floor``: the
    answer does not depend on the hint, the floor or the order of the search, except
    between points of exactly equal keys (which needs equal h |h| / (x (d - x)) in floating
    point), where it is the smallest index the search visited. Otherwise a point whose
    key is at or below the floor.
    """
    slope = (y_rx - y_tx) / d
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
    xp = cx[lo]
    hp = cy[lo] - (y_tx + slope * xp)
    kbest = nu_key(hp, xp * (d - xp))
    kpeak = kbest
    jbest = ci[lo]
    if hint > 0:
        xh = x_km[hint]
        v = nu_key(y_m[hint] - (y_tx + slope * xh), xh * (d - xh))
        if v > kbest or (v == kbest and hint < jbest):
            kbest = v
            jbest = hint
    kthr = kbest if kbest > key_floor else key_floor
    nst = 0
    # top level, left of the peak
    xq = xp
    hq = hp
    kq = kpeak
    k = lo
    while k > 0:
        xp = cx[k - 1]
        hp = cy[k - 1] - (y_tx + slope * xp)
        kp = nu_key(hp, xp * (d - xp))
        bnd = edge_key(xp, hp, kp, xq, hq, kq, d)
        if bnd <= kthr:
            break
        if ci[k] - ci[k - 1] > 1:
            stack[nst] = ci[k]
            sbound[nst] = bnd
            nst += 1
        xq = xp
        hq = hp
        kq = kp
        k -= 1
    # top level, right of the peak
    xp = cx[lo]
    hp = cy[lo] - (y_tx + slope * xp)
    kp = kpeak
    k = lo
    while k < nc - 1:
        xq = cx[k + 1]
        hq = cy[k + 1] - (y_tx + slope * xq)
        kq = nu_key(hq, xq * (d - xq))
        bnd = edge_key(xp, hp, kp, xq, hq, kq, d)
        if bnd <= kthr:
            break
        if ci[k + 1] - ci[k] > 1:
            stack[nst] = ci[k + 1]
            sbound[nst] = bnd
            nst += 1
        xp = xq
        hp = hq
        kp = kq
        k += 1
    # nested chains under the candidate edges
    while nst > 0:
        # best first: expand the pending edge with the highest bound
        kb = 0
        for kk in range(1, nst):
            if sbound[kk] > sbound[kb]:
                kb = kk
        if sbound[kb] <= kthr:
            break  # nothing pending can beat the best found
        q = stack[kb]
        nst -= 1
        stack[kb] = stack[nst]
        sbound[kb] = sbound[nst]
        p = pred[q]
        # walk the chain q-1 -> pred -> ... -> p: each vertex is a point, each edge
        # (pred[v], v) a nested sub-tree
        v = q - 1
        xv = x_km[v]
        hv = y_m[v] - (y_tx + slope * xv)
        kv = nu_key(hv, xv * (d - xv))
        while v != p:
            if kv > kbest or (kv == kbest and v < jbest):
                kbest = kv
                jbest = v
                if kbest > kthr:
                    kthr = kbest
            u = pred[v]
            xu = x_km[u]
            hu = y_m[u] - (y_tx + slope * xu)
            ku = nu_key(hu, xu * (d - xu))
            if v - u > 1:
                bnd = edge_key(xu, hu, ku, xv, hv, kv, d)
                if bnd > kthr:
                    stack[nst] = v
                    sbound[nst] = bnd
                    nst += 1
            if ku <= kv and ku <= kthr:
                # the key is unimodal along the chain: left of its peak every further
                # edge is bounded by its right vertex, here at most ku
                break
            v = u
            xv = xu
            hv = hu
            kv = ku
    return jbest
