"""Gain arithmetic of new sites: the union rule, lazy = plain greedy, pruning keeps the best."""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.analysis.coverage import reaches_pct
from c2000cov.analysis.siting import (
    CandidateCover,
    CoverState,
    covered_alone,
    cropped,
    lazy_greedy,
    plain_greedy,
)
from c2000cov.geo.grid import Window
from c2000cov.radio.probability import location_probability


def test_covered_after_adding_is_union_of_covered_alone():
    # what a what-if computes: the max margin's probability against the target
    rng = np.random.default_rng(1)
    a_dl, a_ul, b_dl, b_ul = rng.normal(5.0, 10.0, (4, 50, 50)).astype("float32")
    a_dl[:5] = np.nan  # not evaluated
    sigma = np.full((50, 50), 8.0, dtype="float32")
    best = np.fmax(np.fmin(a_dl, a_ul), np.fmin(b_dl, b_ul))
    whatif = reaches_pct(location_probability(best, sigma), 95.0)
    union = covered_alone(a_dl, a_ul, sigma, 95.0) | covered_alone(b_dl, b_ul, sigma, 95.0)
    np.testing.assert_array_equal(union, whatif)
    # 95 % with sigma 8 dB needs a margin of 13.16 dB
    assert covered_alone(np.float32(13.3), np.float32(20.0), 8.0, 95.0)
    assert not covered_alone(np.float32(13.0), np.float32(20.0), 8.0, 95.0)


def random_instance(seed: int, n: int = 12, size: int = 60):
    """Random disc-shaped candidates over a partly covered grid."""
    rng = np.random.default_rng(seed)
    covered = rng.random((size, size)) < 0.3
    weights = rng.random((size, size))
    rr, cc = np.mgrid[0:size, 0:size]
    covers, windows = [], []
    for _ in range(n):
        r, c, rad = rng.integers(0, size), rng.integers(0, size), rng.integers(3, 15)
        w = Window(max(0, r - rad), max(0, c - rad), 0, 0)
        w = Window(w.row_off, w.col_off, min(size, r + rad + 1) - w.row_off,
                   min(size, c + rad + 1) - w.col_off)
        sl = w.slices
        mask = (rr[sl] - r) ** 2 + (cc[sl] - c) ** 2 <= rad ** 2
        mask &= rng.random(mask.shape) < 0.9
        covers.append(CandidateCover(w, {"p": mask}))
        windows.append(w)
    return CoverState({"p": covered}, {"p": weights}), covers, windows


@pytest.mark.parametrize("seed", range(20))
def test_lazy_and_pruned_greedy_equal_plain_greedy(seed):
    state, covers, windows = random_instance(seed)
    plain = plain_greedy(state, covers.__getitem__, len(covers), 4)
    lazy = lazy_greedy(state, covers.__getitem__, windows, 4)
    pruned = lazy_greedy(state, covers.__getitem__, windows, 4, prune=True)
    assert lazy.order == plain.order
    assert pruned.order == plain.order
    np.testing.assert_allclose(lazy.gains, plain.gains)
    np.testing.assert_allclose(pruned.gains, plain.gains)
    # the true best of round one, by brute force
    first = [state.gain(c) for c in covers]
    assert pruned.order[0] == int(np.argmax(first))
    assert lazy.evaluations <= plain.evaluations
    assert pruned.covers_built <= len(covers)
    # the state given is not changed
    assert state.covered["p"].sum() == random_instance(seed)[0].covered["p"].sum()


def test_pruning_skips_candidates_that_cannot_win():
    # one big empty region; small candidates far away from it are never computed
    state, covers, windows = random_instance(3, n=6)
    state.covered["p"][:] = True
    state.covered["p"][:30, :30] = False
    big = Window(0, 0, 30, 30)
    covers.append(CandidateCover(big, {"p": np.ones((30, 30), dtype=bool)}))
    windows.append(big)
    built = []
    sel = lazy_greedy(state, lambda i: built.append(i) or covers[i], windows, 1, prune=True)
    assert sel.order == [6]
    assert len(built) < len(covers)


def test_greedy_equals_exhaustive_on_small_instances():
    for seed in range(10):
        state, covers, windows = random_instance(seed, n=8)
        sel = lazy_greedy(state, covers.__getitem__, windows, 1)
        best = max(range(8), key=lambda i: (state.gain(covers[i]), -i))
        assert sel.order == [best]


def test_exclusive_sites_are_chosen_once():
    state, covers, windows = random_instance(5, n=4)
    covers, windows = covers + covers, windows + windows  # the same sites at a second height
    sel = lazy_greedy(state, covers.__getitem__, windows, 4, exclusive=[0, 1, 2, 3] * 2)
    assert len({i % 4 for i in sel.order}) == len(sel.order)
    plain = plain_greedy(state, covers.__getitem__, 8, 4, exclusive=[0, 1, 2, 3] * 2)
    assert sel.order == plain.order


def test_gains_only_shrink():
    state, covers, _ = random_instance(7)
    before = [state.gain(c) for c in covers]
    state.add(covers[0])
    after = [state.gain(c) for c in covers]
    assert all(a <= b + 1e-12 for a, b in zip(after, before, strict=True))
    assert after[0] == 0.0
    assert before[0] > 0.0


def test_cropped_cover_has_the_same_gain():
    state, covers, _ = random_instance(11)
    for c in covers:
        small = cropped(c.window, c.masks)
        assert small.masks["p"].sum() == c.masks["p"].sum()
        assert state.gain(small) == pytest.approx(state.gain(c))
    empty = cropped(covers[0].window, {"p": np.zeros_like(covers[0].masks["p"])})
    assert state.gain(empty) == 0.0 and empty.masks["p"].size == 0
