"""Gain arithmetic of new mast sites: which pixels a candidate adds, and greedy selection.

A what-if adding a mast folds it into the best-server reduction: a pixel's new
limiting margin is ``max(base, candidate)``. The location probability
``Q(-m / sigma)`` rises with ``m``, so the pixel is covered after the addition
exactly when it was covered before or the candidate covers it on its own:

    covered(max(a, b)) == covered(a) | covered(b)

A candidate's gain is therefore the weight of the pixels in its window that it
covers on its own and that are not covered yet; only its window is touched, and
adding a site only grows the covered set, so gains can only shrink as sites are
selected (the property lazy greedy relies on).

Pure numpy; the orchestration (propagation, noise states, files) lives in
:mod:`c2000cov.pipeline.optimise`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from c2000cov.analysis.coverage import reaches_pct
from c2000cov.geo.grid import Window
from c2000cov.radio.probability import location_probability


def covered_alone(margin_dl_db: np.ndarray, margin_ul_db: np.ndarray, sigma_total_db,
                  target_pct: float) -> np.ndarray:
    """Pixels a mast covers on its own: its limiting margin reaches the target probability.

    The same predicate as a run's covered mask (NaN margins, i.e. pixels the
    profile does not evaluate, are never covered).
    """
    m = np.fmin(margin_dl_db, margin_ul_db)
    with np.errstate(invalid="ignore"):
        p = location_probability(m, sigma_total_db)
    return reaches_pct(p, target_pct) & np.isfinite(m)


@dataclass
class CandidateCover:
    """A candidate's own covered pixels per profile, over its window."""

    window: Window
    masks: dict[str, np.ndarray]  # profile -> bool window


def cropped(window: Window, masks: dict[str, np.ndarray]) -> CandidateCover:
    """A candidate's cover cut to the box of pixels it covers (the gains are the same).

    A window spans the model radius; the covered pixels usually a small part
    of it, so many candidates fit in memory.
    """
    any_px = np.zeros((window.height, window.width), dtype=bool)
    for m in masks.values():
        any_px |= m
    rows, cols = np.flatnonzero(any_px.any(axis=1)), np.flatnonzero(any_px.any(axis=0))
    if rows.size == 0:
        return CandidateCover(Window(window.row_off, window.col_off, 0, 0),
                              {p: m[:0, :0] for p, m in masks.items()})
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return CandidateCover(Window(window.row_off + int(r0), window.col_off + int(c0),
                                 int(r1 - r0), int(c1 - c0)),
                          {p: np.ascontiguousarray(m[r0:r1, c0:c1]) for p, m in masks.items()})


@dataclass
class CoverState:
    """The covered pixels of the network so far, per profile, and the pixel weights.

    ``weights[profile]`` is the objective's weight of each pixel (km2, people or
    road km; zero outside the area filter).
    """

    covered: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]

    def gain(self, cand: CandidateCover) -> float:
        """Objective weight the candidate would add."""
        sl = cand.window.slices
        total = 0.0
        for p, mask in cand.masks.items():
            new = mask & ~self.covered[p][sl]
            total += float(self.weights[p][sl][new].sum())
        return total

    def gain_of(self, cand: CandidateCover, weights: dict[str, np.ndarray]) -> float:
        """What the candidate would add, weighed with other weights (population, roads)."""
        sl = cand.window.slices
        return float(sum(weights[p][sl][mask & ~self.covered[p][sl]].sum()
                         for p, mask in cand.masks.items()))

    def upper_bound(self, window: Window) -> float:
        """A bound no candidate with this window can beat: the uncovered weight in it."""
        sl = window.slices
        return float(sum(self.weights[p][sl][~self.covered[p][sl]].sum() for p in self.covered))

    def add(self, cand: CandidateCover) -> None:
        """Fold a selected candidate into the covered pixels."""
        sl = cand.window.slices
        for p, mask in cand.masks.items():
            self.covered[p][sl] |= mask

    def copy(self) -> CoverState:
        """An independent copy (the weights are shared)."""
        return CoverState({p: c.copy() for p, c in self.covered.items()}, self.weights)


@dataclass
class Selection:
    """The outcome of a greedy selection."""

    order: list[int]  # candidate indices in selection order
    gains: list[float]  # marginal gain of each when selected
    first_round: dict[int, float] = field(default_factory=dict)  # exact first-round gains
    evaluations: int = 0  # gain evaluations done
    covers_built: int = 0  # candidates whose coverage was computed


CoverFn = Callable[[int], CandidateCover]


def plain_greedy(state: CoverState, cover: CoverFn, n_candidates: int, n_add: int,
                 exclusive: Sequence[int] | None = None) -> Selection:
    """Evaluate every remaining candidate each round; take the best (ties: lowest index).

    ``exclusive[i]`` is a site number: once a site is chosen its other
    candidates (other heights) leave the race.
    """
    state = state.copy()
    site = list(exclusive) if exclusive is not None else list(range(n_candidates))
    covers = {i: cover(i) for i in range(n_candidates)}
    sel = Selection([], [], covers_built=n_candidates)
    taken: set[int] = set()
    for rnd in range(n_add):
        best, best_gain = -1, -1.0
        for i in range(n_candidates):
            if site[i] in taken:
                continue
            g = state.gain(covers[i])
            sel.evaluations += 1
            if rnd == 0:
                sel.first_round[i] = g
            if g > best_gain:
                best, best_gain = i, g
        if best < 0 or best_gain <= 0.0:
            break
        sel.order.append(best)
        sel.gains.append(best_gain)
        taken.add(site[best])
        state.add(covers[best])
    return sel


def lazy_greedy(state: CoverState, cover: CoverFn, windows: Sequence[Window], n_add: int,
                exclusive: Sequence[int] | None = None, prune: bool = False) -> Selection:
    """Lazy greedy (CELF): re-evaluate a candidate only when it reaches the top of the heap.

    Gains only shrink as sites are added, so a candidate whose gain, computed
    against the current network, still tops every other candidate's older
    gain (or bound) is the best of the round: the same sites as
    :func:`plain_greedy`.

    Without ``prune`` every candidate's first-round gain is computed (they
    are reported). With ``prune`` the heap starts from :meth:`CoverState.upper_bound`,
    the uncovered weight in each candidate's window, which no candidate can
    exceed; a candidate is only propagated when its bound reaches the top, so
    candidates whose bound is below the best exact gain are never computed,
    and the true best is never dropped.
    """
    state = state.copy()
    n = len(windows)
    site = list(exclusive) if exclusive is not None else list(range(n))
    covers: dict[int, CandidateCover] = {}
    sel = Selection([], [])

    def get(i: int) -> CandidateCover:
        if i not in covers:
            covers[i] = cover(i)
        return covers[i]

    heap: list[tuple[float, int, int]] = []  # (-gain, index, round the gain is valid for; -1 bound)
    for i in range(n):
        if prune:
            heap.append((-state.upper_bound(windows[i]), i, -1))
        else:
            g = state.gain(get(i))
            sel.evaluations += 1
            sel.first_round[i] = g
            heap.append((-g, i, 0))
    heapq.heapify(heap)
    taken: set[int] = set()
    rnd = 0
    while rnd < n_add and heap:
        neg, i, valid = heapq.heappop(heap)
        if site[i] in taken:
            continue
        if valid != rnd:
            g = state.gain(get(i))
            sel.evaluations += 1
            if rnd == 0:
                sel.first_round[i] = g
            heapq.heappush(heap, (-g, i, rnd))
            continue
        if -neg <= 0.0:
            break
        sel.order.append(i)
        sel.gains.append(-neg)
        taken.add(site[i])
        state.add(get(i))
        rnd += 1
    sel.covers_built = len(covers)
    return sel
