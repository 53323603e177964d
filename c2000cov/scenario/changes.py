"""The CHANGES file of a what-if: edits to a base scenario, read and checked.

A CHANGES file (TOML) lists:

- ``[[add_mast]]``: the same keys as a row of the masts file (``mast_id``,
  ``x_m``, ``y_m``, ``h_agl_m``, ``tx_power_dbm``, ``gain_dbi``,
  ``tx_loss_db``, ``rx_loss_db``, optional ``name``, ``azimuth_deg``,
  ``tilt_deg``, ``pattern``, ``rx_diversity_gain_db``);
- ``[[remove_mast]]``: ``mast_id``;
- ``[[move_mast]]``: ``mast_id``, ``x_m``, ``y_m``, optional ``h_agl_m``;
- ``[[mitigate_pv]]``: ``pv_id`` (one installation) or ``within`` (a polygon
  file: every installation inside it);
- ``[[add_pv]]``: ``pv_id``, ``x_m``, ``y_m``, ``kwp``,
  ``emission_db_over_limit``, optional ``n_devices``, ``h_agl_m``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from c2000cov.errors import ScenarioError
from c2000cov.scenario.config import read_toml

CHANGE_KINDS = ("add_mast", "remove_mast", "move_mast", "mitigate_pv", "add_pv")
_ALLOWED_KEYS = {
    "add_mast": {"mast_id", "name", "x_m", "y_m", "lon_deg", "lat_deg", "h_agl_m",
                 "tx_power_dbm", "gain_dbi", "tx_loss_db", "rx_loss_db", "azimuth_deg",
                 "tilt_deg", "pattern", "rx_diversity_gain_db"},
    "remove_mast": {"mast_id"},
    "move_mast": {"mast_id", "x_m", "y_m", "h_agl_m"},
    "mitigate_pv": {"pv_id", "within"},
    "add_pv": {"pv_id", "x_m", "y_m", "kwp", "emission_db_over_limit", "n_devices", "h_agl_m",
               "eirp_dbm_per_25khz"},
}


@dataclass(frozen=True)
class Changes:
    """Parsed CHANGES file."""

    source: Path
    add_mast: tuple[dict, ...] = ()
    remove_mast: tuple[dict, ...] = ()
    move_mast: tuple[dict, ...] = ()
    mitigate_pv: tuple[dict, ...] = ()
    add_pv: tuple[dict, ...] = ()


def load_changes(path: str | Path) -> Changes:
    """Read a CHANGES TOML file, rejecting unknown tables and keys."""
    path = Path(path)
    data = read_toml(path, "changes")
    unknown = sorted(set(data) - set(CHANGE_KINDS))
    if unknown:
        raise ScenarioError(f"{path.name}: unknown change [[{unknown[0]}]]; valid changes are: "
                            + ", ".join(CHANGE_KINDS))
    parsed = {}
    for kind in CHANGE_KINDS:
        entries = data.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ScenarioError(f"{path.name}: {kind} must be an array of tables [[{kind}]]")
        for k, entry in enumerate(entries, 1):
            allowed = _ALLOWED_KEYS.get(kind)
            if allowed is not None:
                bad = sorted(set(entry) - allowed)
                if bad:
                    raise ScenarioError(f"{path.name} [[{kind}]] #{k}: unknown key {bad[0]}; "
                                        "valid keys: " + ", ".join(sorted(allowed)))
            required = {"remove_mast": ("mast_id",), "move_mast": ("mast_id", "x_m", "y_m"),
                        "add_pv": ("pv_id", "x_m", "y_m", "kwp", "emission_db_over_limit"),
                        }.get(kind, ())
            for key in required:
                if key not in entry:
                    raise ScenarioError(f"{path.name} [[{kind}]] #{k}: missing key {key}")
            if kind == "mitigate_pv" and ("pv_id" in entry) == ("within" in entry):
                raise ScenarioError(f"{path.name} [[mitigate_pv]] #{k}: give either pv_id or "
                                    "within (a polygon file), not both and not neither")
        parsed[kind] = tuple(entries)
    return Changes(path, **parsed)
