"""The run folder: every file name, band layout and ``run.json``, written and read here.

This module is the contract between a run and everything that reads it
(maps, report, bundle, queries). No other module spells a run-folder file
name or a band name.

Files of a run folder (``<profile>`` a service profile name, ``<state>`` empty
or ``_night`` for the night state without solar-panel emission):

===================================== ===================================="""

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
from c2000cov.analysis.coverage import (
    CLASS_GOOD,
    CLASS_NODATA,
    ProfileCoverage,
    classify,
    covered_pct,
)
from c2000cov.analysis.result import RunResult
from c2000cov.errors import InputNotFoundError, InvalidInputError
from c2000cov.files.atomic import atomic_path
from c2000cov.files.inputs import record_inputs
from c2000cov.files.rasters import TiledBand, write_cog, write_cogs
from c2000cov.files.vectors import write_csv, write_gpkg
from c2000cov.geo.grid import Grid
from c2000cov.products import advice, styles
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
OPTIMISE_FILES = ("selected.csv", "candidates.csv", "selected_changes.toml")  # optimise
MANIFEST = "run.json"
REPORT = "report.html"
VALIDATION_TABLE = "validation.csv"
VALIDATION_POINTS = "validation.gpkg"
VALIDATION_LAYER = "field_reports"
CALIBRATION_TOML = "calibration.toml"
CALIBRATION_JSON = "calibration.json"
CALIBRATION_PAGE = "calibration.html"
CALIBRATION_POINTS = "calibration_points.csv"

#: Bands of ``p_cover_<profile>.tif``: (name, unit); float32, average overviews.
COVERAGE_BANDS = (
    ("p_cover", "1"),
    ("best_signal_dl_dbm", "dBm"),
)
#: Categorical rasters, one file each: band name -> (file prefix, unit or code description).
CATEGORICAL = {
    "class": ("class_", "code: 3=good 2=reduced 1=poor 0=none 255=not evaluated"),
    "limiting": ("limiting_", "code: 1=DL 2=UL 0=no mast within reach 255=not evaluated"),
    "best_server": ("best_server_", "mast_index of masts_used.csv; 255 (65535)=none"),
    "n_masts_at_target": ("redundancy_", "masts reaching the target; 255=not evaluated"),
}
#: Every band of a profile's coverage, continuous and categorical.
BAND_NAMES = tuple(name for name, _ in COVERAGE_BANDS) + tuple(CATEGORICAL)
#: No-data code of the uint8 rasters (and of uint16 best-server rasters: 65535).
CODE_NODATA = 255
P_COVER_BAND, SIGNAL_BAND = (name for name, _ in COVERAGE_BANDS)
LIMITING_BAND, SERVER_BAND, N_AT_TARGET_BAND, CLASS_BAND = ("limiting", "best_server",
                                                           "n_masts_at_target", "class")
#: Band of ``delta_<profile>.tif``.
DELTA_BAND = ("delta", "code: 1=gained -1=lost 0=unchanged")
#: Decimals of p_cover (0-1) and of signal levels (dBm) in the output GeoTIFFs.
P_COVER_DECIMALS = 4
SIGNAL_DECIMALS = 2
#: Range of the noise-rise style (dB).
NOISE_RISE_STYLE_DB = (0.0, 10.0)


def coverage_name(profile: str, night: bool = False) -> str:
    """File name of a profile's coverage raster."""
    return f"{COVERAGE_PREFIX}{profile}{NIGHT_SUFFIX if night else ''}.tif"


def band_name(profile: str, band: str, night: bool = False) -> str:
    """File name of the raster that holds a band of a profile."""
    if band in CATEGORICAL:
        return f"{CATEGORICAL[band][0]}{profile}{NIGHT_SUFFIX if night else ''}.tif"
    if band in dict(COVERAGE_BANDS):
        return coverage_name(profile, night)
    raise InvalidInputError(f"band {band!r} is not a coverage band; choose one of: "
                            + ", ".join(BAND_NAMES))


def style_name(raster: str) -> str:
    """The QGIS style file beside a raster (QGIS loads ``<name>.qml`` with ``<name>.tif``)."""
    return raster.removesuffix(".tif") + ".qml"


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
    """Bands, descriptions and units of ``p_cover_<profile>.tif`` (continuous bands).

    Probabilities are stored to 1e-4 and signals to 0.01 dB
    (:data:`P_COVER_DECIMALS`, :data:`SIGNAL_DECIMALS`): finer digits carry
    no information and only defeat compression (17.6 MB -> 10 MB per demo file).
    The bands are rounded window by window as they are written (:class:`TiledBand`).
    """
    f4 = np.dtype("float32")
    bands = [TiledBand(f4, lambda w: np.round(cov.p_cover[w.slices], P_COVER_DECIMALS)),
             TiledBand(f4, lambda w: np.round(cov.signal_dl_dbm[w.slices], SIGNAL_DECIMALS))]
    return bands, [n for n, _ in COVERAGE_BANDS], [u for _, u in COVERAGE_BANDS]


def categorical_bands(cov: ProfileCoverage, n_masts: int) -> dict[str, TiledBand]:
    """The categorical rasters of a profile as unsigned codes, 255 (65535) = no data,
    computed window by window as they are written. ``best_server`` is uint8 up to 254
    masts and uint16 above."""
    srv_dtype = np.dtype("uint8") if n_masts < CODE_NODATA else np.dtype("uint16")
    srv_nodata = np.iinfo(srv_dtype).max

    def coded(dtype, codes, nodata=CODE_NODATA, reached=lambda w: True):
        return TiledBand(np.dtype(dtype), lambda w: np.where(
            np.isfinite(cov.p_cover[w.slices]) & reached(w), codes(w), nodata).astype(dtype))

    return {"class": coded("uint8", lambda w: cov.coverage_class[w.slices]),
            "limiting": coded("uint8", lambda w: cov.limiting[w.slices]),
            "best_server": coded(srv_dtype, lambda w: cov.server[w.slices], srv_nodata,
                                 lambda w: cov.server[w.slices] >= 0),
            "n_masts_at_target": coded("uint8", lambda w: np.minimum(
                cov.n_at_target[w.slices], CODE_NODATA - 1))}


def write_profile_rasters(out_dir: Path, cov: ProfileCoverage, grid: Grid, night: bool = False,
                          tags: dict[str, str] | None = None, reduced_pct: float = 80.0,
                          poor_pct: float = 50.0, mast_ids: list[str] | None = None
                          ) -> list[Path]:
    """A profile's coverage rasters: the continuous COG, the categorical COGs, their styles.

    ``mast_ids`` label the best-server codes (default: the mast indexes).
    """
    if mast_ids is None:
        mast_ids = [str(i) for i in range(int(np.max(cov.server, initial=-1)) + 1)]
    tags = {"profile": cov.name, "target_pct": f"{cov.target_pct:g}", **(tags or {})}
    bands, desc, units = coverage_bands(cov)
    jobs = [dict(path=out_dir / coverage_name(cov.name, night), bands=bands, grid=grid,
                 descriptions=desc, units=units, tags=tags, categorical=False)]
    qmls = [styles.p_cover_qml(cov.target_pct, reduced_pct, poor_pct)]
    for band, codes in categorical_bands(cov, len(mast_ids)).items():
        cats = {CLASS_BAND: lambda: styles.class_categories(cov.target_pct, reduced_pct,
                                                             poor_pct),
                LIMITING_BAND: styles.limiting_categories,
                SERVER_BAND: lambda: styles.server_categories(mast_ids),
                N_AT_TARGET_BAND: lambda: styles.redundancy_categories(
                    int(np.max(cov.n_at_target, initial=0)))}[band]()
        nodata = int(np.iinfo(codes.dtype).max)
        colormap = (styles.colour_table(cats, nodata) if codes.dtype == np.uint8
                    else {c.value: styles.hex_rgba(c.colour) for c in cats})
        jobs.append(dict(path=out_dir / band_name(cov.name, band, night), bands=[codes],
                         grid=grid, descriptions=[band], nodata=nodata,
                         units=[CATEGORICAL[band][1]], tags=tags, categorical=True,
                         colormap=colormap))
        qmls.append(styles.paletted_qml(cats))
    return [f for path, qml in zip(write_cogs(jobs), qmls, strict=True)  # COGs at once
            for f in (path, styles.write_qml(out_dir / style_name(path.name), qml))]


def _write_coverage(out_dir: Path, night: bool, covs: dict[str, ProfileCoverage], grid: Grid,
                    model_source: str, classes: dict[str, float], mast_ids: list[str]
                    ) -> list[Path]:
    files = []
    for cov in covs.values():
        files += write_profile_rasters(out_dir, cov, grid, night, {"model": model_source},
                                       mast_ids=mast_ids, **classes)
    return files


def write_run_folder(result: RunResult, out_dir: Path) -> RunResult:
    """Write rasters, dead zones, tables and the run manifest into ``out_dir``."""
    inputs = result.inputs
    scen, grid = inputs.scenario, inputs.grid
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = MODEL_SOURCES[scen.model.name]
    classes = {"reduced_pct": scen.classes.reduced_pct, "poor_pct": scen.classes.poor_pct}
    mast_ids = [str(m) for m in inputs.masts["mast_id"]]
    files = _write_coverage(out_dir, False, result.coverage, grid, source, classes, mast_ids)
    if result.night is not None:
        files += _write_coverage(out_dir, True, result.night, grid, source, classes, mast_ids)
    files.append(write_gpkg(out_dir / DEAD_ZONES, result.dead_zones, styles={
        name: styles.dead_zone_qml(result.coverage[name].target_pct, **classes)
        for name in result.dead_zones if name in result.coverage}))
    if inputs.areas is not None:
        files.append(write_gpkg(out_dir / AREAS_USED, {AREAS_LAYER: inputs.areas},
                                styles={AREAS_LAYER: styles.outline_qml(label_field="area_name")}))
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
    if inputs.calibration is not None:
        extra["calibration"] = inputs.calibration.summary
    if result.whatif is not None:
        w = result.whatif
        files += write_delta_files(out_dir, w.delta, w.polygons, result.delta_table, grid)
        extra["whatif"] = {"changes_file": str(Path(w.changes_file).resolve()),
                           "changes": w.changes, "base_covered_pct": w.base_covered_pct}
    manifest = {
        "scenario": scen.scenario.name,
        "software": {"c2000cov": __version__, "git_commit": git_commit(),
                     "python": platform.python_version()},
        "model": {"name": scen.model.name, "source": source,
                  **({"device": result.device} if result.device else {})},
        "parameters": scenario_parameters(scen),
        "parameter_origins": dict(sorted(scen.origins.items())),
        "run_utc": timestamp_utc(),
        "grid": {"crs": grid.crs.to_string(), "bounds_m": list(grid.bounds_m),
                 "resolution_m": grid.resolution_m, "shape": list(grid.shape)},
        "covered_pct": {name: covered_pct(cov) for name, cov in result.coverage.items()},
        "files": sorted(p.name for p in files),
        "inputs": record_inputs(scen, inputs.masts["pattern"]),
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
                      tags={"sun_factor": f"{itf.sun_factor:g}"}, categorical=False),
            styles.write_qml(out_dir / style_name(NOISE_RISE_DL),
                             styles.continuous_qml(*NOISE_RISE_STYLE_DB, "dB")),
            write_gpkg(out_dir / PV_USED, {PV_LAYER: itf.pv_table})]


def write_delta_files(out_dir: Path, deltas: dict[str, np.ndarray], polygons: dict,
                      table, grid: Grid) -> list[Path]:
    """Delta rasters (on ``grid``: the run's, or the window of a delta-only what-if)."""
    files = []
    for p, d in deltas.items():
        path = write_cog(out_dir / delta_name(p), [d], grid, [DELTA_BAND[0]],
                         units=[DELTA_BAND[1]], categorical=True)
        files += [path, styles.write_qml(out_dir / style_name(path.name),
                                         styles.paletted_qml(styles.delta_categories()))]
    files.append(write_gpkg(out_dir / DELTA_POLYGONS, polygons, styles={
        p: styles.delta_polygon_qml() for p in polygons}))
    files.append(write_csv(out_dir / DELTA_TABLE, table))
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
def report_sections(run_dir: Path, manifest: dict, lang: str = "nl") -> list[dict]:
    """Optional report sections of a run folder: the calibration applied, the field reports.

    Each is ``{"id", "title", "text", "header", "rows"}`` (rows of display
    strings); none when the run has neither.
    """
    from c2000cov.products.calibration_page import calibration_section, validation_section

    table = Path(run_dir) / VALIDATION_TABLE
    sections = [calibration_section(manifest.get("calibration"), lang),
                validation_section(table if table.is_file() else None, lang)]
    return [s for s in sections if s is not None]


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
    """Read a coverage raster's ``p_cover`` band and its classes.

    The classes come from the ``class_<profile>.tif`` beside ``path``, from a
    ``class`` band in ``path`` itself (run folders of earlier versions), or,
    when neither exists, from classifying ``p_cover`` with the target and the
    class limits.
    """
    path = Path(path)
    with rasterio.open(path) as src:
        desc = list(src.descriptions)
        if P_COVER_BAND not in desc:
            raise InvalidInputError(f"{path.name}: no band {P_COVER_BAND!r} (bands: {desc}); "
                                    "expected a p_cover_<profile>.tif of `c2000cov run`")
        p = src.read(desc.index(P_COVER_BAND) + 1).astype("float32")
        cls = src.read(desc.index("class") + 1) if "class" in desc else None
        target = float(src.tags().get("target_pct", default_target_pct))
        transform, crs = src.transform, src.crs
    class_path = path.with_name(CATEGORICAL["class"][0] + path.name[len(COVERAGE_PREFIX):])
    if cls is None and path.name.startswith(COVERAGE_PREFIX) and class_path.is_file():
        with rasterio.open(class_path) as src:
            cls = src.read(1)
    if cls is None:
        cls = classify(p, target, reduced_pct, poor_pct)
    codes = np.full(cls.shape, CLASS_NODATA, dtype="uint8")
    ok = np.isfinite(cls) & (cls >= 0) & (cls <= CLASS_GOOD)
    codes[ok] = cls[ok].astype("uint8")
    return CoverageRaster(p, codes, transform, crs, target)


def vector_layers(path: Path) -> list[str]:
    """The feature layers of a run-folder GeoPackage (its ``layer_styles`` table left out)."""
    import geopandas as gpd

    layers = gpd.list_layers(path)
    return [str(n) for n, g in zip(layers["name"], layers["geometry_type"], strict=True)
            if isinstance(g, str)]


def band_sources(run_dir: Path, profile: str, night: bool = False) -> dict[str, tuple[Path, int]]:
    """Where each band of a profile lives: ``{band: (file, 1-based band index)}``.

    For readers that open the rasters themselves (block-wise queries): the
    current layout (one file per categorical band) and run folders of earlier
    versions (every band in ``p_cover_<profile>.tif``) alike. Bands that the
    folder lacks are left out.
    """
    run_dir = Path(run_dir)
    out: dict[str, tuple[Path, int]] = {}
    coverage = run_dir / coverage_name(profile, night)
    if coverage.is_file():
        with rasterio.open(coverage) as src:
            out = {str(d): (coverage, i) for i, d in enumerate(src.descriptions, 1) if d}
    for band in CATEGORICAL:
        path = run_dir / band_name(profile, band, night)
        if path.is_file():
            out[band] = (path, 1)
    return out


#: What the categorical rasters' no-data code meant in the single-file layout of earlier
#: versions (``class`` kept 255); :class:`CoverageStack` reads them that way.
LEGACY_NODATA = {"limiting": 0.0, "best_server": -1.0, "n_masts_at_target": 0.0}


class CoverageStack:
    """A profile's coverage bands, wherever they live, read like one multi-band raster.

    For readers written against the single-file layout (every band a float32
    band of ``p_cover_<profile>.tif``, by description): ``descriptions``,
    ``read(indexes, window=)``, ``tags()``, ``block_shapes``, ``width``,
    ``height``, ``transform``, ``crs`` and ``close()`` behave as they did.
    Categorical no-data codes read as before: best server -1, limiting and
    redundancy 0, class 255.
    """

    def __init__(self, run_dir: Path, profile: str, night: bool = False):
        sources = band_sources(run_dir, profile, night)
        if P_COVER_BAND not in sources:
            raise InputNotFoundError(f"{run_dir}: no {coverage_name(profile, night)}; "
                                     "expected the output folder of `c2000cov run`")
        self.descriptions = tuple(sources)
        self._bands = [(band, *sources[band]) for band in self.descriptions]
        self._open = {path: rasterio.open(path) for path in {p for _, p, _ in self._bands}}
        self._main = self._open[sources[P_COVER_BAND][0]]
        self.width, self.height = self._main.width, self._main.height
        self.transform, self.crs = self._main.transform, self._main.crs
        self.bounds, self.block_shapes = self._main.bounds, self._main.block_shapes

    def tags(self, bidx: int = 0) -> dict:
        """The coverage raster's tags (profile, target_pct, model)."""
        return self._main.tags(bidx)

    def read(self, indexes, window=None) -> np.ndarray:
        """Bands by 1-based index (an int gives 2-D, a list 3-D), as float32."""
        single = isinstance(indexes, int | np.integer)
        out = []
        for i in ([indexes] if single else list(indexes)):
            band, path, bidx = self._bands[int(i) - 1]
            src = self._open[path]
            data = src.read(bidx, window=window)
            if band in CATEGORICAL:
                nodata = data == src.nodata
                data = data.astype("float32")
                data[nodata] = LEGACY_NODATA.get(band, float(CODE_NODATA))
            out.append(data.astype("float32", copy=False))
        return out[0] if single else np.stack(out)

    def close(self) -> None:
        """Close the files."""
        for src in self._open.values():
            src.close()

    def __enter__(self) -> CoverageStack:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_band(run_dir: Path, profile: str, band: str, night: bool = False):
    """One band of a profile: ``(array, transform, crs)``.

    Categorical bands come as their unsigned codes (255 or 65535 = no data);
    in run folders of earlier versions every band was a float32 band of
    ``p_cover_<profile>.tif`` and is read from there.
    """
    run_dir = Path(run_dir)
    path = run_dir / band_name(profile, band, night)
    if not path.is_file():
        path = run_dir / coverage_name(profile, night)
    if not path.is_file():
        raise InputNotFoundError(f"{run_dir}: no {band_name(profile, band, night)}; expected "
                                 "the output folder of `c2000cov run`")
    with rasterio.open(path) as src:
        names = list(src.descriptions)
        if band not in names:
            raise InvalidInputError(f"{path.name}: no band named {band!r}; bands: "
                                    + ", ".join(str(n) for n in names))
        return src.read(names.index(band) + 1), src.transform, src.crs
