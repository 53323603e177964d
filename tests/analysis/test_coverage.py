"""Link budgets worked by hand, and the flat-terrain free-space coverage disc."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from c2000cov.analysis.coverage import LIMITING_DL, LIMITING_UL
from c2000cov.pipeline.compute import compute_coverage
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.radio.budget import Terminal, downlink_signal_dbm, uplink_signal_dbm
from c2000cov.radio.itu import p2109
from c2000cov.scenario.config import load_scenario
from c2000cov.scenario.schema import ProfileConfig, RadioConfig
from tests.scenarios import write_scenario

#: Tolerance of hand-worked budgets (dB) and probabilities.
TOL_DB = 1e-9
TOL_P = 1e-4
HANDHELD = ProfileConfig()  # DOMAIN.md defaults: 32.5 dBm, -3 dBi, 5 dB body, -103/-106 dBm


def test_handworked_downlink():
    # 44 dBm + 11 dBi - 8 dB (combiner 5 + feeder 3) - 120 dB path - 3 dBi - 5 dB body
    s_dl = downlink_signal_dbm(44.0, 11.0, 8.0, 120.0, Terminal.from_profile(HANDHELD))
    assert s_dl == pytest.approx(44 + 11 - 8 - 120 - 3 - 5, abs=TOL_DB)  # -81 dBm
    margin = s_dl - HANDHELD.ms_sensitivity_dbm  # -81 - (-103) = 22 dB
    assert margin == pytest.approx(22.0, abs=TOL_DB)
    assert ndtr(margin / 8.0) == pytest.approx(0.99702, abs=TOL_P)  # Phi(2.75)


def test_handworked_uplink_limits_handheld():
    term = Terminal.from_profile(HANDHELD)
    s_dl = downlink_signal_dbm(44.0, 11.0, 8.0, 120.0, term)
    # 32.5 dBm - 3 dBi - 5 dB body - 120 dB + 11 dBi - 3 dB rx loss = -87.5 dBm
    s_ul = uplink_signal_dbm(11.0, 3.0, 120.0, term)
    assert s_ul == pytest.approx(-87.5, abs=TOL_DB)
    m_dl = s_dl - HANDHELD.ms_sensitivity_dbm  # 22 dB
    m_ul = s_ul - HANDHELD.bs_sensitivity_dbm  # -87.5 + 106 = 18.5 dB
    assert m_ul == pytest.approx(18.5, abs=TOL_DB)
    assert m_ul < m_dl  # the uplink limits, by 3.5 dB
    assert ndtr(min(m_dl, m_ul) / 8.0) == pytest.approx(0.98962, abs=TOL_P)  # Phi(2.3125)


def test_handworked_indoor_uplink():
    term = Terminal.from_profile(HANDHELD)
    bel_db, bel_sigma_db = p2109.entry_loss_median_and_sigma_db(382.5, "traditional")
    assert bel_db == pytest.approx(13.9, abs=0.15)  # P.2109 traditional, horizontal, ~390 MHz
    s_ul = uplink_signal_dbm(11.0, 3.0, 120.0, term, entry_loss_db=bel_db)
    assert s_ul == pytest.approx(-87.5 - bel_db, abs=TOL_DB)
    margin = s_ul + 106.0  # about 18.5 - 13.9 = 4.6 dB
    sigma = math.hypot(8.0, bel_sigma_db)  # location variability and entry-loss spread
    assert 10.5 < sigma < 11.5
    p = ndtr(margin / sigma)
    assert 0.60 < p < 0.72  # Phi(4.6 / 11.0) = 0.662


def _flat_case(tmp_path, extra_loss_db: float, ms_sensitivity_dbm: float):
    profiles = ("[profiles.hh]\n"
                f"extra_loss_db = {extra_loss_db}\nms_sensitivity_dbm = {ms_sensitivity_dbm}\n")
    # 4.8 km square: the disc (up to 2.2 km radius) stays inside the grid
    scen = load_scenario(write_scenario(tmp_path, profiles=profiles, radius_m=3000.0,
                                        size_px=240))
    inputs = load_inputs(scen)
    return scen, compute_coverage(inputs)["main"]["hh"]


def _analytic_radius_m(budget_db: float, freq_mhz: float, h_tx_m: float = 30.0,
                       h_rx_m: float = 1.5) -> float:
    """Horizontal radius where P.525 free-space loss over the 3-D path equals the budget."""
    d3_km = 10.0 ** ((budget_db - 32.4 - 20.0 * math.log10(freq_mhz)) / 20.0)
    return math.sqrt((d3_km * 1000.0) ** 2 - (h_tx_m - h_rx_m) ** 2)


@pytest.mark.parametrize("case", ["uplink_limited", "downlink_limited"])
def test_flat_free_space_disc(tmp_path, case):
    """Covered area = pi r^2 with r solved from the budget, within 2 %."""
    fade_db = 1.6448536269514722 * 8.0  # 95 % location probability, sigma 8 dB
    div_db = RadioConfig().bs_diversity_gain_db  # 3 dB of BS receive diversity
    if case == "uplink_limited":
        extra, ms_sens = 37.5, -103.0
        # UL: 32.5 - 3 - 5 - 37.5 - L + 11 - 3 + 3 >= -106 + fade  ->  L <= 104 - fade
        budget_db, freq = 32.5 - 3 - 5 - extra + 11 - 3 + div_db + 106 - fade_db, 382.5
        expected_limit = LIMITING_UL
    else:
        extra, ms_sens = 33.0, -95.0
        # DL: 44 + 11 - 8 - L - 3 - 5 - 33 >= -95 + fade  ->  L <= 101 - fade
        budget_db, freq = 44 + 11 - 8 - 3 - 5 - extra + 95 - fade_db, 392.5
        expected_limit = LIMITING_DL
    scen, cov = _flat_case(tmp_path, extra, ms_sens)
    r_m = _analytic_radius_m(budget_db, freq)
    assert 1000 < r_m < 2500  # inside the 3 km computation radius
    covered_m2 = float((cov.p_cover >= 0.95).sum()) * cov.grid.pixel_area_m2
    expected_m2 = math.pi * r_m ** 2
    assert covered_m2 == pytest.approx(expected_m2, rel=0.02), (
        f"covered {covered_m2 / 1e6:.4f} km2, analytic {expected_m2 / 1e6:.4f} km2")
    ring = (cov.p_cover > 0.5) & (cov.p_cover < 0.99)
    assert ring.any()
    assert np.all(cov.limiting[ring] == expected_limit)
    # one mast: it is the best server wherever it reaches, and redundancy is at most 1
    assert set(np.unique(cov.server[cov.p_cover > 0])) == {0}
    assert cov.n_at_target.max() == 1
    assert int(cov.n_at_target.sum()) == int((cov.p_cover >= 0.95).sum())


def test_sector_pattern_steers_coverage(tmp_path):
    """A sector facing east (90 deg): the east side gains the masts-file gain, the back loses
    the pattern's front-to-back ratio (25 dB), both directions alike."""
    from c2000cov.files.msi import AntennaPattern, write_msi

    az = np.arange(360)
    h_att = np.minimum(12.0 * (np.minimum(az, 360 - az) / 65.0) ** 2, 25.0)
    write_msi(AntennaPattern("sector", 14.0, 390.0, h_att, np.zeros(360)), tmp_path / "s.msi")
    header = "mast_id,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db,"
    scen_path = write_scenario(tmp_path, profiles="[profiles.hh]\nextra_loss_db = 45.0\n")
    (tmp_path / "masts.csv").write_text(header + "azimuth_deg,tilt_deg,pattern\n"
                                        "S1,152010,451990,30,44,11,8,3,90,0,s.msi\n")
    cov = compute_coverage(load_inputs(load_scenario(scen_path)))["main"]["hh"]
    row = 100  # the mast's row; the mast is at column 100
    east, west = cov.margin_ul_db[row, 130], cov.margin_ul_db[row, 70]
    # same distance (600 m): 11 dBi toward boresight, 11 - 25 dBi behind
    assert east - west == pytest.approx(25.0, abs=0.01)
    assert cov.margin_dl_db[row, 130] - cov.margin_dl_db[row, 70] == pytest.approx(25.0, abs=0.01)
    north = cov.margin_ul_db[70, 100]  # 90 deg off boresight: 12 (90/65)^2 = 23.0 dB
    assert east - north == pytest.approx(23.0, abs=0.1)


def test_p2108_clutter_correction_applies_to_the_loss_at_the_clutter_height(tmp_path):
    """[model] clutter_correction computes the loss to the representative clutter height R
    (suburban: 10 m) and adds the P.2108 section 3.1 Ah of a 1.5 m terminal below it
    (ITU-R P.2108-1 section 3.1): a 1.5 m terminal in suburban clutter has the margins of a
    10 m terminal in the open, less Ah; never Ah on top of the loss to 1.5 m."""
    from c2000cov.radio.itu.p2108 import height_gain_correction_db

    at_r = compute_coverage(load_inputs(load_scenario(write_scenario(
        tmp_path / "a", model="p1812", profiles="[profiles.hh]\nh_rx_m = 10.0\n"))))["main"]["hh"]
    extra = '[model]\nname = "p1812"\nradius_m = 3000.0\nclutter_correction = true\n'
    path = write_scenario(tmp_path / "b", model="p1812", profiles="[profiles.hh]\n")
    path.write_text(path.read_text().replace('[model]\nname = "p1812"\nradius_m = 3000.0\n',
                                             extra))
    cluttered = compute_coverage(load_inputs(load_scenario(path)))["main"]["hh"]
    a_dl = height_gain_correction_db(392.5, 1.5, "suburban")
    a_ul = height_gain_correction_db(382.5, 1.5, "suburban")
    # P.2108-1 eqs (2a)-(2g) at 392.5 MHz, h = 1.5 m, R = 10 m, ws = 27 m:
    # hdif 8.5 m, theta 17.4748 deg, nu = 0.214262 sqrt(8.5 * 17.4748) = 2.61133,
    # J = 6.9 + 20 log10(sqrt(2.51133^2 + 1) + 2.51133) = 21.2441 dB, Ah = 15.2141 dB
    assert a_dl == pytest.approx(15.2141, abs=1e-3)
    ok = np.isfinite(at_r.margin_dl_db)
    np.testing.assert_allclose(at_r.margin_dl_db[ok] - cluttered.margin_dl_db[ok], a_dl,
                               atol=1e-3)
    np.testing.assert_allclose(at_r.margin_ul_db[ok] - cluttered.margin_ul_db[ok], a_ul,
                               atol=1e-3)


def test_clutter_correction_refuses_explicit_buildings(tmp_path):
    from c2000cov.errors import ScenarioError

    path = write_scenario(tmp_path, with_buildings=True)
    path.write_text(path.read_text().replace('radius_m = 3000.0\n',
                                             'radius_m = 3000.0\nclutter_correction = true\n'))
    with pytest.raises(ScenarioError, match="clutter_correction stands in for clutter"):
        load_scenario(path)


def test_outdoor_profiles_leave_out_building_pixels(tmp_path):
    """An outdoor terminal is never on a roof: building pixels are not evaluated (NaN), every
    other valid pixel is; an indoor profile evaluates exactly the building pixels."""
    profiles = ("[profiles.hh]\n\n[profiles.inside]\nindoor = true\n")
    scen = load_scenario(write_scenario(tmp_path, profiles=profiles, with_buildings=True))
    inputs = load_inputs(scen)
    covs = compute_coverage(inputs)["main"]
    bm = inputs.surface.building_mask
    assert bm.sum() == 10 * 5 + 5 * 15  # 200 x 100 m and 100 x 300 m at 20 m
    assert np.isnan(covs["hh"].p_cover[bm]).all()
    assert np.isfinite(covs["hh"].p_cover[~bm]).all()
    assert np.array_equal(np.isfinite(covs["inside"].p_cover), bm)


def test_bs_diversity_grows_the_uplink_limited_radius(tmp_path):
    """Flat free space, uplink-limited: 3 dB of BS receive diversity (scenario default, or
    the masts-file column) moves the covered radius out by 10^(3/20)."""
    fade_db = 1.6448536269514722 * 8.0
    radii = {}
    for div_db in (0.0, 3.0):
        profiles = "[profiles.hh]\nextra_loss_db = 37.5\n"
        path = write_scenario(tmp_path / f"d{div_db:g}", profiles=profiles, size_px=240,
                              extra=f"[radio]\nbs_diversity_gain_db = {div_db}\n")
        cov = compute_coverage(load_inputs(load_scenario(path)))["main"]["hh"]
        ring = (cov.p_cover > 0.5) & (cov.p_cover < 0.99)
        assert np.all(cov.limiting[ring] == LIMITING_UL)
        covered_m2 = float((cov.p_cover >= 0.95).sum()) * cov.grid.pixel_area_m2
        radii[div_db] = math.sqrt(covered_m2 / math.pi)
        budget_db = 32.5 - 3 - 5 - 37.5 + 11 - 3 + 106 + div_db - fade_db
        assert radii[div_db] == pytest.approx(_analytic_radius_m(budget_db, 382.5), rel=0.01)
    assert radii[3.0] / radii[0.0] == pytest.approx(10 ** (3 / 20), rel=0.015)
    # a masts-file value overrides the scenario default for its mast
    path = write_scenario(tmp_path / "col", profiles="[profiles.hh]\nextra_loss_db = 37.5\n",
                          size_px=240, extra="[radio]\nbs_diversity_gain_db = 0.0\n")
    (tmp_path / "col" / "masts.csv").write_text(
        "mast_id,name,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db,"
        "rx_diversity_gain_db\nM01,Centre,152410,452390,30,44,11,8,3,3.0\n")
    cov = compute_coverage(load_inputs(load_scenario(path)))["main"]["hh"]
    covered_m2 = float((cov.p_cover >= 0.95).sum()) * cov.grid.pixel_area_m2
    assert math.sqrt(covered_m2 / math.pi) == pytest.approx(radii[3.0], rel=0.005)


def test_forest_terminal_loss_shrinks_the_radius_to_the_link_budget(tmp_path):
    """Flat free space, a land-cover raster whose west half is forest (class 4, 10 dB terminal
    loss): the covered radius in the west half is the link budget's radius 10 dB shorter, in
    the east half the radius without it; the raster is read at 10 m (nearest neighbour)."""
    import rasterio
    from affine import Affine

    fade_db = 1.6448536269514722 * 8.0
    lc = np.full((480, 480), 2, dtype="uint8")  # 4.8 km at 10 m, open land
    lc[:, :240] = 4  # west of the mast's column: forest
    with rasterio.open(tmp_path / "lc.tif", "w", driver="GTiff", width=480, height=480,
                       count=1, dtype="uint8", crs="EPSG:28992", nodata=0,
                       transform=Affine(10.0, 0, 150000.0, 0, -10.0, 454800.0)) as dst:
        dst.write(lc, 1)
    extra = ('[radio]\nbs_diversity_gain_db = 0.0\n\n[landcover]\npath = "lc.tif"\n'
             'terminal_loss_db = { "4" = 10.0, "9" = 3.0 }\n')
    path = write_scenario(tmp_path, profiles="[profiles.hh]\nextra_loss_db = 36.0\n",
                          extra=extra, size_px=240)
    inputs = load_inputs(load_scenario(path))
    assert set(np.unique(inputs.landcover)) == {2, 4}
    cov = compute_coverage(inputs)["main"]["hh"]
    covered = cov.p_cover >= 0.95
    px_m2 = cov.grid.pixel_area_m2
    west_m2 = float(covered[:, :120].sum()) * px_m2  # the mast is at column 120
    east_m2 = float(covered[:, 121:].sum()) * px_m2
    budget_db = 32.5 - 3 - 5 - 36.0 + 11 - 3 + 106 - fade_db  # uplink limits
    r_west = math.sqrt(2 * west_m2 / math.pi)
    r_east = math.sqrt(2 * east_m2 / math.pi)
    assert r_west == pytest.approx(_analytic_radius_m(budget_db - 10.0, 382.5), rel=0.03)
    assert r_east == pytest.approx(_analytic_radius_m(budget_db, 382.5), rel=0.02)


def test_landcover_keys_are_checked(tmp_path):
    from c2000cov.errors import ScenarioError

    path = write_scenario(tmp_path, extra='[landcover]\npath = "lc.tif"\n'
                                          'terminal_loss_db = { forest = 10.0 }\n')
    with pytest.raises(ScenarioError, match="landcover.terminal_loss_db.forest: a class code"):
        load_scenario(path)
    path.write_text(path.read_text().replace("forest = 10.0", '"4" = -1.0'))
    with pytest.raises(ScenarioError, match=r"landcover.terminal_loss_db.4 must be a loss >= 0"):
        load_scenario(path)
