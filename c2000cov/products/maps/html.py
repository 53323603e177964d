"""The HTML page: inlined Leaflet and map helpers, the layout, and the data as JSON.

The page is self-contained: Leaflet (vendored in ``c2000cov/assets``, see its
``PROVENANCE.md``), the helpers and styles, and all data are inlined, so the
map works from ``file://`` with the network off.

Layout: on a desktop a side panel (title, profile switcher, layers, legend)
sits *beside* the map, so no control covers data or a popup; on a phone
(narrow screens) a short header holds the title and the profile switcher, and
the layers and legend open in a drawer that closes when a popup opens.

Text from input files reaches the page only as data: the data is one JSON
document in a ``<script type="application/json">`` element with ``<``,
``>``, ``&`` and ``'`` escaped, and the helpers insert every string with
``textContent`` (the map has no Leaflet layer control, which inserts names
as HTML).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from c2000cov.errors import InvalidInputError

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


def _asset_text(rel: str) -> str:
    text = (ASSETS_DIR / rel).read_text(encoding="utf-8")
    low = text.lower()
    if "</script" in low or "</style" in low:
        raise InvalidInputError(f"asset {rel} contains a closing script/style tag and cannot "
                                "be inlined")
    return text


def inline_assets() -> tuple[str, str]:
    """The inlined CSS and JavaScript: Leaflet and the map helpers.

    Leaflet's CSS refers to its images by relative URL; they are inlined as
    ``data:`` URIs. Leaflet's source-map comment is dropped.
    """
    css = _asset_text("leaflet/leaflet.css")
    for img in sorted((ASSETS_DIR / "leaflet" / "images").glob("*.png")):
        data = base64.b64encode(img.read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{img.name})", f"url(data:image/png;base64,{data})")
    css += "\n" + _asset_text("c2000cov_map.css")
    js = "\n".join(line for line in _asset_text("leaflet/leaflet.js").splitlines()
                   if not line.startswith("//# sourceMappingURL"))
    js += "\n" + _asset_text("c2000cov_map.js")
    return css, js


def safe_json(data) -> str:
    """JSON that is safe inside a ``<script>`` element (no markup can end or open it)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(ch, esc)
    return text


def page(data: dict, lang: str, title: str) -> str:
    """The whole HTML document of a map."""
    css, js = inline_assets()
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{css}
</style>
</head>
<body>
<div id="c2k-app">
<aside id="c2k-panel" class="c2k-panel"></aside>
<main id="c2k-map"></main>
</div>
<script id="c2k-data" type="application/json">{safe_json(data)}</script>
<script>
{js}
</script>
<script>c2k.build(JSON.parse(document.getElementById("c2k-data").textContent));</script>
</body>
</html>
"""
