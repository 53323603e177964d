"""GeoTIFF reading onto the analysis grid and Cloud-Optimized GeoTIFF writing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from c2000cov.errors import CRSError, InvalidInputError
from c2000cov.files.atomic import atomic_path, require_file
from c2000cov.geo.grid import Grid


def read_raster_to_grid(path: Path, grid: Grid, what: str,
                        resampling: Resampling = Resampling.bilinear) -> np.ndarray:
    """Read band 1 of a GeoTIFF, reprojected onto ``grid`` (float32, NaN = no data).

    A raster in another projected CRS is reprojected (bilinear by default).
    """
    path = require_file(path, what)
    with rasterio.open(path) as src:
        check_raster_crs(src, path)
        band = src.read(1, masked=True).astype("float32")
        if band.mask.all() if np.ndim(band.mask) else bool(band.mask):
            raise InvalidInputError(
                f"{path.name}: every cell is nodata ({src.nodata}); the {what} holds no heights")
        data = band.filled(np.nan)
        out = np.full(grid.shape, np.nan, dtype="float32")
        reproject(source=data, destination=out, src_transform=src.transform, src_crs=src.crs,
                  src_nodata=np.nan, dst_transform=grid.transform, dst_crs=grid.crs,
                  dst_nodata=np.nan, resampling=resampling)
    return out


def check_raster_crs(src, path: Path) -> None:
    """Reject rasters without a CRS or with a geographic one."""
    if src.crs is None:
        raise CRSError(
            f"{Path(path).name}: raster has no CRS; assign one (for AHN: "
            f"gdal_edit.py -a_srs EPSG:28992 {Path(path).name})")
    if not src.crs.is_projected:
        raise CRSError(
            f"{Path(path).name}: raster CRS {src.crs.to_string()} is geographic; "
            "heights need a projected CRS in metres (reproject it, e.g. to EPSG:28992)")


def raster_bounds_in(path: Path, crs: CRS, what: str) -> tuple[float, float, float, float]:
    """Bounds of a raster in another CRS (for the default scenario extent)."""
    path = require_file(path, what)
    with rasterio.open(path) as src:
        check_raster_crs(src, path)
        return tuple(transform_bounds(src.crs, crs, *src.bounds))


def raster_resolution_m(path: Path) -> float:
    """Pixel size of a projected raster in its own units (m)."""
    with rasterio.open(path) as src:
        return float(abs(src.transform.a))


def write_cog(path: Path, bands: Sequence[np.ndarray], grid: Grid, descriptions: Sequence[str],
              nodata: float = float("nan"), tags: dict[str, str] | None = None,
              units: Sequence[str] | None = None) -> Path:
    """Write bands as a Cloud-Optimized GeoTIFF (deflate), atomically.

    All bands share one dtype (float32 unless every band is an integer type);
    each band gets a description and optional unit.
    """
    path = Path(path)
    dtype = np.result_type(*[b.dtype for b in bands])
    if not np.issubdtype(dtype, np.integer):
        dtype = np.dtype("float32")
    with atomic_path(path) as tmp:
        staging = tmp.with_name(tmp.name + ".gtiff")
        try:
            profile = dict(driver="GTiff", width=grid.width, height=grid.height,
                           count=len(bands), dtype=dtype, crs=grid.crs, transform=grid.transform,
                           nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
                           compress="deflate")
            with rasterio.open(staging, "w", **profile) as dst:
                for i, (band, desc) in enumerate(zip(bands, descriptions, strict=True), 1):
                    dst.write(band.astype(dtype, copy=False), i)
                    dst.set_band_description(i, desc)
                    if units is not None:
                        dst.update_tags(i, unit=units[i - 1])
                if tags:
                    dst.update_tags(**tags)
            rasterio.shutil.copy(staging, tmp, driver="COG", compress="DEFLATE",
                                 BLOCKSIZE=256, OVERVIEWS="AUTO")
        finally:
            if staging.exists():
                staging.unlink()
    return path
