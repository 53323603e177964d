"""Ldsph tables shared by the area-kernel calls of a run, instead of one built per call.

Every area call (:func:`c2000cov.kernels.area.area_loss_multi_db`) needs the Ldsph table
of ITU-R P.1812-8 eqs. (22)-(27) over the ranges of :func:`~c2000cov.kernels.area.sph_table_range`
(:func:`table_range` here):
built per call it costs 0.1-0.2 s on one core (about 10^5 nodes of the spherical-Earth
first-term loss), the same work again for every mast of a run. The tables of all calls
with the same physics (frequency, effective Earth radius, sea fraction, polarisation) and
the same distance axis (pixel size and radius) lie on one grid: plog2(hte) and plog2(hre)
on multiples of SPH_TAB_STEP_PLOG2, whatever the antenna heights. A :class:`SphTableStore`
keeps, per physics, one table over the union of the height ranges asked for so far, grows
it (filling only the new nodes) when a call needs more, and cuts each call's table out of
it. Every node is computed on its own (:func:`c2000cov.kernels.tables.sph_fill_missing`), so
the cut-out table equals the one the call would build, bit for bit, and the results do
not depend on which masts came before, on the executor, or on the store at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from c2000cov.kernels.constants import (
    M_PER_KM,
    SPH_TAB_MIN_H_M,
    SPH_TAB_RELIEF_FACTOR,
    SPH_TAB_RELIEF_MARGIN_M,
    SPH_TAB_STEP_PLOG2,
)
from c2000cov.kernels.ray import freq_constants
from c2000cov.kernels.tables import sph_fill_missing, sph_grid

#: Largest shared table per physics (bytes); a call that would grow one beyond this
#: builds its own table instead (same values).
MAX_SHARED_TABLE_BYTES = 256 * 1024**2
#: Physics kept at once (least recently used dropped first).
MAX_SHARED_TABLES = 8


def table_range(ground_m: np.ndarray, h_tx_agl_m: float, h_rx_agl_m: float, pixel_m: float,
                radius_m: float) -> tuple[float, ...]:
    """:func:`~c2000cov.kernels.area.sph_table_range` of a window, the same six floats,
    computed here: the kernel scans the window in a parallel loop, 33 ms on a 2001 x 2001
    window and 17 ms even on a two-pixel one on a loaded machine (waking its threads),
    about 20 s of a national run; numpy's nanmin/nanmax take 3 ms. The formula is the
    kernel's, in float64 (``tests/radio/test_sph_store.py`` holds them equal).
    """
    if np.isnan(ground_m).all():
        g_lo, g_hi = np.inf, -np.inf  # the kernel's extremes of no finite height
    else:
        g_lo, g_hi = float(np.nanmin(ground_m)), float(np.nanmax(ground_m))
    relief = SPH_TAB_RELIEF_FACTOR * (g_hi - g_lo) + SPH_TAB_RELIEF_MARGIN_M
    h_tx_agl = max(float(h_tx_agl_m), SPH_TAB_MIN_H_M)
    h_rx_agl = max(float(h_rx_agl_m), SPH_TAB_MIN_H_M)
    return (float(pixel_m) / M_PER_KM, float(radius_m) / M_PER_KM, h_tx_agl,
            h_tx_agl + relief, h_rx_agl, h_rx_agl + relief)


class _Shared:
    """One shared table: ``tab`` (n_u, nt, nr, 2) with height nodes j0.. and k0.. (lattice
    indices: plog2(h) = index x SPH_TAB_STEP_PLOG2)."""

    def __init__(self, tab: np.ndarray, j0: int, k0: int):
        self.tab = tab
        self.j0 = j0
        self.k0 = k0


class SphTableStore:
    """The Ldsph tables of area calls, shared across calls (thread-safe).

    ``tables(...)`` returns ``(sph_tabs, sph_org)`` for
    ``area_loss_multi_db(..., sph_tabs=, sph_org=)``, equal to what the call builds itself.
    ``built_nodes`` counts the nodes computed so far (the work the store does).
    """

    def __init__(self, max_bytes: int = MAX_SHARED_TABLE_BYTES,
                 max_tables: int = MAX_SHARED_TABLES):
        self._max_bytes = max_bytes
        self._max_tables = max_tables
        self._shared: OrderedDict[tuple, _Shared] = OrderedDict()
        self._lock = threading.Lock()
        self.built_nodes = 0

    def tables(self, ground_m: np.ndarray, h_tx_agl_m: float, h_rx_agl_m: float,
               pixel_m: float, radius_m: float, freqs_mhz: np.ndarray, ae_km: float,
               pol: int, omega_frac: float) -> tuple[np.ndarray, np.ndarray]:
        """The Ldsph tables (n_freq, n_u, n_t, n_r, 2) float64 and their origin (3,) of an
        area call with these arguments (``ground_m``: the call's ground window, m amsl)."""
        rng = table_range(ground_m, h_tx_agl_m, h_rx_agl_m, pixel_m, radius_m)
        n_u, n_t, n_r, origin = sph_grid(*rng)
        freqs_ghz = freq_constants(np.asarray(freqs_mhz, dtype=np.float64))[0]
        j0 = int(round(origin[1] / SPH_TAB_STEP_PLOG2))
        k0 = int(round(origin[2] / SPH_TAB_STEP_PLOG2))
        tabs = np.empty((freqs_ghz.shape[0], n_u, n_t, n_r, 2), np.float64)
        for f, freq_ghz in enumerate(freqs_ghz):
            key = (float(origin[0]), n_u, float(ae_km), float(freq_ghz), float(omega_frac),
                   int(pol))
            with self._lock:
                sh = self._grow(key, j0, j0 + n_t, k0, k0 + n_r)
                if sh is None:  # too large to share: this call's own table
                    sub = np.empty((n_u, n_t, n_r, 2), np.float64)
                    sph_fill_missing(sub, origin[0], origin[1], origin[2], float(ae_km),
                                     float(freq_ghz), float(omega_frac), int(pol),
                                     np.zeros((n_t, n_r), np.bool_))
                    self.built_nodes += sub.size // 2
                    tabs[f] = sub
                else:
                    tabs[f] = sh.tab[:, j0 - sh.j0:j0 - sh.j0 + n_t, k0 - sh.k0:k0 - sh.k0 + n_r]
        return tabs, origin

    def _grow(self, key: tuple, j_lo: int, j_hi: int, k_lo: int, k_hi: int) -> _Shared | None:
        """The shared table of ``key`` covering height nodes [j_lo, j_hi) x [k_lo, k_hi),
        grown (only the new nodes computed) when needed; None when it would exceed the size
        limit. Called with the lock held."""
        sh = self._shared.get(key)
        if sh is not None:
            self._shared.move_to_end(key)
            nt, nr = sh.tab.shape[1:3]
            if sh.j0 <= j_lo and j_hi <= sh.j0 + nt and sh.k0 <= k_lo and k_hi <= sh.k0 + nr:
                return sh
            j_lo, j_hi = min(j_lo, sh.j0), max(j_hi, sh.j0 + nt)
            k_lo, k_hi = min(k_lo, sh.k0), max(k_hi, sh.k0 + nr)
        u0, n_u = key[0], key[1]
        if n_u * (j_hi - j_lo) * (k_hi - k_lo) * 16 > self._max_bytes:
            return None
        tab = np.empty((n_u, j_hi - j_lo, k_hi - k_lo, 2), np.float64)
        done = np.zeros((j_hi - j_lo, k_hi - k_lo), np.bool_)
        if sh is not None:
            nt, nr = sh.tab.shape[1:3]
            dj, dk = sh.j0 - j_lo, sh.k0 - k_lo
            tab[:, dj:dj + nt, dk:dk + nr] = sh.tab
            done[dj:dj + nt, dk:dk + nr] = True
        ae_km, freq_ghz, omega_frac, pol = key[2:]
        sph_fill_missing(tab, u0, j_lo * SPH_TAB_STEP_PLOG2, k_lo * SPH_TAB_STEP_PLOG2, ae_km,
                         freq_ghz, omega_frac, pol, done)
        self.built_nodes += n_u * int(np.count_nonzero(~done))
        sh = _Shared(tab, j_lo, k_lo)
        self._shared[key] = sh
        self._shared.move_to_end(key)
        while len(self._shared) > self._max_tables:
            self._shared.popitem(last=False)
        return sh


#: The store every run in this process shares (tables depend only on their key).
SPH_STORE = SphTableStore()
