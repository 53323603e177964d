"""What the point and route answers share: request checks, limits, rounding and pixel reads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from rasterio.windows import Window

from c2000cov.errors import InvalidInputError
from c2000cov.products import runfolder as rf
from c2000cov.products.advice import (
    DEFAULT_LANG,
    check_lang,
)

WGS84 = "EPSG:4326"
RD_NEW = "EPSG:28992"
#: Most vertices a route may have.
MAX_ROUTE_VERTICES = 10_000
#: Most points in one batch request.
MAX_BATCH_POINTS = 10_000
#: Decimals of answers: probabilities 1e-4 (as stored), coordinates 1e-6 deg / 0.01 m, km 1 m.
P_DECIMALS, DEG_DECIMALS, M_DECIMALS, KM_DECIMALS = 4, 6, 2, 3

# Run-folder names come from the run-folder contract.
BAND_P_COVER, BAND_LIMITING, BAND_SERVER = rf.P_COVER_BAND, rf.LIMITING_BAND, rf.SERVER_BAND
BAND_N_AT_TARGET, BAND_CLASS = rf.N_AT_TARGET_BAND, rf.CLASS_BAND
QUERY_BANDS = (BAND_P_COVER, BAND_LIMITING, BAND_SERVER, BAND_N_AT_TARGET, BAND_CLASS)
FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
NOT_EVALUATED = "not_evaluated"


class QueryError(InvalidInputError):
    """A request value is wrong; ``field`` names it (``lat``, ``features[3].geometry``...)."""

    def __init__(self, field_name: str, message: str, status: int = 422):
        self.field = field_name
        self.status = status
        self.detail = message
        super().__init__(f"{field_name}: {message}")


def parse_number(value, name: str) -> float:
    """A finite float from a request value, or QueryError naming ``name``."""
    if isinstance(value, bool):
        raise QueryError(name, f"must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise QueryError(name, f"must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise QueryError(name, f"must be a finite number, got {value!r}")
    return out


def check_lonlat(lon, lat, lon_name: str = "lon", lat_name: str = "lat") -> tuple[float, float]:
    """Longitude and latitude as floats within ±180 and ±90 degrees."""
    lon_f, lat_f = parse_number(lon, lon_name), parse_number(lat, lat_name)
    if not -90.0 <= lat_f <= 90.0:
        raise QueryError(lat_name, f"latitude must be within -90..90 degrees, got {lat_f:g}")
    if not -180.0 <= lon_f <= 180.0:
        raise QueryError(lon_name, f"longitude must be within -180..180 degrees, got {lon_f:g}")
    return lon_f, lat_f


def check_answer_lang(lang: str | None) -> str:
    """The language of advice (``nl`` or ``en``), or QueryError naming ``lang``."""
    try:
        return check_lang(lang or DEFAULT_LANG)
    except InvalidInputError as exc:
        raise QueryError("lang", str(exc)) from None


def round_or_none(v: float | None, digits: int) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), digits)


@dataclass
class ProfileRasters:
    name: str
    target_pct: float
    kind: str
    main: rf.CoverageStack
    night: rf.CoverageStack | None
    bands: dict[str, int]
    night_bands: dict[str, int]
    zones: gpd.GeoDataFrame | None = None
    tree: shapely.STRtree | None = None
    facts: dict[int, object] = field(default_factory=dict)  # ZoneFacts per zone index


def band_index(src, path: Path) -> dict[str, int]:
    desc = list(src.descriptions)
    missing = [b for b in QUERY_BANDS if b not in desc]
    if missing:
        raise InvalidInputError(f"{path.name}: no band {missing[0]!r} (bands: {desc}); "
                                "expected a coverage GeoTIFF of `c2000cov run`")
    return {b: desc.index(b) + 1 for b in QUERY_BANDS}


def read_pixels(src, bands: Sequence[int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values ``(len(bands), n)`` of pixels ``(rows, cols)``, read block by block.

    Each raster block that holds requested pixels is read once, and only the
    window spanning the requested pixels inside it.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    out = np.full((len(bands), rows.size), np.nan, dtype="float64")
    if rows.size == 0:
        return out
    bh, bw = src.block_shapes[0]
    key = (rows // bh) * (src.width // bw + 2) + cols // bw
    order = np.argsort(key, kind="stable")
    k_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
    ends = np.r_[starts[1:], k_sorted.size]
    for s, e in zip(starts, ends, strict=True):
        idx = order[s:e]
        r, c = rows[idx], cols[idx]
        r0, c0 = int(r.min()), int(c.min())
        win = Window(c0, r0, int(c.max()) - c0 + 1, int(r.max()) - r0 + 1)
        data = src.read(list(bands), window=win)
        out[:, idx] = data[:, r - r0, c - c0]
    return out
