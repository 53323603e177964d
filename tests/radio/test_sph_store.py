"""The shared Ldsph tables (c2000cov.radio.sph_store) against the tables a call builds itself.

A table cut out of the store must equal, bit for bit, the one
``make_sph_tables`` builds over the call's ranges, whatever the masts asked for before
(the store grows with them); so must the area kernel's result with it.
"""

from __future__ import annotations

import numpy as np

from c2000cov.kernels.area import area_loss_multi_db, sph_table_range
from c2000cov.kernels.ray import freq_constants
from c2000cov.kernels.tables import make_sph_tables
from c2000cov.radio.sph_store import SphTableStore

AE_KM = 4.0 / 3.0 * 6371.0
FREQS_MHZ = np.array([392.5, 382.5])


def _own_tables(ground, h_tx, h_rx, pixel_m, radius_m, freqs_mhz, pol=2, omega=0.0):
    rng = sph_table_range(ground, h_tx, h_rx, pixel_m, radius_m)
    return make_sph_tables(*rng, AE_KM, freq_constants(freqs_mhz)[0], omega, pol)


def _ground(n, relief_m, seed):
    rng = np.random.default_rng(seed)
    return (5.0 + relief_m * rng.random((n, n))).astype(np.float32)


# (window relief m, mast height m, receiver height m): lower and higher masts, a rougher
# window and a higher receiver each grow the shared table in another direction
CALLS = [(20.0, 40.0, 1.5), (20.0, 10.0, 1.5), (80.0, 40.0, 1.5), (5.0, 120.0, 1.5),
         (20.0, 40.0, 6.0), (20.0, 0.2, 0.3), (20.0, 40.0, 1.5)]


def test_store_tables_equal_the_calls_own_whatever_the_order():
    for order in (CALLS, CALLS[::-1]):
        store = SphTableStore()
        own_nodes = 0
        for seed, (relief, h_tx, h_rx) in enumerate(order):
            ground = _ground(31, relief, seed)
            tabs, org = store.tables(ground, h_tx, h_rx, 25.0, 2000.0, FREQS_MHZ, AE_KM, 2, 0.0)
            own, own_org = _own_tables(ground, h_tx, h_rx, 25.0, 2000.0, FREQS_MHZ)
            assert tabs.shape == own.shape
            assert np.array_equal(tabs, own)
            assert np.array_equal(org, own_org)
            own_nodes += own.size // 2
        # every node computed once: fewer than the calls' own tables together, and the
        # calls again compute nothing
        assert store.built_nodes < own_nodes
        built = store.built_nodes
        for seed, (relief, h_tx, h_rx) in enumerate(order):
            store.tables(_ground(31, relief, seed), h_tx, h_rx, 25.0, 2000.0, FREQS_MHZ,
                         AE_KM, 2, 0.0)
        assert store.built_nodes == built


def test_store_keeps_physics_apart():
    store = SphTableStore()
    ground = _ground(31, 20.0, 1)
    for pol, omega in ((2, 0.0), (1, 0.0), (2, 0.5)):
        for f in (FREQS_MHZ, FREQS_MHZ[::-1]):
            tabs, _ = store.tables(ground, 30.0, 1.5, 25.0, 2000.0, f, AE_KM, pol, omega)
            own, _ = _own_tables(ground, 30.0, 1.5, 25.0, 2000.0, f, pol, omega)
            assert np.array_equal(tabs, own)
    # another pixel size or radius is another distance axis
    tabs, _ = store.tables(ground, 30.0, 1.5, 10.0, 1000.0, FREQS_MHZ, AE_KM, 2, 0.0)
    own, _ = _own_tables(ground, 30.0, 1.5, 10.0, 1000.0, FREQS_MHZ)
    assert np.array_equal(tabs, own)


def test_store_over_its_size_limit_builds_the_calls_own_table():
    store = SphTableStore(max_bytes=1000)
    ground = _ground(31, 20.0, 2)
    tabs, _ = store.tables(ground, 30.0, 1.5, 25.0, 2000.0, FREQS_MHZ, AE_KM, 2, 0.0)
    own, _ = _own_tables(ground, 30.0, 1.5, 25.0, 2000.0, FREQS_MHZ)
    assert np.array_equal(tabs, own)
    assert store.built_nodes == own.size // 2


def test_area_kernel_with_store_tables_is_bit_identical():
    rng = np.random.default_rng(5)
    n = 41
    ground = (10.0 + np.cumsum(rng.normal(0.0, 1.0, (n, n)), axis=1)).astype(np.float32)
    surface = ground + np.where(rng.random((n, n)) < 0.2, 12.0, 0.0).astype(np.float32)
    store = SphTableStore()
    store.tables(ground, 80.0, 1.5, 25.0, 500.0, FREQS_MHZ, AE_KM, 2, 0.0)  # another mast first
    tabs, org = store.tables(ground, 20.0, 1.5, 25.0, 500.0, FREQS_MHZ, AE_KM, 2, 0.0)
    own = area_loss_multi_db(surface, ground, 20, 15, 20.0, 1.5, 25.0, 500.0, FREQS_MHZ, AE_KM,
                             2, 0.0)
    shared = area_loss_multi_db(surface, ground, 20, 15, 20.0, 1.5, 25.0, 500.0, FREQS_MHZ,
                                AE_KM, 2, 0.0, sph_tabs=tabs, sph_org=org)
    assert np.count_nonzero(~np.isnan(own)) > 2000
    assert np.array_equal(own, shared, equal_nan=True)


def test_the_stores_table_range_is_the_kernels():
    """The store computes a window's table range with numpy instead of the kernel's parallel
    scan: the same six floats, bit for bit, no-data pixels and odd heights included."""
    from c2000cov.radio.sph_store import table_range

    rng = np.random.default_rng(12)
    ground = _ground(41, 60.0, 11)
    ground[rng.random(ground.shape) < 0.3] = np.nan  # no-data pixels
    ground[0, 0] = -7.5  # the lowest and highest on the window's edge
    ground[-1, -1] = 140.25
    windows = [ground, ground[:1, :3], np.full((4, 4), np.nan, np.float32),
               np.array([[np.nan, 3.0]], np.float32)]
    windows += [(rng.uniform(-10, 10, (7, 9)) * 10.0 ** rng.uniform(-3, 3)).astype(np.float32)
                for _ in range(40)]
    heights = [(40.0, 1.5), (0.2, 0.3), (120.0, 6.0), (0.5, 0.5)]
    heights += [tuple(10.0 ** rng.uniform(-2, 2.5, 2)) for _ in range(10)]
    for g in windows:
        for h_tx, h_rx in heights:
            for pixel_m, radius_m in ((25.0, 2000.0), (10.0, 25000.0), (0.3, 777.7)):
                own = sph_table_range(g, h_tx, h_rx, pixel_m, radius_m)
                assert table_range(g, h_tx, h_rx, pixel_m, radius_m) == own
    store = SphTableStore()
    tabs, org = store.tables(ground, 40.0, 1.5, 25.0, 2000.0, FREQS_MHZ, AE_KM, 2, 0.0)
    own, own_org = _own_tables(ground, 40.0, 1.5, 25.0, 2000.0, FREQS_MHZ)
    assert np.array_equal(tabs, own) and np.array_equal(org, own_org)
