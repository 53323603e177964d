"""Public mode: nothing that locates a mast.

A public map leaves out the mast layer, mast ids and names and the
nearest-mast attributes, and aggregates rasters and zones to
:data:`PUBLIC_BLOCK_M` blocks aligned to multiples of the block size in the
CRS, so mast positions cannot be read off coverage peaks. It also leaves out
the PV installations: a rooftop point identifies a household, and a faulty
one its owner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize, shapes
from scipy import ndimage

from c2000cov.analysis.coverage import CLASS_NODATA
from c2000cov.products.advice import dominant_class

#: Block size (m) of rasters and zones in a public map.
PUBLIC_BLOCK_M = 500.0


@dataclass(frozen=True)
class BlockGrid:
    """Blocks of ``k`` x ``k`` pixels aligned to multiples of the block size in the CRS."""

    k: int
    pad_top: int
    pad_left: int
    shape: tuple[int, int]  # pixel grid shape
    transform: Affine  # of the block raster

    @classmethod
    def of(cls, shape: tuple[int, int], transform: Affine, block_m: float) -> BlockGrid:
        """Blocks of at least ``block_m`` metres over a north-up pixel grid."""
        res = transform.a
        k = max(1, math.ceil(block_m / res - 1e-9))
        size = k * res
        pad_left = int(round((transform.c - math.floor(transform.c / size) * size) / res)) % k
        pad_top = int(round((math.ceil(transform.f / size) * size - transform.f) / res)) % k
        btr = Affine(size, 0, transform.c - pad_left * res, 0, -size,
                     transform.f + pad_top * res)
        return cls(k, pad_top, pad_left, tuple(shape), btr)

    @property
    def block_shape(self) -> tuple[int, int]:
        """Rows and columns of blocks."""
        h, w = self.shape
        return (math.ceil((h + self.pad_top) / self.k), math.ceil((w + self.pad_left) / self.k))

    def blocks(self, arr: np.ndarray, fill) -> np.ndarray:
        """``arr`` as (block rows, block cols, k*k) pixels, padded with ``fill``."""
        bh, bw = self.block_shape
        k = self.k
        padded = np.full((bh * k, bw * k), fill, dtype=arr.dtype)
        h, w = self.shape
        padded[self.pad_top:self.pad_top + h, self.pad_left:self.pad_left + w] = arr
        return padded.reshape(bh, k, bw, k).transpose(0, 2, 1, 3).reshape(bh, bw, k * k)

    def to_pixels(self, block_values: np.ndarray) -> np.ndarray:
        """Block values repeated onto the pixel grid."""
        k = self.k
        full = np.repeat(np.repeat(block_values, k, axis=0), k, axis=1)
        h, w = self.shape
        return full[self.pad_top:self.pad_top + h, self.pad_left:self.pad_left + w]


def block_majority(codes: np.ndarray, blocks: BlockGrid, nodata: int = CLASS_NODATA
                   ) -> np.ndarray:
    """The most frequent code of each block (ties: the lowest code), ``nodata`` if empty."""
    b = blocks.blocks(codes.astype("uint8"), nodata)
    values = [int(v) for v in np.unique(codes) if v != nodata]
    if not values:
        return np.full(blocks.block_shape, nodata, dtype="uint8")
    counts = np.stack([(b == v).sum(axis=-1) for v in values], axis=-1)
    out = np.asarray(values, dtype="uint8")[counts.argmax(axis=-1)]
    return np.where(counts.sum(axis=-1) > 0, out, nodata).astype("uint8")


def mask_zones(mask: np.ndarray, evaluated: np.ndarray, transform: Affine,
               blocks: BlockGrid | None = None) -> tuple[np.ndarray, list, np.ndarray]:
    """Polygons of 4-connected ``mask`` pixels, or of blocks where mask pixels are the majority.

    Parameters
    ----------
    mask, evaluated : 2-D bool arrays
        Pixels in a zone, and pixels that were evaluated at all.
    transform : Affine
        Pixel georeference.
    blocks : BlockGrid, optional
        Public mode: a block belongs to a zone when at least half of its
        evaluated pixels are mask pixels.

    Returns
    -------
    labels : 2-D int32 array
        Zone number (1..n) of each pixel, 0 outside zones (in block mode the
        whole block carries the number).
    polygons : list of shapely geometries
        One (multi)polygon per zone, in the pixel CRS.
    n_pixels : int array (n,)
        Mask pixels in each zone.
    """
    four = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    if blocks is None:
        labels, n = ndimage.label(mask, structure=four)
        tr = transform
        lab_for_shapes = labels.astype("int32")
    else:
        n_mask = blocks.blocks(mask, False).sum(axis=-1)
        n_eval = blocks.blocks(evaluated, False).sum(axis=-1)
        zone_blocks = (n_mask > 0) & (2 * n_mask >= n_eval)
        lab_b, n = ndimage.label(zone_blocks, structure=four)
        tr = blocks.transform
        lab_for_shapes = lab_b.astype("int32")
        labels = blocks.to_pixels(lab_b)
    geoms: dict[int, list] = {}
    if n:
        for geom, value in shapes(lab_for_shapes, mask=lab_for_shapes > 0, connectivity=4,
                                  transform=tr):
            geoms.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    polys = [shapely.union_all(geoms[i]) if len(geoms[i]) > 1 else geoms[i][0]
             for i in range(1, n + 1)]
    counts = np.bincount(labels[mask].ravel(), minlength=n + 1)[1:] if n else np.zeros(0, int)
    return labels.astype("int32"), polys, counts


def public_dead_zones(dz: gpd.GeoDataFrame, cov, blocks: BlockGrid
                      ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Dead zones re-derived on public blocks.

    The class mix is counted afresh from the zone's below-target pixels; the
    limiting direction is the one that covers most of them, and the areas
    are those of the zones it overlaps.

    Parameters
    ----------
    dz : GeoDataFrame
        The run's dead zones of one profile (pixel-exact polygons).
    cov : CoverageRaster
        The profile's coverage (``p_cover``, ``coverage_class``, georeference).
    blocks : BlockGrid
        The public blocks.

    Returns
    -------
    zones : GeoDataFrame
        ``zone_id``, ``area_km2``, ``limiting``, class shares, ``class``, ``areas``.
    labels : 2-D int32 array
        Public zone number (1..n) of each pixel, 0 outside.
    """
    shape = cov.p_cover.shape
    zone_idx = np.zeros(shape, dtype="int32")
    if len(dz):
        zone_idx = rasterize(((g, i + 1) for i, g in enumerate(dz.geometry) if g is not None),
                             out_shape=shape, transform=cov.transform, fill=0, dtype="int32")
    labels, polys, counts = mask_zones(zone_idx > 0, cov.evaluated, cov.transform, blocks)
    n = len(polys)
    sel = (labels > 0) & (zone_idx > 0)
    lab, src = labels[sel], zone_idx[sel] - 1
    codes = cov.coverage_class[sel].astype("int64")
    cls_count = np.zeros((n + 1, 256), dtype="int64")
    np.add.at(cls_count, (lab, codes), 1)
    limiting = dz["limiting"].astype(str).to_numpy() if len(dz) else np.array([], dtype=str)
    rows = []
    prefix = str(dz["profile"].iloc[0]) if len(dz) else ""
    for z in range(1, n + 1):
        in_z = lab == z
        parts, cnt = np.unique(src[in_z], return_counts=True)
        weight: dict[str, int] = {}
        areas: set[str] = set()
        for i, c in zip(parts, cnt, strict=True):
            key = str(limiting[i])
            weight[key] = weight.get(key, 0) + int(c)
            areas.update(a for a in str(dz["areas"].iloc[i] or "").split("; ") if a)
        total = max(int(cls_count[z, :3].sum()), 1)
        shares = [100.0 * cls_count[z, c] / total for c in (2, 1, 0)]  # reduced, poor, none
        rows.append({"zone_id": f"{prefix}-public-{z:04d}",
                     "area_km2": counts[z - 1] * cov.pixel_area_m2 / 1e6,
                     "limiting": max(weight, key=lambda k: weight[k]) if weight else "unreached",
                     "share_reduced_pct": shares[0], "share_poor_pct": shares[1],
                     "share_none_pct": shares[2], "class": dominant_class(*shares),
                     "areas": "; ".join(sorted(areas))})
    if not rows:
        return gpd.GeoDataFrame({"zone_id": []}, geometry=[], crs=cov.crs), labels
    return gpd.GeoDataFrame(rows, geometry=polys, crs=cov.crs), labels
