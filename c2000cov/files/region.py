"""The region to prepare: a named area of a boundary file, or explicit bounds.

A name is matched case-insensitively (and ignoring surrounding spaces)
against the name column of a boundary file such as CBS's veiligheidsregio
or gemeente file; when nothing matches, the error lists the closest names
(:mod:`difflib`). The analysis grid covers the region's bounding box plus a
margin, rounded outward to whole pixels on the resolution's lattice, so that
masts outside the region still serve it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from rasterio.crs import CRS
from shapely.geometry import box

from c2000cov.errors import InvalidInputError
from c2000cov.files.vectors import read_vector
from c2000cov.geo.grid import Grid

#: Name columns tried, in order, when none is given (CBS files use ``statnaam``).
NAME_COLUMNS = ("statnaam", "naam", "name", "area_name")
#: How many close names an unknown-name error lists.
N_CLOSE_NAMES = 5
#: difflib similarity (0-1) a name needs to be suggested.
CLOSE_NAME_CUTOFF = 0.6


@dataclass(frozen=True)
class Region:
    """The area to analyse, in the analysis CRS."""

    name: str
    geometry: shapely.Geometry
    crs: CRS

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the region itself (no margin)."""
        return tuple(float(v) for v in self.geometry.bounds)


def pick_name_column(gdf: gpd.GeoDataFrame, path: Path, name_column: str | None) -> str:
    """The name column: ``name_column``, else the first of :data:`NAME_COLUMNS` present."""
    columns = [c for c in gdf.columns if c != "geometry"]
    if name_column is not None:
        if name_column not in gdf.columns:
            raise InvalidInputError(f"{Path(path).name}: no column {name_column!r} to match "
                                    f"area names in; columns are: {', '.join(columns)}")
        return name_column
    for col in NAME_COLUMNS:
        if col in gdf.columns:
            return col
    raise InvalidInputError(f"{Path(path).name}: none of the name columns "
                            f"{', '.join(NAME_COLUMNS)} is present; pass --name-column, one of: "
                            f"{', '.join(columns)}")


def close_names(name: str, names: Sequence[str]) -> list[str]:
    """Up to :data:`N_CLOSE_NAMES` of ``names`` close to ``name`` (case-insensitive).

    Names that contain ``name`` come first (``Brabant`` finds all three
    Brabant regions, ``Rotterdam`` finds Rotterdam-Rijnmond), then the most
    similar by :func:`difflib.get_close_matches` (misspellings).
    """
    by_key: dict[str, str] = {}
    for n in names:
        by_key.setdefault(n.strip().casefold(), n)
    query = name.strip().casefold()
    keys = [k for k in by_key if query and query in k]
    keys += difflib.get_close_matches(query, list(by_key), n=N_CLOSE_NAMES,
                                      cutoff=CLOSE_NAME_CUTOFF)
    return [by_key[k] for k in dict.fromkeys(keys)][:N_CLOSE_NAMES]


def region_from_areas(path: Path, name: str, crs: CRS, name_column: str | None = None,
                      layer: str | None = None) -> Region:
    """The area called ``name`` in a boundary file (rows sharing the name are united).

    Raises
    ------
    InvalidInputError
        No row has that name (the message lists the closest names), or the
        name column is missing.
    """
    gdf = read_vector(path, "areas", layer, crs)
    column = pick_name_column(gdf, path, name_column)
    names = gdf[column].astype(str)
    hit = (names.str.strip().str.casefold() == name.strip().casefold()).to_numpy()
    if not hit.any():
        close = close_names(name, list(names))
        hint = (f"closest names: {', '.join(close)}" if close else
                f"names in the file include: {', '.join(sorted(set(names))[:10])}")
        raise InvalidInputError(f"{Path(path).name}: no area named {name!r} in column "
                                f"{column}; {hint}")
    geom = shapely.union_all(gdf.geometry.to_numpy()[hit])
    return Region(str(names[hit].iloc[0]), geom, crs)


def region_from_bounds(bounds_m: Sequence[float], crs: CRS) -> Region:
    """A rectangular region ``bounds_m = (xmin, ymin, xmax, ymax)`` in metres."""
    if len(bounds_m) != 4 or not all(math.isfinite(v) for v in bounds_m):
        raise InvalidInputError(f"--bounds-m must be XMIN,YMIN,XMAX,YMAX in metres, got "
                                f"{list(bounds_m)}")
    xmin, ymin, xmax, ymax = (float(v) for v in bounds_m)
    if not (xmax > xmin and ymax > ymin):
        raise InvalidInputError(f"--bounds-m must have XMAX > XMIN and YMAX > YMIN, got "
                                f"{[xmin, ymin, xmax, ymax]}")
    return Region("bounds", box(xmin, ymin, xmax, ymax), crs)


def region_grid(region: Region, resolution_m: float, margin_m: float) -> Grid:
    """The analysis grid: the region's bounds plus ``margin_m``, snapped outward to
    multiples of ``resolution_m`` (so grids of one resolution share a lattice)."""
    if not resolution_m > 0:
        raise InvalidInputError(f"--resolution-m must be > 0, got {resolution_m}")
    if not margin_m >= 0:
        raise InvalidInputError(f"--margin-m must be >= 0, got {margin_m}")
    xmin, ymin, xmax, ymax = region.bounds_m
    r = resolution_m
    snapped = (math.floor((xmin - margin_m) / r) * r, math.floor((ymin - margin_m) / r) * r,
               math.ceil((xmax + margin_m) / r) * r, math.ceil((ymax + margin_m) / r) * r)
    return Grid.from_bounds(snapped, r, region.crs)
