"""The national pipeline at 1/16 size (slow): generation, run, record keys, memory bound."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from c2000cov.devtools.national import generate_national, run_national

RECORD_KEYS = {"workload", "pixels", "masts", "threads", "seconds", "px_per_s", "compile_s",
               "peak_rss_mb", "cache_mb"}


def test_generated_relief_is_dutch_like(tmp_path):
    toml = generate_national(tmp_path, scale=0.25)
    with rasterio.open(tmp_path / "dtm.tif") as src:
        dtm = src.read(1)
        assert src.crs.to_epsg() == 28992 and src.res == (25.0, 25.0)
        assert dtm.shape == (2300, 1800)  # 57.5 km x 45 km
    west, east = dtm[:, :300], dtm[:, -300:]
    assert np.median(west) < 1.0  # polders around NAP in the west
    assert np.median(east) > np.median(west) + 10.0  # the higher east
    assert 100.0 < dtm.max() < 350.0  # the hilly south-east corner
    masts = (tmp_path / "masts.csv").read_text().splitlines()[1:]
    assert len(masts) == 38  # 600 / 16, rounded
    assert "national-25m" in toml.read_text()


@pytest.mark.slow
def test_national_sixteenth_runs_end_to_end(tmp_path):
    record = run_national(tmp_path, scale=0.25, workload="national-25m-1/16")
    assert RECORD_KEYS <= set(record)
    assert record["masts"] == 38 and record["pixels"] == 2300 * 1800
    assert record["cache_mb"] > 0
    covered = record["covered_pct"]["handheld_outdoor"]
    assert 10.0 < covered < 100.0
    assert (tmp_path / "out" / "p_cover_handheld_outdoor.tif").is_file()
    # memory stays bounded by the grid, not by grid x masts (38 x 4.1 M px x 4 B = 620 MB)
    assert record["peak_rss_mb"] < 3000
