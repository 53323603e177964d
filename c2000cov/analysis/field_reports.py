"""Field reports against a coverage map: where do reported failures fall?

A field report is a point with a status, ``fail`` (a failed call, "geen
bereik") or ``ok``. For a predicted zone Z (the dead zones, or the pixels of
class *poor* or *none*):

- ``fail_share_pct``: the share of ``fail`` reports inside Z;
- ``area_share_pct``: the share of the evaluated area that Z takes;
- ``lift``: ``fail_share_pct / area_share_pct``: how many times more often a
  failure falls in Z than a point dropped at random would (1: the map tells
  nothing; larger is better);
- ``ok_share_pct``: the share of ``ok`` reports inside Z (small is better).

Pure numpy; :mod:`c2000cov.pipeline.calibrate` reads the files.
"""

from __future__ import annotations

import numpy as np

STATUS_FAIL, STATUS_OK = "fail", "ok"
STATUSES = (STATUS_FAIL, STATUS_OK)
ZONE_DEAD = "dead_zones"
ZONE_POOR_NONE = "poor_or_none"
#: Columns of a field-report file that validation.gpkg carries along, when present.
CARRIED_COLUMNS = ("report_id", "time")
#: Columns of the validation table, in order.
TABLE_COLUMNS = ("zone", "n_fail", "n_fail_inside", "fail_share_pct", "n_ok", "n_ok_inside",
                 "ok_share_pct", "area_share_pct", "lift")


def zone_row(zone: str, is_fail, inside, area_share_pct: float) -> dict:
    """One row of the validation table for a zone.

    Parameters
    ----------
    zone : str
        Name of the zone.
    is_fail : array of bool
        Per report: status ``fail`` (True) or ``ok`` (False).
    inside : array of bool
        Per report: inside the zone.
    area_share_pct : float
        Share of the evaluated area inside the zone (%).
    """
    fail = np.asarray(is_fail, dtype=bool)
    inside = np.asarray(inside, dtype=bool)
    n_fail, n_ok = int(fail.sum()), int((~fail).sum())
    n_fail_in, n_ok_in = int((fail & inside).sum()), int((~fail & inside).sum())
    fail_share = 100.0 * n_fail_in / n_fail if n_fail else float("nan")
    ok_share = 100.0 * n_ok_in / n_ok if n_ok else float("nan")
    lift = fail_share / area_share_pct if area_share_pct > 0 else float("nan")
    return {"zone": zone, "n_fail": n_fail, "n_fail_inside": n_fail_in,
            "fail_share_pct": fail_share, "n_ok": n_ok, "n_ok_inside": n_ok_in,
            "ok_share_pct": ok_share, "area_share_pct": float(area_share_pct), "lift": lift}


def area_share_pct(zone_mask, evaluated) -> float:
    """Share (%) of the evaluated pixels inside a zone mask."""
    ev = np.asarray(evaluated, dtype=bool)
    n = int(ev.sum())
    return 100.0 * int((np.asarray(zone_mask, dtype=bool) & ev).sum()) / n if n else float("nan")
