"""Solar (PV) installations: the emitters of the interference model."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from rasterio.crs import CRS

from c2000cov.errors import InvalidInputError
from c2000cov.files.vectors import (
    boolean_column,
    id_column,
    numeric_column,
    read_vector,
    require_columns,
)

PV_REQUIRED = ("pv_id", "kwp", "emission_db_over_limit")
#: Peak power of one panel, one optimizer per panel (DOMAIN.md, about 0.4 kWp).
KWP_PER_DEVICE = 0.4


def read_pv(path: Path, crs: CRS, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read solar installations (points or polygons) with their emission parameters.

    Columns: ``pv_id``, ``kwp``, ``emission_db_over_limit`` (required);
    ``n_devices`` (default ``kwp / 0.4``), ``eirp_dbm_per_25khz`` (measured,
    NaN when absent), ``h_agl_m`` (NaN: taken from the buildings), ``mitigated``
    (default False).
    """
    gdf = read_vector(path, "pv", layer, crs)
    require_columns(gdf, PV_REQUIRED, path, "pv")
    out = gpd.GeoDataFrame({"pv_id": id_column(gdf, "pv_id", path).to_numpy()},
                           geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    out["kwp"] = numeric_column(gdf, "kwp", path, "pv", "pv_id")
    bad = ~(out["kwp"].to_numpy() > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"{Path(path).name} row {i + 1} (pv_id {out['pv_id'][i]}): "
                                f"kwp must be > 0, got {out['kwp'][i]:g}")
    out["emission_db_over_limit"] = numeric_column(gdf, "emission_db_over_limit", path, "pv",
                                                   "pv_id")
    if "n_devices" in gdf:
        n = numeric_column(gdf, "n_devices", path, "pv", "pv_id", required=False)
        default = np.maximum(1.0, np.round(out["kwp"].to_numpy() / KWP_PER_DEVICE))
        out["n_devices"] = np.where(np.isnan(n), default, n)
    else:
        out["n_devices"] = np.maximum(1.0, np.round(out["kwp"].to_numpy() / KWP_PER_DEVICE))
    for col in ("eirp_dbm_per_25khz", "h_agl_m"):
        out[col] = (numeric_column(gdf, col, path, "pv", "pv_id", required=False)
                    if col in gdf else np.nan)
    out["mitigated"] = (boolean_column(gdf, "mitigated", path, "pv", "pv_id")
                        if "mitigated" in gdf else False)
    return out
