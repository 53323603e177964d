"""Advice for one place, from that place's own answers for every profile (Dutch).

A dispatcher needs to know what a unit should do at an address: take the
in-car radio (mobilofoon), go outside, use a gateway or direct mode (DMO).
The advice for a profile that is below target here is chosen from the other
profiles' answers at the same point, so it never sends a unit to a terminal
that is itself below target here:

1. an indoor profile below target while the outdoor handheld is covered:
   go outside or to a window;
2. a handheld profile below target while a vehicle profile is covered:
   use the mobilofoon in the vehicle (and a DMO gateway for the handhelds);
3. nothing covered here: by the limiting direction (no mast, uplink,
   downlink): DMO, a gateway or repeater, or higher and open ground;
4. covered at night but not in sunlight: say that daylight solar-panel
   interference causes it.

Profiles are told apart by their terminal terms in ``run.json``: indoor
profiles have ``indoor = true``; a vehicle profile has an antenna on the
vehicle, so no body loss (``body_loss_db = 0``); the rest are handhelds.
"""

from __future__ import annotations

from collections.abc import Mapping

KIND_HANDHELD_OUTDOOR = "handheld_outdoor"
KIND_HANDHELD_INDOOR = "handheld_indoor"
KIND_VEHICLE = "vehicle"
#: Plain Dutch names of the profile kinds.
KIND_LABELS_NL = {KIND_HANDHELD_OUTDOOR: "portofoon buiten",
                  KIND_HANDHELD_INDOOR: "portofoon binnen",
                  KIND_VEHICLE: "mobilofoon in voertuig"}

ADVICE_OUTSIDE = ("Ga naar buiten of naar een raam: buiten is de portofoon hier wel "
                  "gedekt.")
ADVICE_VEHICLE = ("Gebruik de mobilofoon in het voertuig: die is hier wel gedekt; zet "
                  "voor portofoons de DMO-gateway van het voertuig aan.")
ADVICE_NO_SERVER = ("Geen mast bereikt deze plek: werk in DMO (direct mode) of zet een "
                    "DMO-gateway of repeater in; spreek vooraf een terugvaloptie af.")
ADVICE_UPLINK = ("De mast hoort de terminal hier niet (uplink): werk in DMO via een "
                 "collega of voertuig met dekking, of zet een DMO-gateway in.")
ADVICE_DOWNLINK = ("De terminal hoort de mast hier niet (downlink): ga naar open of hoger "
                   "terrein, of werk in DMO via een DMO-gateway.")
ADVICE_SUNNY = (" Overdag verstoren zonnepanelen hier de ontvangst: 's nachts is er wel "
                "dekking.")


def profile_kind(parameters: Mapping[str, object], profile: str) -> str:
    """Kind of a profile (handheld outdoor/indoor, vehicle) from ``run.json`` parameters."""
    if bool(parameters.get(f"profiles.{profile}.indoor", False)):
        return KIND_HANDHELD_INDOOR
    body = parameters.get(f"profiles.{profile}.body_loss_db")
    try:
        if body is not None and float(body) == 0.0:
            return KIND_VEHICLE
    except (TypeError, ValueError):
        pass
    return KIND_HANDHELD_OUTDOOR


def _covered(ans: Mapping[str, object], key: str = "p_cover") -> bool:
    p, t = ans.get(key), ans.get("target_pct")
    return p is not None and t is not None and float(p) >= float(t) / 100.0


def point_advice(answers: Mapping[str, Mapping[str, object]], kinds: Mapping[str, str]
                 ) -> dict[str, str | None]:
    """Advice per profile at one point; None where the profile is covered or not evaluated.

    Parameters
    ----------
    answers : mapping
        Per profile: ``p_cover`` (0-1 or None), ``target_pct`` (%),
        ``limiting`` ("DL", "UL" or None) and optionally ``p_cover_night``.
    kinds : mapping
        Per profile its kind (:func:`profile_kind`); profiles of ``answers``
        missing here count as outdoor handhelds.
    """
    covered_kinds = {kinds.get(p, KIND_HANDHELD_OUTDOOR) for p, a in answers.items()
                     if _covered(a)}
    out: dict[str, str | None] = {}
    for prof, ans in answers.items():
        if ans.get("p_cover") is None or _covered(ans):
            out[prof] = None
            continue
        kind = kinds.get(prof, KIND_HANDHELD_OUTDOOR)
        if kind == KIND_HANDHELD_INDOOR and KIND_HANDHELD_OUTDOOR in covered_kinds:
            text = ADVICE_OUTSIDE
        elif kind != KIND_VEHICLE and KIND_VEHICLE in covered_kinds:
            text = ADVICE_VEHICLE
        elif ans.get("limiting") == "UL":
            text = ADVICE_UPLINK
        elif ans.get("limiting") == "DL":
            text = ADVICE_DOWNLINK
        else:
            text = ADVICE_NO_SERVER
        if _covered(ans, "p_cover_night"):
            text += ADVICE_SUNNY
        out[prof] = text
    return out
