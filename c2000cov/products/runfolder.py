"""The run folder: every file name, band layout and ``run.json``, written and read here.

This module is the contract between a run and everything that reads it
(maps, report, bundle, queries). No other module spells a run-folder file
name or a band name.

Files of a run folder (``<profile>`` a service profile name):

============================== ==================================================
``p_cover_<profile>.tif``      coverage bands (:data:`COVERAGE_BANDS`)
``p_cover_<profile>_night.tif`` the same at night (no solar-panel emission)
``dead_zones.gpkg``            one layer per profile
``areas_used.gpkg``            the reporting areas as used
``areas_coverage.csv``         per area and profile statistics
``n1_outage.csv``              N-1 ranking
``masts_used.csv``             the masts as read, with ``mast_index``
``masts_interference.csv``     uplink noise rise per mast (with PV)
``noise_rise_dl_db.tif``       downlink noise rise per profile (with PV)
``pv_used.gpkg``               the PV installations as used (with PV)
``delta_<profile>.tif``        what-if change codes
``delta.gpkg``                 what-if gained and lost polygons
``delta_areas.csv``            what-if per-area change
``run.json``                   the run manifest
``report.html``                the compliance report
============================== ==================================================
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from c2000cov import __version__
from c2000cov.analysis.coverage import ProfileCoverage, classify, covered_pct
from c2000cov.analysis.result import RunResult
from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.files.atomic import atomic_path
from c2000cov.files.rasters import write_cog
from c2000cov.files.vectors import write_csv, write_gpkg
from c2000cov.geo.grid import Grid
from c2000cov.products import advice
from c2000cov.radio.models import MODEL_SOURCES
from c2000cov.resources import PACKAGE_DIR
from c2000cov.scenario.config import scenario_parameters

# --------------------------------------------------------------------------- names
COVERAGE_PREFIX = "p_cover_"
NIGHT_SUFFIX = "_night"
DEAD_ZONES = "dead_zones.gpkg"
AREAS_USED = "areas_used.gpkg"
AREAS_LAYER = "areas"
AREA_TABLE = "areas_coverage.csv"
N1_TABLE = "n1_outage.csv"
MASTS_USED = "masts_used.csv"
MASTS_INTERFERENCE = "masts_interference.csv"
NOISE_RISE_DL = "noise_rise_dl_db.tif"
PV_USED = "pv_used.gpkg"
PV_LAYER = "pv"
DELTA_PREFIX = "delta_"
DELTA_POLYGONS = "delta.gpkg"
DELTA_TABLE = "delta_areas.csv"
MANIFEST = "run.json"
REPORT = "report.html"

#: Bands of ``p_cover_<profile>.tif``: (name, unit or code description).
COVERAGE_BANDS = (
    ("p_cover", "1"),
    ("limiting", "code: 1=DL 2=UL 0=none"),
    ("best_server", "mast index (see masts_used.csv), -1=none"),
    ("best_signal_dl_dbm", "dBm"),
    ("n_masts_at_target", "count"),
    ("class", "code: 3=good 2=reduced 1=poor 0=none 255=not evaluated"),
)
BAND_NAMES = tuple(name for name, _ in COVERAGE_BANDS)
(P_COVER_BAND, LIMITING_BAND, SERVER_BAND, SIGNAL_BAND, N_AT_TARGET_BAND,
 CLASS_BAND) = BAND_NAMES
#: Band of ``delta_<profile>.tif``.
DELTA_BAND = ("delta", "code: 1=gained -1=lost 0=unchanged")
#: Decimals of p_cover (0-1) and of signal levels (dBm) in the output GeoTIFFs.
P_COVER_DECIMALS = 4
SIGNAL_DECIMALS = 2


def coverage_name(profile: str, night: bool = False) -> str:
    """File name of a profile's coverage raster."""
    return f"{COVERAGE_PREFIX}{profile}{NIGHT_SUFFIX if night else ''}.tif"


def delta_name(profile: str) -> str:
    """File name of a profile's what-if delta raster."""
    return f"{DELTA_PREFIX}{profile}.tif"


def noise_rise_band(profile: str) -> str:
    """Band name of a profile in ``noise_rise_dl_db.tif``."""
    return f"noise_rise_dl_db_{profile}"


def coverage_profiles(run_dir: Path) -> list[str]:
    """Profiles with a (day) coverage raster in a run folder, sorted by name."""
    n0, n1 = len(COVERAGE_PREFIX), len(".tif")
    return sorted(p.name[n0:-n1] for p in Path(run_dir).glob(f"{COVERAGE_PREFIX}*.tif")
                  if not p.name.endswith(f"{NIGHT_SUFFIX}.tif"))


# --------------------------------------------------------------------------- writing
def coverage_bands(cov: ProfileCoverage):
    """Bands, descriptions and units of ``p_cover_<profile>.tif``.

    Probabilities are stored to 1e-4 and signals to 0.01 dB
    (:data:`P_COVER_DECIMALS`, :data:`SIGNAL_DECIMALS`): finer digits carry
    no information and only defeat compression (17.6 MB -> 10 MB per demo file).
    """
    bands = [np.round(cov.p_cover, P_COVER_DECIMALS), cov.limiting.astype("float32"),
             cov.server.astype("float32"), np.round(cov.signal_dl_dbm, SIGNAL_DECIMALS),
             cov.n_at_target.astype("float32"),
             cov.coverage_class.astype("float32")]
    return bands, list(BAND_NAMES), [unit for _, unit in COVERAGE_BANDS]


def _write_coverage(out_dir: Path, night: bool, covs: dict[str, ProfileCoverage], grid: Grid,
                    model_source: str) -> list[Path]:
    files = []
    for name, cov in covs.items():
        bands, desc, units = coverage_bands(cov)
        files.append(write_cog(out_dir / coverage_name(name, night), bands, grid, desc,
                               units=units,
                               tags={"profile": name, "target_pct": f"{cov.target_pct:g}",
                                     "model": model_source}))
    return files


def write_run_folder(result: RunResult, out_dir: Path) -> RunResult:
    """Write rasters, dead zones, tables and the run manifest into ``out_dir``."""
    inputs = result.inputs
    scen, grid = inputs.scenario, inputs.grid
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = MODEL_SOURCES[scen.model.name]
    files = _write_coverage(out_dir, False, result.coverage, grid, source)
    if result.night is not None:
        files += _write_coverage(out_dir, True, result.night, grid, source)
    files.append(write_gpkg(out_dir / DEAD_ZONES, result.dead_zones))
    if inputs.areas is not None:
        files.append(write_gpkg(out_dir / AREAS_USED, {AREAS_LAYER: inputs.areas}))
    files.append(write_csv(out_dir / AREA_TABLE, result.area_table))
    if result.n1_table is not None:
        files.append(write_csv(out_dir / N1_TABLE, result.n1_table))
    masts = inputs.masts.copy()
    masts.insert(0, "mast_index", np.arange(len(masts)))
    masts["pattern"] = [Path(p).name if isinstance(p, str) else "" for p in masts["pattern"]]
    files.append(write_csv(out_dir / MASTS_USED, masts))
    extra = {}
    if result.interference is not None:
        files += _write_interference(out_dir, result.interference, grid)
        extra["interference"] = {"sun_factor": result.interference.sun_factor,
                                 **result.interference.summary}
    if result.whatif is not None:
        files += _write_whatif(out_dir, result, grid)
        w = result.whatif
        extra["whatif"] = {"changes_file": str(Path(w.changes_file).resolve()),
                           "changes": w.changes, "base_covered_pct": w.base_covered_pct}
    manifest = {
        "scenario": scen.scenario.name,
        "software": {"c2000cov": __version__, "git_commit": git_commit(),
                     "python": platform.python_version()},
        "model": {"name": scen.model.name, "source": source},
        "parameters": scenario_parameters(scen),
        "parameter_origins": dict(sorted(scen.origins.items())),
        "run_utc": timestamp_utc(),
        "grid": {"crs": grid.crs.to_string(), "bounds_m": list(grid.bounds_m),
                 "resolution_m": grid.resolution_m, "shape": list(grid.shape)},
        "covered_pct": {name: covered_pct(cov) for name, cov in result.coverage.items()},
        "files": sorted(p.name for p in files),
        **extra,
    }
    with atomic_path(out_dir / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    files.append(out_dir / MANIFEST)
    result.files = files
    return result




def _write_interference(out_dir: Path, itf, grid: Grid) -> list[Path]:
    names = list(itf.noise_rise_dl_db)
    return [write_csv(out_dir / MASTS_INTERFERENCE, itf.masts_table),
            write_cog(out_dir / NOISE_RISE_DL, [itf.noise_rise_dl_db[n] for n in names], grid,
                      [noise_rise_band(n) for n in names], units=["dB"] * len(names),
                      tags={"sun_factor": f"{itf.sun_factor:g}"}),
            write_gpkg(out_dir / PV_USED, {PV_LAYER: itf.pv_table})]


def _write_whatif(out_dir: Path, result: RunResult, grid: Grid) -> list[Path]:
    deltas = result.whatif.delta
    files = [write_cog(out_dir / delta_name(p), [d], grid, [DELTA_BAND[0]], units=[DELTA_BAND[1]])
             for p, d in deltas.items()]
    files.append(write_gpkg(out_dir / DELTA_POLYGONS, result.whatif.polygons))
    files.append(write_csv(out_dir / DELTA_TABLE, result.delta_table))
    return files


def timestamp_utc() -> str:
    """``YYYY-MM-DDThh:mm:ssZ``: ``SOURCE_DATE_EPOCH`` when set (reproducible files), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit()
            else dt.datetime.now(dt.UTC))
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def git_commit() -> str:
    """The git commit of the installed source tree, or 'unknown'."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=PACKAGE_DIR, timeout=5, check=False)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"



# --------------------------------------------------------------------------- reading
def read_run_manifest(run_dir: Path) -> dict:
    """``run.json`` of a run folder, checked: the folder exists and the file is a JSON object."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputNotFoundError(f"run folder {run_dir} does not exist; give the output folder "
                                 "of `c2000cov run` (its --out)")
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        raise InputNotFoundError(f"{run_dir}: no run.json; expected the output folder of "
                                 "`c2000cov run`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{manifest_path}: not valid JSON ({exc}); rerun "
                                "`c2000cov run` to rewrite the run folder") from None
    if not isinstance(manifest, dict):
        raise InvalidInputError(f"{manifest_path}: expected a JSON object")
    return manifest


@dataclass
class RunFolder:
    """A run folder as its readers (map, report, queries) see it."""

    path: Path
    manifest: dict
    profiles: list[str]
    crs: CRS
    parameters: dict = field(default_factory=dict)

    def file(self, name: str) -> Path:
        """Path of a file in the run folder."""
        return self.path / name

    def has(self, name: str) -> bool:
        """Whether the run folder holds this file."""
        return (self.path / name).is_file()

    def target_pct(self, profile: str) -> float:
        """Target location probability (%) of a profile."""
        return float(self.parameters.get(f"profiles.{profile}.target_pct", 95.0))

    def indoor(self, profile: str) -> bool:
        """Whether a profile is an indoor profile."""
        return bool(self.parameters.get(f"profiles.{profile}.indoor", False))

    @property
    def reduced_pct(self) -> float:
        """Lower limit (%) of the *reduced* class."""
        return float(self.parameters.get("classes.reduced_pct", 80.0))

    @property
    def poor_pct(self) -> float:
        """Lower limit (%) of the *poor* class."""
        return float(self.parameters.get("classes.poor_pct", 50.0))

    def labels(self, lang: str) -> dict[str, str]:
        """Plain labels of the profiles shown ("portofoon buiten", ...)."""
        return advice.profile_labels(self.profiles, self.parameters, lang)


def read_run_folder(run_dir: Path, profiles: list[str] | None = None) -> RunFolder:
    """Read and check ``run.json`` and the profiles of a run folder.

    Parameters
    ----------
    run_dir : Path
        The run output folder.
    profiles : list of str, optional
        Profiles to show, in this order; default all profiles with a
        ``p_cover_<profile>.tif``, outdoor profiles first.
    """
    run_dir = Path(run_dir)
    manifest = read_run_manifest(run_dir)
    available = coverage_profiles(run_dir)
    if not available:
        raise InvalidInputError(f"{run_dir}: no p_cover_<profile>.tif files; expected the "
                                "output folder of `c2000cov run`")
    if profiles:
        unknown = [p for p in profiles if p not in available]
        if unknown:
            raise InvalidInputError(f"--profile {unknown[0]!r} is not in {run_dir}; valid "
                                    f"profiles: {', '.join(available)}")
        chosen = list(dict.fromkeys(profiles))
    else:
        params = manifest.get("parameters", {}) or {}
        # handheld outdoors first (the basic service), then indoors, then in-car
        order = (advice.KIND_HANDHELD_OUTDOOR, advice.KIND_HANDHELD_INDOOR, advice.KIND_IN_CAR)
        chosen = sorted(available, key=lambda n: (order.index(advice.profile_kind(n, params)), n))
    crs_text = manifest.get("grid", {}).get("crs")
    if crs_text:
        crs = CRS.from_user_input(crs_text)
    else:
        with rasterio.open(run_dir / coverage_name(chosen[0])) as src:
            crs = src.crs
    return RunFolder(run_dir, manifest, chosen, crs, manifest.get("parameters", {}) or {})


@dataclass
class CoverageRaster:
    """The coverage of one profile as a map uses it."""

    p_cover: np.ndarray
    coverage_class: np.ndarray  # uint8, CLASS_NODATA where not evaluated
    transform: Affine
    crs: CRS
    target_pct: float

    @property
    def evaluated(self) -> np.ndarray:
        """Pixels with a coverage probability."""
        return np.isfinite(self.p_cover)

    @property
    def pixel_area_m2(self) -> float:
        """Area of one pixel (m^2)."""
        return abs(self.transform.a * self.transform.e)

    @property
    def pixel_m(self) -> float:
        """Pixel side (m)."""
        return abs(self.transform.a)


def read_coverage(path: Path, default_target_pct: float = 95.0, reduced_pct: float = 80.0,
                  poor_pct: float = 50.0) -> CoverageRaster:
    """Read the ``p_cover`` band of a coverage GeoTIFF and classify it."""
    with rasterio.open(path) as src:
        desc = list(src.descriptions)
        if P_COVER_BAND not in desc:
            raise InvalidInputError(f"{path.name}: no band {P_COVER_BAND!r} (bands: {desc}); "
                                    "expected a p_cover_<profile>.tif of `c2000cov run`")
        p = src.read(desc.index(P_COVER_BAND) + 1).astype("float32")
        target = float(src.tags().get("target_pct", default_target_pct))
        transform, crs = src.transform, src.crs
    return CoverageRaster(p, classify(p, target, reduced_pct, poor_pct), transform, crs, target)
