"""The per-stage memory log of devtools.memstages: stages booked, fixed and per-pixel parts
separated (a hand-worked pair of runs)."""

from __future__ import annotations

import pytest

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


def test_the_projection_grows_each_stage_at_its_slope_and_the_masts_by_the_open_tiles():
    mb = 2**20
    px_small, px_large, px_full = 1_000_000, 4_000_000, 16_000_000

    def rec(px, open_px, masts_mb, report_mb, base_mb):
        return {"pixels": px, "open_tile_px": open_px, "combos": 1, "stages": {
            "summarise": {"start_mb": base_mb, "peak_mb": base_mb, "peak_anon_mb": base_mb},
            "masts (CPU)": {"start_mb": base_mb, "peak_mb": masts_mb,
                            "peak_anon_mb": masts_mb},
            "build_report": {"start_mb": base_mb, "peak_mb": report_mb,
                             "peak_anon_mb": report_mb / 2}}}

    # held between stages: 300 MB + 4 B/px; report: +20 B/px; masts: window 1000 MB
    # and 23 B per open tile pixel (every pixel open in both runs)
    def base(px):
        return 300 + 4 * px / mb

    small = rec(px_small, px_small, base(px_small) + 1000 + 23 * px_small / mb,
                base(px_small) + 20 * px_small / mb, base(px_small))
    large = rec(px_large, px_large, base(px_large) + 1000 + 23 * px_large / mb,
                base(px_large) + 20 * px_large / mb, base(px_large))
    full = memstages.project_full(small, large, px_full, full_open_px=8_000_000)
    masts = full["stages"]["masts (CPU)"]
    assert masts["peak_mb"] == pytest.approx(base(px_full) + 1000 + 23 * 8_000_000 / mb,
                                             abs=0.2)
    assert masts["bytes_per_px"] == 4.0
    report = full["stages"]["build_report"]
    assert report["peak_mb"] == pytest.approx(base(px_full) + 20 * px_full / mb, abs=0.2)
    assert report["bytes_per_px"] == 24.0 and report["bytes_per_px_anon"] == 12.0
    assert full["peak_stage"] == "masts (CPU)"  # 1536 MB against the report's 666 MB
    assert full["peak_rss_mb"] == masts["peak_mb"] == full["peak_anon_mb"]
