"""Cut a raster into GeoTIFF tiles, as AHN is published (for demos, tests and benchmarks).

:func:`cut_tiles` writes the windows between given column and row edges as
separate GeoTIFFs on the source's pixel lattice; per-tile overrides change a
tile's nodata value (its nodata cells are rewritten to the new value) or its
block layout, so mosaics of tiles that differ the way real deliveries do can
be built from one raster and compared with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import atomic_path


def cut_tiles(src_path: Path, out_dir: Path, col_edges: Sequence[int], row_edges: Sequence[int],
              prefix: str = "tile",
              overrides: Mapping[tuple[int, int], Mapping] | None = None) -> list[Path]:
    """Write the windows of ``src_path`` between consecutive edges as GeoTIFF tiles.

    Parameters
    ----------
    src_path : Path
        Single-band raster to cut.
    out_dir : Path
        Folder for the tiles, named ``{prefix}_r{row}_c{col}.tif``.
    col_edges, row_edges : sequence of int
        Increasing pixel edges, from 0 to the raster's width / height.
    overrides : mapping, optional
        ``{(row, col): {"nodata": v, "blockxsize": n, "blockysize": n, "tiled": bool,
        "dtype": ...}}`` for individual tiles.

    Returns
    -------
    list of Path
        The tiles, row-major.
    """
    overrides = overrides or {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with rasterio.open(src_path) as src:
        for name, edges, size in (("col_edges", col_edges, src.width),
                                  ("row_edges", row_edges, src.height)):
            if edges[0] != 0 or edges[-1] != size or any(
                    b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
                raise InvalidInputError(f"{name} must rise from 0 to {size}, got {list(edges)}")
        for i, (r0, r1) in enumerate(zip(row_edges[:-1], row_edges[1:], strict=True)):
            for j, (c0, c1) in enumerate(zip(col_edges[:-1], col_edges[1:], strict=True)):
                win = Window(c0, r0, c1 - c0, r1 - r0)
                data = src.read(1, window=win)
                profile = dict(driver="GTiff", width=win.width, height=win.height, count=1,
                               dtype=src.dtypes[0], crs=src.crs, nodata=src.nodata,
                               transform=src.window_transform(win), tiled=True,
                               blockxsize=256, blockysize=256, compress="deflate")
                extra = dict(overrides.get((i, j), {}))
                if "nodata" in extra and src.nodata is not None:
                    data = np.where(data == src.nodata, extra["nodata"], data)
                profile.update(extra)
                if not profile["tiled"]:
                    profile.pop("blockxsize")
                data = data.astype(profile["dtype"])
                path = out_dir / f"{prefix}_r{i}_c{j}.tif"
                with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
                    dst.write(data, 1)
                paths.append(path)
    return paths
