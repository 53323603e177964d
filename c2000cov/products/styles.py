"""How the run folder's rasters and vector layers look in GIS: colour tables and QGIS styles.

One place defines the codes of each categorical band, their Dutch labels and
colours; the GeoTIFF colour tables, the ``.qml`` files written beside each
raster, the styles stored in the GeoPackages' ``layer_styles`` table and the
report's class maps all take them from here.

Colours are Okabe-Ito (told apart under deuteranopia and protanopia); the
worst class is the darkest, so it also stands out in grey print.

QGIS reads ``<name>.qml`` beside ``<name>.tif`` as the layer's default style,
and a GeoPackage's ``layer_styles`` row with ``useAsDefault`` for its layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from c2000cov.files.atomic import atomic_path

#: QGIS version the styles are written for (any 3.x reads them).
QGIS_VERSION = "3.34.0-Prizren"

CLASS_GOOD, CLASS_REDUCED, CLASS_POOR, CLASS_NONE = 3, 2, 1, 0
#: Class colours (hex), best first.
CLASS_COLOURS = {CLASS_GOOD: "#0072B2", CLASS_REDUCED: "#56B4E9", CLASS_POOR: "#E69F00",
                 CLASS_NONE: "#8B2500"}
NOT_EVALUATED_COLOUR = "#E6E6E6"
#: Dutch labels of the classes (the run's ``class`` names are English keys).
CLASS_LABELS = {CLASS_GOOD: "goed", CLASS_REDUCED: "beperkt", CLASS_POOR: "slecht",
                CLASS_NONE: "geen"}
CLASS_NAMES = {CLASS_GOOD: "good", CLASS_REDUCED: "reduced", CLASS_POOR: "poor",
               CLASS_NONE: "none"}
#: Qualitative colours cycled over masts in the best-server band.
SERVER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                  "#F0E442", "#000000")


@dataclass(frozen=True)
class Category:
    """One code of a categorical band: value, label (Dutch) and colour (hex)."""

    value: int
    label: str
    colour: str


def class_categories(target_pct: float, reduced_pct: float, poor_pct: float
                     ) -> list[Category]:
    """The coverage classes with their location-probability limits in the label."""

    def pct(v: float) -> str:
        return f"{v:g}".replace(".", ",") + " %"

    bounds = {CLASS_GOOD: f"≥ {pct(target_pct)}",
              CLASS_REDUCED: f"{pct(reduced_pct)} – {pct(target_pct)}",
              CLASS_POOR: f"{pct(poor_pct)} – {pct(reduced_pct)}",
              CLASS_NONE: f"< {pct(poor_pct)}"}
    return [Category(c, f"{CLASS_LABELS[c]}: locatiekans {bounds[c]}", CLASS_COLOURS[c])
            for c in (CLASS_GOOD, CLASS_REDUCED, CLASS_POOR, CLASS_NONE)]


def limiting_categories() -> list[Category]:
    """Limiting direction: 1 downlink, 2 uplink, 0 no mast within reach."""
    return [Category(1, "downlink beperkend", "#0072B2"),
            Category(2, "uplink beperkend", "#D55E00"),
            Category(0, "geen mast binnen bereik", "#8B2500")]


#: Redundancy: number of masts at the target; 4 or more share one colour.
REDUNDANCY_COLOURS = {0: "#8B2500", 1: "#E69F00", 2: "#56B4E9", 3: "#0072B2", 4: "#003A5D"}


def redundancy_categories(max_count: int) -> list[Category]:
    """Masts reaching the target per pixel: 0, 1, 2, 3 and every count above."""
    out = []
    for n in range(max(int(max_count), 3) + 1):
        label = {0: "geen mast haalt het doel", 1: "1 mast (geen reserve)"}.get(
            n, f"{n} masten")
        out.append(Category(n, label, REDUNDANCY_COLOURS[min(n, 4)]))
    return out


def server_categories(mast_ids: list[str]) -> list[Category]:
    """Best server: one entry per mast index, labelled with its mast_id."""
    return [Category(i, str(m), SERVER_COLOURS[i % len(SERVER_COLOURS)])
            for i, m in enumerate(mast_ids)]


def delta_categories() -> list[Category]:
    """What-if change codes: 1 gained, -1 lost, 0 unchanged."""
    return [Category(1, "gewonnen", "#0072B2"), Category(-1, "verloren", "#D55E00"),
            Category(0, "ongewijzigd", "#DDDDDD")]


def hex_rgba(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """``#RRGGBB`` as an (r, g, b, a) tuple of 0-255."""
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), alpha)


def colour_table(categories: list[Category], nodata: int) -> dict[int, tuple[int, int, int, int]]:
    """GeoTIFF colour table: the categories' colours; nodata and unused codes transparent."""
    table = {v: (0, 0, 0, 0) for v in range(256)}
    table.update({c.value: hex_rgba(c.colour) for c in categories})
    table[nodata] = (0, 0, 0, 0)
    return table


# --------------------------------------------------------------------------- QGIS raster
def _qml(renderer: str, layer_type: str = "raster") -> str:
    return (f'<!DOCTYPE qgis PUBLIC \'http://mrcc.com/qgis.dtd\' \'SYSTEM\'>\n'
            f'<qgis version="{QGIS_VERSION}" styleCategories="AllStyleCategories">\n'
            f"{renderer}</qgis>\n")


def paletted_qml(categories: list[Category], band: int = 1, opacity: float = 1.0) -> str:
    """QGIS style of a categorical raster: one palette entry per code, with its label."""
    entries = "".join(
        f'        <paletteEntry value="{c.value}" color="{c.colour.lower()}" alpha="255" '
        f"label={quoteattr(c.label)}/>\n" for c in categories)
    return _qml(
        "  <pipe>\n"
        f'    <rasterrenderer type="paletted" band="{band}" opacity="{opacity:g}" '
        'alphaBand="-1" nodataColor="">\n'
        "      <rasterTransparency/>\n"
        f"      <colorPalette>\n{entries}      </colorPalette>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n")


@dataclass(frozen=True)
class RampStop:
    """A colour-ramp item: upper value (discrete) or position (interpolated)."""

    value: float
    colour: str
    label: str


def pseudocolor_qml(stops: list[RampStop], minimum: float, maximum: float,
                    discrete: bool, band: int = 1) -> str:
    """QGIS style of a continuous raster: an interpolated or discrete colour ramp."""
    items = "".join(
        f'          <item value="{"inf" if s.value == float("inf") else repr(float(s.value))}" '
        f'color="{s.colour.lower()}" alpha="255" label={quoteattr(s.label)}/>\n'
        for s in stops)
    kind = "DISCRETE" if discrete else "INTERPOLATED"
    return _qml(
        "  <pipe>\n"
        f'    <rasterrenderer type="singlebandpseudocolor" band="{band}" opacity="1" '
        f'alphaBand="-1" classificationMin="{minimum!r}" classificationMax="{maximum!r}" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n"
        "      <rastershader>\n"
        f'        <colorrampshader colorRampType="{kind}" classificationMode="1" '
        f'clip="0" minimumValue="{minimum!r}" maximumValue="{maximum!r}">\n'
        f"{items}"
        "        </colorrampshader>\n"
        "      </rastershader>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n")


def p_cover_qml(target_pct: float, reduced_pct: float, poor_pct: float) -> str:
    """The location probability coloured by the coverage classes (discrete ramp)."""
    cats = {c.value: c for c in class_categories(target_pct, reduced_pct, poor_pct)}
    # DISCRETE: a value takes the first item whose value exceeds it
    stops = [RampStop(poor_pct / 100.0, cats[CLASS_NONE].colour, cats[CLASS_NONE].label),
             RampStop(reduced_pct / 100.0, cats[CLASS_POOR].colour, cats[CLASS_POOR].label),
             RampStop(target_pct / 100.0, cats[CLASS_REDUCED].colour,
                      cats[CLASS_REDUCED].label),
             RampStop(float("inf"), cats[CLASS_GOOD].colour, cats[CLASS_GOOD].label)]
    return pseudocolor_qml(stops, 0.0, 1.0, discrete=True)


#: Viridis at five points, for continuous levels in dB / dBm.
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")


def continuous_qml(minimum: float, maximum: float, unit: str) -> str:
    """An interpolated viridis ramp from ``minimum`` to ``maximum`` (labels with unit)."""
    n = len(VIRIDIS) - 1
    stops = []
    for i, colour in enumerate(VIRIDIS):
        v = minimum + (maximum - minimum) * i / n
        stops.append(RampStop(v, colour, f"{v:g} {unit}".replace(".", ",")))
    return pseudocolor_qml(stops, minimum, maximum, discrete=False)


# --------------------------------------------------------------------------- QGIS vector
def _fill_symbol(name: str, fill: str, outline: str, fill_alpha: int = 140,
                 width_mm: float = 0.4) -> str:
    r, g, b, _ = hex_rgba(fill)
    ro, go, bo, _ = hex_rgba(outline)
    return (f'      <symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" '
            'force_rhr="0">\n'
            '        <layer class="SimpleFill" enabled="1" locked="0" pass="0">\n'
            '          <Option type="Map">\n'
            f'            <Option name="color" type="QString" '
            f'value="{r},{g},{b},{fill_alpha}"/>\n'
            f'            <Option name="outline_color" type="QString" '
            f'value="{ro},{go},{bo},255"/>\n'
            '            <Option name="outline_style" type="QString" value="solid"/>\n'
            f'            <Option name="outline_width" type="QString" value="{width_mm:g}"/>\n'
            '            <Option name="outline_width_unit" type="QString" value="MM"/>\n'
            f'            <Option name="style" type="QString" '
            f'value="{"solid" if fill_alpha else "no"}"/>\n'
            "          </Option>\n"
            "        </layer>\n"
            "      </symbol>\n")


def categorized_fill_qml(field: str, categories: list[tuple[str, str, str]]) -> str:
    """Polygons coloured by a text field: ``(value, label, colour)`` per category."""
    cats = "".join(f'      <category symbol="{i}" value={quoteattr(v)} label={quoteattr(lab)} '
                   'render="true"/>\n' for i, (v, lab, _) in enumerate(categories))
    symbols = "".join(_fill_symbol(str(i), col, col) for i, (_, _, col) in enumerate(categories))
    return _qml(
        f'  <renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} '
        'symbollevels="0" enableorderby="0" forceraster="0">\n'
        f"    <categories>\n{cats}    </categories>\n"
        f"    <symbols>\n{symbols}    </symbols>\n"
        "  </renderer-v2>\n", "vector")


def outline_qml(colour: str = "#000000", label_field: str | None = None) -> str:
    """Polygons drawn as outlines only, optionally labelled by a field."""
    labels = ""
    if label_field:
        labels = (
            '  <labeling type="simple">\n'
            "    <settings>\n"
            f"      <text-style fieldName={quoteattr(label_field)} fontSize=\"9\" "
            'textColor="0,0,0,255"/>\n'
            '      <text-buffer bufferDraw="1" bufferSize="1" bufferColor="255,255,255,255"/>\n'
            '      <placement placement="1"/>\n'
            "    </settings>\n"
            "  </labeling>\n")
    return _qml(
        '  <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" '
        'forceraster="0">\n'
        f"    <symbols>\n{_fill_symbol('0', colour, colour, fill_alpha=0, width_mm=0.5)}"
        "    </symbols>\n"
        "  </renderer-v2>\n"
        f"{labels}", "vector")


def dead_zone_qml(target_pct: float, reduced_pct: float, poor_pct: float) -> str:
    """Dead zones coloured by their ``class`` attribute (English key, Dutch label)."""
    cats = class_categories(target_pct, reduced_pct, poor_pct)
    return categorized_fill_qml("class", [(CLASS_NAMES[c.value], c.label, c.colour)
                                          for c in cats if c.value != CLASS_GOOD])


def delta_polygon_qml() -> str:
    """What-if polygons coloured by their ``change`` (gained / lost)."""
    return categorized_fill_qml("change", [("gained", "gewonnen", "#0072B2"),
                                           ("lost", "verloren", "#D55E00")])


def write_qml(path: Path, qml: str) -> Path:
    """Write a ``.qml`` file atomically."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(qml, encoding="utf-8")
    return Path(path)
