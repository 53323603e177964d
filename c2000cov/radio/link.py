"""Point-to-point link evaluation with ITU-R P.1812-8.

Two entry points for the ``c2000cov link`` command:

- :func:`evaluate_sg3` runs every test case of an ITU-R SG3 measurement file
  (for example the P.1812 validation profiles);
- :func:`evaluate_profile_csv` runs one prediction over a plain profile CSV
  with columns ``d_km,h_m`` and optional ``r_m`` (clutter height) and
  ``zone`` (1 sea, 3 coastal land, 4 inland).

Defaults for a Dutch C2000 path (all overridable; they are reported back in
the result): inland zone, vertical polarisation (TETRA), Tx at 52.0 N 5.0 E,
dN = 40 N-units/km and N0 = 325 N-units. dN is the one refractivity default of
link and area runs (:data:`c2000cov.units.DEFAULT_DN_N_UNITS_KM`; area runs use
k50 = 157 / (157 - dN) = 1.342): the ITU-R P.452 / P.1812 DN50 map gives about
40 N-units/km over the Netherlands (the maps are not shipped; read off by hand,
so *assumed* to the nearest few units). N0 = 325 lies between the SG3
validation files' map values (323.9 at 48.6 N, 326.1 at 53.7 N).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.files.sg3 import parse_number, read_sg3
from c2000cov.radio.itu.p1812 import (
    DEFAULT_DN_N_UNITS_KM,
    DEFAULT_N0_N_UNITS,
    ERP_1KW_DBW,
    ZONE_INLAND,
    p1812,
)
from c2000cov.units import EARTH_RADIUS_KM

DEFAULT_LAT_DEG = 52.0
DEFAULT_LON_DEG = 5.0
DEFAULT_POL = 2  # vertical, as TETRA


def evaluate_sg3(path, case: int | None = None) -> list[dict]:
    """Run P.1812-8 on the test cases of an ITU-R SG3 measurement file.

    Parameters
    ----------
    path : str or os.PathLike
        SG3 ``.csv`` file (see :mod:`c2000cov.files.sg3`).
    case : int, optional
        0-based test case (row of the measurement block); all when None.

    Returns
    -------
    list of dict
        One dict per case: ``case``, ``file``, every field of
        :class:`~c2000cov.radio.itu.p1812.P1812Result` (``lb_db``, ``ep_dbuv_m``,
        ``lbd_db``, ``lbs_db``, ``lba_db``, ...), and the file's reference values
        ``lb_ref_db`` / ``ep_ref_dbuv_m`` with ``lb_dev_db`` / ``ep_dev_db``
        (predicted minus reference; None when the file has no reference).
        ``ep_dbuv_m`` is for the case's e.r.p. (1 kW when the file has none).
    """
    sg3 = read_sg3(path)
    if not sg3.cases:
        raise InvalidInputError(f"{sg3.path.name}: the file has no test cases (measurement rows)")
    if case is not None:
        if not 0 <= case < len(sg3.cases):
            raise InvalidInputError(
                f"{sg3.path.name}: case must be 0..{len(sg3.cases) - 1}, got {case}"
            )
        cases = [sg3.cases[case]]
    else:
        cases = list(sg3.cases)

    d = sg3.distance_km - sg3.distance_km[0]
    h, r, zone = sg3.h_m, sg3.r_m, sg3.zone
    if not sg3.first_point_tx:  # profile written from the receiver: turn it round
        d = d[-1] - d[::-1]
        h, r, zone = h[::-1], r[::-1], zone[::-1]
    dn = sg3.dn_n_units_km if sg3.dn_n_units_km is not None else DEFAULT_DN_N_UNITS_KM
    n0 = sg3.n0_n_units if sg3.n0_n_units is not None else DEFAULT_N0_N_UNITS

    out = []
    for c in cases:
        if c.pol not in (1, 2):
            raise InvalidInputError(
                f"{sg3.path.name} case {c.index}: P.1812-8 takes polarisation 1 or 2, got {c.pol}"
            )
        erp = c.erp_dbw if c.erp_dbw is not None else ERP_1KW_DBW
        res = p1812(
            c.freq_mhz,
            c.time_pct,
            c.loc_pct,
            d,
            h,
            r,
            zone,
            c.htg_m,
            c.hrg_m,
            c.pol,
            sg3.tx_lat_deg,
            sg3.rx_lat_deg,
            sg3.tx_lon_deg,
            sg3.rx_lon_deg,
            dn_n_units_km=dn,
            n0_n_units=n0,
            erp_dbw=erp,
        )
        row = {"case": c.index, "file": sg3.path.name}
        row.update(res.as_dict())
        row["lb_ref_db"] = c.lb_db
        row["ep_ref_dbuv_m"] = c.ep_dbuv_m
        row["lb_dev_db"] = None if c.lb_db is None else res.lb_db - c.lb_db
        row["ep_dev_dbuv_m"] = None if c.ep_dbuv_m is None else res.ep_dbuv_m - c.ep_dbuv_m
        out.append(row)
    return out


def _read_profile_csv(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    fname = path.name
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise InvalidInputError(f"{fname}: empty file; expected a header 'd_km,h_m[,r_m]'")
    header = [c.strip() for c in rows[0]]
    for col in ("d_km", "h_m"):
        if col not in header:
            raise InvalidInputError(
                f"{fname} line 1: missing column {col!r}; expected 'd_km,h_m' with optional "
                f"'r_m' and 'zone', got {header}"
            )
    known = {"d_km", "h_m", "r_m", "zone"}
    unknown = [c for c in header if c and c not in known]
    if unknown:
        raise InvalidInputError(
            f"{fname} line 1: unknown column(s) {unknown}; valid columns are {sorted(known)}"
        )
    idx = {c: header.index(c) for c in header if c}
    cols: dict[str, list[float]] = {c: [] for c in idx}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not x.strip() for x in row):
            continue
        for col, i in idx.items():
            text = row[i].strip() if i < len(row) else ""
            if text == "" and col in ("r_m", "zone"):
                cols[col].append(0.0 if col == "r_m" else float(ZONE_INLAND))
                continue
            cols[col].append(parse_number(fname, lineno, col, text))
    d = np.asarray(cols["d_km"])
    h = np.asarray(cols["h_m"])
    r = np.asarray(cols["r_m"]) if "r_m" in cols else np.zeros_like(d)
    zone = np.asarray(cols["zone"]).astype(np.int64) if "zone" in cols else None
    for k in range(1, d.size):
        if not d[k] > d[k - 1]:
            raise InvalidInputError(
                f"{fname} line {k + 2}: d_km must increase along the profile, got {d[k]:g} "
                f"after {d[k - 1]:g}"
            )
    return d, h, r, zone


def evaluate_profile_csv(
    path,
    freq_mhz: float,
    h_tx_m: float,
    h_rx_m: float,
    time_pct: float = 50.0,
    loc_pct: float = 50.0,
    *,
    pol: int = DEFAULT_POL,
    zone: int | None = None,
    dn_n_units_km: float = DEFAULT_DN_N_UNITS_KM,
    n0_n_units: float = DEFAULT_N0_N_UNITS,
    tx_lat_deg: float = DEFAULT_LAT_DEG,
    tx_lon_deg: float = DEFAULT_LON_DEG,
    rx_lat_deg: float | None = None,
    rx_lon_deg: float | None = None,
    erp_dbw: float = ERP_1KW_DBW,
    sigma_loc_db: float | None = 0.0,
) -> dict:
    """Run P.1812-8 over a plain profile CSV (``d_km,h_m[,r_m][,zone]``).

    Parameters
    ----------
    path : str or os.PathLike
        CSV with a header row; ``d_km`` from the transmitter (shifted so that
        the first point is 0), ``h_m`` terrain amsl, optional ``r_m`` clutter
        height (default 0) and ``zone`` (default inland).
    freq_mhz : float
        Frequency (MHz).
    h_tx_m, h_rx_m : float
        Antenna heights above ground (m) at the first and last point.
    time_pct, loc_pct : float
        Time and location percentages (%); default 50.
    pol : int
        1 horizontal, 2 vertical (default, TETRA).
    zone : int, optional
        Radio-climatic zone for every point when the CSV has no ``zone``
        column: 1 sea, 3 coastal, 4 inland (default).
    dn_n_units_km, n0_n_units : float
        Refractivity parameters; defaults 45 and 325 are assumed Dutch values.
    tx_lat_deg, tx_lon_deg : float
        Transmitter position (default 52.0 N, 5.0 E).
    rx_lat_deg, rx_lon_deg : float, optional
        Receiver position; default due east of the transmitter at the
        profile length.
    erp_dbw : float
        E.r.p. for ``ep_dbuv_m`` (dBW), default 30 (1 kW).
    sigma_loc_db : float or None
        Location-variability standard deviation (dB); None computes it from
        P.1812-8 section 4.7.

    Returns
    -------
    dict
        Every field of :class:`~c2000cov.radio.itu.p1812.P1812Result` plus ``file``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"profile CSV {str(path)!r} does not exist; check the path")
    d, h, r, zone_col = _read_profile_csv(path)
    if d.size < 3:
        raise InvalidInputError(f"{path.name}: a profile needs at least 3 points, got {d.size}")
    d = d - d[0]
    if zone_col is None:
        zone_col = np.full(d.size, ZONE_INLAND if zone is None else int(zone), dtype=np.int64)
    if rx_lat_deg is None or rx_lon_deg is None:
        rx_lat_deg = tx_lat_deg
        rx_lon_deg = tx_lon_deg + math.degrees(
            d[-1] / (EARTH_RADIUS_KM * math.cos(math.radians(tx_lat_deg)))
        )
    res = p1812(
        freq_mhz,
        time_pct,
        loc_pct,
        d,
        h,
        r,
        zone_col,
        h_tx_m,
        h_rx_m,
        pol,
        tx_lat_deg,
        rx_lat_deg,
        tx_lon_deg,
        rx_lon_deg,
        dn_n_units_km=dn_n_units_km,
        n0_n_units=n0_n_units,
        erp_dbw=erp_dbw,
        sigma_loc_db=sigma_loc_db,
    )
    out = {"file": path.name}
    out.update(res.as_dict())
    return out
