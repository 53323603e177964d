"""The per-stage memory log of devtools.memstages: stages booked, fixed and per-pixel parts
separated (a hand-worked pair of runs)."""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.devtools.memstages import StageSampler, per_pixel_budget, rss_mb


def test_two_grid_sizes_separate_the_fixed_part_from_the_part_per_pixel():
    mb = 2**20
    # stage "a": 100 MB + 40 bytes per pixel; stage "b": 300 MB + 2 bytes per pixel
    small = {"pixels": 1_000_000, "stages": {
        "a": {"peak_mb": 100 + 40e6 / mb}, "b": {"peak_mb": 300 + 2e6 / mb}}}
    large = {"pixels": 5_000_000, "stages": {
        "a": {"peak_mb": 100 + 200e6 / mb}, "b": {"peak_mb": 300 + 10e6 / mb},
        "only_large": {"peak_mb": 1.0}}}
    budget = per_pixel_budget(small, large)
    assert budget == {"a": {"bytes_per_px": 40.0, "fixed_mb": 100.0},
                      "b": {"bytes_per_px": 2.0, "fixed_mb": 300.0}}


def test_the_sampler_books_an_allocation_to_its_stage():
    with StageSampler(period_s=0.001) as sampler:
        sampler.enter("small")
        sampler.enter("big")
        arr = np.ones(64 * 2**20 // 8)  # 64 MB, touched
        before = rss_mb()
        while sampler.stages["big"]["peak_mb"] < before:  # the thread has sampled it
            pass
        del arr
        sampler.enter("after")
    big, small = sampler.stages["big"], sampler.stages["small"]
    assert big["peak_mb"] - small["start_mb"] == pytest.approx(64, abs=16)
    assert {"small", "big", "after"} <= set(sampler.stages)
