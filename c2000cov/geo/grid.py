"""The analysis grid: CRS, affine transform, shape and windows.

Everything downstream (surface, propagation windows, reductions, outputs)
uses one :class:`Grid`. Row 0 is the northern edge; pixel ``(row, col)`` has
its centre at ``transform * (col + 0.5, row + 0.5)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.crs import CRS


@dataclass(frozen=True)
class Window:
    """A rectangular block of a grid: offsets and size in pixels."""

    row_off: int
    col_off: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """Numpy slices of this window in the parent grid."""
        return (slice(self.row_off, self.row_off + self.height),
                slice(self.col_off, self.col_off + self.width))


def window_overlap(a: Window, b: Window) -> Window | None:
    """The intersection of two windows of one grid, or None when they do not overlap."""
    r0, c0 = max(a.row_off, b.row_off), max(a.col_off, b.col_off)
    r1 = min(a.row_off + a.height, b.row_off + b.height)
    c1 = min(a.col_off + a.width, b.col_off + b.width)
    if r1 <= r0 or c1 <= c0:
        return None
    return Window(r0, c0, r1 - r0, c1 - c0)


def window_of(term, window: Window):
    """A per-pixel term over ``window``: an array's part there, a scalar as it is (terms
    of a link budget are rasters or one value for every pixel)."""
    return term[window.slices] if isinstance(term, np.ndarray) else term


def window_within(inner: Window, outer: Window) -> Window:
    """``inner`` in the pixel coordinates of ``outer`` (which holds it)."""
    return Window(inner.row_off - outer.row_off, inner.col_off - outer.col_off, inner.height,
                  inner.width)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid in a projected CRS with square pixels."""

    crs: CRS
    transform: Affine
    height: int
    width: int

    @classmethod
    def from_bounds(cls, bounds_m: tuple[float, float, float, float], resolution_m: float,
                    crs: CRS | str) -> Grid:
        """Grid covering ``bounds_m = (xmin, ymin, xmax, ymax)`` at ``resolution_m``.

        The extent is rounded outward to whole pixels anchored at ``xmin``/``ymax``.
        """
        xmin, ymin, xmax, ymax = bounds_m
        width = int(math.ceil((xmax - xmin) / resolution_m - 1e-9))
        height = int(math.ceil((ymax - ymin) / resolution_m - 1e-9))
        transform = Affine(resolution_m, 0.0, xmin, 0.0, -resolution_m, ymax)
        return cls(CRS.from_user_input(crs), transform, height, width)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (self.height, self.width)

    @property
    def resolution_m(self) -> float:
        """Pixel size in metres."""
        return float(self.transform.a)

    @property
    def pixel_area_m2(self) -> float:
        """Area of one pixel in square metres."""
        return float(self.transform.a * -self.transform.e)

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in metres."""
        xmin, ymax = self.transform.c, self.transform.f
        return (xmin, ymax + self.transform.e * self.height,
                xmin + self.transform.a * self.width, ymax)

    def contains(self, x_m, y_m):
        """True where a point lies inside the grid extent."""
        xmin, ymin, xmax, ymax = self.bounds_m
        x_m, y_m = np.asarray(x_m), np.asarray(y_m)
        return (x_m >= xmin) & (x_m < xmax) & (y_m > ymin) & (y_m <= ymax)

    def rowcol(self, x_m, y_m) -> tuple[np.ndarray, np.ndarray]:
        """Integer (row, col) of the pixel holding each point."""
        col = np.floor((np.asarray(x_m, dtype=float) - self.transform.c) / self.transform.a)
        row = np.floor((np.asarray(y_m, dtype=float) - self.transform.f) / self.transform.e)
        return row.astype(np.int64), col.astype(np.int64)

    def xy(self, row, col) -> tuple[np.ndarray, np.ndarray]:
        """Centre coordinates (x_m, y_m) of pixels."""
        x = self.transform.c + (np.asarray(col, dtype=float) + 0.5) * self.transform.a
        y = self.transform.f + (np.asarray(row, dtype=float) + 0.5) * self.transform.e
        return x, y

    def window_around(self, row: int, col: int, radius_m: float) -> Window:
        """The window of pixels within ``radius_m`` of pixel (row, col), clipped to the grid."""
        r_px = int(math.ceil(radius_m / self.resolution_m))
        r0, r1 = max(0, row - r_px), min(self.height, row + r_px + 1)
        c0, c1 = max(0, col - r_px), min(self.width, col + r_px + 1)
        return Window(r0, c0, r1 - r0, c1 - c0)

    def window_transform(self, window: Window) -> Affine:
        """Affine transform of a window."""
        return self.transform @ Affine.translation(window.col_off, window.row_off)

    def subgrid(self, window: Window) -> Grid:
        """The grid of a window."""
        return Grid(self.crs, self.window_transform(window), window.height, window.width)

    def tiles(self, tile_px: int):
        """Yield windows of at most ``tile_px`` x ``tile_px`` covering the grid, row-major."""
        for r0 in range(0, self.height, tile_px):
            for c0 in range(0, self.width, tile_px):
                yield Window(r0, c0, min(tile_px, self.height - r0), min(tile_px, self.width - c0))
