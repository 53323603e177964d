"""Solar-panel interference: emission, uplink noise rise per mast, downlink raster, pruning.

Tolerance of hand-worked numbers: 0.01 dB (the brief's accuracy), unless stated.
Surfaces are small synthetic rasters built in code.
"""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from c2000cov.errors import InvalidInputError, ScenarioError
from c2000cov.files.pv import read_pv
from c2000cov.geo.grid import Grid
from c2000cov.geo.surface import Surface
from c2000cov.kernels.diffraction import fresnel_j_db
from c2000cov.radio import interference as itf
from c2000cov.radio.models import MastGeometry, path_loss_db, point_loss_db
from c2000cov.scenario.config import scenario_from_dict
from c2000cov.scenario.schema import InterferenceConfig, ModelConfig, RadioConfig

TOL_DB = 0.01
RD = "EPSG:28992"
X0, Y0 = 150000.0, 450000.0
FSPL = ModelConfig(name="fspl")
P1812 = ModelConfig(name="p1812", k_factor=4.0 / 3.0)  # the hand calculations use k = 4/3
RADIO = RadioConfig()
#: The uncorrected emission model (no ground-reflection or detector correction), whose
#: hand values the tests below work out; the corrections have their own test.
CFG = InterferenceConfig(ground_reflection_db=0.0, qp_to_rms_db=0.0)


def make_surface(ground, surface=None, res=20.0) -> Surface:
    """A Surface on a grid with its lower-left corner at (X0, Y0)."""
    ground = np.asarray(ground, dtype="float32")
    rows, cols = ground.shape
    grid = Grid.from_bounds((X0, Y0, X0 + cols * res, Y0 + rows * res), res, RD)
    surf = ground.copy() if surface is None else np.asarray(surface, dtype="float32")
    mask = surf > ground + 0.01
    return Surface(grid, ground, surf, mask, np.zeros(ground.shape, "int32"))


def flat(n=100, res=20.0) -> Surface:
    return make_surface(np.zeros((n, n)), res=res)


def pv_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    """PV table as read_pv returns it, from dicts with x_m, y_m (or geometry) and columns."""
    out = []
    for r in rows:
        r = dict(r)
        geom = r.pop("geometry", None) or Point(r.pop("x_m"), r.pop("y_m"))
        base = {"kwp": 0.4 * r.get("n_devices", 1), "emission_db_over_limit": 0.0,
                "n_devices": 1.0, "eirp_dbm_per_25khz": np.nan, "h_agl_m": np.nan,
                "mitigated": False}
        base.update(r)
        base["geometry"] = geom
        out.append(base)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=RD)


def masts_frame(rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        base = {"gain_dbi": 0.0, "rx_loss_db": 0.0, "azimuth_deg": np.nan, "tilt_deg": 0.0,
                "pattern": None, "h_agl_m": 30.0}
        base.update(r)
        out.append(base)
    return pd.DataFrame(out)


def centre(surface: Surface, row: int, col: int) -> tuple[float, float]:
    x, y = surface.grid.xy(row, col)
    return float(x), float(y)


def run_ul(pv, masts, surface, model=FSPL, cfg=CFG, prune=True, sun_factor=None):
    eff = itf.effective_pv(pv, cfg, RADIO)
    src = itf.pv_sources(eff, surface, cfg, sun_factor=sun_factor)
    return itf.uplink_interference(src, masts, surface, model, RADIO, cfg, prune=prune)


# --------------------------------------------------------------------------- emission


def test_device_eirp_from_the_class_b_limit():
    # 37 dBuV/m at 10 m: EIRP = 37 - (10 log10(30) + 90) + 20 log10(10)
    #                         = 37 - 104.7712 + 20 = -47.7712 dBm per 120 kHz;
    # in 25 kHz: -47.7712 + 10 log10(25 / 120) = -47.7712 - 6.8124 = -54.5836 dBm.
    assert itf.device_eirp_dbm(CFG, 120.0) == pytest.approx(-47.7712, abs=1e-4)
    assert itf.device_eirp_dbm(CFG, 25.0) == pytest.approx(-54.5836, abs=1e-4)


def test_installation_eirp_sums_devices_excess_and_measured_override():
    pv = pv_frame([
        dict(pv_id="A", x_m=X0 + 10, y_m=Y0 + 10, n_devices=100, emission_db_over_limit=20.0),
        dict(pv_id="B", x_m=X0 + 10, y_m=Y0 + 10, n_devices=100, emission_db_over_limit=20.0,
             eirp_dbm_per_25khz=-30.0),
        dict(pv_id="C", x_m=X0 + 10, y_m=Y0 + 10, kwp=10.0, n_devices=np.nan),
    ])
    eff = itf.effective_pv(pv, CFG, RADIO)
    # A: -54.5836 + 20 + 10 log10(100) = -14.5836 dBm
    assert eff["eirp_dbm_per_25khz"][0] == pytest.approx(-14.5836, abs=1e-4)
    assert eff["eirp_dbm_per_25khz"][1] == -30.0
    assert eff["eirp_source"].tolist() == ["limit", "measured", "limit"]
    # B: the excess that the measured EIRP implies: -30 - (-54.5836 + 20) = 4.5836 dB
    assert eff["emission_db_over_limit"][1] == pytest.approx(4.5836, abs=1e-4)
    # C: 10 kWp / 0.4 kWp per device = 25 devices
    assert eff["n_devices"][2] == 25.0


def test_mitigation_caps_the_excess_and_the_measured_value():
    pv = pv_frame([
        dict(pv_id="A", x_m=X0 + 10, y_m=Y0 + 10, n_devices=10, emission_db_over_limit=25.0),
        dict(pv_id="B", x_m=X0 + 10, y_m=Y0 + 10, n_devices=10, eirp_dbm_per_25khz=-20.0),
        dict(pv_id="C", x_m=X0 + 900, y_m=Y0 + 900, n_devices=10, emission_db_over_limit=25.0),
        dict(pv_id="D", x_m=X0 + 10, y_m=Y0 + 10, n_devices=10, emission_db_over_limit=-3.0),
    ])
    cfg = dataclasses.replace(CFG, mitigate_ids=("A", "B", "D"))
    area = gpd.GeoSeries([box(X0 + 800, Y0 + 800, X0 + 1000, Y0 + 1000)], crs=RD)
    eff = itf.effective_pv(pv, cfg, RADIO, mitigate_area=area)
    assert eff["mitigated"].tolist() == [True, True, True, True]
    at_limit = -54.5836 + 10.0
    assert eff["eirp_dbm_per_25khz"][0] == pytest.approx(at_limit, abs=1e-4)
    assert eff["eirp_dbm_per_25khz"][1] == pytest.approx(at_limit, abs=1e-4)
    assert eff["eirp_dbm_per_25khz"][2] == pytest.approx(at_limit, abs=1e-4)
    # already below the limit: mitigation does not raise it
    assert eff["eirp_dbm_per_25khz"][3] == pytest.approx(at_limit - 3.0, abs=1e-4)
    cfg6 = dataclasses.replace(cfg, mitigated_db_over_limit=6.0)
    eff6 = itf.effective_pv(pv, cfg6, RADIO)
    assert eff6["emission_db_over_limit"][0] == 6.0


def test_polygon_is_sampled_on_a_grid_sharing_its_devices():
    s = flat(100)
    poly = box(X0 + 500, Y0 + 500, X0 + 700, Y0 + 600)  # 200 m x 100 m
    pv = pv_frame([dict(pv_id="P", geometry=poly, n_devices=800, emission_db_over_limit=0.0)])
    eff = itf.effective_pv(pv, CFG, RADIO)
    src = itf.pv_sources(eff, s, CFG)
    assert len(src.x_m) == 8  # 4 x 2 points at 50 m
    assert sorted(set(np.round(src.x_m - X0))) == [525.0, 575.0, 625.0, 675.0]
    total_dbm = 10 * math.log10(src.eirp_mw.sum())
    assert total_dbm == pytest.approx(-54.5836 + 10 * math.log10(800), abs=1e-4)
    assert np.all(src.h_agl_m == CFG.park_h_agl_m)
    tiny = pv_frame([dict(pv_id="T", geometry=box(X0 + 500, Y0 + 500, X0 + 510, Y0 + 510))])
    assert len(itf.pv_sources(itf.effective_pv(tiny, CFG, RADIO), s, CFG).x_m) == 1


def test_source_height_from_the_roof():
    ground = np.full((50, 50), 2.0)
    surf = ground.copy()
    surf[10:15, 10:15] = 14.0  # a 12 m building
    s = make_surface(ground, surf)
    x, y = centre(s, 12, 12)
    pv = pv_frame([dict(pv_id="R", x_m=x, y_m=y), dict(pv_id="G", x_m=x + 400, y_m=y),
                   dict(pv_id="H", x_m=x + 400, y_m=y, h_agl_m=7.0)])
    src = itf.pv_sources(itf.effective_pv(pv, CFG, RADIO), s, CFG)
    assert src.h_agl_m.tolist() == [12.5, 2.0, 7.0]


# --------------------------------------------------------------------------- uplink


def test_one_source_free_space_hand_computed():
    s = flat(100)
    xm, ym = centre(s, 50, 20)
    pv = pv_frame([dict(pv_id="A", x_m=xm + 1000.0, y_m=ym, n_devices=1, h_agl_m=10.0)])
    masts = masts_frame([dict(mast_id="M", x_m=xm, y_m=ym, h_agl_m=30.0, gain_dbi=11.0,
                              rx_loss_db=3.0)])
    up = run_ul(pv, masts, s)
    # EIRP = -54.5836 dBm (one device at the limit, 25 kHz)
    # 3-D distance sqrt(1000^2 + 20^2) = 1000.2000 m
    # FSPL = 32.4 + 20 log10(382.5) + 20 log10(1.0002) = 32.4 + 51.6526 + 0.0017 = 84.0544 dB
    # I = -54.5836 - 84.0544 + 11 - 3 = -130.6380 dBm
    # N = 10 log10(1.380649e-23 * 290 * 25e3 * 1e3) + 4 = -129.9958 + 4 = -125.9958 dBm
    # I / N = -4.6422 dB = 0.34338;  D = 10 log10(1.34338) = 1.2820 dB
    row = up.masts.iloc[0]
    assert row["i_dbm"] == pytest.approx(-130.6380, abs=TOL_DB)
    assert row["n_dbm"] == pytest.approx(-125.9958, abs=TOL_DB)
    assert row["d_ul_db"] == pytest.approx(1.2820, abs=TOL_DB)
    assert row["top1_pv_id"] == "A" and row["top1_share_pct"] == pytest.approx(100.0)
    assert row["top2_pv_id"] == "" and math.isnan(row["top2_share_pct"])
    assert up.contributions["loss_db"][0] == pytest.approx(84.0544, abs=TOL_DB)


@pytest.mark.parametrize(("excess_db", "dist_km"), [(0.0, 0.4586), (30.0, 14.50)])
def test_domain_sanity_one_db_distance(excess_db, dist_km):
    # DOMAIN.md: one device at the limit costs a mast 1 dB at roughly 0.5 km (free space,
    # 0 dBi toward it); 30 dB over the limit reaches over 10 km. D = 1 dB needs
    # I/N = 10 log10(10^0.1 - 1) = -5.8683 dB: I = -125.9958 - 5.8683 = -131.8640 dBm, so
    # FSPL = -54.5836 + excess + 131.8640 = 77.2804 (+30) dB, d = 10^((FSPL - 84.0526)/20) km
    # = 0.4586 km (limit) and 14.501 km (30 dB over).
    s = flat(160, res=100.0)
    xm, ym = centre(s, 80, 3)
    pv = pv_frame([dict(pv_id="A", x_m=xm + dist_km * 1000.0, y_m=ym, n_devices=1,
                        emission_db_over_limit=excess_db, h_agl_m=30.0)])
    masts = masts_frame([dict(mast_id="M", x_m=xm, y_m=ym, h_agl_m=30.0)])
    assert run_ul(pv, masts, s).d_ul_db[0] == pytest.approx(1.0, abs=0.01)


def test_two_colocated_sources_add_3_01_db():
    s = flat(100)
    xm, ym = centre(s, 50, 20)
    one = pv_frame([dict(pv_id="A", x_m=xm + 800, y_m=ym + 300, n_devices=20)])
    two = pv_frame([dict(pv_id="A", x_m=xm + 800, y_m=ym + 300, n_devices=20),
                    dict(pv_id="B", x_m=xm + 800, y_m=ym + 300, n_devices=20)])
    masts = masts_frame([dict(mast_id="M", x_m=xm, y_m=ym)])
    for model in (FSPL, P1812):
        i1 = run_ul(one, masts, s, model).masts["i_dbm"][0]
        i2 = run_ul(two, masts, s, model).masts["i_dbm"][0]
        assert i2 - i1 == pytest.approx(10 * math.log10(2), abs=1e-9)  # 3.0103 dB


def town(seed=1, n=120, res=20.0) -> Surface:
    """Gentle random terrain with random building blocks."""
    rng = np.random.default_rng(seed)
    ground = np.cumsum(np.cumsum(rng.normal(0, 0.05, (n, n)), 0), 1)
    ground -= ground.min()
    surf = ground + np.where(rng.random((n, n)) < 0.15, rng.uniform(4, 20, (n, n)), 0.0)
    return make_surface(ground, surf, res)


def random_pv(surface: Surface, n: int, seed: int, excess_db=None,
              max_devices=60) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = surface.grid.bounds_m
    x = rng.uniform(xmin + 1, xmax - 1, n)
    y = rng.uniform(ymin + 1, ymax - 1, n)
    ndev = rng.integers(1, max_devices + 1, n).astype(float)
    exc = (np.where(rng.random(n) < 0.1, rng.uniform(15, 30, n), 0.0) if excess_db is None
           else np.full(n, float(excess_db)))
    return pv_frame([dict(pv_id=f"P{i:03d}", x_m=x[i], y_m=y[i], n_devices=ndev[i],
                          emission_db_over_limit=exc[i]) for i in range(n)])


def some_masts(surface: Surface, pts=((0.2, 0.2, 40.0), (0.5, 0.75, 30.0), (0.8, 0.3, 25.0))
               ) -> pd.DataFrame:
    """Omni 11 dBi masts at fractions (row, col) of the grid, with their heights."""
    h, w = surface.grid.shape
    pts = [(int(fr * h), int(fc * w), hm) for fr, fc, hm in pts]
    return masts_frame([dict(mast_id=f"M{k}", x_m=centre(surface, r, c)[0],
                             y_m=centre(surface, r, c)[1], h_agl_m=h, gain_dbi=11.0,
                             rx_loss_db=3.0) for k, (r, c, h) in enumerate(pts)])


def test_pruning_changes_no_mast_by_more_than_0_01_db():
    # 60 km x 60 km at 200 m, small installations: far ones fit in the pruning budget
    # (their bounds summed stay 30 dB below N)
    s = town(seed=2, n=300, res=200.0)
    pv = random_pv(s, 300, seed=5, max_devices=3)
    masts = some_masts(s, ((0.05, 0.05, 30.0), (0.95, 0.1, 40.0), (0.5, 0.95, 25.0)))
    pruned = run_ul(pv, masts, s, P1812, prune=True)
    full = run_ul(pv, masts, s, P1812, prune=False)
    assert (full.masts["n_pruned"] == 0).all()
    assert pruned.masts["n_pruned"].sum() > 0  # the test exercises pruning
    assert np.all(np.abs(pruned.d_ul_db - full.d_ul_db) < 0.01)
    # the bound: 10 log10(1 + 10^-3) = 0.0043 dB
    assert np.all(np.abs(pruned.d_ul_db - full.d_ul_db) <= 0.0044)


def test_pruning_budget_keeps_largest_sources():
    bound = np.array([5.0, 1.0, 0.5, 0.2, 3.0])
    # sorted: 0.2, 0.5, 1.0, 3.0, 5.0; cumulative 0.2, 0.7, 1.7: budget 1.7 drops three
    assert itf.prune_mask(bound, 1.7).tolist() == [True, False, False, False, True]
    assert itf.prune_mask(bound, 0.1).all()
    assert itf.prune_mask(bound, -1.0).all()


@pytest.mark.parametrize("model", [FSPL, P1812])
def test_more_emission_more_noise_and_night_is_exactly_zero(model):
    s = town(seed=3, n=60)
    masts = some_masts(s).iloc[:1]
    d_ul, d_dl = [], []
    for exc in (0.0, 10.0, 20.0):
        pv = random_pv(s, 5, seed=8, excess_db=exc)
        eff = itf.effective_pv(pv, CFG, RADIO)
        src = itf.pv_sources(eff, s, dataclasses.replace(CFG, dl_max_radius_m=400.0))
        d_ul.append(itf.uplink_interference(src, masts, s, model, RADIO, CFG).d_ul_db[0])
        d_dl.append(itf.downlink_noise_rise_db(
            src, s, model, RADIO, dataclasses.replace(CFG, dl_max_radius_m=400.0)))
    assert 0 < d_ul[0] < d_ul[1] < d_ul[2]
    assert np.all(d_dl[1] >= d_dl[0]) and np.all(d_dl[2] >= d_dl[1])
    assert np.nanmax(d_dl[0]) > 0.1 and np.nanmax(d_dl[2]) > np.nanmax(d_dl[1]) + 1.0
    # night: no emission at all, exactly zero rise, no -inf anywhere
    eff = itf.effective_pv(random_pv(s, 5, seed=8, excess_db=30.0), CFG, RADIO)
    night = itf.pv_sources(eff, s, CFG, sun_factor=0.0)
    up = itf.uplink_interference(night, masts, s, model, RADIO, CFG)
    assert up.d_ul_db.tolist() == [0.0]
    assert math.isnan(up.masts["i_dbm"][0]) and up.masts["n_sources"][0] == 0
    assert up.masts["top1_pv_id"][0] == ""
    dl = itf.downlink_noise_rise_db(night, s, model, RADIO, CFG)
    assert dl.dtype == np.float32 and np.all(dl == 0.0)


def test_sun_factor_scales_emission():
    s = flat(60)
    xm, ym = centre(s, 30, 5)
    pv = pv_frame([dict(pv_id="A", x_m=xm + 600, y_m=ym, n_devices=50)])
    masts = masts_frame([dict(mast_id="M", x_m=xm, y_m=ym)])
    i1 = run_ul(pv, masts, s).masts["i_dbm"][0]
    i_half = run_ul(pv, masts, s, sun_factor=0.5).masts["i_dbm"][0]
    assert i1 - i_half == pytest.approx(10 * math.log10(2), abs=1e-9)


def test_mitigating_the_top_contributor_lowers_i_by_its_excess_share():
    s = town(seed=4, n=100)
    masts = some_masts(s)
    xm, ym = masts["x_m"][0], masts["y_m"][0]
    hot = pv_frame([dict(pv_id="HOT", x_m=xm + 300, y_m=ym - 200, n_devices=40, h_agl_m=25.0,
                         emission_db_over_limit=25.0)])
    pv = pd.concat([random_pv(s, 40, seed=9), hot], ignore_index=True)
    before = run_ul(pv, masts, s, P1812, prune=False)
    row = before.masts.iloc[0]
    top = row["top1_pv_id"]
    assert top == "HOT" and row["top1_share_pct"] > 50
    excess = 25.0
    cfg = dataclasses.replace(CFG, mitigate_ids=(top,))
    after = run_ul(pv, masts, s, P1812, cfg=cfg, prune=False)
    i_before = 10 ** (row["i_dbm"] / 10)
    i_top = i_before * row["top1_share_pct"] / 100
    # the top source keeps emitting at the limit: i_top * 10^(-excess/10)
    expected = i_before - i_top + i_top * 10 ** (-excess / 10)
    assert 10 ** (after.masts["i_dbm"][0] / 10) == pytest.approx(expected, rel=1e-9)
    # the reduction is the top source's share less what it still emits at the limit
    reduction = i_before - 10 ** (after.masts["i_dbm"][0] / 10)
    assert reduction >= i_top * (1 - 10 ** (-excess / 10)) * (1 - 1e-9)
    assert row["top1_share_pct"] > 90 and after.d_ul_db[0] < before.d_ul_db[0] - 10.0


def test_pattern_gain_toward_the_source():
    from c2000cov.files.msi import AntennaPattern

    h_att = np.full(360, 25.0)
    h_att[:60] = 0.0
    h_att[300:] = 0.0  # 25 dB down outside +-60 degrees
    pat = AntennaPattern("sector", 14.0, 390.0, h_att, np.zeros(360))
    s = flat(100)
    xm, ym = centre(s, 50, 50)
    pv = pv_frame([dict(pv_id="E", x_m=xm + 800, y_m=ym, n_devices=10, h_agl_m=30.0)])
    omni = masts_frame([dict(mast_id="M", x_m=xm, y_m=ym, gain_dbi=12.0)])
    east = omni.assign(azimuth_deg=90.0, pattern="p")
    west = omni.assign(azimuth_deg=270.0, pattern="p")
    eff = itf.effective_pv(pv, CFG, RADIO)
    src = itf.pv_sources(eff, s, CFG)
    i = [itf.uplink_interference(src, m, s, FSPL, RADIO, CFG, {"p": pat}).masts["i_dbm"][0]
         for m in (omni, east, west)]
    assert i[1] == pytest.approx(i[0], abs=1e-9)  # boresight: the masts file's 12 dBi
    assert i[2] == pytest.approx(i[0] - 25.0, abs=1e-9)


# --------------------------------------------------------------------------- point loss


def test_point_loss_equals_the_area_kernel_along_its_rays():
    s = town(seed=6, n=121)
    m = dataclasses.replace(P1812, radius_m=1150.0)
    geom = MastGeometry(60, 60, float(s.ground_m[60, 60]), 30.0)
    window, area = path_loss_db(m, s, geom, 382.5, 10.0)
    xm, ym = centre(s, 60, 60)
    ks = np.arange(1, 58)
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        rr, cc = 60 + dr * ks, 60 + dc * ks
        x, y = s.grid.xy(rr, cc)
        pl = point_loss_db(m, s, xm, ym, 30.0, x, y, 10.0, 382.5)
        al = area[rr - window.row_off, cc - window.col_off]
        assert np.all(np.isfinite(pl))
        np.testing.assert_allclose(pl, al, atol=1e-4)  # float32 output of the area kernel


def test_point_loss_flat_ground_is_free_space():
    s = flat(150, res=20.0)
    x0, y0 = centre(s, 75, 10)
    # 30 m and 30 m antennas 1 km apart over flat ground: clear line of sight,
    # first Fresnel radius at mid-path sqrt(0.784 * 500 * 500 / 1000) = 14 m < 30 m.
    fs = 32.4 + 20 * math.log10(382.5) + 20 * math.log10(1.0)  # 84.0526 dB
    p = point_loss_db(P1812, s, x0, y0, 30.0, x0 + 1000.0, y0, 30.0, 382.5)
    f = point_loss_db(FSPL, s, x0, y0, 30.0, x0 + 1000.0, y0, 30.0, 382.5)
    assert f == pytest.approx(fs, abs=1e-9)
    assert p == pytest.approx(fs, abs=TOL_DB)
    # a 2 m source 2.5 km from a 30 m mast: the ground fills the first Fresnel zone
    # (22 m at mid-path, ray at 16 m) and the spherical-Earth term of P.1812 gives close
    # to the plane-earth two-ray loss 40 log10(2500) - 20 log10(2 * 30) = 100.355 dB,
    # 8.3 dB over free space (92.012 dB).
    p2 = point_loss_db(P1812, s, x0, y0, 2.0, x0 + 2500.0, y0, 30.0, 382.5)
    f2 = point_loss_db(FSPL, s, x0, y0, 2.0, x0 + 2500.0, y0, 30.0, 382.5)
    assert f2 == pytest.approx(92.012, abs=TOL_DB)
    assert p2 == pytest.approx(100.355, abs=0.5)
    assert p2 == pytest.approx(99.998, abs=TOL_DB)  # regression value of this code


def test_point_loss_behind_a_wall_is_knife_edge_diffraction():
    ground = np.zeros((20, 150))
    surf = ground.copy()
    surf[:, 75] = 60.0  # a 60 m wall one pixel wide across the path, at 1000 m from each end
    s = make_surface(ground, surf)
    x0, y0 = centre(s, 10, 25)
    x1 = x0 + 2000.0
    loss = float(point_loss_db(P1812, s, x0, y0, 30.0, x1, y0, 30.0, 382.5))
    fs = float(point_loss_db(FSPL, s, x0, y0, 30.0, x1, y0, 30.0, 382.5))
    # Hand calculation, P.1812-8 eqs. (13)-(20): the wall rises 60 - 30 = 30 m above the
    # ray, plus the Earth bulge 500 * 1 * 1 / 8495 = 0.0589 m (k = 4/3);
    # lambda = 0.2998 / 0.3825 = 0.78379 m;
    # nu = 30.0589 * sqrt(0.002 * 2 / (0.78379 * 1 * 1)) = 2.14735;
    # J(nu) = 6.9 + 20 log10(sqrt(2.04735^2 + 1) + 2.04735) = 6.9 + 12.7215 = 19.6215 dB;
    # Lbulla = J + (1 - exp(-J / 6)) (10 + 0.02 * 2) = 19.6215 + 9.6585 = 29.2800 dB.
    # The smooth-Earth part: flat ground (the wall is clutter, not terrain), 30 m antennas,
    # 2 km: the flat-ground path is free space (see the test above), Ldsph - Lbulls = 0.
    nu = 30.0589 * math.sqrt(0.002 * 2.0 / (0.2998 / 0.3825))
    j = fresnel_j_db(nu)
    assert j == pytest.approx(19.6215, abs=1e-3)
    assert loss - fs == pytest.approx(j + (1 - math.exp(-j / 6)) * 10.04, abs=TOL_DB)
    assert loss - fs == pytest.approx(29.2800, abs=TOL_DB)
    flat_loss = float(point_loss_db(P1812, flat(150), x0, y0, 30.0, x1, y0, 30.0, 382.5))
    assert flat_loss == pytest.approx(fs, abs=TOL_DB)


def test_point_loss_hata_uses_the_mast_as_base():
    from c2000cov.radio.itu import hata

    s = flat(150, res=20.0)
    x0, y0 = centre(s, 75, 10)
    m = ModelConfig(name="hata", hata_environment="urban")
    got = point_loss_db(m, s, x0 + 2000.0, y0, 5.0, x0, y0, 40.0, 382.5)
    assert got == pytest.approx(hata.hata_loss_db(382.5, 2.0, 40.0, 5.0, "urban"), abs=1e-9)


def test_point_loss_outside_the_grid_is_nan():
    s = flat(20)
    x0, y0 = centre(s, 10, 10)
    assert np.isnan(point_loss_db(P1812, s, x0, y0, 10.0, x0 - 5000.0, y0, 30.0, 382.5))


# --------------------------------------------------------------------------- downlink


def test_downlink_noise_rise_hand_computed_in_free_space():
    s = flat(60)
    xs, ys = centre(s, 30, 30)
    pv = pv_frame([dict(pv_id="A", x_m=xs, y_m=ys, n_devices=10, h_agl_m=1.5,
                        emission_db_over_limit=20.0)])
    src = itf.pv_sources(itf.effective_pv(pv, CFG, RADIO), s, CFG)
    d = itf.downlink_noise_rise_db(src, s, FSPL, RADIO, CFG, h_rx_m=1.5, rx_gain_db=-8.0)
    # pixel 10 columns east: 200 m, same height. EIRP = -54.5836 + 20 + 10 = -24.5836 dBm
    # FSPL(392.5 MHz, 0.2 km) = 32.4 + 51.8768 - 13.9794 = 70.2974 dB
    # I = -24.5836 - 70.2974 - 8 = -102.8810 dBm; N_ms = -129.9958 + 7 = -122.9958 dBm
    # I/N = 20.1148 dB -> D = 10 log10(1 + 102.68) = 20.157 dB
    assert d[30, 40] == pytest.approx(20.157, abs=TOL_DB)
    assert d.dtype == np.float32 and d.shape == s.grid.shape


def test_downlink_radius_is_capped_and_conservative():
    cfg = dataclasses.replace(CFG, dl_max_radius_m=3000.0)
    n_ms = -122.9958
    # one device at the limit, -8 dB terminal: the bound falls 30 dB below N_ms where
    # FSPL = -54.5836 - 8 + 122.9958 + 30 = 90.4122 dB -> d = 10^((90.4122 - 84.2768)/20)
    # = 2.027 km at 392.5 MHz; on a 20 m grid: 2040 m.
    r = itf.dl_radius_m([-54.5836, -20.0, -300.0], -8.0, n_ms, FSPL, 5.0, 1.5, 392.5, cfg, 20.0)
    assert r.tolist() == [2040.0, 3000.0, 20.0]


# --------------------------------------------------------------------------- bad input


def _scenario(tmp_path, interference: dict):
    data = {"scenario": {"name": "x", "resolution_m": 20.0}, "terrain": {"dtm": "dtm.tif"},
            "masts": {"path": "masts.csv"}, "interference": interference}
    return scenario_from_dict(data, tmp_path / "s.toml")


def test_config_interference_keys(tmp_path):
    scen = _scenario(tmp_path, {"mitigate_ids": ["ROOF1", "PARK2"], "prune_margin_db": 20,
                                "mitigate_within": "zone.gpkg"})
    assert scen.interference.mitigate_ids == ("ROOF1", "PARK2")
    assert scen.interference.mitigate_within == (tmp_path / "zone.gpkg").resolve()
    with pytest.raises(ScenarioError,
                       match=r"interference.sun_factor must be between 0 .* got 1.5"):
        _scenario(tmp_path, {"sun_factor": 1.5})
    with pytest.raises(ScenarioError, match=r"interference.mitigate_ids must be a list of strings"):
        _scenario(tmp_path, {"mitigate_ids": "ROOF1"})
    with pytest.raises(ScenarioError, match=r"interference.mitigate_ids\[1\] must be a string"):
        _scenario(tmp_path, {"mitigate_ids": ["ROOF1", 3]})
    with pytest.raises(ScenarioError, match=r"interference.park_sample_m must be > 0, got -5"):
        _scenario(tmp_path, {"park_sample_m": -5.0})
    with pytest.raises(ScenarioError, match=r"interference.prune_margin_db must be >= 0"):
        _scenario(tmp_path, {"prune_margin_db": -1.0})
    with pytest.raises(ScenarioError, match=r"unknown key interference.radius_m"):
        _scenario(tmp_path, {"radius_m": 3.0})


def test_bad_pv_values_name_the_installation(tmp_path):
    pv = pv_frame([dict(pv_id="OK", x_m=X0, y_m=Y0), dict(pv_id="BAD", x_m=X0, y_m=Y0,
                                                          n_devices=0.0)])
    with pytest.raises(InvalidInputError, match=r"pv_id BAD\): n_devices must be > 0, got 0"):
        itf.effective_pv(pv, CFG, RADIO)
    pv = pv_frame([dict(pv_id="A", x_m=X0, y_m=Y0)])
    with pytest.raises(InvalidInputError, match=r"mitigate_ids: pv_id 'NOPE' is not in the PV"):
        itf.effective_pv(pv, dataclasses.replace(CFG, mitigate_ids=("NOPE",)), RADIO)
    with pytest.raises(InvalidInputError, match=r"sun_factor must be between 0 .* got 2"):
        itf.pv_sources(itf.effective_pv(pv, CFG, RADIO), flat(10), CFG, sun_factor=2.0)
    neg = pv_frame([dict(pv_id="N", x_m=X0 + 10, y_m=Y0 + 10, kwp=-3.0)])
    neg.to_file(tmp_path / "pv.geojson", driver="GeoJSON")
    from rasterio.crs import CRS

    with pytest.raises(InvalidInputError, match=r"pv_id N\): kwp must be > 0, got -3"):
        read_pv(tmp_path / "pv.geojson", CRS.from_user_input(RD))


def test_sources_outside_the_grid_are_dropped_with_a_warning():
    s = flat(20)
    pv = pv_frame([dict(pv_id="IN", x_m=X0 + 100, y_m=Y0 + 100),
                   dict(pv_id="OUT", x_m=X0 - 5000, y_m=Y0)])
    with pytest.warns(UserWarning, match=r"1 source points of 1 installations \(e.g. OUT\)"):
        src = itf.pv_sources(itf.effective_pv(pv, CFG, RADIO), s, CFG)
    assert src.n_dropped == 1 and src.inst.tolist() == [0]


def _profile_twin(surface_m, ground_m, r0, c0, r1, c1, pixel_m):
    """Slow twin of kernels.profile.path_profile: the module docstring's rules, one by one."""
    rows, cols = ground_m.shape
    dist_px = math.hypot(r1 - r0, c1 - c0)
    n = max(2, math.ceil(dist_px) + 1)
    d, h, g = [], [], []
    last_ground = float("nan")
    for j in range(n):
        t = j / (n - 1)
        r = min(max(math.floor(r0 + t * (r1 - r0)), 0), rows - 1)
        c = min(max(math.floor(c0 + t * (c1 - c0)), 0), cols - 1)
        gr = float(ground_m[r, c])
        gr = gr if not math.isnan(gr) else last_ground
        sf = float(surface_m[r, c])
        d.append(t * dist_px * pixel_m / 1000.0)
        g.append(gr)
        h.append(sf if not math.isnan(sf) else gr)
        last_ground = gr
    h[0], h[-1] = g[0], g[-1]
    return np.array(d), np.array(h), np.array(g)


def test_path_profile_matches_a_slow_twin():
    from c2000cov.kernels.profile import path_profile

    rng = np.random.default_rng(11)
    ground = rng.uniform(0, 30, (40, 50))
    surface = ground + np.where(rng.random((40, 50)) < 0.3, 12.0, 0.0)
    ground[rng.random((40, 50)) < 0.05] = np.nan
    surface[rng.random((40, 50)) < 0.05] = np.nan
    ground[[5, 30], [5, 40]] = 1.0  # finite terminals
    for r0, c0, r1, c1 in [(5.5, 5.5, 30.5, 40.5), (5.2, 5.9, 30.1, 40.7), (30.5, 40.5, 5.5, 5.5),
                           (5.5, 5.5, 5.9, 5.1)]:
        got = path_profile(surface, ground, r0, c0, r1, c1, 20.0)
        want = _profile_twin(surface, ground, r0, c0, r1, c1, 20.0)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    d, h, g = path_profile(surface, ground, 5.5, 5.5, 30.5, 40.5, 20.0)
    assert len(d) == math.ceil(math.hypot(25, 35)) + 1 and d[-1] == pytest.approx(
        math.hypot(25, 35) * 0.02)
    # a no-data terminal makes the whole profile NaN
    ground[12, 12] = np.nan
    _, h, g = path_profile(surface, ground, 12.5, 12.5, 30.5, 40.5, 20.0)
    assert np.isnan(h).all() and np.isnan(g).all()


def test_mitigate_within_file_and_bad_geometry(tmp_path):
    from rasterio.crs import CRS
    from shapely.geometry import LineString

    zone = gpd.GeoDataFrame({"name": ["z"]}, geometry=[box(X0, Y0, X0 + 500, Y0 + 500)], crs=RD)
    zone.to_file(tmp_path / "zone.gpkg", driver="GPKG")
    area = itf.read_mitigation_area(tmp_path / "zone.gpkg", CRS.from_user_input(RD))
    pv = pv_frame([dict(pv_id="IN", x_m=X0 + 100, y_m=Y0 + 100, emission_db_over_limit=20.0),
                   dict(pv_id="OUT", x_m=X0 + 900, y_m=Y0 + 100, emission_db_over_limit=20.0)])
    eff = itf.effective_pv(pv, CFG, RADIO, mitigate_area=area)
    assert eff["mitigated"].tolist() == [True, False]
    assert eff["emission_db_over_limit"].tolist() == [0.0, 20.0]
    lines = gpd.GeoDataFrame(geometry=[LineString([(X0, Y0), (X0 + 10, Y0)])], crs=RD)
    lines.to_file(tmp_path / "lines.gpkg", driver="GPKG")
    with pytest.raises(InvalidInputError, match=r"mitigate_within must hold polygons, got Line"):
        itf.read_mitigation_area(tmp_path / "lines.gpkg", CRS.from_user_input(RD))
    bad = pv_frame([dict(pv_id="L", geometry=LineString([(X0, Y0), (X0 + 10, Y0)]))])
    with pytest.raises(InvalidInputError, match=r"pv_id L\) must be a point or a polygon"):
        itf.pv_sources(itf.effective_pv(bad, CFG, RADIO), flat(10), CFG)


def test_emission_corrections_move_i_by_exactly_their_db():
    """[interference] ground_reflection_db and qp_to_rms_db: with both 0 the model is the
    uncorrected one (the hand value of test_one_source_free_space_hand_computed); each
    lowers the interference I by exactly its dB, and the noise rise follows from I / N."""
    s = flat(100)
    xm, ym = centre(s, 50, 20)
    pv = pv_frame([dict(pv_id="A", x_m=xm + 1000.0, y_m=ym, n_devices=1, h_agl_m=10.0)])
    masts = masts_frame([dict(mast_id="M", x_m=xm, y_m=ym, h_agl_m=30.0, gain_dbi=11.0,
                              rx_loss_db=3.0)])
    zero = dataclasses.replace(CFG, ground_reflection_db=0.0, qp_to_rms_db=0.0)
    row = run_ul(pv, masts, s, cfg=zero).masts.iloc[0]
    assert row["i_dbm"] == pytest.approx(-130.6380, abs=TOL_DB)
    assert row["d_ul_db"] == pytest.approx(1.2820, abs=TOL_DB)
    for refl_db, qp_db in ((6.0, 0.0), (0.0, 3.0), (6.0, 3.0)):
        cfg = dataclasses.replace(CFG, ground_reflection_db=refl_db, qp_to_rms_db=qp_db)
        moved = run_ul(pv, masts, s, cfg=cfg).masts.iloc[0]
        assert moved["i_dbm"] == pytest.approx(row["i_dbm"] - refl_db - qp_db, abs=1e-9)
        i_over_n = 10.0 ** ((moved["i_dbm"] - moved["n_dbm"]) / 10.0)
        assert moved["d_ul_db"] == pytest.approx(10.0 * math.log10(1.0 + i_over_n), abs=1e-9)
    # the defaults: 6 dB ground reflection and 3 dB quasi-peak to RMS (-63.5836 dBm EIRP)
    assert InterferenceConfig().ground_reflection_db == 6.0
    assert InterferenceConfig().qp_to_rms_db == 3.0
    assert itf.device_eirp_dbm(InterferenceConfig(), 25.0) == pytest.approx(-63.5836, abs=1e-4)


def test_interference_time_pct_other_than_50_is_refused(tmp_path):
    assert _scenario(tmp_path, {"time_pct": 50.0}).interference.time_pct == 50.0
    with pytest.raises(ScenarioError, match="interference.time_pct = 10: the interference "
                       "paths are computed at 50 % time only"):
        _scenario(tmp_path, {"time_pct": 10.0})
    with pytest.raises(ScenarioError, match="interference.qp_to_rms_db must be a correction "
                       ">= 0 dB"):
        _scenario(tmp_path, {"qp_to_rms_db": -3.0})
