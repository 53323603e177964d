"""Indoor coverage referenced at the facade (ITU-R P.2109): a hand-worked case on flat ground."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import NoiseState, compute_coverage
from c2000cov.pipeline.executor import Executor
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.radio.budget import facade_pixels, loss_at_facade_db
from c2000cov.radio.itu import p2109
from c2000cov.scenario.config import load_scenario
from tests.scenarios import RD, write_scenario

RES_M = 10.0
SIZE_PX = 480  # 4.8 km square, the mast at its centre


def test_facade_pixel_is_the_first_outdoor_pixel_toward_the_mast():
    building = np.zeros((9, 20), dtype=bool)
    building[3:6, 10:14] = True  # a 3 x 4 block east of the mast at (4, 0)
    rows, cols, f_rows, f_cols = facade_pixels(building, 4, 0, 1.0)
    assert len(rows) == 12
    centre = int(np.flatnonzero((rows == 4) & (cols == 12))[0])
    assert (f_rows[centre], f_cols[centre]) == (4, 9)  # west of the wall facing the mast
    loss = np.arange(9 * 20, dtype="float32").reshape(9, 20)
    moved = loss_at_facade_db(loss, (rows, cols, f_rows, f_cols))
    assert moved[4, 12] == loss[4, 9] and moved[4, 13] == loss[4, 9]
    assert np.array_equal(moved[~building], loss[~building])


def test_indoor_level_is_the_facade_level_minus_the_p2109_median(tmp_path):
    """Flat ground, P.1812, one 40 x 40 m building 12 m high 2 km east of a 30 m mast: the
    indoor median DL level at its centre is the outdoor level at the facade (the outdoor
    pixel in front of the wall facing the mast) minus the P.2109 median, within 1 dB."""
    cx = 150000.0 + SIZE_PX * RES_M / 2
    cy = 450000.0 + SIZE_PX * RES_M / 2
    mast_x, mast_y = cx + RES_M / 2, cy - RES_M / 2  # centre of pixel (240, 240)
    bx0 = mast_x + 1975.0  # pixel edges: columns 438-441, rows 238-241
    by0 = mast_y - 15.0
    gpd.GeoDataFrame({"height_m": [12.0]}, geometry=[box(bx0, by0, bx0 + 40.0, by0 + 40.0)],
                     crs=RD).to_file(tmp_path / "b.gpkg", driver="GPKG")
    profiles = ("[profiles.out]\n\n[profiles.inside]\nindoor = true\n"
                'building_class = "traditional"\n')
    path = write_scenario(tmp_path, model="p1812", profiles=profiles, radius_m=2400.0,
                          size_px=SIZE_PX, res=RES_M,
                          masts_rows=[f"M01,Centre,{mast_x},{mast_y},30,44,11,8,3"],
                          extra='[buildings]\npath = "b.gpkg"\nheight_column = "height_m"\n')
    inputs = load_inputs(load_scenario(path))
    covs = compute_coverage(inputs)["main"]
    row, col = 240, 240 + 200  # the building's centre pixel
    assert inputs.surface.building_mask[row, col]
    west = col
    while inputs.surface.building_mask[row, west]:
        west -= 1  # the facade pixel, first outdoor pixel toward the mast
    assert col - west == 3  # the building is 4 pixels wide, 2 of them west of the centre
    bel_db, _ = p2109.entry_loss_median_and_sigma_db(392.5, "traditional")
    outdoor_dbm = float(covs["out"].signal_dl_dbm[row, west])
    indoor_dbm = float(covs["inside"].signal_dl_dbm[row, col])
    assert indoor_dbm == pytest.approx(outdoor_dbm - bel_db, abs=1.0)


def test_tiled_run_finds_the_facade_in_the_next_tile(tmp_path):
    """A building across a tile edge, its facade (toward the mast) in the western tile: the
    tiled reduction gives the indoor pixels of the eastern tile the same facade loss as a
    whole-grid pass (the facade is looked up in the mast's whole window, then clipped)."""
    from c2000cov.pipeline.tiles import tiled_coverage

    n_px, top = 120, 450000.0 + 120 * RES_M
    # columns 60-69 (the tile edge at column 64), rows 50-59; the mast at (55, 20), west
    gpd.GeoDataFrame({"height_m": [12.0]}, geometry=[box(150600.0, top - 600.0, 150700.0,
                                                         top - 500.0)],
                     crs=RD).to_file(tmp_path / "b.gpkg", driver="GPKG")
    profiles = '[profiles.inside]\nindoor = true\nbuilding_class = "traditional"\n'
    path = write_scenario(tmp_path, model="p1812", profiles=profiles, radius_m=1000.0,
                          size_px=n_px, res=RES_M,
                          masts_rows=["M01,West,150205,450645,30,44,11,8,3"],
                          extra='[buildings]\npath = "b.gpkg"\nheight_column = "height_m"\n')
    inputs = load_inputs(load_scenario(path))
    bm = inputs.surface.building_mask
    assert bm[55, 60:70].all() and not bm[55, 59]
    whole = compute_coverage(inputs)["main"]["inside"]
    tiled = tiled_coverage(inputs, [NoiseState("main")], LossCache(tmp_path / "c"), Executor(),
                           tile_px=64)["main"]["inside"]
    assert tiled.signal_dl_dbm.tobytes() == whole.signal_dl_dbm.tobytes()
    # every indoor pixel on row 55 has the level of the facade pixel (55, 59) less the same BEL
    row = whole.signal_dl_dbm[55, 60:70]
    assert np.ptp(row) == 0.0 and np.isfinite(row).all()
