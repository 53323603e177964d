"""A synthetic run folder written with the pipeline's own writers, with known dead zones.

Grid: RD New, 20 m pixels, 100 rows x 150 columns, top-left (150000, 452000).
Profiles (kinds from their terminal terms, as products.advice.profile_kind reads them):

- ``outdoor`` (handheld: body loss 5 dB, gain -3 dBi): p_cover 0.99 everywhere but a
  vertical strip of columns 60-74 (300 m wide) at 0.50, uplink-limited,
  no mast at target there; night state: the strip is at 0.97 (covered);
- ``in_car`` (roof antenna: no body loss, gain 2 dBi): 0.99 everywhere but columns 65-69 at 0.90;
- ``indoor`` (indoor): a smooth gradient 0.2-1.0 over the columns.

The top-left 10 x 10 pixels are not evaluated in every profile. Two masts:
M1 "Noord" serves columns < 75, M2 "Zuid" the rest.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from c2000cov.analysis.coverage import LIMITING_DL, LIMITING_UL, ProfileCoverage
from c2000cov.analysis.deadzones import dead_zones
from c2000cov.files.vectors import write_csv, write_gpkg
from c2000cov.geo.grid import Grid
from c2000cov.products import runfolder as rf
from c2000cov.products.runfolder import write_profile_rasters
from c2000cov.scenario.schema import ClassesConfig

X0_M, Y_TOP_M, RES_M = 150000.0, 452000.0, 20.0
ROWS, COLS = 100, 150
STRIP_COLS = (60, 75)  # outdoor dead strip, columns [60, 75)
CAR_STRIP_COLS = (65, 70)
MASTS = pd.DataFrame({"mast_index": [0, 1], "mast_id": ["M1", "M2"],
                      "name": ["Noord", "Zuid"], "x_m": [150617.3, 152733.9],
                      "y_m": [451012.7, 450128.1], "h_agl_m": [40.0, 40.0]})
PROFILE_PARAMS = {"outdoor": {"body_loss_db": 5.0, "ms_gain_dbi": -3.0, "indoor": False},
                  "in_car": {"body_loss_db": 0.0, "ms_gain_dbi": 2.0, "indoor": False},
                  "indoor": {"body_loss_db": 5.0, "ms_gain_dbi": -3.0, "indoor": True}}


def grid() -> Grid:
    from affine import Affine
    from rasterio.crs import CRS

    return Grid(CRS.from_epsg(28992), Affine(RES_M, 0, X0_M, 0, -RES_M, Y_TOP_M), ROWS, COLS)


def _coverage(name: str, p: np.ndarray, g: Grid) -> ProfileCoverage:
    classes = ClassesConfig()
    evaluated = np.isfinite(p)
    limiting = np.where(evaluated, LIMITING_DL, 0).astype("uint8")
    limiting[:, STRIP_COLS[0]:STRIP_COLS[1]] = LIMITING_UL
    server = np.where(np.arange(COLS)[None, :] < 75, 0, 1).repeat(ROWS, 0).astype("int16")
    server[~evaluated] = -1
    n_at = np.where(np.nan_to_num(p) >= 0.95, 2, 0).astype("uint8")
    cls = np.full(p.shape, 255, dtype="uint8")
    cls[evaluated] = 0
    for code, pct in ((1, classes.poor_pct), (2, classes.reduced_pct), (3, 95.0)):
        cls[evaluated & (np.nan_to_num(p) >= pct / 100.0)] = code
    sig = np.where(evaluated, -80.0, np.nan).astype("float32")
    m = np.zeros(p.shape, "float32")
    return ProfileCoverage(name, g, p.astype("float32"), limiting, server, sig, n_at, cls, m, m,
                           8.0, 95.0)


def profile_arrays() -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """(sunny p_cover, night p_cover or None) per profile."""
    out = {}
    p = np.full((ROWS, COLS), 0.99, "float32")
    p[:, STRIP_COLS[0]:STRIP_COLS[1]] = 0.5
    night = p.copy()
    night[:, STRIP_COLS[0]:STRIP_COLS[1]] = 0.97
    out["outdoor"] = (p, night)
    car = np.full((ROWS, COLS), 0.99, "float32")
    car[:, CAR_STRIP_COLS[0]:CAR_STRIP_COLS[1]] = 0.9
    out["in_car"] = (car, car.copy())
    indoor = np.repeat(np.linspace(0.2, 1.0, COLS, dtype="float32")[None, :], ROWS, 0)
    out["indoor"] = (indoor, indoor.copy())
    for a, b in out.values():
        a[:10, :10] = np.nan
        b[:10, :10] = np.nan
    return out


def write_synthetic_run(folder) -> None:
    """Write the run folder described in the module docstring."""
    folder.mkdir(parents=True, exist_ok=True)
    g = grid()
    zones = {}
    params = {"scenario.name": "synthetic-service", "dead_zones.min_area_m2": 0.0}
    for name, (p, night) in profile_arrays().items():
        for is_night, arr in ((False, p), (True, night)):
            cov = _coverage(name, arr, g)
            write_profile_rasters(folder, cov, g, night=is_night,
                                  mast_ids=list(MASTS["mast_id"]))
            if not is_night:
                zones[name] = dead_zones(cov, MASTS, None)
        for key, value in PROFILE_PARAMS[name].items():
            params[f"profiles.{name}.{key}"] = value
        params[f"profiles.{name}.target_pct"] = 95.0
    write_gpkg(folder / rf.DEAD_ZONES, zones)
    write_csv(folder / rf.MASTS_USED, MASTS)
    manifest = {"scenario": "synthetic-service", "parameters": params,
                "grid": {"crs": "EPSG:28992", "bounds_m": list(g.bounds_m),
                         "resolution_m": RES_M, "shape": [ROWS, COLS]}}
    (folder / rf.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("service") / "run"
    write_synthetic_run(folder)
    return folder


def pixel_centre(row: int, col: int) -> tuple[float, float]:
    """RD coordinates of a pixel centre."""
    return X0_M + (col + 0.5) * RES_M, Y_TOP_M - (row + 0.5) * RES_M
