"""Exact per-area statistics on real Dutch boundaries and hand-worked small cases.

Boundaries: ``tests/data/nl`` (CBS/PDOK via cartomap/nl, CC BY 4.0; see
PROVENANCE.md): the 12 provinces and the 25 safety regions, EPSG:28992.
Coverage rasters are synthetic, built in code on RD grids.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import LineString, Point, box

from c2000cov.analysis.areas import (
    area_statistics,
    area_weights,
    line_length_grid,
    pixel_fractions,
    population_to_grid,
)
from c2000cov.analysis.coverage import LIMITING_DL, LIMITING_UL, ProfileCoverage
from c2000cov.geo.grid import Grid, Window
from tests.scenarios import DATA as TEST_DATA

DATA = TEST_DATA / "nl"
RD = "EPSG:28992"
NL_BOUNDS_M = (10000.0, 300000.0, 280000.0, 620000.0)  # holds every province (RD)


def make_cov(name: str, grid: Grid, p: np.ndarray, limiting: np.ndarray | None = None,
             target_pct: float = 95.0) -> ProfileCoverage:
    """A ProfileCoverage with only the bands the area statistics read filled in."""
    p = np.asarray(p, dtype="float32")
    if limiting is None:
        limiting = np.where(np.isfinite(p), LIMITING_DL, 0).astype("uint8")
    zeros = np.zeros(grid.shape, dtype="float32")
    return ProfileCoverage(name, grid, p, limiting.astype("uint8"),
                           np.zeros(grid.shape, "int16"), zeros, np.zeros(grid.shape, "uint8"),
                           np.zeros(grid.shape, "uint8"), zeros, zeros, 8.0, target_pct)


def read_regions(file: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(DATA / file)
    return gpd.GeoDataFrame({"area_name": gdf["statnaam"].to_numpy()},
                            geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


@pytest.fixture(scope="module")
def provinces():
    return read_regions("provincie_2023_rd_derived_from_vr.geojson")


@pytest.fixture(scope="module")
def safety_regions():
    return read_regions("veiligheidsregio_2023_rd.geojson")


# --------------------------------------------------------------------------- twins
def fractions_supersampled(geom, grid: Grid, n_sub: int) -> np.ndarray:
    """Slow twin: share of n_sub x n_sub sub-pixel centres inside the polygon, whole grid."""
    res = grid.resolution_m
    off = (np.arange(n_sub) + 0.5) / n_sub * res
    out = np.zeros(grid.shape)
    shapely.prepare(geom)
    for r in range(grid.height):
        y = grid.transform.f - r * res - off
        xs = grid.transform.c + (np.arange(grid.width)[:, None] * res + off[None, :])
        xx = np.broadcast_to(xs[:, :, None], (grid.width, n_sub, n_sub))
        yy = np.broadcast_to(y[None, None, :], (grid.width, n_sub, n_sub))
        inside = shapely.contains_xy(geom, xx, yy)
        out[r] = inside.reshape(grid.width, -1).mean(axis=1)
    return out


def fractions_exact_all(geom, grid: Grid) -> np.ndarray:
    """Slow twin: exact intersection area of every pixel, whole grid."""
    rows, cols = np.indices(grid.shape)
    res = grid.resolution_m
    x0 = grid.transform.c + cols * res
    y1 = grid.transform.f - rows * res
    boxes = shapely.box(x0, y1 - res, x0 + res, y1)
    return shapely.area(shapely.intersection(boxes, geom)) / grid.pixel_area_m2


def full(window: Window, frac: np.ndarray, grid: Grid) -> np.ndarray:
    out = np.zeros(grid.shape)
    out[window.slices] = frac
    return out


# --------------------------------------------------------------------------- real boundaries
def test_province_areas_sum_to_union(provinces):
    grid = Grid.from_bounds(NL_BOUNDS_M, 1000.0, RD)
    cov = make_cov("outdoor", grid, np.ones(grid.shape))
    table = area_statistics([cov], provinces)
    union_km2 = shapely.union_all(provinces.geometry.to_numpy()).area / 1e6
    assert len(table) == 12
    assert table["area_km2"].sum() == pytest.approx(union_km2, rel=1e-3)
    # each area is its polygon's exact area (not a count of pixel centres)
    exact = provinces.set_index("area_name").area / 1e6
    got = table.set_index("area_name")["area_km2"]
    np.testing.assert_allclose(got[exact.index].to_numpy(), exact.to_numpy(), rtol=1e-9)
    assert table["covered_pct"].to_numpy() == pytest.approx(np.full(12, 100.0))


# RD point, province, safety region (DOMAIN data README)
KNOWN_POINTS = [
    ("amersfoort", 155000.0, 463000.0, "Utrecht", "Utrecht"),
    ("amsterdam", 121000.0, 487000.0, "Noord-Holland", "Amsterdam-Amstelland"),
    ("rotterdam", 92500.0, 437500.0, "Zuid-Holland", "Rotterdam-Rijnmond"),
    ("delft", 85000.0, 447500.0, "Zuid-Holland", "Haaglanden"),
]


@pytest.mark.parametrize("layer", ["provinces", "safety_regions"])
def test_known_points_fall_in_their_region(layer, request):
    regions = request.getfixturevalue(layer)
    grid = Grid.from_bounds(NL_BOUNDS_M, 1000.0, RD)
    covs = []
    for name, x, y, *_ in KNOWN_POINTS:
        p = np.zeros(grid.shape, dtype="float32")
        r, c = grid.rowcol(x, y)
        p[r - 1:r + 2, c - 1:c + 2] = 1.0  # 3 x 3 km block holding the point
        covs.append(make_cov(name, grid, p))
    table = area_statistics(covs, regions)
    col = 3 if layer == "provinces" else 4
    for point in KNOWN_POINTS:
        rows = table[table["profile"] == point[0]].set_index("area_name")["covered_km2"]
        assert rows.idxmax() == point[col], point
        assert rows[point[col]] == pytest.approx(9.0, rel=1e-6), point
        assert rows.drop(point[col]).sum() == pytest.approx(0.0, abs=1e-9), point


def _area_west_of(geom, x_m: float) -> float:
    xmin, ymin, xmax, ymax = geom.bounds
    return shapely.intersection(geom, box(xmin - 1, ymin - 1, x_m, ymax + 1)).area


@pytest.mark.parametrize("name", ["Utrecht", "Zeeland"])
def test_half_covered_province_reports_fifty_percent(provinces, name):
    geom = provinces.set_index("area_name").geometry[name]
    half = geom.area / 2
    lo, hi = geom.bounds[0], geom.bounds[2]
    for _ in range(60):  # bisection on the x that splits the area in two
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _area_west_of(geom, mid) < half else (lo, mid)
    x_split = 0.5 * (lo + hi)
    res = 2000.0
    # the split lies on a pixel edge, so the raster can hold "covered west of x_split" exactly;
    # every other pixel the boundary crosses is partial
    x0 = x_split - res * np.ceil((x_split - NL_BOUNDS_M[0]) / res)
    grid = Grid.from_bounds((x0, NL_BOUNDS_M[1], NL_BOUNDS_M[2], NL_BOUNDS_M[3]), res, RD)
    x_centre, _ = grid.xy(0, np.arange(grid.width))
    p = np.broadcast_to(np.where(x_centre < x_split, 1.0, 0.0), grid.shape)
    table = area_statistics([make_cov("outdoor", grid, p)], provinces).set_index("area_name")
    row = table.loc[name]
    assert row["covered_pct"] == pytest.approx(50.0, abs=0.5)
    assert row["covered_pct"] == pytest.approx(50.0, abs=1e-6)  # exact method: float error only
    assert row["covered_km2"] == pytest.approx(half / 1e6, rel=1e-9)
    assert row["p_cover_mean"] == pytest.approx(0.5, abs=1e-9)
    window, frac = pixel_fractions(geom, grid)
    assert ((frac > 0) & (frac < 1)).sum() > 40  # many partial pixels took part


def test_fractions_match_supersampled_twin(provinces):
    geom = provinces.set_index("area_name").geometry["Utrecht"]
    xmin, ymin, xmax, ymax = geom.bounds
    grid = Grid.from_bounds((xmin - 3000, ymin - 3000, xmax + 3000, ymax + 3000), 4000.0, RD)
    window, frac = pixel_fractions(geom, grid)
    got = full(window, frac, grid)
    twin = fractions_supersampled(geom, grid, 40)
    # a sub-sample grid of 40 x 40 errs by a few 1/40 on pixels the boundary crosses
    assert np.abs(got - twin).max() < 0.03
    assert got.sum() == pytest.approx(twin.sum(), rel=2e-3)
    np.testing.assert_allclose(got, fractions_exact_all(geom, grid), atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fractions_match_exact_twin_on_random_polygons(seed):
    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((0.0, 0.0, 200.0, 160.0), 10.0, RD)
    ang = np.sort(rng.uniform(0, 2 * np.pi, 25))
    rad = rng.uniform(20, 75, 25)
    outer = shapely.Polygon(np.c_[100 + rad * np.cos(ang), 80 + rad * np.sin(ang)])
    hole = shapely.Point(100 + rng.uniform(-5, 5), 80).buffer(12, quad_segs=5)
    part2 = box(150.0, -20.0, 230.0, 30.0)  # partly outside the grid, on pixel edges
    geom = shapely.make_valid(shapely.MultiPolygon([outer.difference(hole), part2]))
    window, frac = pixel_fractions(geom, grid, block_px=4)
    np.testing.assert_allclose(full(window, frac, grid), fractions_exact_all(geom, grid),
                               atol=1e-9)


def test_pixel_aligned_box_and_box_outside_grid():
    grid = Grid.from_bounds((0.0, 0.0, 100.0, 100.0), 10.0, RD)
    window, frac = pixel_fractions(box(20.0, 30.0, 50.0, 60.0), grid)
    assert window == Window(4, 2, 3, 3) and (frac == 1.0).all()
    window, frac = pixel_fractions(box(15.0, 30.0, 50.0, 60.0), grid)
    assert window == Window(4, 1, 3, 4) and frac.sum() == 10.5
    assert set(np.unique(frac)) == {0.5, 1.0}
    window, frac = pixel_fractions(box(200.0, 200.0, 300.0, 300.0), grid)
    assert frac.size == 0
    areas = gpd.GeoDataFrame({"area_name": ["half_out"]}, geometry=[box(-50.0, 0.0, 50.0, 100.0)],
                             crs=RD)
    table = area_statistics([make_cov("o", grid, np.ones(grid.shape))], areas)
    assert table["area_km2"].iloc[0] == pytest.approx(50.0 * 100.0 / 1e6)  # inside the grid


# --------------------------------------------------------------------------- hand-worked table
def _small_case():
    """4 x 4 grid of 10 m pixels at (0, 0)-(40, 40); row 0 is the north edge."""
    grid = Grid.from_bounds((0.0, 0.0, 40.0, 40.0), 10.0, RD)
    p = np.array([[1.0, 1.0, 0.5, 0.2],
                  [1.0, 1.0, 0.5, 0.2],
                  [0.0, np.nan, 0.96, 0.96],
                  [0.0, 0.0, 0.96, 0.96]], dtype="float32")
    lim = np.full(grid.shape, LIMITING_DL, dtype="uint8")
    lim[0:2, 3] = LIMITING_UL
    # area: x 5..35, y 15..40 (the top 2.5 rows, half of columns 0 and 3)
    areas = gpd.GeoDataFrame({"area_name": ["A"]}, geometry=[box(5.0, 15.0, 35.0, 40.0)],
                             crs=RD)
    return grid, make_cov("o", grid, p, lim), areas


def test_statistics_hand_worked():
    grid, cov, areas = _small_case()
    row = area_statistics([cov], areas).iloc[0]
    # weights: rows 0-1 -> [0.5, 1, 1, 0.5]; row 2 -> half of that; total 7.5 pixels
    assert row["area_km2"] == pytest.approx(7.5 * 100 / 1e6)
    # row 2, col 1 is NaN (weight 0.5): evaluated 7.0 pixels
    assert row["evaluated_km2"] == pytest.approx(7.0 * 100 / 1e6)
    # covered (>= 0.95): rows 0-1 cols 0-1 (3 px) + row 2 cols 2-3 (0.5 + 0.25) = 3.75
    assert row["covered_km2"] == pytest.approx(3.75e-4)
    assert row["covered_pct"] == pytest.approx(100 * 3.75 / 7.0)
    # mean p: rows 0-1: 2*(0.5*1 + 1 + 0.5 + 0.5*0.2) = 4.2; row 2: 0.5*0 + 0.5*0.96 +
    # 0.25*0.96 = 0.72 -> 4.92 / 7.0
    assert row["p_cover_mean"] == pytest.approx(4.92 / 7.0, rel=1e-6)
    # the area reliability is the same mean in percent, beside the covered share
    assert row["area_reliability_pct"] == pytest.approx(100 * 4.92 / 7.0, rel=1e-6)
    # below: cols 2-3 rows 0-1 (2 * 1.5 = 3) + row 2 col 0 (0.25) = 3.25; UL: col 3 rows 0-1 = 1
    assert row["dead_zone_km2"] == pytest.approx(3.25e-4)
    assert row["ul_limited_pct"] == pytest.approx(100 / 3.25)
    # zones (4-connected below-target pixels): {cols 2-3, rows 0-1} and {rows 2-3 col 0, row 3
    # col 1}; parts inside: 3.0 and 0.25 pixels
    assert row["dead_zone_count"] == 2
    assert row["dead_zone_largest_km2"] == pytest.approx(3.0e-4)
    assert row["dead_zone_largest_id"] == "o-00001"


def test_dead_zone_polygons_and_min_area():
    grid, cov, areas = _small_case()
    row = area_statistics([cov], areas, dead_zone_min_area_m2=350.0).iloc[0]
    assert row["dead_zone_count"] == 1  # the 3-pixel zone (300 m2) is dropped
    assert row["dead_zone_km2"] == pytest.approx(3.25e-4)  # all below-target area still counts
    zones = gpd.GeoDataFrame({"zone_id": ["z-big", "z-small"]},
                             geometry=[box(20.0, 20.0, 40.0, 40.0),
                                       box(0.0, 0.0, 10.0, 20.0).union(box(10, 0, 20, 10))],
                             crs=RD)
    row = area_statistics([cov], areas, dead_zones={"o": zones}).iloc[0]
    assert row["dead_zone_count"] == 2
    assert row["dead_zone_largest_id"] == "z-big"
    assert row["dead_zone_largest_km2"] == pytest.approx(300e-6)


def test_population_raster_and_points():
    grid, cov, areas = _small_case()
    pop = np.zeros(grid.shape)
    pop[0, 0] = 100.0  # half inside, covered -> 50
    pop[0, 2] = 40.0  # inside, not covered
    pop[2, 1] = 1000.0  # half inside, not evaluated (NaN)
    pop[3, 3] = 7.0  # outside the area
    row = area_statistics([cov], areas, population=pop).iloc[0]
    assert row["population"] == pytest.approx(50 + 40 + 500)
    assert row["population_evaluated"] == pytest.approx(90.0)
    assert row["population_covered"] == pytest.approx(50.0)
    assert row["population_covered_pct"] == pytest.approx(100 * 50 / 90)
    pts = gpd.GeoDataFrame({"people": [10, 20, 30, 5]},
                           geometry=[Point(12, 35), Point(25, 25), Point(2, 35), Point(25, 18)],
                           crs=RD)
    row = area_statistics([cov], areas, population=pts, population_column="people").iloc[0]
    # (2, 35) is outside the area (x < 5); (25, 18) is in row 2 col 2, p 0.96 -> covered
    assert row["population"] == pytest.approx(35.0)
    assert row["population_covered"] == pytest.approx(15.0)


def test_roads_uncovered_length():
    grid, cov, areas = _small_case()
    # west-east along y = 35 (row 0), from x = 0 to 40: inside the area x 5..35 -> 30 m,
    # uncovered where p < 0.95: cols 2-3 -> x 20..35 = 15 m
    # plus a diagonal (10, 20) -> (30, 40): all inside, rows 0-1 and cols 1-2
    roads = gpd.GeoDataFrame(geometry=[LineString([(0, 35), (40, 35)]),
                                       LineString([(10, 20), (30, 40)])], crs=RD)
    row = area_statistics([cov], areas, roads=roads).iloc[0]
    diag = np.hypot(20, 20)
    assert row["road_km"] == pytest.approx((30 + diag) / 1e3)
    # the diagonal crosses col 1 row 1, then col 2 row 0 (through the shared corner): half of it
    # in col 2 (uncovered)
    assert row["road_uncovered_km"] == pytest.approx((15 + diag / 2) / 1e3)


def test_line_length_grid_hand_worked():
    grid = Grid.from_bounds((0.0, 0.0, 30.0, 30.0), 10.0, RD)
    win = Window(0, 0, 3, 3)
    got = line_length_grid([LineString([(5, 25), (25, 5)]), LineString([(0, 15), (30, 15)])],
                           grid, win)
    d = np.hypot(5, 5)
    np.testing.assert_allclose(got, [[d, 0, 0], [10, 10 + 2 * d, 10], [0, 0, d]])
    assert got.sum() == pytest.approx(30 + np.hypot(20, 20))


def test_population_to_grid_keeps_totals(tmp_path):
    counts = np.arange(16, dtype="float32").reshape(4, 4)
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs=RD, transform=Affine(100, 0, 0, 0, -100, 400)) as dst:
        dst.write(counts, 1)
    grid = Grid.from_bounds((0.0, 0.0, 400.0, 400.0), 200.0, RD)
    got = population_to_grid(path, grid)
    np.testing.assert_allclose(got, counts.reshape(2, 2, 2, 2).sum(axis=(1, 3)))


def test_no_areas_is_one_area_all_and_weights_cover_grid():
    grid, cov, _ = _small_case()
    table = area_statistics([cov], None)
    assert table["area_name"].tolist() == ["all"]
    assert table["area_km2"].iloc[0] == pytest.approx(16e-4)
    (aw,) = area_weights(None, grid)
    assert aw.fraction.shape == grid.shape
    _, _, areas = _small_case()
    reused = area_statistics([cov], areas, weights=area_weights(areas, grid))
    assert reused.equals(area_statistics([cov], areas))


def _whole_grid_masks_twin(cov, weights, pop_grid, pop_points, road_m):
    """The float sums of area_statistics before #20: full-grid masks, weighted_sum."""
    ev = np.isfinite(cov.p_cover)
    p0 = np.where(ev, cov.p_cover, 0.0).astype("float32")
    good = ev & (p0 >= cov.target_pct / 100.0)
    below = ev & ~good
    ul = below & (cov.limiting == LIMITING_UL)
    pop_ev, pop_good = np.where(ev, pop_grid, 0.0), np.where(good, pop_grid, 0.0)
    out = []
    for k, aw in enumerate(weights):
        r, c, people = pop_points[k]
        rr, rc, length_m = road_m[k]
        out.append((aw.weighted_sum(ev), aw.weighted_sum(good), aw.weighted_sum(below),
                    aw.weighted_sum(p0), aw.weighted_sum(ul), aw.weighted_sum(pop_grid),
                    aw.weighted_sum(pop_ev), aw.weighted_sum(pop_good),
                    float(people[ev[r, c]].sum()), float(people[good[r, c]].sum()),
                    float(length_m[ev[rr, rc]].sum()), float(length_m[below[rr, rc]].sum())))
    return out


def test_area_windows_give_the_whole_grid_sums_bit_for_bit(safety_regions):
    """Masks over each area's window only (#20): every sum equals the full-grid one."""
    from c2000cov.analysis.areas import _population_points, _road_lengths

    grid = Grid.from_bounds((120000.0, 420000.0, 200000.0, 500000.0), 500.0, RD)
    rng = np.random.default_rng(11)
    p = rng.uniform(0.5, 1.0, grid.shape).astype("float32")
    p[rng.random(grid.shape) < 0.1] = np.nan
    lim = np.where(rng.random(grid.shape) < 0.4, LIMITING_UL, LIMITING_DL).astype("uint8")
    cov = make_cov("hh", grid, p, lim)
    areas = safety_regions.clip(shapely.box(*grid.bounds_m)).reset_index(drop=True)
    pop_grid = rng.uniform(0.0, 300.0, grid.shape)
    xy = rng.uniform(0.0, 1.0, (400, 2)) * 80000.0 + [120000.0, 420000.0]
    pts = gpd.GeoDataFrame({"people": rng.integers(1, 50, 400)},
                           geometry=[Point(x, y) for x, y in xy], crs=RD)
    roads = gpd.GeoDataFrame(geometry=[LineString(rng.uniform(0, 1, (5, 2)) * 80000.0
                                                  + [120000.0, 420000.0]) for _ in range(30)],
                             crs=RD)
    weights = area_weights(areas, grid)
    assert len(weights) >= 5
    twin = _whole_grid_masks_twin(cov, weights, pop_grid,
                                  _population_points(pts, "people", grid, weights),
                                  _road_lengths(roads, weights, grid))
    px_km2 = grid.pixel_area_m2 / 1e6
    t_grid = area_statistics([cov], areas, population=pop_grid, roads=roads, weights=weights)
    t_pts = area_statistics([cov], areas, population=pts, population_column="people",
                            weights=weights)
    for k, (ev, good, below, p_sum, ul, pop, pop_ev, pop_good, pt_ev, pt_good, road_ev,
            road_below) in enumerate(twin):
        row, row_pts = t_grid.iloc[k], t_pts.iloc[k]
        assert row["evaluated_km2"] == ev * px_km2
        assert row["covered_km2"] == good * px_km2
        assert row["dead_zone_km2"] == below * px_km2
        assert row["p_cover_mean"] == p_sum / ev
        assert row["ul_limited_pct"] == 100.0 * ul / below
        assert (row["population"], row["population_evaluated"],
                row["population_covered"]) == (pop, pop_ev, pop_good)
        assert (row_pts["population_evaluated"], row_pts["population_covered"]) == (
            pt_ev, pt_good)
        assert (row["road_km"], row["road_uncovered_km"]) == (road_ev / 1e3, road_below / 1e3)
    assert (t_grid["road_km"] > 0).sum() >= 3 and (t_pts["population"] > 0).sum() >= 3
    # the zones from pixels (no polygons: the night state) come from the tiled zone raster
    from scipy import ndimage

    below = np.isfinite(p) & (p < 0.95)
    labels, n = ndimage.label(below, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    keep = np.bincount(labels.ravel(), minlength=n + 1) * grid.pixel_area_m2 >= 1e6
    keep[0] = False
    for k, aw in enumerate(weights):
        part = aw.weighted_bincount(labels, n + 1) * px_km2
        part[~keep] = 0.0
        present = part > 1e-9
        row = area_statistics([cov], areas, dead_zone_min_area_m2=1e6, weights=weights).iloc[k]
        assert row["dead_zone_count"] == present.sum()
        if present.any():
            i = int(np.argmax(np.where(present, part, -1.0)))
            assert (row["dead_zone_largest_km2"], row["dead_zone_largest_id"]) == (
                part[i], f"hh-{i:05d}")
