"""Reader for the ITU-R Study Group 3 measurement/validation file format.

The format is the CSV layout of the ITU-R SG3 databank as used by the P.1812
validation profiles (``validation_profiles/<name>.csv``):

- header lines ``key:,value`` (``Tx LAT:``, ``Tx LON:``, ``Rx LAT:``, ``Rx LON:``
  in degrees, ``First Point TX or RX:`` T or R, ``Tot. Path Length(km):``);
- a meteorology block between ``{Begin of Meteorology}`` and
  ``{End of meteorology}`` with ``Average annual values dN (N-units/km):`` and
  ``Average annual sea-level surface refractivity No (N-units):``;
- the profile between ``{Begin of Profile}`` and ``{End of Profile}``: a
  ``Number of Points:,N`` line, then N rows ``distance_km, ground_height_amsl_m,
  coverage_code, ground_cover_height_m, radio_met_code``;
- the measurement block: a column-name row starting with ``Frequency``, a
  units row, then rows between ``{Begin of Measurements}`` and
  ``{End of Measurements}``, one test case per row.

Also :func:`read_validation_log` for the ``validation_results/<name>_<k>_log.csv``
files that list every intermediate quantity of test case k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from c2000cov.errors import InputNotFoundError, InvalidInputError

# Measurement-block columns this reader uses: file column name -> attribute.
_CASE_COLUMNS = {
    "Frequency": "freq_mhz",
    "Tx antenna height": "htg_m",
    "Tx antenna effective height": "htg_eff_m",
    "Rx antenna height": "hrg_m",
    "Polarisation HVC:1 2 3": "pol",
    "ERP_max_horiz": "erp_horiz_dbw",
    "ERP_max_vertical": "erp_vert_dbw",
    "ERP_max_total": "erp_dbw",
    "HRP_red": "hrp_red_db",
    "Time percentage": "time_pct",
    "Location percentage": "loc_pct",
    "Measured field strength": "ep_dbuv_m",
    "Basic transmission loss": "lb_db",
}
_REQUIRED_CASE_COLUMNS = ("Frequency", "Tx antenna height", "Rx antenna height", "Time percentage")

_PROFILE_COLUMNS = ("distance_km", "h_m", "coverage_code", "r_m", "zone")


@dataclass(frozen=True)
class SG3Case:
    """One test case (one row of the measurement block).

    Attributes
    ----------
    index : int
        0-based row number within the measurement block (the ``k`` of
        ``<name>_<k>_log.csv``).
    freq_mhz : float
        Frequency (MHz).
    htg_m, hrg_m : float
        Tx and Rx antenna heights above ground (m).
    pol : int
        Polarisation: 1 horizontal, 2 vertical, 3 circular.
    erp_dbw : float or None
        Maximum total e.r.p. (dBW) for which ``ep_dbuv_m`` is given; None if
        the file leaves it empty.
    time_pct : float
        Time percentage p (%).
    loc_pct : float
        Location percentage pL (%); 50 when the file has no such column.
    ep_dbuv_m : float or None
        Reference ("measured") field strength (dBuV/m) for ``erp_dbw``.
    lb_db : float or None
        Reference basic transmission loss (dB).
    htg_eff_m, erp_horiz_dbw, erp_vert_dbw, hrp_red_db : float or None
        Further columns of the block, None when empty.
    """

    index: int
    freq_mhz: float
    htg_m: float
    hrg_m: float
    pol: int
    erp_dbw: float | None
    time_pct: float
    loc_pct: float = 50.0
    ep_dbuv_m: float | None = None
    lb_db: float | None = None
    htg_eff_m: float | None = None
    erp_horiz_dbw: float | None = None
    erp_vert_dbw: float | None = None
    hrp_red_db: float | None = None


@dataclass(frozen=True, eq=False)
class SG3File:
    """Content of one SG3 measurement file.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    name : str
        File stem, e.g. ``rburg``.
    tx_lat_deg, tx_lon_deg, rx_lat_deg, rx_lon_deg : float
        Terminal coordinates (degrees, north and east positive).
    first_point_tx : bool
        True when the profile starts at the transmitter (``T``).
    path_length_km : float or None
        ``Tot. Path Length(km)`` from the header.
    dn_n_units_km : float or None
        Average annual refractivity lapse rate dN through the lowest 1 km
        (N-units/km).
    n0_n_units : float or None
        Average annual sea-level surface refractivity N0 (N-units).
    distance_km, h_m, r_m : numpy.ndarray
        Profile distances (km), ground heights amsl (m) and ground-cover
        (representative clutter) heights (m; 0 where empty).
    coverage_code, zone : numpy.ndarray of int
        Coverage code (1 sea, 2 open/rural, 3 suburban, 4 urban/trees,
        5 dense urban; 0 where empty) and radio-meteorological zone
        (1 sea, 3 coastal land, 4 inland; 4 where empty).
    cases : tuple of SG3Case
        Test cases of the measurement block, in file order.
    header : dict
        Every ``key:,value`` line of the header and meteorology blocks.
    """

    path: Path
    name: str
    tx_lat_deg: float
    tx_lon_deg: float
    rx_lat_deg: float
    rx_lon_deg: float
    first_point_tx: bool
    path_length_km: float | None
    dn_n_units_km: float | None
    n0_n_units: float | None
    distance_km: np.ndarray
    h_m: np.ndarray
    r_m: np.ndarray
    coverage_code: np.ndarray
    zone: np.ndarray
    cases: tuple[SG3Case, ...]
    header: dict[str, str] = field(default_factory=dict)


def _fields(line: str) -> list[str]:
    return [f.strip() for f in line.rstrip("\r\n").split(",")]


def _is_tag(line: str, tag: str) -> bool:
    return _fields(line)[0].lower() == tag.lower()


def parse_number(fname: str, lineno: int, what: str, text: str, *, optional: bool = False):
    """A finite float from a text field, or an error naming the file, line and field."""
    text = text.strip()
    if text == "":
        if optional:
            return None
        raise InvalidInputError(
            f"{fname} line {lineno}: expected a number for {what}, got an empty field"
        )
    try:
        value = float(text)
    except ValueError:
        raise InvalidInputError(
            f"{fname} line {lineno}: expected a number for {what}, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise InvalidInputError(
            f"{fname} line {lineno}: expected a finite number for {what}, got {text!r}"
        )
    return value


def read_sg3(path) -> SG3File:
    """Read an ITU-R SG3 measurement/validation file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.csv`` file.

    Returns
    -------
    SG3File

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    InvalidInputError
        A malformed line; the message names the file and the 1-based line,
        e.g. ``rburg.csv line 41: expected a number for distance_km, got 'x'``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"SG3 file {str(path)!r} does not exist; check the path")
    fname = path.name
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()

    header: dict[str, str] = {}
    header_line: dict[str, int] = {}
    profile_rows: list[tuple[int, list[str]]] = []
    n_points: int | None = None
    n_points_line = 0
    case_columns: list[str] | None = None
    case_rows: list[tuple[int, list[str]]] = []
    state = "header"

    for lineno, line in enumerate(lines, start=1):
        flds = _fields(line)
        first = flds[0]
        if state == "header":
            if _is_tag(line, "{Begin of Profile}"):
                state = "profile"
                continue
            if first == "Frequency":
                case_columns = flds
                state = "before_measurements"
                continue
            if first.endswith(":") and not first.startswith("#"):
                key = first[:-1].strip()
                header[key] = flds[1] if len(flds) > 1 else ""
                header_line[key] = lineno
        elif state == "profile":
            if _is_tag(line, "{End of Profile}"):
                state = "header"
                continue
            if first.startswith("Number of Points"):
                value = parse_number(fname, lineno, "Number of Points",
                                     flds[1] if len(flds) > 1 else "")
                if value < 0 or value != int(value):
                    raise InvalidInputError(
                        f"{fname} line {lineno}: Number of Points must be a whole number "
                        f">= 0, got {flds[1]!r}"
                    )
                n_points = int(value)
                n_points_line = lineno
                continue
            if first == "" and all(f == "" for f in flds):
                continue
            profile_rows.append((lineno, flds))
        elif state == "before_measurements":
            if _is_tag(line, "{Begin of Measurements}"):
                state = "measurements"
        elif state == "measurements":
            if _is_tag(line, "{End of Measurements}"):
                state = "done"
                continue
            if all(f == "" for f in flds):
                continue
            case_rows.append((lineno, flds))

    if n_points is None and not profile_rows:
        raise InvalidInputError(
            f"{fname}: no profile found; expected a '{{Begin of Profile}}' block with a "
            "'Number of Points:,N' line"
        )
    if n_points is not None and n_points != len(profile_rows):
        raise InvalidInputError(
            f"{fname} line {n_points_line}: Number of Points says {n_points} but the profile "
            f"block has {len(profile_rows)} rows"
        )
    if state == "measurements":
        raise InvalidInputError(f"{fname}: '{{End of Measurements}}' is missing")

    n = len(profile_rows)
    dist = np.empty(n)
    h = np.empty(n)
    r = np.zeros(n)
    cov = np.zeros(n, dtype=np.int64)
    zone = np.full(n, 4, dtype=np.int64)
    for k, (lineno, flds) in enumerate(profile_rows):
        if len(flds) < 2:
            raise InvalidInputError(
                f"{fname} line {lineno}: expected at least 2 fields (distance_km, h_m), "
                f"got {len(flds)}"
            )
        dist[k] = parse_number(fname, lineno, "distance_km", flds[0])
        h[k] = parse_number(fname, lineno, "h_m", flds[1])
        if len(flds) > 2:
            v = parse_number(fname, lineno, "coverage_code", flds[2], optional=True)
            cov[k] = 0 if v is None else int(v)
        if len(flds) > 3:
            v = parse_number(fname, lineno, "ground_cover_height_m", flds[3], optional=True)
            r[k] = 0.0 if v is None else v
        if len(flds) > 4:
            v = parse_number(fname, lineno, "radio_met_code", flds[4], optional=True)
            if v is not None:
                if v not in (1.0, 3.0, 4.0):
                    raise InvalidInputError(
                        f"{fname} line {lineno}: radio_met_code must be 1 (sea), 3 (coastal "
                        f"land) or 4 (inland), got {flds[4]!r}"
                    )
                zone[k] = int(v)
        if k > 0 and not dist[k] > dist[k - 1]:
            raise InvalidInputError(
                f"{fname} line {lineno}: distance_km must increase along the profile, got "
                f"{dist[k]:g} after {dist[k - 1]:g}"
            )

    cases: list[SG3Case] = []
    if case_rows:
        if case_columns is None:
            raise InvalidInputError(f"{fname}: measurement rows without a 'Frequency,...' header")
        col_index = {name: i for i, name in enumerate(case_columns) if name}
        for name in _REQUIRED_CASE_COLUMNS:
            if name not in col_index:
                raise InvalidInputError(
                    f"{fname}: measurement header lacks the column {name!r}; found "
                    f"{[c for c in case_columns if c]}"
                )
        for k, (lineno, flds) in enumerate(case_rows):
            values: dict[str, float | None] = {}
            for col, attr in _CASE_COLUMNS.items():
                i = col_index.get(col)
                text = flds[i] if i is not None and i < len(flds) else ""
                values[attr] = parse_number(
                    fname, lineno, attr, text, optional=col not in _REQUIRED_CASE_COLUMNS
                )
            pol = values["pol"]
            if pol is None:
                pol = 2.0
            if pol not in (1.0, 2.0, 3.0):
                raise InvalidInputError(
                    f"{fname} line {lineno}: polarisation must be 1, 2 or 3, got {pol:g}"
                )
            loc = values.pop("loc_pct")
            cases.append(
                SG3Case(
                    index=k,
                    freq_mhz=values["freq_mhz"],
                    htg_m=values["htg_m"],
                    hrg_m=values["hrg_m"],
                    pol=int(pol),
                    erp_dbw=values["erp_dbw"],
                    time_pct=values["time_pct"],
                    loc_pct=50.0 if loc is None else loc,
                    ep_dbuv_m=values["ep_dbuv_m"],
                    lb_db=values["lb_db"],
                    htg_eff_m=values["htg_eff_m"],
                    erp_horiz_dbw=values["erp_horiz_dbw"],
                    erp_vert_dbw=values["erp_vert_dbw"],
                    hrp_red_db=values["hrp_red_db"],
                )
            )

    def head_num(key: str, *, required: bool):
        if key not in header or header[key] == "":
            if required:
                raise InvalidInputError(f"{fname}: header line '{key}:,value' is missing")
            return None
        return parse_number(fname, header_line[key], key, header[key])

    first_point = header.get("First Point TX or RX", "T").strip().upper() or "T"
    if first_point not in ("T", "R"):
        raise InvalidInputError(
            f"{fname} line {header_line['First Point TX or RX']}: First Point TX or RX must "
            f"be T or R, got {first_point!r}"
        )
    return SG3File(
        path=path,
        name=path.stem,
        tx_lat_deg=head_num("Tx LAT", required=True),
        tx_lon_deg=head_num("Tx LON", required=True),
        rx_lat_deg=head_num("Rx LAT", required=True),
        rx_lon_deg=head_num("Rx LON", required=True),
        first_point_tx=first_point == "T",
        path_length_km=head_num("Tot. Path Length(km)", required=False),
        dn_n_units_km=head_num("Average annual values dN (N-units/km)", required=False),
        n0_n_units=head_num(
            "Average annual sea-level surface refractivity No (N-units)", required=False
        ),
        distance_km=dist,
        h_m=h,
        r_m=r,
        coverage_code=cov,
        zone=zone,
        cases=tuple(cases),
        header=header,
    )


def read_validation_log(path) -> dict[str, float]:
    """Read a ``validation_results/<name>_<k>_log.csv`` file of intermediate values.

    Each line is ``name, equation reference, , value``. The keys are the name
    column as written (e.g. ``"ae (km)"``, ``"Lbfs"``, ``"Lbulla (dB)"``); a
    name that occurs again gets its equation reference appended, e.g. the
    second ``"hst (m)"`` becomes ``"hst (m) Eq (90a)"``. Lines without a
    numeric value are skipped.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict of str to float
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"validation log {str(path)!r} does not exist; check the path")
    out: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("#"):
            continue
        flds = _fields(line)
        if not flds[0]:
            continue
        value = None
        for text in reversed(flds[1:]):
            if text:
                try:
                    value = float(text)
                except ValueError:
                    value = None
                break
        if value is None:
            continue
        key = flds[0]
        if key in out:
            ref = flds[1] if len(flds) > 1 else ""
            key = f"{key} {ref}".strip()
        out[key] = value
    return out
