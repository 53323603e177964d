"""What a dead zone means for a unit in it, and what to do there: facts and wording.

One module owns the words a dispatcher reads about a dead zone, in Dutch (the
default) and English, so that the map, the KMZ export and the query service
say the same thing:

- plain profile labels ("portofoon buiten", "portofoon binnen", "mobilofoon
  in voertuig") instead of scenario keys such as ``handheld_outdoor``;
- class and limiting-direction labels, and the thresholds behind each class;
- the class mix of a zone (share of *reduced*, *poor* and *none* pixels) and
  its dominant class, which labels the zone (its worst pixel would call a
  zone that is 61 % *reduced* "none");
- advice computed from the facts of the zone (:class:`ZoneFacts`): how much
  of the zone the in-car radio covers, how far and in which direction the
  nearest covered point lies, and whether DMO reaches coverage from every
  point of the zone. No fixed text: the same sentence is only written when
  the numbers say it.

Everything here is pure: arrays and numbers in, numbers and text out; no
files, no rasterio. :func:`zone_facts` works on any window of pixels that
holds the zone, so a query service can use it on a windowed read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from c2000cov.analysis.coverage import reaches_pct
from c2000cov.errors import InvalidInputError

LANGS = ("nl", "en")
DEFAULT_LANG = "nl"

#: Assumed handheld-to-handheld DMO (direct mode) reach in the open, m. TETRA DMO
#: between two handhelds at 1.5 m typically reaches 1-3 km in open land and
#: much less between buildings; 1 km is a cautious planning value (assumed).
DMO_REACH_M = 1000.0
#: A share of the zone (%) at or above which a remedy counts as "the whole zone".
WHOLE_ZONE_PCT = 99.0

#: Profile kinds, from what the profile models.
KIND_HANDHELD_OUTDOOR, KIND_HANDHELD_INDOOR, KIND_IN_CAR = (
    "handheld_outdoor", "handheld_indoor", "in_car")
PROFILE_LABELS = {
    "nl": {KIND_HANDHELD_OUTDOOR: "portofoon buiten", KIND_HANDHELD_INDOOR: "portofoon binnen",
           KIND_IN_CAR: "mobilofoon in voertuig"},
    "en": {KIND_HANDHELD_OUTDOOR: "handheld outdoors", KIND_HANDHELD_INDOOR: "handheld indoors",
           KIND_IN_CAR: "in-car radio (mobilofoon)"},
}
#: Class names as the run writes them, best first.
CLASSES = ("good", "reduced", "poor", "none")
CLASS_LABELS = {
    "nl": {"good": "goed", "reduced": "verminderd", "poor": "slecht", "none": "geen dekking"},
    "en": {"good": "good", "reduced": "reduced", "poor": "poor", "none": "no coverage"},
}
LIMITING_LABELS = {
    "nl": {"UL": "uplink (de mast hoort het toestel niet)",
           "DL": "downlink (het toestel hoort de mast niet)",
           "both": "beide richtingen", "unreached": "geen mast bereikt dit gebied"},
    "en": {"UL": "uplink (the mast cannot hear the terminal)",
           "DL": "downlink (the terminal cannot hear the mast)",
           "both": "both directions", "unreached": "no mast reaches this area"},
}
_BEARINGS = {
    "nl": ("noorden", "noordoosten", "oosten", "zuidoosten", "zuiden", "zuidwesten", "westen",
           "noordwesten"),
    "en": ("north", "north-east", "east", "south-east", "south", "south-west", "west",
           "north-west"),
}


def check_lang(lang: str) -> str:
    """``lang`` if it is a known language, else an error listing the choices."""
    if lang not in LANGS:
        raise InvalidInputError(f"language {lang!r} is not known; choose one of {', '.join(LANGS)}")
    return lang


def profile_kind(name: str, parameters: dict | None = None) -> str:
    """What a profile models: a handheld outdoors or indoors, or an in-car radio.

    Parameters
    ----------
    name : str
        The profile key of the scenario (``handheld_outdoor``, ``in_car``, ...).
    parameters : dict, optional
        The flat ``run.json`` parameters (``profiles.<name>.indoor``,
        ``profiles.<name>.body_loss_db``, ``profiles.<name>.ms_gain_dbi``).
        An indoor profile is a handheld indoors; a profile without body loss
        and with a positive antenna gain (a roof antenna) is an in-car radio;
        without parameters the name decides.
    """
    params = parameters or {}
    low = name.lower()
    if params.get(f"profiles.{name}.indoor") or any(w in low for w in ("indoor", "binnen")):
        return KIND_HANDHELD_INDOOR
    body = params.get(f"profiles.{name}.body_loss_db")
    gain = params.get(f"profiles.{name}.ms_gain_dbi")
    if body is not None and gain is not None:
        return KIND_IN_CAR if float(body) == 0.0 and float(gain) > 0.0 else KIND_HANDHELD_OUTDOOR
    if any(w in low for w in ("car", "auto", "voertuig", "mobilofoon", "vehicle")):
        return KIND_IN_CAR
    return KIND_HANDHELD_OUTDOOR


def profile_label(name: str, parameters: dict | None = None, lang: str = DEFAULT_LANG) -> str:
    """Plain label of a profile ("portofoon buiten"); see :func:`profile_labels` for
    several profiles that may share a kind."""
    return PROFILE_LABELS[check_lang(lang)][profile_kind(name, parameters)]


def profile_labels(names: list[str], parameters: dict | None = None,
                   lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Plain labels of several profiles; labels that repeat get the key in brackets."""
    labels = {n: profile_label(n, parameters, lang) for n in names}
    counts: dict[str, int] = {}
    for lab in labels.values():
        counts[lab] = counts.get(lab, 0) + 1
    return {n: (lab if counts[lab] == 1 else f"{lab} ({n})") for n, lab in labels.items()}


def class_thresholds(target_pct: float, reduced_pct: float, poor_pct: float,
                     lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Each class with the location-probability range it stands for, e.g.
    ``{'good': 'goed (≥ 95 %)', 'reduced': 'verminderd (80–95 %)', ...}``."""
    lab = CLASS_LABELS[check_lang(lang)]
    return {"good": f"{lab['good']} (≥ {target_pct:g} %)",
            "reduced": f"{lab['reduced']} ({reduced_pct:g}–{target_pct:g} %)",
            "poor": f"{lab['poor']} ({poor_pct:g}–{reduced_pct:g} %)",
            "none": f"{lab['none']} (< {poor_pct:g} %)"}


def dominant_class(share_reduced_pct: float, share_poor_pct: float,
                   share_none_pct: float) -> str:
    """The class with the largest share of a zone; on a tie the worse class."""
    shares = (("none", share_none_pct), ("poor", share_poor_pct),
              ("reduced", share_reduced_pct))
    best = max(s for _, s in shares)
    return next(c for c, s in shares if s == best)


def class_mix_text(share_reduced_pct: float, share_poor_pct: float, share_none_pct: float,
                   lang: str = DEFAULT_LANG) -> str:
    """"61 % verminderd, 36 % slecht, 3 % geen dekking": the class mix, rounded."""
    lab = CLASS_LABELS[check_lang(lang)]
    return ", ".join(f"{_pct(s)} % {lab[c]}" for c, s in (
        ("reduced", share_reduced_pct), ("poor", share_poor_pct), ("none", share_none_pct)))


def bearing_word(bearing_deg: float, lang: str = DEFAULT_LANG) -> str:
    """Compass word (8 directions) of a bearing in degrees clockwise from north."""
    words = _BEARINGS[check_lang(lang)]
    return words[int(((bearing_deg % 360.0) + 22.5) // 45.0) % 8]


@dataclass(frozen=True)
class ZoneFacts:
    """What the advice of one dead zone is computed from.

    Attributes
    ----------
    kind : str
        Profile kind of the zone (:func:`profile_kind`).
    limiting : str
        'UL', 'DL', 'both' or 'unreached'.
    share_reduced_pct, share_poor_pct, share_none_pct : float
        Shares of the zone's pixels in each class (%; they add up to 100).
    incar_covered_pct : float or None
        Share of the zone (%) where the in-car profile reaches its target;
        None when the run has no in-car profile (or the zone is in-car's own).
    nearest_covered_m : float or None
        Distance (m) from the zone's reference point (its point inside) to
        the nearest pixel where the profile reaches its target; None when no
        pixel of the searched window is covered.
    nearest_covered_bearing_deg : float or None
        Bearing of that pixel, degrees clockwise from grid north.
    max_to_covered_m : float or None
        The largest distance (m) from any point of the zone to covered
        ground: how far a unit may have to walk, or DMO has to reach.
    dmo_reach_m : float
        The DMO reach the advice assumes (m).
    """

    kind: str
    limiting: str
    share_reduced_pct: float
    share_poor_pct: float
    share_none_pct: float
    incar_covered_pct: float | None = None
    nearest_covered_m: float | None = None
    nearest_covered_bearing_deg: float | None = None
    max_to_covered_m: float | None = None
    dmo_reach_m: float = DMO_REACH_M

    @property
    def dominant_class(self) -> str:
        """The class with the largest share (ties: the worse class)."""
        return dominant_class(self.share_reduced_pct, self.share_poor_pct, self.share_none_pct)


def class_shares(p_cover: np.ndarray, target_pct: float, reduced_pct: float,
                 poor_pct: float) -> tuple[float, float, float]:
    """Shares (%) of reduced, poor and none pixels among below-target ``p_cover`` values.

    ``p_cover`` holds the zone's probabilities (0-1); pixels at or above the
    target or NaN are not counted.
    """
    # compare in the raster's own dtype, as the run's class rule does (float32 0.95 is covered)
    p = np.asarray(p_cover).ravel()
    p = p[np.isfinite(p) & ~reaches_pct(p, target_pct)]
    if p.size == 0:
        return 0.0, 0.0, 0.0
    reduced = np.count_nonzero(reaches_pct(p, reduced_pct))
    poor = np.count_nonzero(reaches_pct(p, poor_pct) & ~reaches_pct(p, reduced_pct))
    none = p.size - reduced - poor
    return tuple(100.0 * n / p.size for n in (reduced, poor, none))


def zone_facts(zone: np.ndarray, p_cover: np.ndarray, target_pct: float, pixel_m: float,
               ref_rc: tuple[int, int], *, kind: str, limiting: str,
               reduced_pct: float = 80.0, poor_pct: float = 50.0,
               incar_p_cover: np.ndarray | None = None, incar_target_pct: float = 95.0,
               dmo_reach_m: float = DMO_REACH_M) -> ZoneFacts:
    """The facts of one zone, from a window of pixels around it.

    Parameters
    ----------
    zone : 2-D bool array
        Pixels of the zone in the window.
    p_cover : 2-D float array
        The zone profile's location probability (0-1, NaN = not evaluated)
        on the same window; pixels at or above ``target_pct`` are covered.
        The window should reach beyond the zone (by at least the distances
        that matter, e.g. the DMO reach), or the nearest covered point may be
        missed (then it is None).
    target_pct, reduced_pct, poor_pct : float
        Class limits of the profile (%).
    pixel_m : float
        Pixel size (m), square pixels.
    ref_rc : (row, col)
        The zone's reference pixel (e.g. its point inside) in the window.
    kind, limiting : str
        Profile kind and limiting direction of the zone.
    incar_p_cover : 2-D float array, optional
        The in-car profile's probability on the same window.
    incar_target_pct : float
        Target of the in-car profile (%).
    dmo_reach_m : float
        Assumed DMO reach (m).
    """
    zone = np.asarray(zone, dtype=bool)
    p = np.asarray(p_cover)
    if zone.shape != p.shape:
        raise InvalidInputError(f"zone {zone.shape} and p_cover {p.shape} windows differ")
    reduced, poor, none = class_shares(p[zone], target_pct, reduced_pct, poor_pct)
    incar = None
    if incar_p_cover is not None and kind != KIND_IN_CAR and zone.any():
        q = np.asarray(incar_p_cover)[zone]
        with np.errstate(invalid="ignore"):
            incar = 100.0 * float(np.count_nonzero(reaches_pct(q, incar_target_pct))) / q.size
    with np.errstate(invalid="ignore"):
        covered = reaches_pct(p, target_pct)
    near_m = bearing = max_m = None
    if covered.any() and zone.any():
        dist, (ri, ci) = ndimage.distance_transform_edt(~covered, return_indices=True)
        max_m = float(dist[zone].max()) * pixel_m
        r0, c0 = ref_rc
        r1, c1 = int(ri[r0, c0]), int(ci[r0, c0])
        near_m = float(dist[r0, c0]) * pixel_m
        bearing = math.degrees(math.atan2(c1 - c0, -(r1 - r0))) % 360.0
    return ZoneFacts(kind, limiting, reduced, poor, none, incar, near_m, bearing, max_m,
                     dmo_reach_m)


def zone_title(facts: ZoneFacts, lang: str = DEFAULT_LANG) -> str:
    """Short label of a zone by its dominant class ("verminderde dekking", "no coverage")."""
    cls = facts.dominant_class
    if check_lang(lang) == "nl":
        return {"reduced": "verminderde dekking", "poor": "slechte dekking",
                "none": "geen dekking"}[cls]
    return {"reduced": "reduced coverage", "poor": "poor coverage", "none": "no coverage"}[cls]


def zone_advice(facts: ZoneFacts, lang: str = DEFAULT_LANG) -> list[str]:
    """Advice for a unit in the zone, one sentence per fact, most useful first.

    Every sentence follows from a number in ``facts``: the in-car radio is
    only recommended where it covers the zone, DMO only where coverage is
    within the assumed DMO reach of every point of the zone.
    """
    nl = check_lang(lang) == "nl"
    out: list[str] = []
    incar = facts.incar_covered_pct
    if facts.kind == KIND_IN_CAR:
        out.append("Ook de mobilofoon haalt hier de doelwaarde niet: spreek vooraf een "
                   "terugvalplan af (DMO, mobiele repeater of gateway)." if nl else
                   "Even the in-car radio misses the target here: agree a fallback "
                   "beforehand (DMO, a mobile repeater or a gateway).")
    elif incar is not None:
        if incar >= WHOLE_ZONE_PCT:
            out.append("Mobilofoon (in voertuig) heeft in de hele zone dekking: gebruik de "
                       "mobilofoon of een voertuig-gateway." if nl else
                       "The in-car radio is covered in the whole zone: use it, or a vehicle "
                       "gateway.")
        elif incar > 0.0:
            out.append(f"Mobilofoon (in voertuig) heeft dekking op {_pct(incar)} % van de zone, "
                       f"niet overal: controleer de dekking bij het voertuig." if nl else
                       f"The in-car radio is covered on {_pct(incar)} % of the zone, not "
                       f"everywhere: check coverage at the vehicle.")
        else:
            out.append("Ook de mobilofoon (in voertuig) heeft in deze zone geen dekking." if nl
                       else "The in-car radio has no coverage in this zone either.")
    if facts.nearest_covered_m is not None and facts.nearest_covered_bearing_deg is not None:
        where = bearing_word(facts.nearest_covered_bearing_deg, lang)
        dist = _dist(facts.nearest_covered_m)
        out.append(f"Dichtstbijzijnde dekking vanaf het midden van de zone: {dist} naar het "
                   f"{where}." if nl else
                   f"Nearest coverage from the middle of the zone: {dist} to the {where}.")
    if facts.max_to_covered_m is not None:
        far, reach = _dist(facts.max_to_covered_m), _dist(facts.dmo_reach_m)
        if facts.max_to_covered_m <= facts.dmo_reach_m:
            out.append(f"Elk punt ligt binnen {far} van dekking: DMO via een collega in dekking "
                       f"(bereik ca. {reach}, aanname) reikt overal." if nl else
                       f"Every point is within {far} of coverage: DMO through a colleague in "
                       f"coverage (reach about {reach}, assumed) reaches everywhere.")
        else:
            out.append(f"Tot {far} van dekking, verder dan het DMO-bereik (ca. {reach}, "
                       f"aanname): neem een mobiele repeater mee of spreek een terugvalplan af."
                       if nl else
                       f"Up to {far} from coverage, beyond DMO reach (about {reach}, assumed): "
                       f"take a mobile repeater or agree a fallback.")
    elif facts.kind != KIND_IN_CAR:
        out.append("Geen dekking in de buurt gevonden: spreek vooraf een terugvalplan af (DMO, "
                   "mobiele repeater)." if nl else
                   "No coverage found nearby: agree a fallback beforehand (DMO, mobile "
                   "repeater).")
    if facts.limiting == "DL":
        out.append("Beperkend is de downlink: hoger of open terrein helpt." if nl else
                   "The downlink limits: higher or open ground helps.")
    elif facts.limiting == "UL":
        out.append("Beperkend is de uplink: de mast hoort het toestel niet, ook waar het "
                   "toestel de mast nog hoort." if nl else
                   "The uplink limits: the mast cannot hear the terminal even where the "
                   "terminal still hears the mast.")
    if facts.kind == KIND_HANDHELD_INDOOR:
        out.append("Binnen: ga eerst naar buiten of naar een raam." if nl else
                   "Indoors: go outside or to a window first.")
    return out


def _pct(value: float) -> str:
    return f"{value:.0f}" if value >= 1.0 or value == 0.0 else "<1"


def _dist(dist_m: float) -> str:
    if dist_m < 1000.0:
        return f"{10 * round(dist_m / 10):.0f} m"
    return f"{dist_m / 1000:.1f} km"
