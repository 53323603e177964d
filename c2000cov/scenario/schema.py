"""The scenario schema: every table and key of a scenario file, with units and defaults.

Frozen dataclasses, one per TOML table; :mod:`c2000cov.scenario.config`
reads a file into them. Defaults come from ``DOMAIN.md`` (TETRA, ETSI EN
300 392-2 and vendor data); the ones marked *assumed* there are kept
configurable and reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from c2000cov.units import DEFAULT_K_FACTOR

MODEL_NAMES = ("fspl", "hata", "p1812")
HATA_ENVIRONMENTS = ("urban", "suburban", "open")
#: ``[model] device``: where the p1812 area kernel runs (c2000cov.radio.device).
DEVICES = ("cpu", "gpu", "auto")
BUILDING_CLASSES = ("traditional", "thermally_efficient", "by_year")
#: Profile names become parts of file names (``p_cover_<profile>.tif``): letters, digits,
#: ``_`` and ``-`` only, starting with a letter or digit, at most 64 characters.
PROFILE_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"


@dataclass(frozen=True)
class ScenarioMeta:
    """``[scenario]``: name, analysis CRS, resolution and optional bounds."""

    name: str
    resolution_m: float
    crs: str = "EPSG:28992"
    bounds_m: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class TerrainConfig:
    """``[terrain]``: DTM GeoTIFF (any projected CRS) and optional DSM."""

    dtm: Path
    dsm: Path | None = None


@dataclass(frozen=True)
class BuildingsConfig:
    """``[buildings]``: footprints with either a height or roof and ground levels."""

    path: Path
    layer: str | None = None
    height_column: str | None = None
    roof_column: str | None = None
    ground_column: str | None = None
    year_column: str | None = None


@dataclass(frozen=True)
class LayerConfig:
    """A vector or CSV input (``[masts]``, ``[pv]``)."""

    path: Path
    layer: str | None = None


@dataclass(frozen=True)
class AreasConfig:
    """``[areas]``: polygons to report on, with the column holding their names."""

    path: Path
    name_column: str
    layer: str | None = None


@dataclass(frozen=True)
class LandcoverConfig:
    """``[landcover]``: an integer-class land-cover GeoTIFF and the terminal loss per class.

    ``path`` is read onto the grid with the nearest-neighbour rule (any
    projected CRS). ``terminal_loss_db`` maps a class code, as a string key
    (``"4" = 10.0``), to the extra loss in dB when the terminal stands in that
    class (e.g. a handheld in a forest: ITU-R P.833 section 2.1); classes not
    listed, and no-data cells, add 0 dB. The loss applies to both directions
    and to every profile.
    """

    path: Path
    terminal_loss_db: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PopulationConfig:
    """``[population]``: a people-count raster (GeoTIFF) or points with a count column."""

    path: Path
    column: str = "population"
    layer: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: propagation model and its parameters.

    ``name`` is one of ``fspl`` (ITU-R P.525), ``hata`` (Okumura-Hata) or
    ``p1812`` (ITU-R P.1812 delta-Bullington area kernel). ``radius_m`` bounds
    each mast's computation window. ``k_factor`` sets the effective Earth
    radius (k50 = 157 / (157 - dN) = 1.342 by default, from the dN = 40
    N-units/km of the ITU-R P.452 / P.1812 maps for the Netherlands, the same
    as ``c2000cov link``). ``time_pct`` is the time percentage: area runs
    compute the median (50 %) only and refuse any other value.
    ``clutter_correction`` computes the loss to the representative clutter
    height R of ``clutter_type`` (ITU-R P.2108 section 3.1.1: 10 m suburban,
    15 m urban and trees/forest, 20 m dense urban) and adds the section 3.1
    height-gain correction for a terminal below it, as the Recommendation
    does, at every pixel: use
    it when buildings are not explicit (no buildings layer, no DSM), where it
    stands in for the clutter the profile lacks. ``device`` runs the ``p1812``
    area kernel on the ``cpu`` (default: bit-identical runs anywhere), a ``gpu``
    (numba.cuda; an error when there is none) or on a GPU when numba finds one
    that runs the kernel, else the CPU (``auto``).
    """

    name: str = "p1812"
    radius_m: float = 15000.0
    k_factor: float = DEFAULT_K_FACTOR
    time_pct: float = 50.0
    hata_environment: str = "suburban"
    clutter_correction: bool = False
    clutter_type: str = "suburban"
    device: str = "cpu"


@dataclass(frozen=True)
class RadioConfig:
    """``[radio]``: TETRA carrier frequencies, channel bandwidth and BS receiver.

    ``bs_diversity_gain_db`` is the base-station receive-diversity gain added
    to every uplink budget, for masts whose masts-file row leaves
    ``rx_diversity_gain_db`` empty (0 for a mast without diversity).
    """

    dl_freq_mhz: float = 392.5
    ul_freq_mhz: float = 382.5
    bandwidth_khz: float = 25.0
    bs_noise_figure_db: float = 4.0
    ms_noise_figure_db: float = 7.0
    bs_diversity_gain_db: float = 3.0


@dataclass(frozen=True)
class ProfileConfig:
    """``[profiles.<name>]``: a service profile (terminal, place, target).

    Defaults are the handheld-outdoor values of DOMAIN.md: class 3L handheld
    (1.8 W = 32.5 dBm), -3 dBi antenna and 5 dB body loss (assumed), ETSI
    dynamic sensitivities (MS -103 dBm, BS -106 dBm), 8 dB location
    variability (a common planning default), 95 % target.
    """

    h_rx_m: float = 1.5
    ms_tx_power_dbm: float = 32.5
    ms_gain_dbi: float = -3.0
    body_loss_db: float = 5.0
    extra_loss_db: float = 0.0
    ms_sensitivity_dbm: float = -103.0
    bs_sensitivity_dbm: float = -106.0
    sigma_db: float = 8.0
    target_pct: float = 95.0
    indoor: bool = False
    building_class: str = "traditional"
    year_threshold: int = 2000


@dataclass(frozen=True)
class ClassesConfig:
    """``[classes]``: coverage-probability class limits in percent (meldkamer classes).

    good: at least the profile target; reduced: ``reduced_pct`` up to the
    target; poor: ``poor_pct`` up to ``reduced_pct``; none: below ``poor_pct``.
    """

    reduced_pct: float = 80.0
    poor_pct: float = 50.0


@dataclass(frozen=True)
class DeadZoneConfig:
    """``[dead_zones]``: minimum polygon area kept and simplification tolerance."""

    min_area_m2: float = 2500.0
    simplify_m: float = 0.0


@dataclass(frozen=True)
class InterferenceConfig:
    """``[interference]``: the solar-panel (PV optimizer/inverter) emission model.

    Defaults from DOMAIN.md ("Solar-panel interference"); see
    :mod:`c2000cov.radio.interference` for the model.

    - ``sun_factor``: emission scaling, 1 = sunny day, 0 = night (no emission).
    - ``limit_dbuv_m``, ``limit_dist_m``, ``limit_bandwidth_khz``: the emission
      limit a device at ``emission_db_over_limit = 0`` meets: CISPR 11 /
      EN 55011 class B, 230-1000 MHz, 37 dBuV/m quasi-peak at 10 m in 120 kHz.
      The emission is taken as noise-like (power scales with bandwidth).
    - ``ground_reflection_db``: removed from the limit's field strength: the
      limit is measured over a reflecting ground plane with a 1-4 m antenna
      height scan, which finds the height where the direct and the
      ground-reflected waves add (up to +6 dB over free space); the EIRP
      that radiates toward a receiver is that much lower.
    - ``qp_to_rms_db``: removed as well: the limit is a quasi-peak reading,
      which for the impulsive noise of switching converters lies above the
      RMS power that desensitises a receiver.
    - ``time_pct``: time percentage of the interference paths; only 50 % (the
      median, what the loss models compute) is accepted.
    - ``kwp_per_device``: peak power per optimizer, one per panel (about
      0.4 kWp), for installations without ``n_devices``.
    - ``roof_offset_m``: panel height above the surface (roof) where an
      installation without ``h_agl_m`` sits on a building pixel (assumed).
    - ``park_h_agl_m``: height above ground of an installation without
      ``h_agl_m`` off buildings, e.g. a ground-mounted park (assumed).
    - ``park_sample_m``: spacing of the sample points of a polygon
      installation, which share its devices equally.
    - ``mitigated_db_over_limit``: what a mitigated installation still
      emits: its excess is capped at this many dB over the limit (0: brought
      to the limit; assumed).
    - ``mitigate_ids``: pv_id values to treat as mitigated (what-if).
    - ``mitigate_within``: polygon file; installations inside are mitigated
      (what-if).
    - ``prune_margin_db``: sources are left out only while the summed upper
      bound of what they contribute stays this far below the receiver noise
      floor (uplink: per mast; downlink: per source radius).
    - ``dl_max_radius_m``: largest radius around a source for the downlink
      noise-rise raster (m).
    """

    sun_factor: float = 1.0
    limit_dbuv_m: float = 37.0
    limit_dist_m: float = 10.0
    limit_bandwidth_khz: float = 120.0
    ground_reflection_db: float = 6.0
    qp_to_rms_db: float = 3.0
    time_pct: float = 50.0
    kwp_per_device: float = 0.4
    roof_offset_m: float = 0.5
    park_h_agl_m: float = 2.0
    park_sample_m: float = 50.0
    mitigated_db_over_limit: float = 0.0
    mitigate_ids: tuple[str, ...] = ()
    mitigate_within: Path | None = None
    prune_margin_db: float = 30.0
    dl_max_radius_m: float = 3000.0


@dataclass(frozen=True)
class ReportConfig:
    """``[report]``: what the compliance report judges the run against.

    - ``required_covered_pct``: the stated requirement per profile: the share
      of an area's evaluated area (%) that must reach the profile's target
      location probability. A number applies to every profile; a table
      (``[report.required_covered_pct]``, ``in_car = 90.0``) to the profiles it
      names. Profiles without one have no stated requirement (the default):
      the report then gives figures but no verdict.
    - ``sensitivity_db``: every predicted signal level is shifted by this
      many dB down and up to show how far each figure moves and whether its
      verdict holds (assumed; no measured model error is available).
    """

    required_covered_pct: dict[str, float] = field(default_factory=dict)
    sensitivity_db: float = 3.0


@dataclass(frozen=True)
class CalibrationConfig:
    """``[calibration]``: a ``calibration.toml`` of ``c2000cov calibrate`` to apply.

    Its offsets are added to every predicted level (downlink and uplink: the
    path loss is reciprocal) and its location variability replaces every
    profile's ``sigma_db``.
    """

    path: Path


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: output folder, optional map path, per-mast cache folder, and the
    side (px) of the tiles the coverage is reduced in (:mod:`c2000cov.pipeline.tiles`)."""

    dir: Path = Path("out")
    map: Path | None = None
    cache_dir: Path | None = None
    tile_px: int = 2048


@dataclass(frozen=True)
class Scenario:
    """A complete, validated scenario."""

    source: Path
    scenario: ScenarioMeta
    terrain: TerrainConfig
    masts: LayerConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    radio: RadioConfig = field(default_factory=RadioConfig)
    profiles: dict[str, ProfileConfig] = field(default_factory=dict)
    buildings: BuildingsConfig | None = None
    pv: LayerConfig | None = None
    areas: AreasConfig | None = None
    roads: LayerConfig | None = None
    population: PopulationConfig | None = None
    landcover: LandcoverConfig | None = None
    classes: ClassesConfig = field(default_factory=ClassesConfig)
    dead_zones: DeadZoneConfig = field(default_factory=DeadZoneConfig)
    interference: InterferenceConfig = field(default_factory=InterferenceConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    calibration: CalibrationConfig | None = None
    output: OutputConfig = field(default_factory=OutputConfig)
    #: Where each parameter's value came from: ``{key path: "scenario" | "override"}`` for
    #: the keys the scenario file or a command-line flag set; every other key is a default.
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


SECTIONS: dict[str, type] = {
    "scenario": ScenarioMeta,
    "terrain": TerrainConfig,
    "masts": LayerConfig,
    "model": ModelConfig,
    "radio": RadioConfig,
    "buildings": BuildingsConfig,
    "pv": LayerConfig,
    "areas": AreasConfig,
    "roads": LayerConfig,
    "population": PopulationConfig,
    "landcover": LandcoverConfig,
    "classes": ClassesConfig,
    "dead_zones": DeadZoneConfig,
    "interference": InterferenceConfig,
    "report": ReportConfig,
    "calibration": CalibrationConfig,
    "output": OutputConfig,
}
