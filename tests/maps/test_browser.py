"""The maps in a real browser (Debian's chromium through Playwright), offline from file://.

Every request that is not ``file:`` (or ``data:``) is aborted and recorded.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
from playwright.sync_api import sync_playwright

from c2000cov.maps import build_map_from_run
from tests.maps.conftest import AREA_NAME_XSS, MAST_NAME_XSS, MASTS

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 860}
NORMAL_LAYERS = ["Area outlines", "Coverage: incar", "Coverage: outdoor",
                 "What-if gained/lost: outdoor", "Areas: covered % (incar)",
                 "Sunny-day loss: outdoor", "Dead zones: incar", "Dead zones: outdoor",
                 "PV installations (size: kWp)", "Masts"]
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

    def __init__(self, browser, path):
        self.page = browser.new_page(viewport=VIEWPORT)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("() => window.c2k && c2k.map")

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

    def layer_names(self) -> list[str]:
        return [t.strip() for t in self.page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label > span > span",
            "els => els.map(e => e.textContent)")]

    def toggle(self, name: str, on: bool) -> None:
        box = self.page.locator(".leaflet-control-layers-overlays label",
                                has_text=name).locator("input")
        if box.is_checked() != on:
            box.click()

    def xss_fired(self) -> bool:
        return bool(self.page.evaluate("() => window.__c2kXss === 1")) or bool(self.dialogs)

    def clean(self) -> None:
        assert self.console_errors == []
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


def test_normal_map_opens_offline_and_lists_its_layers(normal_page, tmp_path):
    mp = normal_page
    mp.clean()
    assert mp.blocked == []
    assert mp.layer_names() == NORMAL_LAYERS
    assert mp.page.locator("#c2k-legend").is_visible()
    assert mp.page.locator("path.c2k-mast").count() == len(MASTS)
    assert mp.page.locator("path.c2k-sector").count() == 1  # one sectored mast
    assert mp.page.locator("img.c2k-coverage").count() == 1  # only the first profile is on
    mp.page.screenshot(path=str(tmp_path / "normal.png"))


def test_dead_zone_popup_shows_its_area(normal_page, run_dir):
    mp = normal_page
    props = mp.first_feature("deadzones:incar")
    area = float(gpd.read_file(run_dir / "dead_zones.gpkg", layer="incar")["area_km2"].iloc[0])
    mp.click_at(props["_c"])
    text = mp.popup_text()
    assert "Dead zone incar-" in text
    assert f"{area:.3f} km²" in text
    assert "Nearest mast" in text and "C2K-SITE-" in text
    mp.page.keyboard.press("Escape")
    mp.clean()


def test_mast_tooltip_shows_the_hostile_name_as_text(normal_page):
    mp = normal_page
    mp.page.evaluate("() => c2k.map.closePopup()")
    feats = mp.page.evaluate("""() => c2k.layers['masts'].getLayers()
        .filter(l => l.feature.properties._t)
        .map(l => [l.getLatLng().lat, l.getLatLng().lng, l.feature.properties._t])""")
    lat, lon, tip = next(f for f in feats if f[2].startswith(MASTS[0][0]))
    mp.page.evaluate("([c]) => c2k.map.setView(c, 15, {animate: false})", [[lat, lon]])
    x, y = mp.page.evaluate(TO_PAGE_JS, [lat, lon])
    mp.page.mouse.move(x, y)
    tooltip = mp.page.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible", timeout=3000)
    assert tooltip.inner_text() == f"{MASTS[0][0]} {MAST_NAME_XSS}"
    assert mp.page.locator(".leaflet-tooltip img").count() == 0
    mp.page.mouse.move(5, VIEWPORT["height"] - 5)
    mp.clean()


def test_area_popup_shows_the_hostile_name_as_text(normal_page):
    mp = normal_page
    for name in ("Dead zones: incar", "Sunny-day loss: outdoor", "Masts",
                 "PV installations (size: kWp)"):
        mp.toggle(name, False)
    mp.toggle("Areas: covered % (incar)", True)
    # the south area (RD y < 452000) holds the hostile name
    props = mp.page.evaluate("""() => c2k.layers['areas'].getLayers()
        .map(l => [l.getBounds().getCenter(), l.feature.properties._p.title])""")
    centre, title = next(p for p in props if p[1] == AREA_NAME_XSS)
    mp.click_at([centre["lat"], centre["lng"]], zoom=14)
    text = mp.popup_text()
    assert text.startswith(AREA_NAME_XSS)
    assert "incar" in text and "outdoor" in text and "%" in text
    assert mp.page.locator(".leaflet-popup-content img").count() == 0
    mp.clean()


def test_public_map_has_no_mast_markers(public_page, tmp_path):
    mp = public_page
    mp.clean()
    assert mp.blocked == []
    names = mp.layer_names()
    assert "Masts" not in names and "Dead zones: outdoor" in names
    assert mp.page.evaluate("() => 'masts' in c2k.layers") is False
    assert mp.page.locator("path.c2k-mast, path.c2k-sector").count() == 0
    assert mp.page.locator("#c2k-public-notice").is_visible()
    assert "PUBLIC VERSION" in mp.page.locator("#c2k-public-notice").inner_text()
    mp.page.screenshot(path=str(tmp_path / "public.png"))
    props = mp.first_feature("deadzones:incar")
    mp.click_at(props["_c"], zoom=15)
    text = mp.popup_text()
    assert "500 m blocks" in text and "km²" in text and "Nearest mast" not in text
    mp.page.keyboard.press("Escape")
    mp.clean()


def test_tile_basemap_fails_quietly_offline(browser, run_dir, tmp_path):
    path = build_map_from_run(run_dir, tmp_path / "osm.html", profiles=["outdoor"],
                              basemap="osm")
    mp = MapPage(browser, path)
    try:
        assert any("tile.openstreetmap.org" in u for u in mp.blocked)
        assert mp.page_errors == [] and not mp.xss_fired()
        base = [t.strip() for t in mp.page.eval_on_selector_all(
            ".leaflet-control-layers-base label > span > span",
            "els => els.map(e => e.textContent)")]
        assert base == ["OpenStreetMap", "No tiles (offline)"]
        assert "Dead zones: outdoor" in mp.layer_names()
    finally:
        mp.page.close()
