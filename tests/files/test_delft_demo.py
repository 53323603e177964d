"""``make demo-delft`` end to end: the Delft AHN3 tiles prepared at 2 m and run with a
synthetic rooftop mast (data/delft_demo.py, the same flow the Makefile runs)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.features import rasterize

ROOT = Path(__file__).resolve().parents[2]
NL = ROOT / "tests" / "data" / "nl"


def _load_demo():
    spec = importlib.util.spec_from_file_location("c2000cov_delft_demo",
                                                  ROOT / "data" / "delft_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    module = _load_demo()
    tmp = tmp_path_factory.mktemp("delft")
    module.demo(tmp / "build", tmp / "out", quiet=True)
    return module, tmp / "build" / "prepared", tmp / "out"


def _read(path: Path, band: int = 1):
    with rasterio.open(path) as src:
        return src.read(band), src.transform, src.descriptions


def test_demo_tiles_mosaic_into_the_prepared_grid(demo):
    module, prepared, _ = demo
    tiles = sorted((prepared.parent / "tiles" / "dtm").iterdir())
    assert len(tiles) == 6
    with rasterio.open(tiles[1]) as t:  # r0_c1 carries AHN's nodata value
        assert t.nodata == module.AHN_NODATA
    rep = json.loads((prepared / "prepare.json").read_text())
    assert rep["rasters"]["dtm"]["tiles"] == rep["rasters"]["dsm"]["tiles"] == 6
    assert rep["rasters"]["dtm"]["filled_region_pct"] == 0.0
    assert rep["rasters"]["dsm"]["resampling"] == "q3"
    dtm, transform, _ = _read(prepared / "dtm.tif")
    assert dtm.shape == (113, 130) and (transform.c, transform.f) == (84810.0, 447640.0)
    # the 2 m DTM is the mean of each 2 x 2 block of the 1 m sample (rows from 447640)
    with rasterio.open(NL / "delft_ahn3_dtm_1m.tif") as src:
        one_m = src.read(1).astype("float64")[2:228, 2:262]
    np.testing.assert_allclose(dtm, one_m.reshape(113, 2, 130, 2).mean(axis=(1, 3)), atol=1e-4)
    # the 2 m DSM stays near roof level on the footprints: -0.52 m measured, where the
    # 1 m sample itself lies 0.71 m (median) below the LoD1 roof heights
    dsm, transform, _ = _read(prepared / "dsm.tif")
    b = gpd.read_file(prepared / "buildings.gpkg")
    ids = rasterize(((g, i + 1) for i, g in enumerate(b.geometry)), out_shape=dsm.shape,
                    transform=transform, fill=0, dtype="int32")
    roof = np.concatenate([[np.nan], b["roof_nap_m"].to_numpy(float)])[ids]
    assert -0.75 < np.median((dsm - roof)[ids > 0]) < 0.0


#: The strongest outdoor signal lies next to the rooftop mast's building (2 m pixels).
MAX_BEST_OFFSET_PX = 15


def test_demo_run_sees_the_prepared_buildings(demo):
    module, prepared, out = demo
    run = json.loads((out / "run.json").read_text())
    assert run["scenario"] == "prepared"
    p_cover, transform, desc = _read(out / "p_cover_handheld_outdoor.tif", 1)
    signal, _, _ = _read(out / "p_cover_handheld_outdoor.tif",
                         desc.index("best_signal_dl_dbm") + 1)
    assert p_cover.shape == (113, 130)
    # outdoor profiles are evaluated everywhere except on building footprints (#12)
    b = gpd.read_file(prepared / "buildings.gpkg")
    ids = rasterize(((g, i + 1) for i, g in enumerate(b.geometry)), out_shape=p_cover.shape,
                    transform=transform, fill=0, dtype="int32")
    assert np.isfinite(p_cover[ids == 0]).all() and np.isnan(p_cover[ids > 0]).all()
    # free-space upper bound of the median downlink signal (dBm), rooftop mast to 1.5 m
    dtm, _, _ = _read(prepared / "dtm.tif")
    rows, cols = np.indices(signal.shape)
    x, y = transform.c + (cols + 0.5) * 2.0, transform.f - (rows + 0.5) * 2.0
    mx, my = 85023.6, 447485.2
    mr, mc = int((transform.f - my) // 2), int((mx - transform.c) // 2)
    h_tx = dtm[mr, mc] + 18.35
    d_km = np.sqrt((x - mx) ** 2 + (y - my) ** 2 + (h_tx - dtm - 1.5) ** 2) / 1e3
    eirp_dbm, terminal_db = 44 + 8 - 3, -3.0 - 5.0  # mast; handheld gain and body loss
    free_space = eirp_dbm - (32.45 + 20 * np.log10(392.5) + 20 * np.log10(d_km)) + terminal_db
    out = np.isfinite(signal)  # outdoor pixels (the rooftop mast's own pixel is a building)
    assert np.all(signal[out] <= free_space[out] + 1.0)
    best = np.unravel_index(np.nanargmax(signal), signal.shape)
    assert max(abs(best[0] - mr), abs(best[1] - mc)) <= MAX_BEST_OFFSET_PX, best
    # the buildings of the prepared DSM shadow most of the streets: > 6 dB below free space
    assert np.mean((free_space - signal)[out] > 6.0) > 0.9
