"""Inputs of ``make demo-delft``: the Delft AHN3 sample cut into tiles, and a synthetic mast.

The AHN3 DTM and DSM of central Delft (``tests/data/nl``, 1 m, 265 x 230
cells, provenance in ``tests/data/nl/PROVENANCE.md``) are cut into six tiles
each, of uneven sizes, one tile with AHN's float32-maximum nodata and one
written in strips, so that ``c2000cov prepare`` mosaics them as it would a
real AHN delivery. The mast is synthetic (not a C2000 site): an omni antenna
5 m above the roof of the largest building of the sample.

    .venv/bin/python data/delft_demo.py build/delft out/delft   # what make demo-delft runs

writes the tiles and ``masts.csv`` under ``build/delft``, runs ``c2000cov
prepare`` into ``build/delft/prepared`` (the DTM given as a folder, the DSM
as a glob) and ``c2000cov run`` on the prepared scenario into ``out/delft``.
``tests/files/test_delft_demo.py`` runs the same :func:`demo` and checks its
outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from c2000cov.files.tiles import cut_tiles

ROOT = Path(__file__).resolve().parents[1]
NL = ROOT / "tests" / "data" / "nl"
BUILDINGS = NL / "delft_buildings_lod1_heights_rd.geojson"
#: Tile edges in pixels of the 265 x 230 sample: three columns, two rows, uneven.
COL_EDGES = (0, 100, 180, 265)
ROW_EDGES = (0, 77, 230)
#: AHN's nodata (float32 maximum), given to one tile; another is written in 3-row strips.
AHN_NODATA = 3.4028234663852886e38
TILE_OVERRIDES = {(0, 1): {"nodata": AHN_NODATA},
                  (1, 2): {"tiled": False, "blockysize": 3}}
#: The prepared region (RD New, m): the sample less its outer 2 m.
BOUNDS_M = (84810.0, 447414.0, 85070.0, 447640.0)
RESOLUTION_M = 2.0
RADIUS_M = 500.0
#: Synthetic rooftop mast: on the largest footprint (ground -0.10 m, roof 13.25 m NAP),
#: antenna 5 m above the roof.
MAST_CSV = ("mast_id,name,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db\n"
            "DEMO1,Synthetic rooftop mast (not a C2000 site),85023.6,447485.2,18.35,"
            "44,8,3,3\n")


def make_inputs(build_dir: Path) -> dict[str, Path]:
    """Write the DTM and DSM tiles and the masts file under ``build_dir``."""
    build_dir = Path(build_dir)
    out = {}
    for key in ("dtm", "dsm"):
        cut_tiles(NL / f"delft_ahn3_{key}_1m.tif", build_dir / "tiles" / key, COL_EDGES,
                  ROW_EDGES, prefix=f"delft_{key}", overrides=TILE_OVERRIDES)
        out[key] = build_dir / "tiles" / key
    (build_dir / "masts.csv").write_text(MAST_CSV, encoding="utf-8")
    out["masts"] = build_dir / "masts.csv"
    return out


def prepare_args(build_dir: Path) -> list[str]:
    """Arguments of ``c2000cov prepare`` for the demo (DSM given as a quoted glob)."""
    b = Path(build_dir)
    return ["prepare", str(b / "prepared"), "--dtm", str(b / "tiles" / "dtm"),
            "--dsm", str(b / "tiles" / "dsm" / "*.tif"), "--buildings", str(BUILDINGS),
            "--masts", str(b / "masts.csv"), "--resolution-m", str(RESOLUTION_M),
            "--bounds-m", ",".join(f"{v:.0f}" for v in BOUNDS_M), "--margin-m", "0",
            "--radius-m", str(RADIUS_M), "--overwrite"]


def run_args(build_dir: Path, out_dir: Path) -> list[str]:
    """Arguments of ``c2000cov run`` on the prepared scenario."""
    return ["run", str(Path(build_dir) / "prepared" / "scenario.toml"), "--out", str(out_dir),
            "--map", str(Path(out_dir) / "map.html")]


def demo(build_dir: Path, out_dir: Path, quiet: bool = False) -> None:
    """Write the inputs, prepare them and run the prepared scenario (in this process)."""
    from c2000cov.cli import app

    make_inputs(build_dir)
    q = ["--quiet"] if quiet else []
    app(prepare_args(build_dir) + q, standalone_mode=False)
    app(run_args(build_dir, out_dir) + q, standalone_mode=False)


if __name__ == "__main__":
    demo(Path(sys.argv[1] if len(sys.argv) > 1 else "build/delft"),
         Path(sys.argv[2] if len(sys.argv) > 2 else "out/delft"))
