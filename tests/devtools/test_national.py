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


def test_relief_strips_interpolate_as_zoom():
    from scipy import ndimage

    from c2000cov.devtools.national import relief_strips

    base = np.random.default_rng(4).normal(size=(7, 9)) * 50.0
    whole = ndimage.zoom(base, (61 / 7, 83 / 9), order=1)
    assert whole.shape == (61, 83)
    got = np.empty((61, 83), np.float32)
    starts = []
    for r0, strip in relief_strips(base, 83, 61, rows=16):
        got[r0:r0 + strip.shape[0]] = strip
        starts.append(r0)
    assert starts == [0, 16, 32, 48]
    np.testing.assert_allclose(got, whole, atol=1e-4)
    noisy = np.concatenate([s for _, s in relief_strips(base, 83, 61, np.random.default_rng(1))])
    assert 0.25 < float(np.std(noisy - whole)) < 0.35  # FINE_NOISE_M = 0.3 m


def test_the_10m_scenario_is_the_25m_one_at_10m(tmp_path):
    toml25 = generate_national(tmp_path / "25", scale=0.05)
    toml10 = generate_national(tmp_path / "10", scale=0.05, resolution_m=10.0)
    with rasterio.open(tmp_path / "25" / "dtm.tif") as a, \
            rasterio.open(tmp_path / "10" / "dtm.tif") as b:
        assert a.shape == (460, 360) and b.shape == (1150, 900)  # 11.5 km x 9 km
        assert b.res == (10.0, 10.0) and b.crs.to_epsg() == 28992
        assert b.bounds == a.bounds
        d25, d10 = a.read(1), b.read(1)
    # the same landscape: 10 m pixels averaged to 50 m against the 25 m ones averaged to 50 m
    m25 = d25.reshape(230, 2, 180, 2).mean(axis=(1, 3))
    m10 = d10.reshape(230, 5, 180, 5).mean(axis=(1, 3))
    # (pixel centres sample the coarse relief a few metres apart; at scale 0.05 the whole
    # country's relief is squeezed into 9 km, so slopes are 20x the full scenario's)
    diff = np.abs(m10 - m25)
    assert np.median(diff) < 0.3 and diff.max() < 0.02 * (m25.max() - m25.min())
    assert (tmp_path / "10" / "masts.csv").read_text() == (tmp_path / "25" / "masts.csv"
                                                          ).read_text()
    assert 'name = "national-10m"' in toml10.read_text()
    assert "resolution_m = 10.0" in toml10.read_text()
    assert 'name = "national-25m"' in toml25.read_text()


def test_a_fraction_is_projected_to_the_full_area():
    from c2000cov.devtools.national import project_full

    rec = {"workload": "national-10m", "masts": 150, "area_fraction": 0.25, "seconds": 900.0,
           "cache_mb": 5000.0, "peak_rss_mb": 3000.0}
    full = project_full(rec)["projected_full"]
    assert full["masts"] == 600
    assert full["seconds"] == 3600.0 and full["cache_mb"] == 20000.0  # x 600 / 150
    assert full["peak_rss_mb_upper"] == 12000.0  # / 0.25
    assert project_full({**rec, "area_fraction": 1.0, "masts": 600}) == {
        **rec, "area_fraction": 1.0, "masts": 600}


@pytest.mark.slow
def test_national_10m_record_from_the_command(tmp_path):
    import json

    from c2000cov.devtools.national import main

    record = main(["--resolution-m", "10", "--fraction", "0.0025", "--out", str(tmp_path / "n"),
                   "--json", str(tmp_path / "bench.json")])
    assert RECORD_KEYS <= set(record)
    assert record["workload"] == "national-10m" and record["resolution_m"] == 10.0
    assert record["area_fraction"] == 0.0025 and record["masts"] == 4
    assert record["pixels"] == 1150 * 900
    assert record["cache_hits"] == 0 and record["cache_misses"] == 8  # cold: 4 masts x DL, UL
    assert record["cache_mb"] > 0
    assert record["projected_full"]["seconds"] == pytest.approx(record["seconds"] * 150, rel=1e-3)
    assert json.loads((tmp_path / "bench.json").read_text()) == [record]


def test_a_national_run_is_cold_whatever_ran_before(tmp_path):
    """make bench-national times a cold cache: a second run in the same folder computes
    every loss window again instead of reading the first run's."""
    first = run_national(tmp_path, scale=0.04, workload="national-25m-tiny")
    second = run_national(tmp_path, scale=0.04, workload="national-25m-tiny")
    windows = 2 * first["masts"]  # both frequencies, one receiver height
    assert first["cache_misses"] >= windows and first["cache_hits"] == 0
    assert second["cache_misses"] == first["cache_misses"] and second["cache_hits"] == 0
    assert second["covered_pct"] == first["covered_pct"]


def test_a_national_run_without_the_loss_cache_gives_the_same_coverage(tmp_path):
    """--no-cache: no cache folder and nothing counted in it, the same rasters."""
    from c2000cov.devtools.national import main

    with_cache = run_national(tmp_path / "c", scale=0.04, workload="national-25m-tiny")
    record = main(["--fraction", str(0.04 ** 2), "--no-cache", "--out", str(tmp_path / "n"),
                   "--json", str(tmp_path / "bench.json")])
    assert with_cache["cache"] is True and record["cache"] is False
    assert record["cache_mb"] == 0.0 and record["cache_hits"] == record["cache_misses"] == 0
    assert with_cache["cache_misses"] > 0
    assert not (tmp_path / "n" / "out" / ".cache").exists()
    assert record["covered_pct"] == with_cache["covered_pct"]
    for name in ("p_cover_handheld_outdoor.tif", "best_server_handheld_outdoor.tif"):
        with rasterio.open(tmp_path / "c" / "out" / name) as a, \
                rasterio.open(tmp_path / "n" / "out" / name) as b:
            assert np.array_equal(a.read(), b.read(), equal_nan=True)
