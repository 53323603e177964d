"""The maps in a real browser (Debian's chromium through Playwright), offline from file://.

Every request that is not ``file:`` (or ``data:``) is aborted and recorded.
Two viewports: a dispatcher's desktop (1400 x 900) and a phone (390 x 844).
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from c2000cov.products.maps import build_map_from_run
from tests.products.maps.conftest import AREA_NAME_XSS, MAST_NAME_XSS, MASTS
from tests.products.maps.cvd import adjacent_delta_e, composite

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
#: The least colour difference (CIE76 ΔE*ab) between neighbouring threshold bins under
#: simulated deuteranopia and protanopia. ~2.3 is "just noticeable"; the old area palette
#: fell to 2.3 (deuteranopia) between bins; 15 is clearly distinct at a glance.
MIN_DELTA_E = 15.0
TO_PAGE_JS = """([lat, lon]) => {
    const p = c2k.map.latLngToContainerPoint([lat, lon]);
    const r = c2k.map.getContainer().getBoundingClientRect();
    return [p.x + r.left, p.y + r.top];
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class MapPage:
    """A map opened offline, with everything the page reported."""

    def __init__(self, browser, path, viewport=DESKTOP):
        self.viewport = viewport
        self.page = browser.new_page(viewport=viewport)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("() => window.c2k && c2k.ready")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def theme_labels(self) -> list[str]:
        return [t.strip() for t in self.page.eval_on_selector_all(
            "#c2k-layers label span", "els => els.map(e => e.textContent)")]

    def toggle(self, theme: str, on: bool) -> None:
        self.page.evaluate("([t, on]) => c2k.setTheme(t, on)", [theme, on])

    def xss_fired(self) -> bool:
        return bool(self.page.evaluate("() => window.__c2kXss === 1")) or bool(self.dialogs)

    def clean(self, offline_tiles: bool = False) -> None:
        errors = [e for e in self.console_errors
                  if not (offline_tiles and "net::ERR_FAILED" in e)]
        assert errors == []
        assert self.page_errors == []
        assert not self.xss_fired()

    def first_feature(self, key: str) -> dict:
        return self.page.evaluate(
            f"() => c2k.layers[{key!r}].getLayers()[0].feature.properties")

    def click_at(self, latlon, zoom: int = 16) -> None:
        self.page.evaluate("([c, z]) => c2k.map.setView(c, z, {animate: false})", [latlon, zoom])
        x, y = self.page.evaluate(TO_PAGE_JS, latlon)
        self.page.mouse.click(x, y)

    def popup_text(self) -> str:
        pop = self.page.locator(".leaflet-popup-content")
        pop.wait_for(state="visible", timeout=3000)
        return pop.inner_text()

    def box(self, selector: str) -> dict | None:
        loc = self.page.locator(selector)
        return loc.bounding_box() if loc.count() and loc.first.is_visible() else None


def _overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def _inside(inner: dict, outer: dict, tol: float = 0.5) -> bool:
    return (inner["x"] >= outer["x"] - tol and inner["y"] >= outer["y"] - tol
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + tol
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + tol)


@pytest.fixture(scope="module")
def normal_page(browser, maps):
    mp = MapPage(browser, maps["normal"])
    yield mp
    mp.page.close()


@pytest.fixture(scope="module")
def public_page(browser, maps):
    mp = MapPage(browser, maps["public"])
    yield mp
    mp.page.close()


def test_desktop_map_opens_offline_in_dutch(normal_page, tmp_path):
    mp = normal_page
    mp.clean()
    assert mp.blocked == []
    assert mp.theme_labels() == [
        "Dekkingsklasse", "What-if: gewonnen/verloren", "Gebieden: % gedekt", "Gebiedsgrenzen",
        "Wegen", "Verlies op zonnige dagen", "Zones onder de doelwaarde",
        "Zonnepanelen (grootte: kWp)", "Masten", "Plaatsnamen"]
    assert mp.page.locator("#c2k-profile option").all_inner_texts() == [
        "portofoon buiten", "mobilofoon in voertuig"]
    assert mp.page.locator("#c2k-legend").is_visible()
    legend = mp.page.locator("#c2k-legend").inner_text()
    assert "goed (≥ 95 %)" in legend
    assert "Gebied: % van de oppervlakte gedekt" not in legend  # the areas layer is off
    assert mp.page.locator("#c2k-theme-pv").is_checked() is False
    assert mp.page.locator("path.c2k-mast").count() == len(MASTS)
    assert mp.page.locator("path.c2k-sector").count() == 1  # one sectored mast
    assert mp.page.locator("img.c2k-coverage").count() == 1  # one profile at a time
    assert mp.page.locator(".c2k-place-name").count() == 2
    # the panel sits beside the map: nothing covers the map's data area
    panel, mapbox = mp.box("#c2k-panel"), mp.box("#c2k-map")
    assert not _overlap(panel, mapbox)
    assert mapbox["width"] >= 0.7 * DESKTOP["width"]
    mp.page.screenshot(path=str(tmp_path / "desktop.png"))


def test_profile_switcher_swaps_every_layer(normal_page):
    mp = normal_page
    src = "() => document.querySelector('img.c2k-coverage').getAttribute('src').slice(-40)"
    before = mp.page.evaluate(src)
    mp.page.select_option("#c2k-profile", "incar")
    assert mp.page.evaluate(src) != before
    assert mp.page.locator("img.c2k-coverage").count() == 1
    groups = mp.page.evaluate("""() => Object.fromEntries(Object.entries(c2k.themes)
        .filter(([id, t]) => t.perProfile)
        .map(([id, t]) => [id, t.group.getLayers().map(l => Object.keys(t.perProfile)
            .find(k => t.perProfile[k] === l))]))""")
    assert groups["deadzones"] == ["incar"] and groups["areas"] == ["incar"]
    assert groups["sunny"] == [] and groups["delta"] == []  # outdoor only
    assert "mobilofoon in voertuig" in mp.page.locator("#c2k-legend").inner_text()
    mp.page.select_option("#c2k-profile", "outdoor")
    assert mp.page.evaluate(src) == before
    mp.clean()


def test_dead_zone_popup_is_not_hidden_on_desktop(normal_page, run_dir, tmp_path):
    mp = normal_page
    props = mp.first_feature("deadzones:outdoor")
    area = float(gpd.read_file(run_dir / "dead_zones.gpkg", layer="outdoor")["area_km2"].iloc[0])
    # zoomed out, so the popup opens near the map's edge and must pan or fit
    mp.click_at(props["_c"], zoom=14)
    text = mp.popup_text()
    assert "Zone outdoor-" in text and f"{area:.3f} km²" in text
    assert "Klassenmix" in text and "Advies" in text and "Mobilofoon (in voertuig)" in text
    mp.page.wait_for_timeout(400)  # autopan
    popup, mapbox = mp.box(".leaflet-popup-content-wrapper"), mp.box("#c2k-map")
    assert _inside(popup, mapbox)
    for ctl in ("#c2k-panel", "#c2k-title", "#c2k-legend", ".leaflet-control-zoom",
                ".leaflet-control-scale"):
        b = mp.box(ctl)
        assert b is None or not _overlap(popup, b), ctl
    mp.page.screenshot(path=str(tmp_path / "desktop_popup.png"))
    mp.page.keyboard.press("Escape")
    mp.clean()


def test_mast_tooltip_shows_the_hostile_name_as_text(normal_page):
    mp = normal_page
    mp.page.evaluate("() => c2k.map.closePopup()")
    feats = mp.page.evaluate("""() => c2k.layers['masts'].getLayers()
        .filter(l => l.feature.properties._t && l.getLatLng)
        .map(l => [l.getLatLng().lat, l.getLatLng().lng, l.feature.properties._t])""")
    lat, lon, tip = next(f for f in feats if f[2].startswith(MASTS[0][0]))
    mp.page.evaluate("([c]) => c2k.map.setView(c, 15, {animate: false})", [[lat, lon]])
    x, y = mp.page.evaluate(TO_PAGE_JS, [lat, lon])
    mp.page.mouse.move(x, y)
    # the mast's own tooltip: a dead-zone polygon that the view moved under the resting
    # mouse may show its tooltip too (a strict-mode failure once in a fresh clone)
    tooltip = mp.page.locator(".leaflet-tooltip", has_text=MASTS[0][0])
    tooltip.wait_for(state="visible", timeout=3000)
    assert tooltip.inner_text() == f"{MASTS[0][0]} {MAST_NAME_XSS}"
    assert mp.page.locator(".leaflet-tooltip img").count() == 0
    mp.page.mouse.move(DESKTOP["width"] - 5, DESKTOP["height"] - 5)
    mp.clean()


def test_area_popup_shows_the_hostile_name_as_text(normal_page):
    mp = normal_page
    for theme in ("deadzones", "sunny", "masts", "pv"):
        mp.toggle(theme, False)
    mp.toggle("areas", True)
    assert mp.page.locator("#c2k-theme-areas").is_checked()
    props = mp.page.evaluate("""() => c2k.layers['areas:outdoor'].getLayers()
        .map(l => [l.getBounds().getCenter(), l.feature.properties._p.title])""")
    centre, title = next(p for p in props if p[1] == AREA_NAME_XSS)
    mp.click_at([centre["lat"], centre["lng"]], zoom=14)
    text = mp.popup_text()
    assert text.startswith(AREA_NAME_XSS)
    assert "portofoon buiten" in text and "mobilofoon in voertuig" in text and "%" in text
    assert mp.page.locator(".leaflet-popup-content img").count() == 0
    mp.clean()


def test_phone_layout_keeps_the_map_and_popups_clear(browser, maps, tmp_path):
    mp = MapPage(browser, maps["normal"], PHONE)
    try:
        mp.clean()
        head, mapbox = mp.box("#c2k-title"), mp.box("#c2k-map")
        assert head["height"] <= 0.2 * PHONE["height"]
        assert mapbox["height"] >= 0.75 * PHONE["height"]
        assert not _overlap(head, mapbox)
        assert mp.box("#c2k-drawer") is None  # layers and legend start closed
        assert mp.page.locator("#c2k-profile").is_visible()
        mp.page.screenshot(path=str(tmp_path / "phone.png"))
        mp.page.click("#c2k-toggle")
        drawer = mp.box("#c2k-drawer")
        assert drawer is not None and drawer["height"] <= 0.6 * PHONE["height"] + 1
        assert "Legenda" in mp.page.locator("#c2k-drawer").inner_text()
        mp.page.screenshot(path=str(tmp_path / "phone_drawer.png"))
        # a popup closes the drawer and stays inside the map, clear of the header
        props = mp.first_feature("deadzones:outdoor")
        mp.page.evaluate("() => c2k.layers['deadzones:outdoor'].getLayers()[0].openPopup()")
        mp.popup_text()
        mp.page.wait_for_timeout(400)
        assert mp.box("#c2k-drawer") is None
        popup = mp.box(".leaflet-popup-content-wrapper")
        assert _inside(popup, mp.box("#c2k-map"))
        assert not _overlap(popup, mp.box("#c2k-title"))
        for ctl in (".leaflet-control-zoom", ".leaflet-control-scale", "#c2k-toggle"):
            b = mp.box(ctl)
            assert b is None or not _overlap(popup, b), ctl
        assert popup["width"] <= PHONE["width"]
        assert props["_c"]
        mp.page.screenshot(path=str(tmp_path / "phone_popup.png"))
    finally:
        mp.page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_english_map_and_offline_notice(browser, maps, viewport, tmp_path):
    mp = MapPage(browser, maps["english"], viewport)
    try:
        mp.page.wait_for_selector("#c2k-offline", state="visible", timeout=5000)
        assert any("tile.openstreetmap.org" in u for u in mp.blocked)
        notice = mp.page.locator("#c2k-offline").inner_text()
        assert notice.startswith("Background map not loaded (no network)")
        assert mp.page.locator("#c2k-profile option").all_inner_texts() == [
            "handheld outdoors", "in-car radio (mobilofoon)"]
        assert mp.page.locator("html").get_attribute("lang") == "en"
        n = mp.box("#c2k-offline")
        assert _inside(n, {"x": 0, "y": 0, **viewport})
        assert not _overlap(n, mp.box("#c2k-map"))
        mp.clean(offline_tiles=True)
        mp.page.screenshot(path=str(tmp_path / "offline.png"))
    finally:
        mp.page.close()


def test_no_offline_notice_without_tiles(normal_page):
    assert normal_page.page.locator("#c2k-offline").count() == 0
    assert normal_page.blocked == []


def _legend_colours(mp: MapPage, prefix: str) -> list[tuple[int, int, int]]:
    """Rendered colours of the legend swatches whose key starts with ``prefix``:
    the centre pixel of each swatch in a screenshot."""
    rows = mp.page.locator(f"#c2k-legend .c2k-item[data-key^='{prefix}'] .c2k-sw")
    out = []
    for i in range(rows.count()):
        png = rows.nth(i).screenshot()
        img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        h, w, _ = img.shape
        out.append(tuple(int(v) for v in img[h // 2, w // 2]))
    return out


@pytest.mark.parametrize("vision", ["normal", "deuteranopia", "protanopia"])
def test_threshold_bins_stay_apart_under_colour_vision_deficiency(normal_page, vision):
    mp = normal_page
    mp.page.select_option("#c2k-profile", "outdoor")
    for theme in ("coverage", "areas"):  # the legend shows what is drawn
        mp.toggle(theme, True)
    classes = _legend_colours(mp, "class:")
    bins = _legend_colours(mp, "bin:")
    assert len(classes) == 4 and len(bins) == 5
    for palette in (classes, bins):
        d = adjacent_delta_e(palette, vision)
        assert min(d) >= MIN_DELTA_E, (vision, palette, d)
    # the compliance threshold: >= 95 % and the bin below it
    assert adjacent_delta_e(bins[1:3], vision)[0] >= 1.5 * MIN_DELTA_E


def test_the_contrast_check_can_fail():
    """The old area palette (RdYlGn at 0.55 over the map) fails the same check."""
    old = [composite((*[int(c[i:i + 2], 16) for i in (1, 3, 5)], 0.55), (243, 242, 238))
           for c in ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")]
    assert min(adjacent_delta_e(old, "normal")) >= MIN_DELTA_E
    assert min(adjacent_delta_e(old, "deuteranopia")) < MIN_DELTA_E


def test_public_map_has_no_mast_markers(public_page, tmp_path):
    mp = public_page
    mp.clean()
    assert mp.blocked == []
    names = mp.theme_labels()
    assert "Masten" not in names and "Zones onder de doelwaarde" in names
    assert mp.page.evaluate("() => 'masts' in c2k.layers") is False
    assert mp.page.locator("path.c2k-mast, path.c2k-sector").count() == 0
    assert mp.page.locator("#c2k-public-notice").is_visible()
    assert "PUBLIEKE VERSIE" in mp.page.locator("#c2k-public-notice").inner_text()
    mp.page.screenshot(path=str(tmp_path / "public.png"))
    props = mp.first_feature("deadzones:outdoor")
    mp.click_at(props["_c"], zoom=15)
    text = mp.popup_text()
    assert "blokken van 500 m" in text and "km²" in text and "Dichtstbijzijnde mast" not in text
    mp.page.keyboard.press("Escape")
    mp.clean()


def test_tile_basemap_fails_visibly_offline(browser, run_dir, tmp_path):
    path = build_map_from_run(run_dir, tmp_path / "brt.html", profiles=["outdoor"],
                              basemap="brt")
    mp = MapPage(browser, path)
    try:
        mp.page.wait_for_selector("#c2k-offline", state="visible", timeout=5000)
        assert any("service.pdok.nl" in u for u in mp.blocked)
        assert mp.page_errors == [] and not mp.xss_fired()
        assert mp.page.locator("#c2k-offline").inner_text().startswith(
            "Achtergrondkaart niet geladen")
        # the run's own orientation layers are still drawn
        assert mp.page.locator(".c2k-place-name").count() == 2
    finally:
        mp.page.close()
