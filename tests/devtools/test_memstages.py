"""The per-stage memory log of devtools.memstages: stages booked, fixed and per-pixel parts
separated (a hand-worked pair of runs)."""

from __future__ import annotations

from c2000cov.devtools import memstages
from c2000cov.devtools.memstages import StageSampler, per_pixel_budget, rss_mb, rss_parts_mb


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


def test_the_sampler_books_each_sample_to_the_stage_it_is_in(monkeypatch):
    """Samples from a stand-in for /proc/self/statm: RSS and its anonymous part (MB)."""
    samples = iter([(100.0, 50.0), (400.0, 300.0), (250.0, 120.0), (150.0, 60.0)])
    monkeypatch.setattr(memstages, "rss_parts_mb", lambda: next(samples))
    sampler = StageSampler()  # not started: the samples are booked by hand
    sampler.enter("load")
    sampler._book("load")
    sampler.enter("masts")
    sampler._book("masts")
    assert sampler.stages == {
        "load": {"start_mb": 100.0, "peak_mb": 400.0, "peak_anon_mb": 300.0},
        "masts": {"start_mb": 250.0, "peak_mb": 250.0, "peak_anon_mb": 120.0}}
    sampler.enter("masts")  # the same stage again: no new start
    assert sampler.stages["masts"]["start_mb"] == 250.0


def test_rss_is_read_from_proc():
    rss, anon = rss_parts_mb()
    assert 0 < anon <= rss and rss_mb() > 0
