"""Antenna pattern files: the MSI (Planet) format, read and written.

MSI (Planet) format
-------------------
A text file with header lines ``KEYWORD value`` (``NAME``, ``MAKE``,
``FREQUENCY``, ``H_WIDTH``, ``V_WIDTH``, ``FRONT_TO_BACK``, ``GAIN``, ``TILT``,
``POLARIZATION``, ``COMMENT``; unknown keywords are vendor extensions and are
ignored), then a ``HORIZONTAL n`` section and a ``VERTICAL n`` section, each
followed by ``n`` lines ``angle attenuation``. Conventions of the format, as
this reader uses them:

* ``GAIN`` is in dBd unless the unit ``dBi`` follows the value
  (``GAIN 11.15 dBi``); dBd is converted with +2.15 dB.
* Table values are attenuations in dB below the maximum gain, written as
  positive numbers (0 = maximum).
* Horizontal angle 0 is the boresight; angles increase clockwise seen from
  above (the same sense as a compass bearing).
* Vertical angle 0 is the horizon in front of the antenna; angles increase
  *downward*: 90 = nadir, 180 = horizon behind the antenna, 270 = zenith.
  So the vertical angle of a direction in front equals its depression angle
  below the horizon, and a downtilted beam has its minimum attenuation at a
  small positive vertical angle.
* Electrical tilt is already in the vertical table (the beam minimum sits at
  the tilt angle). ``TILT`` / ``ELECTRICAL_TILT`` values are recorded for
  reports only and never applied again. Mechanical tilt is a property of the
  installation, passed to :func:`gain_toward_dbi`.

The reader is tolerant of keyword case, tabs, blank lines, a first line that
is the bare antenna name, and tables with a step other than 1 degree (they are
resampled to 1 degree by linear interpolation). A decimal comma, a missing
section or a wrong point count is an error that names the file and line.

How the cuts are combined into a gain toward a target is in
:mod:`c2000cov.radio.antenna`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from c2000cov.errors import InputNotFoundError, InvalidInputError

DBD_TO_DBI_DB = 2.15
"""Gain of a half-wave dipole over isotropic, in dB (dBi = dBd + 2.15)."""

PATTERN_POINTS = 360
"""Samples per pattern cut: one per degree, 0..359."""

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_HEADER_KEYS = {
    "NAME",
    "MAKE",
    "FREQUENCY",
    "H_WIDTH",
    "V_WIDTH",
    "FRONT_TO_BACK",
    "GAIN",
    "TILT",
    "ELECTRICAL_TILT",
    "POLARIZATION",
    "COMMENT",
    "HORIZONTAL",
    "VERTICAL",
}


@dataclass(frozen=True, eq=False)
class AntennaPattern:
    """An antenna's maximum gain and its horizontal and vertical pattern cuts.

    Attributes
    ----------
    name : str
        Antenna name (``NAME`` line, else the file stem).
    gain_dbi : float
        Maximum gain in dBi.
    freq_mhz : float or None
        Frequency the pattern is for, in MHz (None if the file gives none).
    h_att_db : numpy.ndarray, shape (360,)
        Attenuation in dB below ``gain_dbi`` at relative azimuth k degrees,
        clockwise from boresight, k = 0..359. Read-only.
    v_att_db : numpy.ndarray, shape (360,)
        Attenuation in dB at MSI vertical angle k degrees (0 = front horizon,
        90 = nadir, 180 = back horizon, 270 = zenith). Read-only. Electrical
        tilt is already contained in it.
    electrical_tilt_deg : float or None
        Electrical downtilt stated in the file, in degrees (information only).
    make, polarization, comment : str
        Header text fields.
    h_width_deg, v_width_deg, front_to_back_db : float or None
        Stated -3 dB beamwidths in degrees and front-to-back ratio in dB
        (information only).
    pattern_mech_tilt_deg : float or None
        Mechanical tilt the file says its pattern was taken with (``TILT
        MECHANICAL x``), in degrees; already contained in the tables.
    source : str
        The file the pattern was read from ("" if built in code).
    """

    name: str
    gain_dbi: float
    freq_mhz: float | None
    h_att_db: np.ndarray
    v_att_db: np.ndarray
    electrical_tilt_deg: float | None = None
    make: str = ""
    polarization: str = ""
    comment: str = ""
    h_width_deg: float | None = None
    v_width_deg: float | None = None
    front_to_back_db: float | None = None
    pattern_mech_tilt_deg: float | None = None
    source: str = ""

    def __post_init__(self):
        for field in ("h_att_db", "v_att_db"):
            arr = np.array(getattr(self, field), dtype=float)  # copy
            if arr.shape != (PATTERN_POINTS,):
                raise InvalidInputError(
                    f"AntennaPattern {self.name!r}: {field} must have shape "
                    f"({PATTERN_POINTS},), one value per degree, got {arr.shape}"
                )
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise InvalidInputError(
                    f"AntennaPattern {self.name!r}: {field} must hold finite attenuations "
                    f">= 0 dB, got min {np.min(arr)!r}"
                )
            arr.flags.writeable = False
            object.__setattr__(self, field, arr)
        if not math.isfinite(float(self.gain_dbi)):
            raise InvalidInputError(
                f"AntennaPattern {self.name!r}: gain_dbi must be finite, got {self.gain_dbi!r}"
            )
        object.__setattr__(self, "gain_dbi", float(self.gain_dbi))

    @property
    def max_att_db(self) -> float:
        """Largest attenuation in either table, in dB (the default cap of the sum)."""
        return float(max(self.h_att_db.max(), self.v_att_db.max()))


# --------------------------------------------------------------------------- reading


class _MsiSyntax:
    """Error-message helper bound to one file."""

    def __init__(self, path: Path):
        self.where = str(path)

    def error(self, lineno: int | None, message: str) -> InvalidInputError:
        loc = f"{self.where} line {lineno}" if lineno is not None else self.where
        return InvalidInputError(f"{loc}: {message}")

    def number(self, lineno: int, text: str, what: str) -> float:
        if _NUMBER_RE.match(text):
            return float(text)
        if re.match(r"^[+-]?\d+,\d+$", text):
            raise self.error(
                lineno,
                f"{what}: {text!r} uses a decimal comma; MSI files use a decimal point "
                f"(write {text.replace(',', '.')!r})",
            )
        raise self.error(lineno, f"{what}: expected a number, got {text!r}")


def _parse_gain_dbi(syn: _MsiSyntax, lineno: int, rest: str) -> float:
    m = re.match(rf"^({_NUMBER}|[+-]?\d+,\d+)\s*([A-Za-z]*)\s*$", rest.strip())
    if not m:
        raise syn.error(lineno, f"GAIN: expected '<value> [dBi|dBd]', got {rest.strip()!r}")
    value = syn.number(lineno, m.group(1), "GAIN")
    unit = m.group(2).lower()
    if unit in ("", "dbd"):
        return value + DBD_TO_DBI_DB
    if unit == "dbi":
        return value
    raise syn.error(lineno, f"GAIN: unit must be dBi or dBd, got {m.group(2)!r}")


def _parse_freq_mhz(syn: _MsiSyntax, lineno: int, rest: str) -> float:
    text = rest.strip()
    m = re.match(rf"^({_NUMBER})(?:\s*-\s*({_NUMBER}))?\s*([A-Za-z]*)\s*$", text)
    if not m:
        if re.match(r"^[+-]?\d+,\d+", text):
            syn.number(lineno, text.split()[0], "FREQUENCY")  # raises the decimal-comma error
        raise syn.error(
            lineno, f"FREQUENCY: expected '<value> [MHz|GHz]' or '<lo>-<hi>', got {text!r}"
        )
    lo = float(m.group(1))
    value = lo if m.group(2) is None else 0.5 * (lo + float(m.group(2)))
    unit = m.group(3).lower()
    scale = {"": 1.0, "mhz": 1.0, "ghz": 1000.0, "khz": 1e-3}.get(unit)
    if scale is None:
        raise syn.error(lineno, f"FREQUENCY: unit must be MHz or GHz, got {m.group(3)!r}")
    return value * scale


def _parse_optional_float(syn: _MsiSyntax, lineno: int, key: str, rest: str) -> float | None:
    tokens = rest.split()
    if not tokens:
        return None
    return syn.number(lineno, tokens[0], key)


def _parse_tilt(syn: _MsiSyntax, lineno: int, rest: str) -> tuple[str, float | None]:
    """TILT forms: '2', '2 ELECTRICAL', 'ELECTRICAL 2', 'MECHANICAL 0', 'ELECTRICAL'."""
    kind = "ELECTRICAL"
    value = None
    for tok in rest.split():
        up = tok.upper()
        if up in ("ELECTRICAL", "MECHANICAL"):
            kind = up
        elif up in ("DEG", "DEGREE", "DEGREES"):
            continue
        else:
            value = syn.number(lineno, tok, "TILT")
    return kind, value


def _resample_to_degrees(syn, lineno, section, angles, values) -> np.ndarray:
    angles = np.asarray(angles, dtype=float)
    values = np.asarray(values, dtype=float)
    if angles.size == PATTERN_POINTS and np.array_equal(angles, np.arange(PATTERN_POINTS)):
        return values
    if np.any(angles < 0) or np.any(angles >= 360) or np.any(np.diff(angles) <= 0):
        raise syn.error(
            lineno,
            f"{section} angles must increase strictly within 0 <= angle < 360 degrees, got "
            f"{angles[0]:g} ... {angles[-1]:g}",
        )
    return np.interp(np.arange(PATTERN_POINTS, dtype=float), angles, values, period=360.0)


def read_msi(path) -> AntennaPattern:
    """Read an antenna pattern in MSI (Planet) format.

    See the module docstring for the format conventions used.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.msi`` / ``.pln`` / ``.txt`` file.

    Returns
    -------
    AntennaPattern
        Gain in dBi and the two cuts resampled to 1-degree steps.

    Raises
    ------
    InputNotFoundError
        If the file does not exist.
    InvalidInputError
        On a syntax error, a missing ``GAIN``, ``HORIZONTAL`` or ``VERTICAL``
        section, a wrong point count or a negative attenuation; the message
        names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"antenna pattern file not found: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    syn = _MsiSyntax(path)
    lines = text.splitlines()

    header: dict[str, object] = {}
    sections: dict[str, np.ndarray] = {}
    i = 0
    first_content = True
    while i < len(lines):
        lineno = i + 1
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        parts = line.split(None, 1)
        key = parts[0].upper()
        rest = parts[1] if len(parts) > 1 else ""
        if key not in _HEADER_KEYS:
            if first_content and not _NUMBER_RE.match(parts[0]):
                header["_BARE_NAME"] = line  # some vendors start with the bare name
            elif _NUMBER_RE.match(parts[0]) or re.match(r"^[+-]?\d+,\d+$", parts[0]):
                raise syn.error(lineno, "data line outside a HORIZONTAL or VERTICAL section")
            # else: a vendor-specific keyword, ignored
            first_content = False
            continue
        first_content = False
        if key in ("HORIZONTAL", "VERTICAL"):
            if key in sections:
                raise syn.error(lineno, f"second {key} section")
            count_tokens = rest.split()
            if len(count_tokens) != 1 or not count_tokens[0].isdigit() or int(count_tokens[0]) < 2:
                raise syn.error(
                    lineno, f"expected '{key} <number of points>' (e.g. '{key} 360'), got {line!r}"
                )
            n_points = int(count_tokens[0])
            angles: list[float] = []
            values: list[float] = []
            while len(angles) < n_points:
                if i >= len(lines):
                    raise syn.error(
                        None,
                        f"{key} section (line {lineno}) announces {n_points} points but the "
                        f"file ends after {len(angles)}",
                    )
                data_lineno = i + 1
                data = lines[i].strip()
                i += 1
                if not data:
                    continue
                tokens = data.split()
                if tokens[0].upper() in _HEADER_KEYS:
                    raise syn.error(
                        data_lineno,
                        f"{key} section (line {lineno}) announces {n_points} points but "
                        f"{tokens[0]} starts after {len(angles)}",
                    )
                if len(tokens) != 2:
                    raise syn.error(data_lineno, f"expected 'angle attenuation', got {data!r}")
                angle = syn.number(data_lineno, tokens[0], f"{key} angle")
                att = syn.number(data_lineno, tokens[1], f"{key} attenuation")
                if att < 0:
                    raise syn.error(
                        data_lineno,
                        f"{key} attenuation must be >= 0 dB (MSI stores the dB below maximum "
                        f"gain as positive numbers), got {att:g}; if the file stores relative "
                        "gains (all <= 0), negate them",
                    )
                angles.append(angle)
                values.append(att)
            # a further data line right after the section means the count is wrong
            j = i
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines):
                first = lines[j].split()[0]
                if _NUMBER_RE.match(first) or re.match(r"^[+-]?\d+,\d+$", first):
                    raise syn.error(
                        j + 1,
                        f"{key} section (line {lineno}) announces {n_points} points but has "
                        "more data lines",
                    )
            sections[key] = _resample_to_degrees(syn, lineno, key, angles, values)
            continue
        if key in header:
            raise syn.error(lineno, f"{key} given twice")
        if key == "GAIN":
            header[key] = _parse_gain_dbi(syn, lineno, rest)
        elif key == "FREQUENCY":
            header[key] = _parse_freq_mhz(syn, lineno, rest)
        elif key in ("H_WIDTH", "V_WIDTH", "FRONT_TO_BACK"):
            header[key] = _parse_optional_float(syn, lineno, key, rest)
        elif key == "TILT":
            header[key] = _parse_tilt(syn, lineno, rest)
        elif key == "ELECTRICAL_TILT":
            header[key] = _parse_optional_float(syn, lineno, key, rest)
        else:  # NAME, MAKE, POLARIZATION, COMMENT
            header[key] = rest.strip()

    for key in ("HORIZONTAL", "VERTICAL"):
        if key not in sections:
            raise syn.error(None, f"no {key} section (expected '{key} 360' and 360 data lines)")
    if "GAIN" not in header:
        raise syn.error(None, "no GAIN line (expected e.g. 'GAIN 11.0 dBi')")

    electrical_tilt = header.get("ELECTRICAL_TILT")
    mech_tilt = None
    if "TILT" in header:
        kind, value = header["TILT"]
        if kind == "MECHANICAL":
            mech_tilt = value
        elif electrical_tilt is None:
            electrical_tilt = value
    return AntennaPattern(
        name=str(header.get("NAME") or header.get("_BARE_NAME") or path.stem),
        gain_dbi=float(header["GAIN"]),
        freq_mhz=header.get("FREQUENCY"),
        h_att_db=sections["HORIZONTAL"],
        v_att_db=sections["VERTICAL"],
        electrical_tilt_deg=electrical_tilt,
        make=str(header.get("MAKE", "")),
        polarization=str(header.get("POLARIZATION", "")),
        comment=str(header.get("COMMENT", "")),
        h_width_deg=header.get("H_WIDTH"),
        v_width_deg=header.get("V_WIDTH"),
        front_to_back_db=header.get("FRONT_TO_BACK"),
        pattern_mech_tilt_deg=mech_tilt,
        source=str(path),
    )


def write_msi(pattern: AntennaPattern, path) -> Path:
    """Write a pattern in MSI format (gain in dBi, 360 + 360 points).

    The file is written under a temporary name and renamed when complete.

    Parameters
    ----------
    pattern : AntennaPattern
        The pattern to write.
    path : str or os.PathLike
        Output file.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    lines = [f"NAME {pattern.name}"]
    if pattern.make:
        lines.append(f"MAKE {pattern.make}")
    if pattern.freq_mhz is not None:
        lines.append(f"FREQUENCY {pattern.freq_mhz:g}")
    for key, value in (
        ("H_WIDTH", pattern.h_width_deg),
        ("V_WIDTH", pattern.v_width_deg),
        ("FRONT_TO_BACK", pattern.front_to_back_db),
    ):
        if value is not None:
            lines.append(f"{key} {value:g}")
    lines.append(f"GAIN {pattern.gain_dbi:.2f} dBi")
    if pattern.electrical_tilt_deg is not None:
        lines.append(f"TILT ELECTRICAL {pattern.electrical_tilt_deg:g}")
    if pattern.polarization:
        lines.append(f"POLARIZATION {pattern.polarization}")
    if pattern.comment:
        lines.append(f"COMMENT {pattern.comment}")
    for key, table in (("HORIZONTAL", pattern.h_att_db), ("VERTICAL", pattern.v_att_db)):
        lines.append(f"{key} {PATTERN_POINTS}")
        lines.extend(f"{k} {v:.4f}" for k, v in enumerate(table))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
