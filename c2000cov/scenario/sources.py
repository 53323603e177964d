"""Where each scenario parameter's default comes from, for reports.

Keys are the flat parameter paths of ``run.json`` (``radio.dl_freq_mhz``);
``*`` matches any text, so ``profiles.*.ms_sensitivity_dbm`` covers every
service profile. Sources follow ``DOMAIN.md`` (shipped as
``c2000cov/data/DOMAIN.md``, :data:`DOMAIN_PATH`): ETSI EN 300 392-2 (TETRA
air interface), vendor data, ITU-R recommendations, and values marked
``(assumed)`` where no public source was found; reports flag those.
The source describes the default; a scenario may override the value, and
the report prints the value actually used, where it came from
(:attr:`c2000cov.scenario.config.Scenario.origins`) and the default
(:func:`c2000cov.scenario.config.default_value`) next to it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from c2000cov.resources import DATA_DIR

#: The domain notes the sources cite, shipped with the package.
DOMAIN_PATH = DATA_DIR / "DOMAIN.md"

ASSUMED = "(assumed)"
USER_INPUT = "user input (scenario file)"
NO_SOURCE = "(no source recorded)"

PARAMETER_SOURCES: dict[str, str] = {
    # scenario and inputs
    "source": "scenario file path",
    "scenario.name": USER_INPUT,
    "scenario.resolution_m": USER_INPUT,
    "scenario.crs": "user input; default EPSG:28992 (Amersfoort / RD New, Dutch national grid)",
    "scenario.bounds_m": "user input; default: the extent of the DTM",
    "buildings": "user input data (building footprints; not given)",
    "pv": "user input data (solar-panel installations; not given)",
    "areas": "user input data (reporting areas; not given: the whole grid is one area)",
    "roads": "user input data (road centre lines; not given)",
    "population": "user input data (population; not given)",
    "calibration": "model as published (no calibration against measurements applied)",
    "calibration.*": "fitted by `c2000cov calibrate` to drive-test measurements (see the "
                     "calibration section of the report)",
    "landcover": "user input data (land cover; not given: no terminal loss)",
    "landcover.path": "user input data (integer land-cover classes, e.g. the ITU-R SG3 "
                      "clutter codes or BBG/LGN classes)",
    "landcover.terminal_loss_db.*": f"{ASSUMED} terminal in woodland, ITU-R P.833-10 "
                                    "section 2.1: A_ev = A_m (1 - exp(-d gamma / A_m)), "
                                    "A_m = 0.18 f^0.752 = 16 dB at 392.5 MHz; 10 dB is "
                                    "reached about 150 m into a wood at gamma = 0.1 dB/m "
                                    "(depth assumed); other classes 0 dB",
    "terrain.*": "user input data (e.g. AHN4 DTM/DSM, heights in m NAP)",
    "buildings.*": "user input data (e.g. 3D BAG footprints and heights)",
    "masts.*": "user input data (site data; confidential in real use)",
    "pv.*": "user input data (solar-panel installations)",
    "areas.*": "user input data (e.g. CBS gebiedsindelingen: veiligheidsregio's)",
    "roads.*": "user input data (road centre lines, e.g. NWB wegen)",
    "population.*": "user input data (people per cell or per point, e.g. CBS vierkantstatistieken)",
    "output.*": USER_INPUT,
    # propagation
    "model.name": "user choice: fspl = ITU-R P.525, hata = Okumura-Hata (ITU-R P.529), "
                  "p1812 = ITU-R P.1812 delta-Bullington diffraction",
    "model.radius_m": f"{ASSUMED} computation radius around each mast",
    "model.k_factor": "ITU-R P.452 / P.1812: median effective Earth-radius factor "
                      "k50 = 157 / (157 - dN) = 1.342 with dN = 40 N-units/km, the DN50 map "
                      "value for the Netherlands (also the c2000cov link default)",
    "model.time_pct": "ITU-R P.1812: time percentage; area runs: 50 % (median) only",
    "model.hata_environment": "Okumura-Hata environment class (ITU-R P.529)",
    "model.clutter_correction": "ITU-R P.2108 section 3.1 terminal height-gain correction",
    "model.clutter_type": "ITU-R P.2108 section 3.1.1 clutter types (suburban: assumed)",
    "model.device": "user choice: processor of the p1812 area kernel (cpu, gpu = numba.cuda, "
                    "auto); the GPU gives the CPU's loss within 0.05 dB",
    # radio (TETRA)
    "radio.dl_freq_mhz": "ETSI EN 300 392-2: downlink band 390-395 MHz, band centre",
    "radio.ul_freq_mhz": "ETSI EN 300 392-2: uplink band 380-385 MHz, band centre",
    "radio.bandwidth_khz": "ETSI EN 300 392-2: 25 kHz carrier spacing",
    "radio.bs_noise_figure_db": "vendor data: BS receiver noise figure 4 dB",
    "radio.ms_noise_figure_db": f"{ASSUMED} handheld receiver noise figure",
    "radio.bs_diversity_gain_db": f"{ASSUMED} 2-branch BS receive space diversity: 3 dB, the "
                                  "low end of the 3-5 dB diversity gain in TU50 fading "
                                  "(vendor data; ETSI EN 300 392-2 tests a single branch)",
    # service profiles
    "profiles.*.h_rx_m": "planning convention: terminal 1.5 m above ground (handheld, car)",
    "profiles.*.ms_tx_power_dbm": "ETSI EN 300 392-2 power class 3L handheld: 1.8 W = 32.5 dBm "
                                  "(class 3 in-car: 3 W = 34.8 dBm)",
    "profiles.*.ms_gain_dbi": f"{ASSUMED} handheld antenna gain -3 dBi (roof antenna ~2 dBi)",
    "profiles.*.body_loss_db": f"{ASSUMED} body loss 5 dB for a handheld",
    "profiles.*.extra_loss_db": f"{ASSUMED} extra loss set per profile (default 0 dB)",
    "profiles.*.ms_sensitivity_dbm": "ETSI EN 300 392-2: minimum MS dynamic sensitivity -103 dBm "
                                     "(static -112 dBm)",
    "profiles.*.bs_sensitivity_dbm": "ETSI EN 300 392-2: minimum BS dynamic sensitivity -106 dBm "
                                     "(vendor spec limit -111 dBm)",
    "profiles.*.sigma_db": "location variability, lognormal: 8 dB planning default "
                           "(Okumura-based 5.5 dB urban, 7.5 dB suburban/rural)",
    "profiles.*.target_pct": "C2000 design target: 95 % location probability outdoors",
    "profiles.*.indoor": "user choice: indoor profile adds ITU-R P.2109 building entry loss",
    "profiles.*.building_class": "ITU-R P.2109 building class (traditional / thermally "
                                 "efficient)",
    "profiles.*.year_threshold": f"{ASSUMED} construction year from which buildings count as "
                                 "thermally efficient",
    # reporting
    "classes.*": f"{ASSUMED} meldkamer coverage-class limits (good / reduced / poor)",
    "dead_zones.*": f"{ASSUMED} reporting choice",
    "interference.sun_factor": "scenario state: 1 = sunny day, 0 = night (PV emission is "
                               "daylight-only)",
    # solar-panel interference
    "interference.limit_dbuv_m": "CISPR 11 / EN 55011 class B (230-1000 MHz): 37 dBuV/m "
                                 "quasi-peak",
    "interference.limit_dist_m": "CISPR 11 / EN 55011 class B: limit measured at 10 m",
    "interference.limit_bandwidth_khz": "CISPR 11 / EN 55011: 120 kHz measurement bandwidth "
                                        "(noise-like emission scales with bandwidth)",
    "interference.ground_reflection_db": "CISPR 16-1-4 / EN 55011 radiated-emission test "
                                         "site: reflecting ground plane, receive antenna "
                                         "scanned 1-4 m for the maximum: direct + reflected "
                                         "wave, up to +6 dB over free space (6 dB: assumed "
                                         "worst case of the scan)",
    "interference.qp_to_rms_db": f"{ASSUMED} quasi-peak (CISPR 16-1-1) over RMS of "
                                 "switching-converter noise in 120 kHz: a few dB for "
                                 "noise-like emission, more for impulsive; 3 dB taken",
    "interference.time_pct": "ITU-R P.1812: the loss models compute 50 % time (median)",
    "interference.kwp_per_device": "about one optimizer per panel of about 0.4 kWp",
    "interference.roof_offset_m": f"{ASSUMED} panel height above the roof surface",
    "interference.park_h_agl_m": f"{ASSUMED} height of ground-mounted installations",
    "interference.park_sample_m": f"{ASSUMED} sample spacing of polygon installations",
    "interference.mitigated_db_over_limit": f"{ASSUMED} residual excess of a mitigated "
                                            "installation",
    "interference.mitigate_ids": "what-if choice (installations treated as mitigated)",
    "interference.mitigate_within": "what-if choice (area whose installations are mitigated)",
    "interference.prune_margin_db": "numerical setting: sources left out only while their "
                                    "summed bound stays this far below the noise floor",
    "interference.dl_max_radius_m": f"{ASSUMED} largest radius of the downlink noise-rise "
                                    "raster around a source",
    "pv.emission_db_over_limit": f"{ASSUMED} faulty optimizers exceed the limit by 20-30 dB",
    "output.cache_dir": "user setting (per-mast loss cache; does not change results)",
    "report.required_covered_pct.*": "stated requirement: share of the evaluated area (%) "
                                      "that must reach the target; default: none stated",
    "report.sensitivity_db": f"{ASSUMED} shift of every predicted level that shows how far "
                             "each covered share moves (no measured model error is public)",
    # base station (when given as scenario keys instead of per-mast columns)
    "*.tx_power_dbm": f"{ASSUMED} BS 44 dBm per carrier (25 W, class 2)",
    "*.tx_loss_db": "vendor BS data: combiner + duplexer 4.5-5.2 dB; feeder 3 dB "
                    f"{ASSUMED}",
    "*.gain_dbi": f"{ASSUMED} BS antenna gain 11 dBi",
}


def _specificity(pattern: str) -> tuple[int, int]:
    return (-pattern.count("*"), len(pattern))


def parameter_source(key: str) -> str:
    """Source of a parameter's default: the exact key, else the most specific pattern.

    Parameters
    ----------
    key : str
        Flat parameter path, e.g. ``profiles.handheld_outdoor.sigma_db``.

    Returns
    -------
    str
        The source text; :data:`NO_SOURCE` when no entry matches.
    """
    if key in PARAMETER_SOURCES:
        return PARAMETER_SOURCES[key]
    matches = [p for p in PARAMETER_SOURCES if "*" in p and fnmatchcase(key, p)]
    if not matches:
        return NO_SOURCE
    return PARAMETER_SOURCES[max(matches, key=_specificity)]


def is_assumed(key: str) -> bool:
    """True when the parameter's default is marked (assumed) or has no recorded source."""
    src = parameter_source(key)
    return ASSUMED in src or src == NO_SOURCE
