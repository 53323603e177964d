"""Offline HTML maps of a run folder: coverage classes, dead zones, areas, roads and masts.

- :mod:`.build`: reads the run folder and assembles the page's data;
- :mod:`.layers`: palettes, image overlays and GeoJSON features with popups;
- :mod:`.field`: drive-test residuals and field reports (calibrated, validated runs);
- :mod:`.public`: public mode (blocks, no mast information);
- :mod:`.html`: the self-contained page (inlined Leaflet, layout, JSON data);
- :mod:`.words`: the interface's words in Dutch and English.
"""

from c2000cov.products.maps.build import (
    BASEMAPS,
    build_map,
    build_map_from_run,
    map_data,
    profile_zones,
)
from c2000cov.products.maps.layers import CLASS_COLOURS, overlay_rgba
from c2000cov.products.maps.public import PUBLIC_BLOCK_M, BlockGrid, block_majority

__all__ = ["BASEMAPS", "CLASS_COLOURS", "PUBLIC_BLOCK_M", "BlockGrid", "block_majority",
           "build_map", "build_map_from_run", "map_data", "overlay_rgba", "profile_zones"]
