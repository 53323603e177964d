"""The line-of-sight search of kernels/hulls.py (los_argmax) against brute force.

The area kernel shares one search between the frequencies of a sweep, which is only
right if the search is exact: its answer must be the point of largest nu over all
intermediate points, whatever the hint it is given and whatever its floor, wherever that
maximum is above the floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.kernels.hulls import hull_push, los_argmax, nu_key


def rough_profile(n, seed):
    """Distances (km, 25 m steps) and heights (m): hills with buildings and spikes."""
    rng = np.random.default_rng(seed)
    x = np.arange(n) * 0.025
    y = 5.0 * np.sin(x * rng.uniform(0.5, 3.0)) + np.cumsum(rng.normal(0.0, 0.3, n))
    spikes = rng.random(n) < 0.05
    y[spikes] += rng.uniform(2.0, 12.0, spikes.sum())
    return x, y


def search_every_receiver(x, y, y_tx, h_rx, key_floor, hint_rule):
    """For every receiver i >= 2 in line of sight: (los_argmax's answer, brute-force keys),
    with the upper hull and its predecessor tree built as ray_core builds them."""
    n = len(x)
    cx = np.empty(n)
    cy = np.empty(n)
    ci = np.empty(n, np.int64)
    pred = np.zeros(n, np.int64)
    stack = np.empty(n, np.int64)
    sbound = np.empty(n)
    nc = 0
    prev = 0
    out = []
    for i in range(2, n):
        j = i - 1  # sample i - 1 becomes an intermediate point for receiver i
        nc = hull_push(cx, cy, ci, nc, x[j], y[j], j)
        pred[j] = ci[nc - 2] if nc >= 2 else 0
        d = x[i]
        y_rx = y[i] + h_rx
        slope = (y_rx - y_tx) / d
        h = y[1:i] - (y_tx + slope * x[1:i])
        if h.max() >= 0.0:
            continue  # not line of sight: the search is not used there
        keys = np.array([nu_key(hj, xj * (d - xj)) for hj, xj in zip(h, x[1:i], strict=True)])
        hint = hint_rule(i, prev)
        got = los_argmax(cx, cy, ci, nc, pred, x, y, d, y_tx, y_rx, key_floor, stack, sbound,
                         hint)
        prev = got
        out.append((got, keys))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("hint_rule", ["none", "previous", "random"])
def test_los_argmax_is_the_exact_maximiser_whatever_the_hint(seed, hint_rule):
    x, y = rough_profile(400, seed)
    rng = np.random.default_rng(100 + seed)
    rules = {
        "none": lambda i, prev: 0,
        "previous": lambda i, prev: prev,
        "random": lambda i, prev: int(rng.integers(1, i)),
    }
    found = search_every_receiver(x, y, y[0] + 60.0, 1.5, -np.inf, rules[hint_rule])
    assert len(found) > 100  # enough line-of-sight receivers to mean something
    for got, keys in found:
        assert keys[got - 1] == keys.max()
        assert got == 1 + int(np.argmax(keys))


@pytest.mark.parametrize("seed", range(4))
def test_los_argmax_floor_only_limits_answers_below_it(seed):
    """Above the floor the answer is the maximiser; below it, a point at or under it."""
    x, y = rough_profile(400, seed)
    found_free = search_every_receiver(x, y, y[0] + 60.0, 1.5, -np.inf, lambda i, p: p)
    floor = float(np.median([k.max() for _, k in found_free]))
    found = search_every_receiver(x, y, y[0] + 60.0, 1.5, floor, lambda i, p: p)
    above = below = 0
    for (got, keys), (free, _) in zip(found, found_free, strict=True):
        if keys.max() > floor:
            assert got == free == 1 + int(np.argmax(keys))
            above += 1
        else:
            assert keys[got - 1] <= floor
            below += 1
    assert above > 20 and below > 20
