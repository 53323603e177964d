"""Readers on real Dutch files (tests/data/nl, copied from the shared reference data)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

from c2000cov.errors import CRSError
from c2000cov.files.masts import read_masts
from c2000cov.files.rasters import read_raster_to_grid
from c2000cov.files.vectors import read_areas, read_buildings
from c2000cov.geo.grid import Grid
from c2000cov.geo.surface import rasterize_buildings
from tests.scenarios import DATA as TEST_DATA
from tests.scenarios import write_dtm

NL = TEST_DATA / "nl"
RD = CRS.from_epsg(28992)


@pytest.fixture(scope="module")
def delft_grid() -> Grid:
    with rasterio.open(NL / "delft_ahn3_dtm_1m.tif") as src:
        return Grid.from_bounds(tuple(src.bounds), 1.0, RD)


@pytest.mark.parametrize("columns", [
    {"height_column": "height_m", "roof_column": None, "ground_column": None},
    {"height_column": None, "roof_column": "h_roof_nap_m", "ground_column": "h_ground_nap_m"},
], ids=["height_above_ground", "roof_and_ground_nap"])
def test_delft_buildings_on_dtm_reproduce_dsm(delft_grid, columns):
    """Footprints rasterised on the AHN3 DTM give the AHN3 DSM over buildings within 1 m."""
    dtm = read_raster_to_grid(NL / "delft_ahn3_dtm_1m.tif", delft_grid, "DTM")
    dsm = read_raster_to_grid(NL / "delft_ahn3_dsm_1m.tif", delft_grid, "DSM")
    buildings = read_buildings(NL / "delft_buildings_lod1_heights_rd.geojson", RD, None,
                               year_column=None, **columns)
    assert len(buildings) == 160
    roof_m, mask, _ = rasterize_buildings(buildings, delft_grid, dtm)
    assert 8000 < mask.sum() < 9500  # about 8,600 m^2 of footprint on a 1 m grid
    median_abs_m = float(np.median(np.abs(roof_m[mask] - dsm[mask])))
    assert median_abs_m < 1.0, f"median |roof - DSM| = {median_abs_m:.3f} m"


def test_delft_dtm_values_and_nodata(delft_grid):
    dtm = read_raster_to_grid(NL / "delft_ahn3_dtm_1m.tif", delft_grid, "DTM")
    assert dtm.shape == (230, 265) and dtm.dtype == np.float32
    assert not np.isnan(dtm).any()
    # central Delft lies around NAP: streets and canals between -3 and +3 m
    assert -3.0 < float(np.median(dtm)) < 3.0


def test_dtm_in_other_crs_is_reprojected(tmp_path, delft_grid):
    """A DTM in UTM 31N is reprojected to the RD grid (no error), keeping its heights."""
    src = NL / "delft_ahn3_dtm_1m.tif"
    utm = CRS.from_epsg(32631)
    from rasterio.warp import calculate_default_transform, reproject

    with rasterio.open(src) as s:
        transform, w, h = calculate_default_transform(s.crs, utm, s.width, s.height, *s.bounds)
        data = np.full((h, w), -9999.0, dtype="float32")
        reproject(s.read(1), data, src_transform=s.transform, src_crs=s.crs, src_nodata=-9999,
                  dst_transform=transform, dst_crs=utm, dst_nodata=-9999)
    with rasterio.open(tmp_path / "utm.tif", "w", driver="GTiff", width=w, height=h, count=1,
                       dtype="float32", crs=utm, transform=transform, nodata=-9999) as d:
        d.write(data, 1)
    back = read_raster_to_grid(tmp_path / "utm.tif", delft_grid, "DTM")
    orig = read_raster_to_grid(src, delft_grid, "DTM")
    inner = (slice(10, -10), slice(10, -10))
    diff = np.abs(back[inner] - orig[inner])
    assert np.nanmedian(diff) < 0.3


def test_geographic_raster_rejected(tmp_path):
    path = tmp_path / "wgs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=rasterio.transform.from_origin(5, 52, .1, .1),
                       ) as d:
        d.write(np.zeros((4, 4), "float32"), 1)
    grid = Grid.from_bounds((0, 0, 100, 100), 10, RD)
    with pytest.raises(CRSError, match="wgs.tif: raster CRS EPSG:4326 is geographic"):
        read_raster_to_grid(path, grid, "DTM")


def test_province_boundaries_load_with_crs():
    """The CBS-derived boundaries load in RD New with all 12 provinces."""
    areas = read_areas(NL / "provincie_2023_rd_derived_from_vr.geojson", "statnaam", RD)
    assert areas.crs == RD
    assert len(areas) == 12
    assert "Utrecht" in set(areas["area_name"])
    total_km2 = areas.area.sum() / 1e6
    assert 33000 < total_km2 < 42000, total_km2  # land area of NL plus inland water


def test_safety_regions_load_with_crs():
    """The 25 veiligheidsregio's load in RD New; the known points lie in the right regions."""
    import shapely

    areas = read_areas(NL / "veiligheidsregio_2023_rd.geojson", "statcode", RD)
    assert areas.crs == RD and len(areas) == 25
    for (x, y), code in [((155000, 463000), "VR09"), ((121000, 487000), "VR13"),
                         ((92500, 437500), "VR17"), ((85000, 447500), "VR15")]:
        hit = areas[areas.contains(shapely.Point(x, y))]["area_name"].tolist()
        assert hit == [code], (x, y, hit)


def test_areas_reprojected_to_scenario_crs():
    areas = read_areas(NL / "provincie_2023_rd_derived_from_vr.geojson", "statnaam",
                       CRS.from_epsg(3035))
    assert areas.crs == CRS.from_epsg(3035)
    # Utrecht province centre in ETRS89-LAEA is near (3.98e6, 3.23e6)
    utrecht = areas[areas["area_name"] == "Utrecht"].geometry.iloc[0].centroid
    assert 3.9e6 < utrecht.x < 4.05e6 and 3.15e6 < utrecht.y < 3.3e6


def test_masts_in_wgs84_are_converted(tmp_path):
    (tmp_path / "m.csv").write_text(
        "mast_id,lon_deg,lat_deg,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db\n"
        "A,5.38720621,52.15517440,30,44,11,8,3\n")
    masts = read_masts(tmp_path / "m.csv", RD)
    # the RD origin (Amersfoort, 52.15517440 N 5.38720621 E in ETRS89) is (155000, 463000)
    assert masts["x_m"][0] == pytest.approx(155000, abs=2)
    assert masts["y_m"][0] == pytest.approx(463000, abs=2)
    assert np.isnan(masts["azimuth_deg"][0]) and masts["pattern"][0] is None


def test_mast_pattern_without_azimuth_is_an_omni_with_a_vertical_pattern(tmp_path):
    (tmp_path / "p.msi").write_text("NAME x\n")
    (tmp_path / "m.csv").write_text(
        "mast_id,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db,pattern\n"
        "A,1,1,30,44,11,8,3,p.msi\n")
    masts = read_masts(tmp_path / "m.csv", RD)
    assert np.isnan(masts["azimuth_deg"][0])
    assert masts["pattern"][0] == str((tmp_path / "p.msi").resolve())


def test_vector_without_crs_rejected(tmp_path):
    (tmp_path / "a.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":"x"},'
        '"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}')
    # GeoJSON without a crs member is WGS84 by the spec; a shapefile without .prj has none
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"n": ["x"]}, geometry=[box(0, 0, 1, 1)]).to_file(tmp_path / "a.shp")
    with pytest.raises(CRSError, match="a.shp: the areas layer has no CRS"):
        read_areas(tmp_path / "a.shp", "n", RD)


def test_write_dtm_helper_roundtrip(tmp_path):
    path = write_dtm(tmp_path / "d.tif", np.arange(6, dtype="float32").reshape(2, 3))
    with rasterio.open(path) as src:
        assert src.crs == RD and src.read(1)[1, 2] == 5
