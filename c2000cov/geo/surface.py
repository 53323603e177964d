"""The surface raster: terrain plus buildings on the analysis grid.

The surface is the DSM when one is given, else the DTM plus rasterised
building heights (both read by :mod:`c2000cov.pipeline.inputs`). A building
mask and per-building attributes (construction year) are rasterised
alongside, by the pixel-centre rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from rasterio.features import rasterize

from c2000cov.geo.grid import Grid


@dataclass(frozen=True)
class Surface:
    """Heights and building attributes on a grid.

    Attributes
    ----------
    grid : Grid
    ground_m : float32 array
        Terrain height (m amsl / NAP), NaN where unknown.
    surface_m : float32 array
        Terrain plus buildings (m amsl / NAP), NaN where unknown.
    building_mask : bool array
        True on pixels whose centre lies in a building footprint.
    building_year : int32 array
        Construction year of the building on the pixel (0: none or unknown).
    """

    grid: Grid
    ground_m: np.ndarray
    surface_m: np.ndarray
    building_mask: np.ndarray
    building_year: np.ndarray


def rasterize_buildings(buildings: gpd.GeoDataFrame, grid: Grid, ground_m: np.ndarray):
    """Rasterise footprints: (roof height m amsl, mask, year) on ``grid``.

    Roof height is ``roof_nap_m`` when the layer gives roof levels, else
    ``ground_m + height_m`` (height above the grid's own terrain). Where
    footprints overlap a pixel centre, the taller building wins.
    """
    order = np.argsort(buildings["height_m"].to_numpy(), kind="stable")
    b = buildings.iloc[order]
    idx_shapes = ((geom, i + 1) for i, geom in enumerate(b.geometry.to_numpy()))
    ids = rasterize(idx_shapes, out_shape=grid.shape, transform=grid.transform, fill=0,
                    dtype="int32")
    mask = ids > 0
    roof_nap = np.concatenate([[np.nan], b["roof_nap_m"].to_numpy(float)])[ids]
    height = np.concatenate([[0.0], b["height_m"].to_numpy(float)])[ids]
    roof_m = np.where(np.isfinite(roof_nap), roof_nap, ground_m + height).astype("float32")
    year = np.concatenate([[0], b["year"].to_numpy("int32")])[ids].astype("int32")
    roof_m[~mask] = np.nan
    return roof_m, mask, year
