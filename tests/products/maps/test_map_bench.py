"""The map benchmark's synthetic region: a real run folder that maps like any other."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import rasterio

from c2000cov.devtools.map_bench import PROFILES, synthetic_run
from c2000cov.products.maps import build_map_from_run
from tests.products.maps.test_maps import map_data


def test_synthetic_region_is_a_run_folder_the_map_reads(tmp_path):
    run = synthetic_run(tmp_path / "run", region_m=4000.0)
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["grid"]["shape"] == [400, 400]
    for name in PROFILES:
        with rasterio.open(run / f"p_cover_{name}.tif") as src:
            p = src.read(1)
            assert src.descriptions[0] == "p_cover" and src.res == (10.0, 10.0)
        assert np.nanmin(p) >= 0 and np.nanmax(p) <= 1
        zones = gpd.read_file(run / "dead_zones.gpkg", layer=name)
        below = (p < 0.95).sum() * 100.0
        assert zones.area.sum() <= below + 1e-6  # zones under 2500 m2 are dropped
    d = map_data(build_map_from_run(run, tmp_path / "m.html"))
    assert [p["label"] for p in d["profiles"]] == ["portofoon buiten", "portofoon binnen",
                                                   "mobilofoon in voertuig"]
    n = len(gpd.read_file(run / "dead_zones.gpkg", layer="handheld_outdoor"))
    assert len(d["perProfile"]["deadzones"]["handheld_outdoor"]["features"]) == n
