"""``calibration.toml``: a fitted model correction, written by ``c2000cov calibrate``.

A scenario applies it with ``[calibration] path = "calibration.toml"``::

    [calibration]
    profile = "in_car"              # the profile whose measurements were fitted
    landcover = "/abs/landcover.tif" # raster the class codes refer to (absent: none)
    landcover_sha256 = "9f2c..."     # its SHA-256: a run whose [landcover] is the same
                                    # file uses that one (so a bundle carries it)
    n_points = 1480
    n_pixels = 1212
    cv_rmse_db = 5.2

    [calibration.offsets_db]        # dB added to every predicted level
    global = -3.1
    "3" = -2.0                      # land-cover class code -> extra dB

    [calibration.sigma_db]          # location variability (dB)
    global = 5.3
    "3" = 5.6

A class without an entry gets ``global`` alone.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import require_file, sha256_file

GLOBAL = "global"
#: Figures of the fit that a calibration.toml carries for the record (dB).
FIGURES = ("mean_error_db_before", "rmse_db_before", "mean_error_db_after", "rmse_db_after")


@dataclass(frozen=True)
class CalibrationFile:
    """The contents of a ``calibration.toml``."""

    path: Path
    offsets_db: dict[str, float]
    sigma_db: dict[str, float]
    profile: str = ""
    landcover: Path | None = None
    n_points: int = 0
    n_pixels: int = 0
    cv_rmse_db: float = float("nan")
    figures: dict = field(default_factory=dict)  # rmse/mean error before and after (dB)
    landcover_sha256: str | None = None  # SHA-256 of the land-cover raster fitted on

    def class_offsets_db(self) -> dict[int, float]:
        """Per-class offsets (class code -> dB), ``global`` left out."""
        return {int(k): v for k, v in self.offsets_db.items() if k != GLOBAL}

    def class_sigma_db(self) -> dict[int, float]:
        """Per-class location variability (class code -> dB), ``global`` left out."""
        return {int(k): v for k, v in self.sigma_db.items() if k != GLOBAL}

    def summary(self) -> dict:
        """What ``run.json`` and the report record."""
        return {"path": str(self.path), "profile": self.profile,
                "landcover": str(self.landcover) if self.landcover else None,
                "n_points": self.n_points, "n_pixels": self.n_pixels,
                "cv_rmse_db": self.cv_rmse_db, **self.figures,
                "offsets_db": dict(self.offsets_db),
                "sigma_db": dict(self.sigma_db)}


def _table(data: dict, key: str, path: Path, positive: bool) -> dict[str, float]:
    table = data.get(key)
    if not isinstance(table, dict) or GLOBAL not in table:
        raise InvalidInputError(f"{path.name}: calibration.{key} must be a table with at least "
                                f"{GLOBAL} = <dB>; rerun `c2000cov calibrate`")
    out = {}
    for k, v in table.items():
        if k != GLOBAL and not str(k).lstrip("-").isdigit():
            raise InvalidInputError(f"{path.name}: calibration.{key}.{k}: keys are {GLOBAL} "
                                    "or a land-cover class code (an integer)")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                or (positive and v <= 0):
            want = "a number > 0" if positive else "a finite number"
            raise InvalidInputError(f"{path.name}: calibration.{key}.{k} must be {want} (dB), "
                                    f"got {v!r}")
        out[str(k)] = float(v)
    return out


def read_calibration(path: Path) -> CalibrationFile:
    """Read and check a ``calibration.toml``."""
    path = require_file(Path(path), "calibration")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path.name}: not valid TOML: {exc}") from None
    data = doc.get("calibration")
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path.name}: no [calibration] table; expected the "
                                "calibration.toml of `c2000cov calibrate`")
    offsets = _table(data, "offsets_db", path, positive=False)
    sigma = _table(data, "sigma_db", path, positive=True)
    lc = data.get("landcover")
    landcover = None
    if lc:
        landcover = Path(lc) if Path(lc).is_absolute() else (path.parent / lc).resolve()
    if len(offsets) > 1 and landcover is None:
        raise InvalidInputError(f"{path.name}: class offsets need calibration.landcover (the "
                                "land-cover raster their class codes refer to)")
    sha = data.get("landcover_sha256")
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64
                                and all(c in "0123456789abcdef" for c in sha)):
        raise InvalidInputError(f"{path.name}: calibration.landcover_sha256 must be 64 "
                                f"lower-case hex digits (a SHA-256), got {sha!r}")
    figures = {k: float(data[k]) for k in FIGURES if isinstance(data.get(k), int | float)}
    return CalibrationFile(path.resolve(), offsets, sigma, str(data.get("profile", "")),
                           landcover, int(data.get("n_points", 0)),
                           int(data.get("n_pixels", 0)),
                           float(data.get("cv_rmse_db", float("nan"))), figures, sha)


def calibration_landcover(cal: CalibrationFile, scenario_landcover: Path | None) -> Path | None:
    """The raster a run reads the calibration's class codes from.

    The scenario's ``[landcover]`` raster when it is the file the calibration was fitted
    on (same SHA-256, or the same path for a calibration.toml without one): that file is
    one of the run's recorded inputs, so an evidence bundle carries it and a rerun on
    another machine finds it. Otherwise the calibration's own ``landcover`` path.
    """
    if cal.landcover is None or scenario_landcover is None:
        return cal.landcover
    scenario_landcover = Path(scenario_landcover)
    if cal.landcover_sha256 is not None:
        same = sha256_file(scenario_landcover)[0] == cal.landcover_sha256
    else:
        same = scenario_landcover.resolve() == Path(cal.landcover).resolve()
    return scenario_landcover if same else cal.landcover


def _key(k: str) -> str:
    return k if k == GLOBAL else json.dumps(k)


def calibration_toml(offsets_db: dict[str, float], sigma_db: dict[str, float], profile: str,
                     landcover: Path | None, n_points: int, n_pixels: int,
                     cv_rmse_db: float, comment: str = "",
                     figures: dict[str, float] | None = None) -> str:
    """Text of a ``calibration.toml`` that :func:`read_calibration` reads back."""
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += ["[calibration]", f"profile = {json.dumps(profile)}"]
    if landcover is not None:
        lines.append(f"landcover = {json.dumps(str(Path(landcover).resolve()))}")
        lines.append(f"landcover_sha256 = {json.dumps(sha256_file(Path(landcover))[0])}")
    lines += [f"n_points = {n_points}", f"n_pixels = {n_pixels}",
              f"cv_rmse_db = {cv_rmse_db!r}"]
    lines += [f"{k} = {float(v)!r}" for k, v in (figures or {}).items() if k in FIGURES]
    lines += ["", "[calibration.offsets_db]"]
    lines += [f"{_key(k)} = {v!r}" for k, v in offsets_db.items()]
    lines += ["", "[calibration.sigma_db]"]
    lines += [f"{_key(k)} = {v!r}" for k, v in sigma_db.items()]
    return "\n".join(lines) + "\n"
