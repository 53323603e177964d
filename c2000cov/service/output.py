"""What ``c2000cov query`` and ``c2000cov route`` print and write."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from c2000cov.errors import InvalidInputError
from c2000cov.service.inputs import read_points_file, read_route_file
from c2000cov.service.query import RunQuery

#: Per-profile fields of a point answer, as CSV columns ``<profile>_<field>``.
POINT_FIELDS = ("p_cover", "p_cover_night", "class", "limiting", "n_masts_at_target")


def parse_pair(text: str, option: str) -> tuple[float, float]:
    """``"A,B"`` as two floats, or an error naming the option."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidInputError(f"{option} {text!r}: expected two numbers A,B "
                                "(--point LON,LAT in degrees, --point-rd X,Y in metres)") from None


def query_run(run_dir: Path, point: str | None = None, point_rd: str | None = None,
              points_file: Path | None = None, profiles: list[str] | None = None,
              public: bool = False, lang: str = "nl") -> dict | list[dict]:
    """Answer one point (an object) or a batch file (a list, one item per input row)."""
    given = [n for n, v in (("--point", point), ("--point-rd", point_rd),
                            ("--points", points_file)) if v is not None]
    if len(given) != 1:
        raise InvalidInputError("give exactly one of --point LON,LAT, --point-rd X,Y or "
                                f"--points FILE (got {', '.join(given) or 'none'})")
    with RunQuery(run_dir, profiles, public=public) as q:
        if point is not None:
            lon, lat = parse_pair(point, "--point")
            return q.point_lonlat(lon, lat, profiles, "--point lon", "--point lat",
                                 field_name="--point", lang=lang)
        if point_rd is not None:
            x, y = parse_pair(point_rd, "--point-rd")
            return q.point(*q.rd_to_xy(x, y), profiles, field_name="--point-rd", lang=lang)
        pts = read_points_file(points_file)
        answers = q.points(pts, profiles, f"{Path(points_file).name} row {{n}}", lang)
        return [{**p.props, **a} for p, a in zip(pts, answers, strict=True)]


def points_table(answers: list[dict]) -> pd.DataFrame:
    """Batch answers as one flat row per input row (``<profile>_<field>`` columns)."""
    rows = []
    for ans in answers:
        row = {k: v for k, v in ans.items() if k not in ("profiles", "crs")}
        row.setdefault("error", "")
        for prof, a in (ans.get("profiles") or {}).items():
            for f in POINT_FIELDS:
                if f in a:
                    row[f"{prof}_{f}"] = a[f]
            zone = a.get("dead_zone") or {}
            row[f"{prof}_dead_zone_id"] = zone.get("zone_id", "")
            row[f"{prof}_advice"] = a.get("advice") or ""
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt_p(v) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def point_text(ans: dict) -> str:
    """A point answer as short lines for a person."""
    lines = [f"point x {ans['x_m']:.1f} m, y {ans['y_m']:.1f} m ({ans['crs']}) = "
             f"lon {ans['lon_deg']:.6f}, lat {ans['lat_deg']:.6f}"]
    for prof, a in ans["profiles"].items():
        night = f", night {_fmt_p(a['p_cover_night'])}" if "p_cover_night" in a else ""
        lines.append(f"{prof} ({a['label']}): p_cover {_fmt_p(a['p_cover'])}{night} (target "
                     f"{a['target_pct']:g} %), class {a['class']}, limiting "
                     f"{a['limiting'] or '-'}, masts at target "
                     f"{'-' if a['n_masts_at_target'] is None else a['n_masts_at_target']}")
        z = a.get("dead_zone")
        if z:
            mix = ", ".join(f"{c} {z[f'share_{c}_pct']:.0f} %" for c in ("reduced", "poor",
                                                                          "none"))
            lines.append(f"  dead zone {z['zone_id']}: {z['area_km2']:.3f} km2, class "
                         f"{z['class']} ({mix}), limiting {z['limiting']}")
        if a.get("advice"):
            lines.append(f"  advice: {a['advice']}")
    return "\n".join(lines)


def route_run(run_dir: Path, route_file: Path, profiles: list[str] | None = None,
              out: Path | None = None, public: bool = False) -> dict:
    """Route answer of a route file; with ``out`` the uncovered stretches as GeoJSON."""
    route = read_route_file(route_file)
    with RunQuery(run_dir, profiles, public=public) as q:
        try:
            ans = q.route_in(route, profiles)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{Path(route_file).name}: {exc}") from None
    if out is not None:
        from c2000cov.files.atomic import atomic_path

        with atomic_path(Path(out)) as tmp:
            tmp.write_text(json.dumps(ans["uncovered"], indent=1) + "\n", encoding="utf-8")
        ans["uncovered_file"] = str(out)
    return ans


def route_text(ans: dict) -> str:
    """A route answer as short lines for a person."""
    lines = [f"route {ans['length_km']:.3f} km, {ans['n_vertices']} vertices"]
    for prof, a in ans["profiles"].items():
        share = "-" if a["share_below_target"] is None else f"{100 * a['share_below_target']:.1f} %"
        longest = a["longest_uncovered"]
        tail = (f"; longest {longest['length_km']:.3f} km from km {longest['start_km']:.3f} "
                f"to {longest['end_km']:.3f}" if longest else "")
        lines.append(f"{prof}: {a['km_below_target']:.3f} km below {a['target_pct']:g} % "
                     f"({share} of the evaluated length) in {a['n_uncovered_stretches']} "
                     f"stretches{tail}; not evaluated {a['km_not_evaluated']:.3f} km")
    if "uncovered_file" in ans:
        lines.append(f"uncovered stretches: {ans['uncovered_file']}")
    return "\n".join(lines)
