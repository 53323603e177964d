"""GeoTIFF reading onto the analysis grid and Cloud-Optimized GeoTIFF writing."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window as RioWindow
from rasterio.windows import from_bounds

from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import atomic_path
from c2000cov.files.mosaic import check_raster_crs as check_crs
from c2000cov.files.mosaic import open_raster
from c2000cov.geo.grid import Grid, Window


def read_raster_to_grid(path: Path, grid: Grid, what: str,
                        resampling: Resampling = Resampling.bilinear) -> np.ndarray:
    """Read band 1 of a raster onto ``grid`` (float32, NaN = no data).

    ``path`` is a GeoTIFF, a ``.vrt``, a folder of tiles or a glob
    (:func:`c2000cov.files.mosaic.open_raster`). A raster in another
    projected CRS is reprojected (bilinear by default). Only the window covering
    the grid is read, never the whole band: a small GeoTIFF declaring a huge
    extent costs only the pixels the scenario needs.
    """
    with open_raster(path, what) as src:
        check_raster_crs(src, path)
        window = source_window(src, grid)
        if window is None:  # the raster misses the grid: no data
            return np.full(grid.shape, np.nan, dtype="float32")
        # a float32 band is not copied, and the masked band is freed before the output
        # exists: at most 9 bytes per source pixel (18 before) beside the output's 4
        band = src.read(1, masked=True, window=window).astype("float32", copy=False)
        if band.mask.all() if np.ndim(band.mask) else bool(band.mask):
            raise InvalidInputError(
                f"{Path(path).name}: every cell is nodata ({src.nodata}); the {what} holds "
                "no heights")
        data = band.filled(np.nan)
        del band
        transform = src.window_transform(window)
        out = np.full(grid.shape, np.nan, dtype="float32")
        reproject(source=data, destination=out, src_transform=transform, src_crs=src.crs,
                  src_nodata=np.nan, dst_transform=grid.transform, dst_crs=grid.crs,
                  dst_nodata=np.nan, resampling=resampling)
    return out


#: Source pixels read beyond the grid's footprint on each side (resampling kernels), at
#: least; a down-sampling kernel widens with the ratio of grid to source pixel size.
WINDOW_PAD_PX = 3


def source_window(src, grid: Grid) -> RioWindow | None:
    """The window of ``src`` covering ``grid`` plus a margin, or None if none.

    The margin is :data:`WINDOW_PAD_PX` or twice the grid-to-source pixel ratio
    (bilinear down-sampling looks that far), so a windowed read equals a whole read.
    """
    bounds = transform_bounds(grid.crs, src.crs, *grid.bounds_m, densify_pts=21)
    w = from_bounds(*bounds, transform=src.transform)
    ratio = grid.resolution_m / min(abs(src.transform.a), abs(src.transform.e))
    pad = max(WINDOW_PAD_PX, 2 * math.ceil(ratio))
    col0 = max(0, math.floor(w.col_off) - pad)
    row0 = max(0, math.floor(w.row_off) - pad)
    col1 = min(src.width, math.ceil(w.col_off + w.width) + pad)
    row1 = min(src.height, math.ceil(w.row_off + w.height) + pad)
    if col1 <= col0 or row1 <= row0:
        return None
    return RioWindow(col0, row0, col1 - col0, row1 - row0)


def source_window_pixels(path: Path | str, grid: Grid) -> int:
    """Pixels :func:`read_raster_to_grid` would read from ``path`` for ``grid`` (metadata
    only; for memory estimates)."""
    with open_raster(path, "raster") as src:
        window = source_window(src, grid)
    return 0 if window is None else int(window.width) * int(window.height)


def read_land_class(path: Path, grid: Grid, what: str = "land cover") -> np.ndarray:
    """An integer-class raster on ``grid`` (nearest neighbour), int32, -1 where no data."""
    values = read_raster_to_grid(path, grid, what, Resampling.nearest)
    return np.where(np.isfinite(values), values, -1).astype("int32")


def check_raster_crs(src, path: Path) -> None:
    """Reject rasters without a CRS or with a geographic one."""
    check_crs(src.crs, path)


def raster_bounds_in(path: Path, crs: CRS, what: str) -> tuple[float, float, float, float]:
    """Bounds of a raster (file, VRT, folder or glob) in another CRS (default extent)."""
    with open_raster(path, what) as src:
        check_raster_crs(src, path)
        return tuple(transform_bounds(src.crs, crs, *src.bounds))


def raster_resolution_m(path: Path) -> float:
    """Pixel size of a projected raster in its own units (m)."""
    with rasterio.open(path) as src:
        return float(abs(src.transform.a))


#: Overview resampling (GDAL names): categorical codes take the most frequent code of the
#: pixels below (never a blend that is no code at all); continuous values their mean.
OVERVIEW_RESAMPLING_CATEGORICAL = "MODE"
OVERVIEW_RESAMPLING_CONTINUOUS = "AVERAGE"

#: Deflate level of the COGs (GDAL's COG ``LEVEL``, 1 fastest to 12; GDAL's default is 6).
#: The level only sets how hard the writer searches for repeats: any level is read the
#: same way, and the pixel values do not change. On the quarter-country national p_cover
#: raster (3600 x 4600 px, two float32 bands) level 1 took 3.2 s against 7.5 s for level
#: 6, for a file 7 % larger (58.7 against 54.8 MB); level 3 took 4.0 s for 57.5 MB
#: (``bench/records/vm-2026-11-30-national-write.json``).
COG_DEFLATE_LEVEL = 1


#: Side (px) of the windows a :class:`TiledBand` is computed and written in.
WRITE_TILE_PX = 2048
#: Most COGs :func:`write_cogs` writes at once. GDAL compresses and builds overviews
#: without holding the GIL: two COG copies of a 3600 x 4600 float32 band on two threads
#: took 2.1 s against 4.2 s one after the other, on this project's 2-core machine. Each
#: writer holds its own windows and GDAL blocks: two writers raised the write stage's peak
#: RSS by 0.17-0.27 GB on a quarter of the national scenario at 25 m
#: (``bench/records/vm-2026-11-30-national-fold.json``).
WRITE_WORKERS = 4


@dataclass(frozen=True)
class TiledBand:
    """A band computed window by window while it is written (``compute(window)``), so a
    derived raster never exists whole in memory."""

    dtype: np.dtype
    compute: Callable[[Window], np.ndarray]


def write_cogs(jobs: Sequence[dict]) -> list[Path]:
    """:func:`write_cog` of each job (a dict of its arguments), several at once, on up to
    :data:`WRITE_WORKERS` threads (and CPUs): the paths, in the order of ``jobs``.

    Each file is written atomically as by :func:`write_cog`, and its bytes do not depend
    on the others. When a write fails, the others still finish, and the first failure
    (in job order) is raised.
    """
    workers = min(WRITE_WORKERS, len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [write_cog(**job) for job in jobs]
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(write_cog, **job) for job in jobs]
        return [f.result() for f in futures]


def write_cog(path: Path, bands: Sequence[np.ndarray | TiledBand], grid: Grid,
              descriptions: Sequence[str],
              nodata: float = float("nan"), tags: dict[str, str] | None = None,
              units: Sequence[str] | None = None, categorical: bool | None = None,
              colormap: dict[int, tuple[int, int, int, int]] | None = None) -> Path:
    """Write bands as a Cloud-Optimized GeoTIFF (deflate, :data:`COG_DEFLATE_LEVEL`),
    atomically.

    All bands share one dtype (float32 unless every band is an integer type);
    each band gets a description and optional unit. Overviews are built by
    :data:`OVERVIEW_RESAMPLING_CATEGORICAL` (mode) for ``categorical`` bands
    (default: integer bands) and :data:`OVERVIEW_RESAMPLING_CONTINUOUS`
    (average) otherwise, so a zoomed-out view of a code band holds only valid
    codes. ``colormap`` is the colour table of band 1 (uint8 or uint16 only),
    so GIS shows the codes in their colours without a style.

    Bands are written into a tiled GeoTIFF window by window (:data:`WRITE_TILE_PX`;
    a :class:`TiledBand` is computed per window), which GDAL's COG driver then
    copies with its overviews block by block, so neither step holds a whole band
    beyond the caller's arrays.
    """
    path = Path(path)
    if len(bands) != len(descriptions):
        raise ValueError(f"{path.name}: {len(bands)} bands, {len(descriptions)} descriptions")
    dtype = np.result_type(*[np.dtype(b.dtype) for b in bands])
    if not np.issubdtype(dtype, np.integer):
        dtype = np.dtype("float32")
    if categorical is None:
        categorical = bool(np.issubdtype(dtype, np.integer))
    if colormap is not None and dtype not in (np.dtype("uint8"), np.dtype("uint16")):
        raise ValueError(f"{path.name}: a colour table needs uint8 or uint16 bands, got {dtype}")
    with atomic_path(path) as tmp:
        staging = tmp.with_name(tmp.name + ".gtiff")
        try:
            profile = dict(driver="GTiff", width=grid.width, height=grid.height,
                           count=len(bands), dtype=dtype, crs=grid.crs, transform=grid.transform,
                           nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
                           # the staging file lives for the copy only: deflate level 1
                           # (GDAL's default 6 took 1.05 s of a 1/16 national p_cover
                           # write, level 1 0.18 s; the COG's bytes are the same)
                           compress="deflate", zlevel=1)
            with rasterio.open(staging, "w", **profile) as dst:
                for w in grid.tiles(WRITE_TILE_PX):
                    win = RioWindow(w.col_off, w.row_off, w.width, w.height)
                    for i, band in enumerate(bands, 1):
                        part = band.compute(w) if isinstance(band, TiledBand) else band[w.slices]
                        dst.write(part.astype(dtype, copy=False), i, window=win)
                for i, desc in enumerate(descriptions, 1):
                    dst.set_band_description(i, desc)
                    if units is not None:
                        dst.update_tags(i, unit=units[i - 1])
                if colormap is not None:
                    dst.write_colormap(1, colormap)
                if tags:
                    dst.update_tags(**tags)
            rasterio.shutil.copy(staging, tmp, driver="COG", compress="DEFLATE",
                                 LEVEL=COG_DEFLATE_LEVEL, BLOCKSIZE=256, OVERVIEWS="AUTO",
                                 OVERVIEW_RESAMPLING=(OVERVIEW_RESAMPLING_CATEGORICAL
                                                      if categorical
                                                      else OVERVIEW_RESAMPLING_CONTINUOUS))
        finally:
            if staging.exists():
                staging.unlink()
    return path
