"""Indoor coverage referenced at the facade (ITU-R P.2109): a hand-worked case on flat ground."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from c2000cov.pipeline.compute import compute_coverage
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
