"""Small synthetic scenarios built in code, for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from shapely.geometry import box

#: The repository and the tests' own reference data.
REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
RD = "EPSG:28992"


def write_dtm(path: Path, heights: np.ndarray, x0: float = 150000.0, y0: float = 450000.0,
              res: float = 20.0, crs: str | None = RD, nodata: float = -9999.0) -> Path:
    """Write a float32 GeoTIFF with its top-left corner at (x0, y0 + rows * res)."""
    rows, cols = heights.shape
    transform = Affine(res, 0, x0, 0, -res, y0 + rows * res)
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(heights.astype("float32"), 1)
    return path


MAST_HEADER = "mast_id,name,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db"


def write_scenario(tmp: Path, masts_rows: list[str] | None = None, model: str = "fspl",
                   extra: str = "", profiles: str | None = None, radius_m: float = 3000.0,
                   size_px: int = 200, res: float = 20.0, heights: np.ndarray | None = None,
                   with_buildings: bool = False, with_areas: bool = False) -> Path:
    """A flat synthetic scenario (4 km x 4 km at 20 m by default) in ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    if heights is None:
        heights = np.zeros((size_px, size_px), dtype="float32")
    write_dtm(tmp / "dtm.tif", heights, res=res)
    cx, cy = 150000.0 + size_px * res / 2, 450000.0 + size_px * res / 2
    if masts_rows is None:
        masts_rows = [f"M01,Centre,{cx + res / 2},{cy - res / 2},30,44,11,8,3"]
    (tmp / "masts.csv").write_text(MAST_HEADER + "\n" + "\n".join(masts_rows) + "\n")
    blocks = ""
    if with_buildings:
        b = gpd.GeoDataFrame({"height_m": [12.0, 30.0], "year": [1960, 2020]},
                             geometry=[box(cx + 400, cy + 400, cx + 600, cy + 500),
                                       box(cx - 800, cy - 900, cx - 700, cy - 600)], crs=RD)
        b.to_file(tmp / "buildings.gpkg", driver="GPKG")
        blocks += ('[buildings]\npath = "buildings.gpkg"\nheight_column = "height_m"\n'
                   'year_column = "year"\n\n')
    if with_areas:
        a = gpd.GeoDataFrame({"name": ["West", "East"]},
                             geometry=[box(150000, 450000, cx, 450000 + size_px * res),
                                       box(cx, 450000, 150000 + size_px * res,
                                           450000 + size_px * res)], crs=RD)
        a.to_file(tmp / "areas.gpkg", driver="GPKG")
        blocks += '[areas]\npath = "areas.gpkg"\nname_column = "name"\n\n'
    if profiles is None:
        profiles = "[profiles.handheld_outdoor]\n"
    text = textwrap.dedent(f"""\
        [scenario]
        name = "synthetic"
        resolution_m = {res}

        [terrain]
        dtm = "dtm.tif"

        [masts]
        path = "masts.csv"

        [model]
        name = "{model}"
        radius_m = {radius_m}

        [output]
        dir = "out"

        """) + blocks + profiles + "\n" + extra
    path = tmp / "scenario.toml"
    path.write_text(text)
    return path


def run_cli(monkeypatch, *args) -> int:
    """Run the console entry point in-process with ``args``; return its exit status."""
    import sys

    from c2000cov.cli import main

    monkeypatch.setattr(sys, "argv", ["c2000cov", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
