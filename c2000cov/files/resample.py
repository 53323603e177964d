"""Mosaics onto the analysis grid, block by block, and gap filling.

:func:`resample_to_grid` warps a :class:`~c2000cov.files.mosaic.Mosaic` onto
a :class:`~c2000cov.geo.grid.Grid` through a GDAL ``WarpedVRT`` read one
output block at a time: GDAL reads only the source blocks each output block
needs, so memory is bounded by the output grid (plus GDAL's block cache,
capped at :data:`GDAL_CACHE_MB`), not by the number or size of the tiles.
Each output pixel is computed from the source pixels its square covers, so
the result does not depend on the block size or on how the source is tiled.
"""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window as RioWindow
from scipy import ndimage

from c2000cov.files.mosaic import Mosaic
from c2000cov.geo.grid import Grid

#: Output block side (pixels) read from the warper at a time.
BLOCK_PX = 512
#: GDAL block cache while resampling (MB): bounds the memory taken by source tiles.
GDAL_CACHE_MB = 256


def resample_to_grid(mosaic: Mosaic, grid: Grid, resampling: Resampling,
                     block_px: int = BLOCK_PX) -> np.ndarray:
    """Warp band 1 of ``mosaic`` onto ``grid`` with ``resampling`` (float32, NaN = no data).

    Source nodata (each tile's own) is left out of every statistic; a grid
    pixel that no valid source pixel reaches is NaN.
    """
    out = np.full(grid.shape, np.nan, dtype="float32")
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), mosaic.open() as src, \
            WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.width,
                      height=grid.height, resampling=resampling, nodata=np.nan,
                      dtype="float32") as warped:
        for w in grid.tiles(block_px):
            out[w.slices] = warped.read(1, window=RioWindow(w.col_off, w.row_off, w.width,
                                                            w.height))
    return out


def fill_nearest(values: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """``values`` with every ``gaps`` pixel set to the value of the nearest non-gap pixel.

    Nearest by Euclidean pixel distance (scipy's exact distance transform;
    among equidistant pixels the one scipy's transform returns). Takes 8 bytes
    per grid pixel of index arrays, once.
    """
    if not gaps.any():
        return values
    idx = ndimage.distance_transform_edt(gaps, return_distances=False, return_indices=True)
    return values[idx[0], idx[1]]
