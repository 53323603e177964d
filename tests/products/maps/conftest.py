"""A small synthetic run folder with hostile names, PV, night and what-if files, roads and
a region that holds the other areas."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from c2000cov.cli import app
from c2000cov.products.maps import build_map_from_run
from tests.scenarios import RD, write_scenario

#: Hostile text: must be shown as text, never run.
MAST_NAME_XSS = "<img src=x onerror=alert(1)>"
AREA_NAME_XSS = '<img src=y onerror="window.__c2kXss=1">Zuid & co'
AREA_NAME_B = "Noord <b>bold</b>"
#: A region that holds both areas: drawn as an outline, never as a fill over them.
REGION_NAME = "Regio Midden"
#: Roads of the scenario (RD): one east-west road through the middle, one diagonal.
ROADS = [((150100.0, 452010.0), (153900.0, 452010.0)), ((150200.0, 450200.0), (153800.0, 453800.0))]
#: Masts, placed away from 500 m block edges so that public-map checks on
#: coordinate strings cannot match a block corner by coincidence.
MASTS = [
    # mast_id, name, x_m, y_m, azimuth_deg, pattern
    ("C2K-SITE-0042", MAST_NAME_XSS, 152137.0, 451863.0, "", ""),
    ("C2K-SITE-0077", "Zuidwest sector", 150733.0, 450681.0, "45", "flat.msi"),
]
PROFILES = ('[profiles.outdoor]\nextra_loss_db = 40.0\n\n'
            '[profiles.incar]\nextra_loss_db = 50.0\nms_tx_power_dbm = 34.8\n'
            'ms_gain_dbi = 2.0\nbody_loss_db = 0.0\n')
FLAT_MSI = ("NAME FLAT\nFREQUENCY 390\nGAIN 11.0 dBi\nHORIZONTAL 360\n"
            + "".join(f"{a} 0.0\n" for a in range(360))
            + "VERTICAL 360\n" + "".join(f"{a} 0.0\n" for a in range(360)))


def _write_masts(tmp: Path) -> None:
    (tmp / "flat.msi").write_text(FLAT_MSI)
    rows = ["mast_id,name,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db,"
            "azimuth_deg,tilt_deg,pattern"]
    for mid, name, x, y, az, pat in MASTS:
        rows.append(f'{mid},"{name}",{x},{y},30,44,11,8,3,{az},0,{pat}')
    (tmp / "masts.csv").write_text("\n".join(rows) + "\n")


def _write_areas(tmp: Path) -> None:
    a = gpd.GeoDataFrame({"name": [AREA_NAME_XSS, AREA_NAME_B, REGION_NAME]},
                         geometry=[box(150000, 450000, 154000, 452000),
                                   box(150000, 452000, 154000, 454000),
                                   box(150000, 450000, 154000, 454000)], crs=RD)
    a.to_file(tmp / "areas.gpkg", driver="GPKG")
    gpd.GeoDataFrame({"road": ["A1", "N2"]}, geometry=[LineString(r) for r in ROADS],
                     crs=RD).to_file(tmp / "roads.gpkg", driver="GPKG")


def _add_extras(out: Path) -> None:
    """Night coverage, PV, mast interference and a what-if delta, per the run-folder contract."""
    with rasterio.open(out / "p_cover_outdoor.tif") as src:
        profile = src.profile
        bands = src.read()
        desc = src.descriptions
        tags = src.tags()
    night = bands.copy()
    # at night the mast hears 0.15 more probability everywhere: a ring of sunny-day loss
    night[0] = np.where(np.isfinite(bands[0]), np.minimum(1.0, bands[0] + 0.15), np.nan)
    profile.update(driver="GTiff")
    with rasterio.open(out / "p_cover_outdoor_night.tif", "w", **profile) as dst:
        dst.write(night)
        dst.descriptions = desc
        dst.update_tags(**tags)
    delta = np.where(np.isfinite(bands[0]), 0.0, np.nan).astype("float32")
    delta[20:60, 20:60] = 1.0    # gained, north-west
    delta[150:190, 150:190] = -1.0  # lost, south-east
    p1 = dict(profile, count=1)
    with rasterio.open(out / "delta_outdoor.tif", "w", **p1) as dst:
        dst.write(delta, 1)
        dst.set_band_description(1, "delta")
    gpd.GeoDataFrame({
        "pv_id": ["PV-<i>1</i>", "PV-2", "PV-3"], "kwp": [400.0, 50.0, 5.0],
        "n_devices": [1000, 125, 12], "emission_db_over_limit": [25.0, 25.0, 0.0],
        "mitigated": [False, True, False], "eirp_dbm_per_25khz": [-0.0, -30.0, -54.0],
    }, geometry=[Point(153500, 453500), Point(150500, 453400), Point(153600, 450400)],
        crs=RD).to_file(out / "pv_used.gpkg", layer="pv", driver="GPKG")
    pd.DataFrame({"mast_id": [m[0] for m in MASTS], "d_ul_db": [6.5, 0.4]}).to_csv(
        out / "masts_interference.csv", index=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished run (model fspl, 4 km x 4 km at 20 m) with dead zones in the corners."""
    tmp = tmp_path_factory.mktemp("maprun")
    scen = write_scenario(tmp, profiles=PROFILES, with_areas=True,
                          extra='[roads]\npath = "roads.gpkg"\n\n[radio]\n'
                          'bs_diversity_gain_db = 0.0\n')  # discs smaller than the grid
    _write_masts(tmp)
    _write_areas(tmp)
    out = tmp / "out"
    res = CliRunner().invoke(app, ["run", str(scen), "--out", str(out), "--quiet", "--no-map"])
    assert res.exit_code == 0, (res.output, res.exception)
    _add_extras(out)
    return out


@pytest.fixture(scope="module")
def maps(run_dir, tmp_path_factory) -> dict[str, Path]:
    """The normal and the public map of :func:`run_dir`."""
    tmp = tmp_path_factory.mktemp("maps")
    return {"normal": build_map_from_run(run_dir, tmp / "normal.html"),
            "public": build_map_from_run(run_dir, tmp / "public.html", public=True),
            "english": build_map_from_run(run_dir, tmp / "english.html", lang="en",
                                          basemap="osm")}


@pytest.fixture(scope="module")
def plain_run_dir(run_dir, tmp_path_factory) -> Path:
    """The same run without the optional files (no PV, night or what-if)."""
    out = tmp_path_factory.mktemp("plainrun") / "out"
    shutil.copytree(run_dir, out)
    for name in ("p_cover_outdoor_night.tif", "delta_outdoor.tif", "pv_used.gpkg",
                 "masts_interference.csv"):
        (out / name).unlink()
    return out
