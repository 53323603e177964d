"""The best-server fold: one mast's link budget and its update of the reduction, per pixel.

:func:`fold_budget` computes, in one pass over a mast's window (or the part of it
that lies in an output tile), what :meth:`c2000cov.radio.budget.MastBudget.margins`
and :meth:`c2000cov.analysis.coverage.BestServer.update` compute with NumPy in about
fifteen passes and as many temporary arrays: the downlink and uplink signal, the two
margins, and the best server, runner-up and reach count of each pixel. On the 1/16
national scenario those passes took 7.8 s of a 39 s serial run under cProfile (which
inflates call-heavy Python), the kernel 0.6 s; with the codec kernels
(:mod:`.codec`) the whole-country run's CPU time fell by 15 %
(``bench/records/vm-2026-11-30-national-fold.json``).

It is bit-identical to them, because it performs the same IEEE operations in the
same order and precision. NumPy computes the link budget partly in float32 and partly
in float64, as its promotion rules dictate for the terms' types (NumPy scalars and
float64 arrays are strong, Python floats are cast to the array's type):

- downlink, in float64: ``(((tx + gain) - tx_loss) - L_dl) + terminal - entry_dl``,
  then ``+ offset`` (a calibration), where ``L_dl = float32(loss_dl + clutter_dl)``;
- uplink: ``float32(eirp - entry_ul)`` (in float32 when ``entry_ul`` is an array,
  in float64 then rounded when it is a scalar), ``- L_ul`` and ``+ gain`` in float32,
  then ``- rx_loss + diversity`` (and ``+ offset``) in float64;
- the required level: ``sensitivity + d_dl`` in float32 when the downlink noise rise
  ``d_dl`` is an array, in Python (float64) when it is a scalar; the margins in float64.

Terms that are scalars for some masts and arrays for others come as 2-D arrays of
the window's shape: a scalar is a read-only view with zero strides
(``numpy.broadcast_to``), read like any array. The caller (:mod:`c2000cov.analysis.coverage`)
checks the terms' types and takes NumPy's path for any it does not cover.

The fold runs while the local executor's background thread prepares and runs the
next mast's kernel call, so it releases the GIL (``nogil_kernel``).
"""

from __future__ import annotations

import math

import numpy as np

from .jit import nogil_kernel


@nogil_kernel
def fold_budget(loss_dl_db, loss_ul_db, clutter_dl_db, clutter_ul_db, tx_power_dbm, gain_dbi,
                tx_loss_db, rx_loss_db, diversity_db, dl_terminal_db, ul_eirp_dbm,
                entry_dl_db, entry_ul_db, ul_entry_is_array, ul_head_dbm, offset_db,
                has_offset, evaluated, ms_sensitivity_dbm, d_dl_db, has_d_dl,
                bs_required_dbm, margin_needed_db, mast_index,
                margin_db, second_margin_db, margin_dl_db, margin_ul_db, server,
                signal_dl_dbm, n_at_target):
    """Fold one mast's link budget into a best-server reduction (arrays updated in place).

    Parameters
    ----------
    loss_dl_db, loss_ul_db : 2-D float32
        Basic transmission loss (dB) of the pixels, downlink and uplink frequency.
    clutter_dl_db, clutter_ul_db : float32
        Clutter correction (dB) added to each.
    tx_power_dbm, tx_loss_db, rx_loss_db, diversity_db, dl_terminal_db, ul_eirp_dbm : float64
        Mast and terminal terms (dBm, dB).
    gain_dbi : 2-D float32 or float64
        Mast antenna gain toward each pixel (dBi).
    entry_dl_db, entry_ul_db : 2-D float32 or float64
        Entry and terminal losses (dB).
    ul_entry_is_array : bool
        Whether ``entry_ul_db`` is an array (float32 arithmetic) or a scalar, whose
        ``float32(ul_eirp_dbm - entry)`` is ``ul_head_dbm`` (float32).
    offset_db : 2-D float32 or float64, with ``has_offset``
        Calibration offset (dB) added to both signals.
    evaluated : 2-D bool
        Pixels the profile evaluates; the others get NaN margins.
    ms_sensitivity_dbm : float64
        Terminal sensitivity (dBm); ``+ d_dl_db`` (2-D float32, when ``has_d_dl``).
    bs_required_dbm : float64
        Mast sensitivity plus the uplink noise rise (dBm).
    margin_needed_db : 2-D float64
        Margin a mast needs to reach the target on its own (dB).
    mast_index : int
        The mast's index (masts-file order).
    margin_db, second_margin_db, margin_dl_db, margin_ul_db, signal_dl_dbm : 2-D float32
    server : 2-D int16
    n_at_target : 2-D uint8
        The reduction's arrays over the same pixels, updated in place.
    """
    n_rows, n_cols = loss_dl_db.shape
    ms32 = np.float32(ms_sensitivity_dbm)
    eirp32 = np.float32(ul_eirp_dbm)
    for r in range(n_rows):
        for c in range(n_cols):
            if not evaluated[r, c]:
                continue  # both margins NaN: nothing changes
            l_dl = np.float32(loss_dl_db[r, c] + clutter_dl_db)
            l_ul = np.float32(loss_ul_db[r, c] + clutter_ul_db)
            g = gain_dbi[r, c]
            s_dl = (((tx_power_dbm + np.float64(g)) - tx_loss_db) - np.float64(l_dl)
                    + dl_terminal_db) - np.float64(entry_dl_db[r, c])
            if ul_entry_is_array:
                t = np.float32(eirp32 - np.float32(entry_ul_db[r, c]))
            else:
                t = ul_head_dbm
            t = np.float32(t - l_ul)
            t = np.float32(t + np.float32(g))
            s_ul = (np.float64(t) - rx_loss_db) + diversity_db
            if has_offset:
                s_dl = s_dl + np.float64(offset_db[r, c])
                s_ul = s_ul + np.float64(offset_db[r, c])
            if has_d_dl:
                req_dl = np.float64(np.float32(ms32 + np.float32(d_dl_db[r, c])))
            else:
                req_dl = ms_sensitivity_dbm
            m_dl = s_dl - req_dl
            m_ul = s_ul - bs_required_dbm
            # numpy.fmin: the other operand where one is NaN
            if math.isnan(m_ul) or m_dl <= m_ul:
                m = m_dl
            else:
                m = m_ul
            if not math.isfinite(m):
                continue
            best = margin_db[r, c]
            if m > best:
                second_margin_db[r, c] = best
                margin_db[r, c] = np.float32(m)
                margin_dl_db[r, c] = np.float32(m_dl)
                margin_ul_db[r, c] = np.float32(m_ul)
                signal_dl_dbm[r, c] = np.float32(s_dl)
                server[r, c] = mast_index
            elif m > second_margin_db[r, c]:
                second_margin_db[r, c] = np.float32(m)
            if m >= margin_needed_db[r, c]:
                n_at_target[r, c] += 1
