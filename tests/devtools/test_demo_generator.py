"""Tests of data/generate_demo.py: generate once per module, read the files back."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from c2000cov.files.masts import MAST_COLUMNS
from tests.scenarios import REPO

GENERATOR = REPO / "data" / "generate_demo.py"
REGION = (140000.0, 440000.0, 160000.0, 456000.0)  # RD New: x_min, y_min, x_max, y_max


def _load_generator():
    spec = importlib.util.spec_from_file_location("c2000cov_generate_demo", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return _load_generator()


@pytest.fixture(scope="module")
def demo(gen, tmp_path_factory) -> dict[str, Path]:
    return gen.generate(tmp_path_factory.mktemp("demo"), seed=gen.SEED_DEFAULT)


@pytest.fixture(scope="module")
def dtm(demo) -> np.ndarray:
    with rasterio.open(demo["dtm"]) as ds:
        return ds.read(1)


@pytest.fixture(scope="module")
def landcover(demo) -> np.ndarray:
    with rasterio.open(demo["landcover"]) as ds:
        return ds.read(1)


@pytest.fixture(scope="module")
def buildings(demo) -> gpd.GeoDataFrame:
    return gpd.read_file(demo["buildings"], layer="buildings")


@pytest.fixture(scope="module")
def masts(demo) -> pd.DataFrame:
    return pd.read_csv(demo["masts"])


@pytest.fixture(scope="module")
def pv(demo) -> gpd.GeoDataFrame:
    return gpd.read_file(demo["pv"])


def _cell(x_m, y_m):
    """Row and column of RD points in the demo grid."""
    col = np.floor((np.asarray(x_m) - REGION[0]) / 10.0).astype(int)
    row = np.floor((REGION[3] - np.asarray(y_m)) / 10.0).astype(int)
    return row, col


def _box(array, x0, x1, y0, y1):
    r0, c0 = _cell(x0, y1)
    r1, c1 = _cell(x1, y0)
    return array[r0:r1, c0:c1]


def test_all_products_written_without_leftovers(gen, demo):
    assert set(demo) == set(gen.PRODUCTS)
    folder = demo["dtm"].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(gen.FILE_NAMES.values())


@pytest.mark.parametrize(
    ("product", "dtype", "nodata"), [("dtm", "float32", -9999.0), ("landcover", "uint8", 0)]
)
def test_raster_georeference(demo, product, dtype, nodata):
    with rasterio.open(demo[product]) as ds:
        assert ds.crs.to_epsg() == 28992
        assert (ds.height, ds.width) == (1600, 2000)
        assert ds.res == (10.0, 10.0)
        assert tuple(ds.bounds) == REGION
        assert ds.nodata == nodata
        assert ds.dtypes[0] == dtype
        assert ds.descriptions[0]


def test_dtm_heights(dtm, landcover):
    assert not np.any(dtm == -9999.0)
    # push moraine summit
    assert 60.0 <= dtm.max() <= 100.0
    # a polder block west of the town, away from canal, village and river
    polder = _box(dtm, 142500, 146500, 446800, 451000)[
        _box(landcover, 142500, 146500, 446800, 451000) == 2
    ]
    assert -2.0 <= np.median(polder) <= 0.0
    assert np.percentile(polder, 2) >= -2.6
    assert np.percentile(polder, 98) <= 0.5
    # river surface about 0 m NAP
    water = dtm[landcover == 1]
    assert 0.01 < water.size / dtm.size < 0.05
    assert -0.5 <= np.median(water) <= 0.5
    # dikes: a N-S transect across the river peaks at about 5 m NAP
    _, col = _cell(153000.0, 0.0)
    r_top, _ = _cell(0.0, 444500.0)
    assert 4.5 <= dtm[r_top:, col].max() <= 6.5


def test_landcover_codes(landcover, dtm):
    codes, counts = np.unique(landcover, return_counts=True)
    assert set(codes) == {1, 2, 3, 4, 5}
    share = dict(zip(codes.tolist(), (counts / landcover.size).tolist(), strict=True))
    assert share[2] > 0.5  # mostly rural
    assert share[4] > 0.1  # forest
    # forest mostly on the ridge
    assert np.median(dtm[landcover == 4]) > 20.0


def test_buildings_schema_and_geometry(buildings):
    assert buildings.crs.to_epsg() == 28992
    for col in (
        "identificatie",
        "b3_h_maaiveld",
        "b3_h_dak_70p",
        "oorspronkelijkbouwjaar",
        "height_m",
        "kind",
    ):
        assert col in buildings.columns
    assert 4000 <= len(buildings) <= 6000
    assert buildings["identificatie"].is_unique
    assert buildings["identificatie"].str.match(r"^NL\.IMBAG\.Pand\.\d{16}$").all()
    geoms = buildings.geometry.values
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 3).all()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert np.sum(left != right) == 0
    xmin, ymin, xmax, ymax = buildings.total_bounds
    assert xmin > REGION[0] and ymin > REGION[1] and xmax < REGION[2] and ymax < REGION[3]


def test_building_heights_and_years(buildings, dtm):
    np.testing.assert_allclose(
        buildings["b3_h_dak_70p"] - buildings["b3_h_maaiveld"], buildings["height_m"], atol=0.011
    )
    c = buildings.geometry.centroid
    row, col = _cell(c.x.to_numpy(), c.y.to_numpy())
    np.testing.assert_allclose(buildings["b3_h_maaiveld"], dtm[row, col], atol=0.006)
    expected = {  # kind: (height range m, count range)
        "residential": ((6.0, 15.0), (3000, 5500)),
        "centre": ((20.0, 60.0), (100, 800)),
        "tower": ((80.0, 100.0), (3, 5)),
        "warehouse": ((8.0, 14.0), (30, 200)),
        "greenhouse": ((5.0, 7.0), (30, 200)),
        "farm": ((6.0, 12.0), (100, 400)),
    }
    assert set(buildings["kind"]) == set(expected)
    for kind, ((h_lo, h_hi), (n_lo, n_hi)) in expected.items():
        h = buildings.loc[buildings["kind"] == kind, "height_m"]
        assert n_lo <= len(h) <= n_hi, kind
        assert h.min() >= h_lo and h.max() <= h_hi, kind
    big = buildings.geometry.area
    assert big[buildings["kind"] == "greenhouse"].median() > 5000.0
    assert big[buildings["kind"] == "warehouse"].median() > 2000.0
    year = buildings["oorspronkelijkbouwjaar"]
    assert year.min() >= 1900 and year.max() <= 2024
    res = buildings[buildings["kind"] == "residential"]
    new_share = (res["oorspronkelijkbouwjaar"] >= 2000).mean()
    assert 0.1 <= new_share <= 0.5
    # newer construction sits in newer (outer) neighbourhoods of the town
    centre = shapely.Point(151800.0, 449200.0)
    d = res.geometry.centroid.distance(centre)
    town = res[d < 2500.0]
    d_town = d[d < 2500.0]
    assert (
        d_town[town["oorspronkelijkbouwjaar"] >= 2000].median()
        > d_town[town["oorspronkelijkbouwjaar"] < 1950].median() + 500.0
    )


def test_masts(masts, buildings):
    assert list(masts.columns) == list(MAST_COLUMNS)
    assert masts["mast_id"].is_unique
    sites = masts.groupby(["x_m", "y_m"])
    assert sites.ngroups == 8
    sector = masts[masts["pattern"].notna()]
    assert list(sector["mast_id"]) == ["M07A", "M07B", "M07C"]
    assert sector[["x_m", "y_m"]].nunique().tolist() == [1, 1]
    assert sorted(sector["azimuth_deg"]) == [0.0, 120.0, 240.0]
    assert (sector["pattern"] == "sector_65.msi").all() and (sector["gain_dbi"] == 14.0).all()
    omni = masts[masts["pattern"].isna()]
    assert len(omni) == 7 and omni["azimuth_deg"].isna().all() and (omni["gain_dbi"] == 11).all()
    assert (masts["tx_power_dbm"] == 44.0).all()
    assert (masts["tx_loss_db"] == 8.0).all() and (masts["rx_loss_db"] == 3.0).all()
    assert masts["h_agl_m"].between(30.0, 60.0).all()
    assert masts["x_m"].between(REGION[0], REGION[2]).all()
    assert masts["y_m"].between(REGION[1], REGION[3]).all()
    # exactly one rooftop site, higher than the building it stands on
    pts = gpd.GeoDataFrame(masts, geometry=gpd.points_from_xy(masts.x_m, masts.y_m), crs=28992)
    on_roof = gpd.sjoin(pts, buildings[["height_m", "geometry"]], predicate="within")
    assert len(on_roof) == 1
    assert (on_roof["h_agl_m"] > on_roof["height_m"]).all()
    # network-like spacing, and the area behind the ridge (NE) has no site
    xy = sites.size().index.to_frame().to_numpy()
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(dist, np.inf)
    assert 3000.0 <= dist.min(axis=1).min() and dist.min(axis=1).max() <= 8000.0
    assert not ((xy[:, 0] > 153000.0) & (xy[:, 1] > 450000.0)).any()


def test_sector_pattern(demo):
    lines = demo["pattern"].read_text().splitlines()
    header = dict(line.split(" ", 1) for line in lines[: lines.index("HORIZONTAL 360")])
    assert header["FREQUENCY"] == "390"
    assert header["GAIN"] == "14.0 dBi"
    assert header["TILT"] == "ELECTRICAL 2"
    h0 = lines.index("HORIZONTAL 360")
    v0 = lines.index("VERTICAL 360")
    assert v0 == h0 + 361 and len(lines) == v0 + 361
    hor = np.array([line.split() for line in lines[h0 + 1 : v0]], dtype=float)
    ver = np.array([line.split() for line in lines[v0 + 1 :]], dtype=float)
    np.testing.assert_array_equal(hor[:, 0], np.arange(360))
    np.testing.assert_array_equal(ver[:, 0], np.arange(360))
    h = hor[:, 1]
    assert h[0] == 0.0 and (h >= 0).all()
    # 3 dB at +-32.5 deg: 12 (32/65)^2 = 2.91, 12 (33/65)^2 = 3.09
    assert h[32] == pytest.approx(2.91, abs=0.01) and h[328] == pytest.approx(2.91, abs=0.01)
    assert h[33] == pytest.approx(3.09, abs=0.01)
    assert h[180] == 25.0 and h.max() == 25.0
    v = ver[:, 1]
    assert np.argmin(v) == 2 and v[2] == 0.0  # electrical down-tilt of 2 deg
    assert v[9] < 3.0 < v[10]  # 15 deg beam: -3 dB at 2 +- 7.5 deg
    assert v[90] == 20.0 and v[180] >= 25.0


def test_pv(pv, buildings, masts):
    assert pv.crs.to_epsg() == 28992
    for col in (
        "pv_id",
        "kwp",
        "n_devices",
        "emission_db_over_limit",
        "h_agl_m",
        "mitigated",
        "compliant",
    ):
        assert col in pv.columns
    assert pv["pv_id"].is_unique
    per_device_kwp = np.where(pv["kind"] == "park", 100.0, 0.4)  # inverters vs optimizers
    expected_n = np.maximum(np.round(pv["kwp"] / per_device_kwp), 1)
    faulty_roof = (pv["kind"] == "rooftop") & ~pv["compliant"]
    expected_n[faulty_roof.to_numpy()] = 1  # one defective optimizer per faulty rooftop
    np.testing.assert_array_equal(pv["n_devices"], expected_n)
    assert not pv["mitigated"].any()
    assert (pv["compliant"] == (pv["emission_db_over_limit"] == -20.0)).all()
    faulty = pv[~pv["compliant"]]
    assert faulty.loc[faulty["kind"] == "rooftop",
                      "emission_db_over_limit"].between(20.0, 30.0).all()
    assert (faulty.loc[faulty["kind"] == "park", "emission_db_over_limit"] == 10.0).all()

    parks = pv[pv.geom_type == "Polygon"]
    per_park = parks.groupby("name")["kwp"].sum()
    assert len(per_park) == 3 and per_park.between(5000.0, 20000.0).all()
    assert (parks["h_agl_m"] == 2.0).all()
    partly = parks.groupby("name")["compliant"].agg(["any", "all"])
    assert ((partly["any"]) & ~(partly["all"])).sum() == 1  # one park partly faulty
    assert not parks.intersects(buildings.union_all()).any()

    roofs = pv[pv.geom_type == "Point"]
    assert 250 <= len(roofs) <= 350
    houses = roofs[roofs["kwp"] <= 15.0]
    large = roofs[roofs["kwp"] > 15.0]
    assert houses["kwp"].between(2.0, 15.0).all() and len(houses) > 200
    assert large["kwp"].between(50.0, 500.0).all() and len(large) >= 10
    assert (~roofs["compliant"]).sum() == 6
    assert set(roofs.loc[~roofs["compliant"], "kwp"]) <= set(houses["kwp"])
    bld = buildings[["kind", "height_m", "geometry"]].rename(columns={"kind": "building_kind"})
    on = gpd.sjoin(roofs, bld, predicate="within")
    assert len(on) == len(roofs)
    np.testing.assert_allclose(on["h_agl_m"], on["height_m"])
    assert set(on.loc[on["kwp"] > 15.0, "building_kind"]) == {"warehouse"}
    assert set(on.loc[on["kwp"] <= 15.0, "building_kind"]) == {"residential"}

    # one mast has faulty rooftops 1-3 km away, one a faulty park section
    def faulty_near(x, y):
        d = faulty.geometry.distance(shapely.Point(x, y))
        near = faulty[(d >= 1000.0) & (d <= 3000.0)]
        return (near.geom_type == "Point").sum(), (near.geom_type == "Polygon").sum()

    hits = [faulty_near(x, y) for x, y in masts[["x_m", "y_m"]].drop_duplicates().to_numpy()]
    assert any(n_roof >= 4 for n_roof, _ in hits)
    assert any(n_park >= 1 for _, n_park in hits)


def test_areas(demo):
    areas = gpd.read_file(demo["areas"], layer="areas")
    assert areas.crs.to_epsg() == 28992
    gm = areas[areas["kind"] == "gemeente"]
    mk = areas[areas["kind"] == "meldkamer"]
    assert 3 <= len(gm) <= 4 and len(mk) == 1
    assert gm["name"].str.startswith("Gemeente ").all() and gm["code"].is_unique
    mk_geom = mk.geometry.iloc[0]
    union = gm.union_all()
    assert union.area == pytest.approx(mk_geom.area, rel=1e-3)
    assert union.symmetric_difference(mk_geom).area <= 1e-3 * mk_geom.area
    assert gm.area.sum() == pytest.approx(mk_geom.area, rel=1e-3)  # no overlaps
    assert mk_geom.area == pytest.approx(20000.0 * 16000.0, rel=1e-3)


def test_roads(demo):
    roads = gpd.read_file(demo["roads"], layer="roads")
    assert roads.crs.to_epsg() == 28992
    assert roads["road_id"].is_unique and (roads.geom_type == "LineString").all()
    assert "motorway" in set(roads["kind"])


def test_deterministic(gen, demo, tmp_path):
    again = gen.generate(tmp_path, seed=gen.SEED_DEFAULT)
    for name, path in demo.items():
        first = hashlib.sha256(path.read_bytes()).hexdigest()
        second = hashlib.sha256(again[name].read_bytes()).hexdigest()
        assert first == second, name


def test_unknown_product_rejected(gen, tmp_path):
    with pytest.raises(ValueError, match="products: unknown"):
        gen.generate(tmp_path, products=["dtm", "clutter"])


def test_drive_test_and_field_reports(gen, demo):
    """The synthetic drive test (#15) as c2000cov reads it: its logging faults counted."""
    from c2000cov.files.measurements import read_field_reports, read_measurements
    from c2000cov.geo.grid import Grid

    grid = Grid.from_bounds(REGION, 10.0, "EPSG:28992")
    ids = pd.read_csv(demo["masts"])["mast_id"].tolist()
    pts = read_measurements(demo["drive_test"], grid, ["in_car"], "in_car", ids)
    bad = gen.DRIVE_BAD_ROWS
    assert {k: v for k, v in pts.rejected.items() if v} == bad
    assert pts.n_rows == len(pts.frame) + sum(bad.values())
    assert len(pts.frame) > 2000
    assert set(pts.frame["profile"]) == {"in_car"}
    assert pts.frame["rssi_dbm"].between(-140.0, -20.0).all()
    reports = read_field_reports(demo["field_reports"], grid)
    assert len(reports.frame) == gen.N_FIELD_REPORTS
    assert (reports.frame["status"] == "fail").sum() == gen.N_FIELD_FAILS
