"""Scenario files: TOML loaded into frozen dataclasses.

A scenario names its inputs (terrain, buildings, masts, PV, areas), the
propagation model, the radio parameters and one or more service profiles.
Keys carry their unit in the name, as in the rest of the API. Unknown keys,
missing keys and wrong-typed values are rejected with the key path
(``model.radius_m``) and the valid keys. Relative paths are resolved against
the folder of the scenario file. The tables and keys are defined in
:mod:`c2000cov.scenario.schema`.

Defaults come from ``DOMAIN.md`` (TETRA, ETSI EN 300 392-2 and vendor data);
the ones marked *assumed* there are kept configurable and reported as such.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from c2000cov.errors import InputNotFoundError, ScenarioError
from c2000cov.radio.itu.p2108 import CLUTTER_TYPES
from c2000cov.scenario.schema import (
    BUILDING_CLASSES,
    DEVICES,
    HATA_ENVIRONMENTS,
    MODEL_NAMES,
    PROFILE_NAME_PATTERN,
    SECTIONS,
    ProfileConfig,
    ReportConfig,
    Scenario,
)

_REQUIRED_SECTIONS = ("scenario", "terrain", "masts")
_PATH_KEYS = {"dtm", "dsm", "path", "dir", "map", "cache_dir"}


def _type_name(tp: Any) -> str:
    names = {str: "a string", float: "a number", int: "an integer", bool: "true or false",
             Path: "a path string"}
    if tp in names:
        return names[tp]
    return str(tp)


def _convert(value: Any, tp: Any, key_path: str, source: str) -> Any:
    """Convert a TOML value to the annotated type or raise ScenarioError."""
    origin = typing.get_origin(tp)
    if origin is dict:
        item = typing.get_args(tp)[1]
        if not isinstance(value, dict):
            raise ScenarioError(f"{source}: {key_path} must be a table of "
                                f"{ {float: 'numbers'}.get(item, item)}, got {value!r}")
        return {str(k): _convert(v, item, f"{key_path}.{k}", source) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(value, args[0], key_path, source)
    if origin is tuple and len(typing.get_args(tp)) == 2 and typing.get_args(tp)[1] is Ellipsis:
        item = typing.get_args(tp)[0]
        if not isinstance(value, list):
            raise ScenarioError(
                f"{source}: {key_path} must be a list of "
                f"{ {str: 'strings', float: 'numbers', int: 'integers'}.get(item, item)}, "
                f"got {value!r}"
            )
        return tuple(_convert(v, item, f"{key_path}[{i}]", source) for i, v in enumerate(value))
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list) or len(value) != len(args):
            raise ScenarioError(
                f"{source}: {key_path} must be a list of {len(args)} numbers, got {value!r}"
            )
        return tuple(_convert(v, a, f"{key_path}[{i}]", source) for i, (v, a) in
                     enumerate(zip(value, args, strict=True)))
    if tp is bool:
        if not isinstance(value, bool):
            raise ScenarioError(f"{source}: {key_path} must be true or false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{source}: {key_path} must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # a TOML integer beyond the float range
            number = math.inf
        if not math.isfinite(number):
            raise ScenarioError(f"{source}: {key_path} must be a finite number, got {value!r}")
        return number
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{source}: {key_path} must be an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{source}: {key_path} must be a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise ScenarioError(f"{source}: {key_path} must be a path string, got {value!r}")
        return Path(value)
    raise TypeError(f"unsupported annotation {tp!r} at {key_path}")  # programming error


def build_section(cls: type, table: Any, prefix: str, source: str, base_dir: Path) -> Any:
    """Build a frozen dataclass from a TOML table, checking keys and types.

    Parameters
    ----------
    cls : dataclass type
        The section's dataclass.
    table : dict
        The TOML table.
    prefix : str
        Key path of the table (``model``, ``profiles.in_car``) for messages.
    source : str
        Name of the scenario file for messages.
    base_dir : Path
        Folder that relative paths are resolved against.
    """
    if not isinstance(table, dict):
        raise ScenarioError(f"{source}: [{prefix}] must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ScenarioError(
            f"{source}: unknown key {prefix}.{unknown[0]}; valid keys in [{prefix}] are: "
            + ", ".join(fields)
        )
    kwargs = {}
    for name, f in fields.items():
        key_path = f"{prefix}.{name}"
        if name not in table:
            no_default = (f.default is dataclasses.MISSING
                          and f.default_factory is dataclasses.MISSING)
            if no_default:
                raise ScenarioError(
                    f"{source}: missing key {key_path} ({_type_name(hints[name])}); "
                    f"required keys in [{prefix}] are: "
                    + ", ".join(n for n, g in fields.items() if g.default is dataclasses.MISSING
                                and g.default_factory is dataclasses.MISSING)
                )
            continue
        value = _convert(table[name], hints[name], key_path, source)
        if isinstance(value, Path) and name in _PATH_KEYS and not value.is_absolute():
            value = (base_dir / value).resolve()
        kwargs[name] = value
    return cls(**kwargs)


def _check_choice(value: str, choices: tuple[str, ...], key_path: str, source: str) -> None:
    if value not in choices:
        raise ScenarioError(
            f"{source}: {key_path} = {value!r} is not a valid choice; choose one of: "
            + ", ".join(choices)
        )


def _check_positive(value: float, key_path: str, source: str) -> None:
    if not value > 0:
        raise ScenarioError(f"{source}: {key_path} must be > 0, got {value!r}")


def _check_not_negative(value: float, key_path: str, source: str) -> None:
    if not value >= 0:
        raise ScenarioError(f"{source}: {key_path} must be >= 0, got {value!r}")


_PROFILE_NAME_RE = re.compile(PROFILE_NAME_PATTERN)


def _check_profile_name(pname: Any, source: str) -> None:
    """Profile names are parts of file names: a safe set only (no '/', '..', spaces)."""
    if not isinstance(pname, str) or not _PROFILE_NAME_RE.fullmatch(pname):
        raise ScenarioError(
            f"{source}: profile name {pname!r} cannot be used in file names; use letters, "
            "digits, '_' and '-' only (at most 64, starting with a letter or digit), "
            "e.g. [profiles.handheld_outdoor]")


def _check_classes(scen: Scenario, source: str) -> None:
    """Class limits in order: 0 < poor_pct < reduced_pct < every profile's target_pct."""
    c = scen.classes
    if not 0 < c.poor_pct < c.reduced_pct < 100:
        raise ScenarioError(
            f"{source}: classes must satisfy 0 < classes.poor_pct < classes.reduced_pct < 100, "
            f"got poor_pct = {c.poor_pct:g}, reduced_pct = {c.reduced_pct:g}")
    for pname, prof in scen.profiles.items():
        if not c.reduced_pct < prof.target_pct:
            raise ScenarioError(
                f"{source}: classes.reduced_pct ({c.reduced_pct:g}) must be below "
                f"profiles.{pname}.target_pct ({prof.target_pct:g}); the class 'reduced' lies "
                "between the two")


def flat_keys(data: dict, prefix: str = "") -> list[str]:
    """Key paths of every value in a nested TOML document (``profiles.in_car.h_rx_m``)."""
    out = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out += flat_keys(value, path) if isinstance(value, dict) else [path]
    return out


def _report_section(table: Any, profiles: dict[str, ProfileConfig], name: str,
                    base_dir: Path) -> ReportConfig:
    """``[report]``: a single required_covered_pct applies to every profile; names checked."""
    if isinstance(table, dict):
        req = table.get("required_covered_pct")
        if isinstance(req, int | float) and not isinstance(req, bool):
            table = {**table, "required_covered_pct": {p: float(req) for p in profiles}}
    rep = build_section(ReportConfig, table, "report", name, base_dir)
    for prof, pct in rep.required_covered_pct.items():
        key = f"report.required_covered_pct.{prof}"
        if prof not in profiles:
            raise ScenarioError(f"{name}: {key} names no profile; the profiles are: "
                                + ", ".join(profiles))
        if not 0 < pct <= 100:
            raise ScenarioError(f"{name}: {key} must be a share of the area in % (0 < x <= "
                                f"100), got {pct}")
    if not (math.isfinite(rep.sensitivity_db) and rep.sensitivity_db >= 0):
        raise ScenarioError(f"{name}: report.sensitivity_db must be >= 0 dB, got "
                            f"{rep.sensitivity_db!r}")
    return rep


def scenario_from_dict(data: dict, source: Path, origins: dict[str, str] | None = None
                       ) -> Scenario:
    """Validate a parsed TOML document and return a :class:`Scenario`.

    ``origins`` records where set keys came from (default: every key of
    ``data`` came from the scenario file).
    """
    name = source.name
    base_dir = source.parent.resolve()
    valid = list(SECTIONS) + ["profiles"]
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise ScenarioError(
            f"{name}: unknown table [{unknown[0]}]; valid tables are: " + ", ".join(valid)
        )
    for required in _REQUIRED_SECTIONS:
        if required not in data:
            raise ScenarioError(f"{name}: missing table [{required}]")
    kwargs: dict[str, Any] = {}
    for key, cls in SECTIONS.items():
        if key in data and key != "report":
            kwargs[key] = build_section(cls, data[key], key, name, base_dir)
    profiles_table = data.get("profiles", {"handheld_outdoor": {}})
    if not isinstance(profiles_table, dict) or not profiles_table:
        raise ScenarioError(f"{name}: [profiles] must hold at least one [profiles.<name>] table")
    profiles = {}
    for pname, ptable in profiles_table.items():
        _check_profile_name(pname, name)
        prof = build_section(ProfileConfig, ptable, f"profiles.{pname}", name, base_dir)
        _check_choice(prof.building_class, BUILDING_CLASSES,
                      f"profiles.{pname}.building_class", name)
        _check_positive(prof.h_rx_m, f"profiles.{pname}.h_rx_m", name)
        _check_positive(prof.sigma_db, f"profiles.{pname}.sigma_db", name)
        _check_not_negative(prof.body_loss_db, f"profiles.{pname}.body_loss_db", name)
        _check_positive(prof.year_threshold, f"profiles.{pname}.year_threshold", name)
        if not 0 < prof.target_pct < 100:
            raise ScenarioError(
                f"{name}: profiles.{pname}.target_pct must be between 0 and 100 (exclusive), "
                f"got {prof.target_pct}"
            )
        profiles[pname] = prof
    kwargs["profiles"] = profiles
    if "report" in data:
        kwargs["report"] = _report_section(data["report"], profiles, name, base_dir)
    if origins is None:
        origins = dict.fromkeys(flat_keys(data), "scenario")
    scen = Scenario(source=source.resolve(), origins=dict(origins), **kwargs)

    _check_choice(scen.model.name, MODEL_NAMES, "model.name", name)
    _check_choice(scen.model.hata_environment, HATA_ENVIRONMENTS, "model.hata_environment", name)
    _check_choice(scen.model.clutter_type, tuple(CLUTTER_TYPES), "model.clutter_type", name)
    _check_choice(scen.model.device, DEVICES, "model.device", name)
    if scen.model.clutter_correction and (scen.buildings is not None
                                          or scen.terrain.dsm is not None):
        raise ScenarioError(
            f"{name}: model.clutter_correction stands in for clutter that the profile lacks; "
            "with [buildings] or terrain.dsm the clutter is explicit and would count twice. "
            "Remove one of them")
    if scen.landcover is not None:
        for code, loss in scen.landcover.terminal_loss_db.items():
            key = f"landcover.terminal_loss_db.{code}"
            if not code.lstrip("-").isdigit():
                raise ScenarioError(f"{name}: {key}: a class code must be an integer "
                                    f"(as a string key, e.g. \"4\" = 10.0), got {code!r}")
            if not (math.isfinite(loss) and loss >= 0):
                raise ScenarioError(f"{name}: {key} must be a loss >= 0 dB, got {loss!r}")
    _check_positive(scen.scenario.resolution_m, "scenario.resolution_m", name)
    _check_positive(scen.model.radius_m, "model.radius_m", name)
    _check_positive(scen.output.tile_px, "output.tile_px", name)
    _check_positive(scen.model.k_factor, "model.k_factor", name)
    for key in ("dl_freq_mhz", "ul_freq_mhz", "bandwidth_khz"):
        _check_positive(getattr(scen.radio, key), f"radio.{key}", name)
    for key in ("bs_noise_figure_db", "ms_noise_figure_db"):
        _check_not_negative(getattr(scen.radio, key), f"radio.{key}", name)
    _check_not_negative(scen.dead_zones.min_area_m2, "dead_zones.min_area_m2", name)
    _check_not_negative(scen.dead_zones.simplify_m, "dead_zones.simplify_m", name)
    _check_classes(scen, name)
    if scen.model.time_pct != 50:
        raise ScenarioError(
            f"{name}: model.time_pct = {scen.model.time_pct:g}: area runs compute 50 % time "
            "only (the median of the area kernel); set 50, or use c2000cov link --time-pct "
            "for one path"
        )
    if not 0 <= scen.interference.sun_factor <= 1:
        raise ScenarioError(
            f"{name}: interference.sun_factor must be between 0 (night) and 1 (sunny day), "
            f"got {scen.interference.sun_factor}"
        )
    inter = scen.interference
    for key in ("ground_reflection_db", "qp_to_rms_db"):
        if not (math.isfinite(getattr(inter, key)) and getattr(inter, key) >= 0):
            raise ScenarioError(f"{name}: interference.{key} must be a correction >= 0 dB, "
                                f"got {getattr(inter, key)!r}")
    if inter.time_pct != 50:
        raise ScenarioError(
            f"{name}: interference.time_pct = {inter.time_pct:g}: the interference paths are "
            "computed at 50 % time only (the median of the loss models); set 50")
    for key in ("limit_dist_m", "limit_bandwidth_khz", "kwp_per_device", "park_h_agl_m",
                "park_sample_m", "dl_max_radius_m"):
        _check_positive(getattr(inter, key), f"interference.{key}", name)
    if not inter.roof_offset_m >= 0:
        raise ScenarioError(
            f"{name}: interference.roof_offset_m must be >= 0 m, got {inter.roof_offset_m!r}"
        )
    if not inter.prune_margin_db >= 0:
        raise ScenarioError(
            f"{name}: interference.prune_margin_db must be >= 0 dB (a larger margin prunes "
            f"less), got {inter.prune_margin_db!r}"
        )
    for key in ("limit_dbuv_m", "mitigated_db_over_limit"):
        if not math.isfinite(getattr(inter, key)):
            raise ScenarioError(
                f"{name}: interference.{key} must be a finite number, got {getattr(inter, key)!r}"
            )
    if inter.mitigate_within is not None and not inter.mitigate_within.is_absolute():
        scen = dataclasses.replace(scen, interference=dataclasses.replace(
            inter, mitigate_within=(base_dir / inter.mitigate_within).resolve()))
    if scen.scenario.bounds_m is not None:
        xmin, ymin, xmax, ymax = scen.scenario.bounds_m
        if not (xmax > xmin and ymax > ymin):
            raise ScenarioError(
                f"{name}: scenario.bounds_m must be [xmin, ymin, xmax, ymax] with xmax > xmin "
                f"and ymax > ymin, got {list(scen.scenario.bounds_m)}"
            )
    b = scen.buildings
    if b is not None:
        has_height = b.height_column is not None
        has_levels = b.roof_column is not None and b.ground_column is not None
        if has_height == has_levels or (not has_levels and (b.roof_column or b.ground_column)):
            raise ScenarioError(
                f"{name}: [buildings] needs either height_column (m above ground) or both "
                "roof_column and ground_column (m NAP), not both and not neither"
            )
    return scen


def read_toml(path: Path, what: str) -> dict:
    """Parse a TOML file; a missing file or a syntax error names the file and what it is."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{what} file {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path.name}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the {what} "
                            "file as UTF-8") from None


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario TOML file.

    Parameters
    ----------
    path : str or Path
        The scenario file.
    overrides : dict, optional
        Values that replace keys of the file, as ``{"model.name": "fspl"}``
        (command-line flags override the file).

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    ScenarioError
        The file is not valid TOML or has unknown, missing or wrong-typed keys.
    """
    path = Path(path)
    data = read_toml(path, "scenario")
    origins = dict.fromkeys(flat_keys(data), "scenario")
    for key_path, value in (overrides or {}).items():
        table = data
        *parents, last = key_path.split(".")
        for p in parents:
            table = table.setdefault(p, {})
        table[last] = value
        origins[key_path] = "override"
    return scenario_from_dict(data, path, origins)


def scenario_input_paths(scen: Scenario) -> dict[str, Path]:
    """Every input file a scenario names, by key path (``terrain.dtm``), the scenario itself
    as ``scenario.source``."""
    keys: dict[str, Path | None] = {
        "scenario.source": scen.source, "terrain.dtm": scen.terrain.dtm,
        "terrain.dsm": scen.terrain.dsm, "masts.path": scen.masts.path,
        "interference.mitigate_within": scen.interference.mitigate_within}
    for section in ("buildings", "pv", "areas", "roads", "population", "calibration",
                    "landcover"):
        obj = getattr(scen, section)
        keys[f"{section}.path"] = obj.path if obj is not None else None
    return {k: Path(v) for k, v in keys.items() if v is not None}


def scenario_parameters(scen: Scenario) -> dict[str, Any]:
    """Every parameter of a scenario as a flat ``{key.path: value}`` dict, for reports."""
    out: dict[str, Any] = {}

    def walk(prefix: str, obj: Any) -> None:
        if dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                if f.name == "origins" and obj is scen:
                    continue
                walk(f"{prefix}.{f.name}" if prefix else f.name, getattr(obj, f.name))
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}.{k}", v)
        else:
            out[prefix] = str(obj) if isinstance(obj, Path) else obj

    walk("", scen)
    return out


def default_value(key: str) -> tuple[bool, Any]:
    """The default of a flat parameter key: ``(True, value)``, or ``(False, None)`` if none.

    ``profiles.<name>.<key>`` uses the :class:`ProfileConfig` defaults; keys of a
    section without a default (``terrain.dtm``) or of a table
    (``report.required_covered_pct.<profile>``) have none.
    """
    parts = key.split(".")
    if parts[0] == "profiles" and len(parts) == 3:
        cls, name = ProfileConfig, parts[2]
    elif parts[0] in SECTIONS and len(parts) == 2:
        cls, name = SECTIONS[parts[0]], parts[1]
    else:
        return False, None
    for f in dataclasses.fields(cls):
        if f.name != name:
            continue
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            return False, None
        if isinstance(value, dict):
            return False, None
        return True, str(value) if isinstance(value, Path) else value
    return False, None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # JSON strings are TOML basic strings


def _toml_key(key: str) -> str:
    """A TOML key: bare when it can be, else a quoted string."""
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else json.dumps(key, ensure_ascii=False)


def scenario_to_toml(scen: Scenario, paths: dict[str, str] | None = None) -> str:
    """A scenario as TOML text that :func:`load_scenario` reads back to the same values.

    Parameters
    ----------
    scen : Scenario
        The scenario.
    paths : dict, optional
        Replacement text for path values by key path (``terrain.dtm``); other
        paths are written as they are (absolute).
    """
    paths = paths or {}
    lines: list[str] = []

    def table(header: str, obj: Any, prefix: str) -> None:
        rows, subtables = [], []
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                continue
            key = f"{prefix}.{f.name}"
            if isinstance(value, dict):
                if value:
                    subtables += [f"[{header}.{f.name}]",
                                  *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in
                                    value.items()), ""]
                continue
            if isinstance(value, Path):
                value = paths.get(key, str(value))
            rows.append(f"{f.name} = {_toml_value(value)}")
        lines.extend([f"[{header}]", *rows, "", *subtables])

    for name in SECTIONS:
        obj = getattr(scen, name)
        if obj is not None:
            table(name, obj, name)
    for pname, prof in scen.profiles.items():
        table(f"profiles.{pname}", prof, f"profiles.{pname}")
    return "\n".join(lines)
