"""Raster inputs given as a file, a folder, a glob or a VRT: one GDAL mosaic.

AHN and similar sources come as hundreds of GeoTIFF tiles. This module turns
what the user names (a file, a folder of tiles, a glob such as
``ahn/M_*.tif``, or a ``.vrt``) into one GDAL VRT mosaic that rasterio opens
like any raster; GDAL then reads only the tiles and blocks a window needs.

The VRT is written from the tiles' headers (no pixel is read): GDAL's
documented VRT XML format (https://gdal.org/drivers/raster/vrt.html), one
``ComplexSource`` per tile with the tile's own ``NODATA``, so tiles with
different nodata values, data types and block sizes mosaic correctly. This
is what ``gdalbuildvrt`` writes; rasterio does not expose ``GDALBuildVRT``
and neither the GDAL Python bindings nor the command-line tools are a
dependency, so the XML is written here and GDAL does the mosaic.

Rules (checked before anything is read, each failure one line naming the tile):

- every tile has a projected CRS, and all tiles of one input share it;
- all tiles have the same pixel size, north up, on one pixel lattice (AHN
  tiles do; resample odd tiles first);
- where tiles overlap, the tile later in sorted path order wins.
"""

from __future__ import annotations

import contextlib
import glob
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.io import MemoryFile

from c2000cov.errors import CRSError, InputNotFoundError, InvalidInputError

#: File suffixes taken from a folder or a glob as raster tiles.
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt")
#: Largest misalignment between a tile and the mosaic's pixel lattice (pixels).
LATTICE_TOL_PX = 1e-6
#: Largest relative difference between tile pixel sizes taken as equal.
RES_REL_TOL = 1e-9
_GLOB_CHARS = set("*?[")


def is_glob(spec: str | Path) -> bool:
    """True when ``spec`` holds a glob wildcard (``*``, ``?`` or ``[``)."""
    return bool(_GLOB_CHARS & set(str(spec)))


def is_mosaic_spec(spec: str | Path) -> bool:
    """True when ``spec`` names a folder, a glob or a VRT rather than one plain raster."""
    p = Path(spec)
    return is_glob(spec) or p.is_dir() or p.suffix.lower() == ".vrt"


def expand_paths(specs: Sequence[str | Path], what: str,
                 suffixes: Sequence[str] = RASTER_SUFFIXES) -> list[Path]:
    """Files named by ``specs`` (files, folders, globs), each spec's files in sorted order.

    A folder contributes its files with one of ``suffixes`` (not its
    sub-folders); a glob its matching files. A spec that names nothing is an
    error naming it; a file named twice is kept once.

    Raises
    ------
    InputNotFoundError
        A spec is neither an existing file nor a folder or glob with matching files.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for spec in specs:
        text = str(spec)
        p = Path(text)
        if is_glob(text):
            found = sorted(Path(f) for f in glob.glob(text) if Path(f).is_file())
            if not found:
                raise InputNotFoundError(f"{what}: the pattern {text} matches no file; check the "
                                         "folder and the wildcard")
        elif p.is_dir():
            found = sorted(f for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in suffixes)
            if not found:
                raise InputNotFoundError(
                    f"{what}: the folder {text} holds no {'/'.join(suffixes)} file; give the "
                    "folder that holds the tiles")
        elif p.is_file():
            found = [p]
        else:
            raise InputNotFoundError(f"{what} file {text} does not exist; give a file, a folder "
                                     "or a glob such as tiles/*.tif")
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(key)
    if not out:
        raise InputNotFoundError(f"{what}: no input given")
    return out


@dataclass(frozen=True)
class TileHeader:
    """What the VRT needs from one tile, read from its header only."""

    path: Path
    crs: CRS
    transform: object  # affine.Affine
    width: int
    height: int
    dtype: str
    nodata: float | None
    block_shape: tuple[int, int]  # (rows, cols)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in the tile's CRS."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)


def check_raster_crs(crs: CRS | None, path: Path) -> None:
    """Reject rasters without a CRS or with a geographic one."""
    name = Path(path).name
    if crs is None:
        raise CRSError(f"{name}: raster has no CRS; assign one (for AHN: "
                       f"gdal_edit.py -a_srs EPSG:28992 {name})")
    if not crs.is_projected:
        raise CRSError(f"{name}: raster CRS {crs.to_string()} is geographic; heights need a "
                       "projected CRS in metres (reproject it, e.g. to EPSG:28992)")


def read_header(path: Path) -> TileHeader:
    """Header of band 1 of a raster, checked for a projected CRS and a north-up grid."""
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInputError(f"{Path(path).name}: not a raster GDAL can read ({exc})") \
            from None
    with src:
        check_raster_crs(src.crs, path)
        t = src.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise InvalidInputError(f"{Path(path).name}: the raster is rotated or not north-up "
                                    f"(transform {tuple(t)[:6]}); warp it north-up first")
        return TileHeader(Path(path), src.crs, t, src.width, src.height, src.dtypes[0],
                          src.nodata, tuple(src.block_shapes[0]))


def read_headers(paths: Sequence[Path], what: str) -> list[TileHeader]:
    """Headers of every tile, checked to share a CRS, a pixel size and a pixel lattice."""
    heads = [read_header(p) for p in paths]
    first = heads[0]
    res_x, res_y = first.transform.a, -first.transform.e
    for h in heads[1:]:
        if h.crs != first.crs:
            raise CRSError(f"{what}: {h.path.name} is in {h.crs.to_string()} but "
                           f"{first.path.name} in {first.crs.to_string()}; the tiles of one "
                           "input must share a CRS")
        if (not math.isclose(h.transform.a, res_x, rel_tol=RES_REL_TOL)
                or not math.isclose(-h.transform.e, res_y, rel_tol=RES_REL_TOL)):
            raise InvalidInputError(
                f"{what}: {h.path.name} has {h.transform.a:g} x {-h.transform.e:g} m pixels but "
                f"{first.path.name} {res_x:g} x {res_y:g} m; the tiles of one input must share "
                "a pixel size (give 0.5 m and 5 m AHN as separate runs)")
        for off, res, axis in ((h.transform.c - first.transform.c, res_x, "x"),
                               (h.transform.f - first.transform.f, res_y, "y")):
            frac = off / res - round(off / res)
            if abs(frac) > LATTICE_TOL_PX:
                raise InvalidInputError(
                    f"{what}: {h.path.name} is shifted {frac:+.3f} pixel in {axis} from the "
                    f"pixel lattice of {first.path.name}; tiles must share one lattice")
    return heads


def _vrt_dtype(heads: Sequence[TileHeader]) -> np.dtype:
    dtypes = {np.dtype(h.dtype) for h in heads}
    if len(dtypes) == 1 and np.issubdtype(next(iter(dtypes)), np.integer):
        return next(iter(dtypes))
    return np.dtype("float64") if np.dtype("float64") in dtypes else np.dtype("float32")


_GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16",
               "uint32": "UInt32", "int32": "Int32", "uint64": "UInt64", "int64": "Int64",
               "float32": "Float32", "float64": "Float64"}


def _num(value: float) -> str:
    """A number as GDAL reads it back exactly (repr of the double; nan as ``nan``)."""
    return "nan" if math.isnan(value) else repr(float(value))


def vrt_xml(heads: Sequence[TileHeader]) -> str:
    """GDAL VRT XML mosaicking ``heads`` (band 1 of each), later tiles on top.

    Float mosaics have NaN as nodata; integer mosaics (land cover) keep the
    first tile's nodata. Each tile's own nodata is masked through its
    ``NODATA`` element.
    """
    first = heads[0]
    res_x, res_y = first.transform.a, -first.transform.e
    xmin = min(h.bounds[0] for h in heads)
    ymax = max(h.bounds[3] for h in heads)
    cols = [round((h.transform.c - xmin) / res_x) for h in heads]
    rows = [round((ymax - h.transform.f) / res_y) for h in heads]
    width = max(c + h.width for c, h in zip(cols, heads, strict=True))
    height = max(r + h.height for r, h in zip(rows, heads, strict=True))
    dtype = _vrt_dtype(heads)
    if np.issubdtype(dtype, np.floating):
        nodata: float | None = float("nan")
    else:
        nodata = next((h.nodata for h in heads if h.nodata is not None), None)
    lines = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
             f'  <SRS dataAxisToSRSAxisMapping="1,2">{escape(first.crs.to_wkt())}</SRS>',
             f"  <GeoTransform>{_num(xmin)}, {_num(res_x)}, 0, {_num(ymax)}, 0, "
             f"{_num(-res_y)}</GeoTransform>",
             f'  <VRTRasterBand dataType="{_GDAL_TYPES[dtype.name]}" band="1">']
    if nodata is not None:
        lines.append(f"    <NoDataValue>{_num(nodata)}</NoDataValue>")
    for h, c, r in zip(heads, cols, rows, strict=True):
        lines += ["    <ComplexSource>",
                  f'      <SourceFilename relativeToVRT="0">{escape(str(h.path))}'
                  "</SourceFilename>",
                  "      <SourceBand>1</SourceBand>",
                  f'      <SourceProperties RasterXSize="{h.width}" RasterYSize="{h.height}" '
                  f'DataType="{_GDAL_TYPES[np.dtype(h.dtype).name]}" '
                  f'BlockXSize="{h.block_shape[1]}" BlockYSize="{h.block_shape[0]}"/>',
                  f'      <SrcRect xOff="0" yOff="0" xSize="{h.width}" ySize="{h.height}"/>',
                  f'      <DstRect xOff="{c}" yOff="{r}" xSize="{h.width}" ySize="{h.height}"/>']
        if h.nodata is not None:
            lines.append(f"      <NODATA>{_num(h.nodata)}</NODATA>")
        lines.append("    </ComplexSource>")
    lines += ["  </VRTRasterBand>", "</VRTDataset>", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Mosaic:
    """Tiles of one input and the VRT that mosaics them."""

    what: str
    headers: tuple[TileHeader, ...]
    xml: str

    @property
    def crs(self) -> CRS:
        """CRS shared by the tiles."""
        return self.headers[0].crs

    @property
    def resolution_m(self) -> float:
        """Pixel size of the tiles (m)."""
        return float(self.headers[0].transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Bounding box of all tiles in their CRS."""
        b = np.array([h.bounds for h in self.headers])
        return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()),
                float(b[:, 3].max()))

    @contextlib.contextmanager
    def open(self) -> Iterator[rasterio.io.DatasetReader]:
        """Open the mosaic as a rasterio dataset (a VRT in GDAL's in-memory file system)."""
        with MemoryFile(self.xml.encode("utf-8"), ext=".vrt") as mem, mem.open() as src:
            yield src


def build_mosaic(specs: Sequence[str | Path], what: str) -> Mosaic:
    """Expand ``specs`` into tiles, check their headers and write the VRT XML.

    A ``.vrt`` among the tiles is taken as one tile (GDAL nests VRTs).
    """
    paths = expand_paths(specs, what)
    heads = read_headers(paths, what)
    return Mosaic(what, tuple(heads), vrt_xml(heads))


def write_vrt(specs: Sequence[str | Path], path: Path, what: str) -> Path:
    """Write the VRT mosaicking ``specs`` to ``path`` (tiles referenced by absolute path)."""
    from c2000cov.files.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(build_mosaic(specs, what).xml, encoding="utf-8")
    return path


@contextlib.contextmanager
def open_raster(spec: str | Path, what: str) -> Iterator[rasterio.io.DatasetReader]:
    """Open a raster input named by a file, a ``.vrt``, a folder of tiles or a glob.

    A folder or a glob is mosaicked through :func:`build_mosaic`; a file
    (a ``.vrt`` included) is opened as it is.

    Raises
    ------
    InputNotFoundError
        Nothing exists under that name.
    """
    text = str(spec)
    path = Path(text)
    if is_glob(text) or path.is_dir():
        with build_mosaic([text], what).open() as src:
            yield src
        return
    if not path.is_file():
        raise InputNotFoundError(f"{what} file {path} does not exist; check the path in the "
                                 "scenario (relative paths are relative to the scenario file; "
                                 "a folder or a glob such as tiles/*.tif also works)")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInputError(f"{path.name}: the {what} is not a raster GDAL can read "
                                f"({exc})") from None
    with src:
        yield src
