"""Dead-zone advice: facts computed from pixels, wording that follows only from the facts."""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.errors import InvalidInputError
from c2000cov.products.advice import (
    DMO_REACH_M,
    KIND_HANDHELD_INDOOR,
    KIND_HANDHELD_OUTDOOR,
    KIND_IN_CAR,
    ZoneFacts,
    bearing_word,
    class_mix_text,
    class_shares,
    class_thresholds,
    dominant_class,
    profile_kind,
    profile_labels,
    zone_advice,
    zone_facts,
    zone_title,
)

#: The demo's flat run.json parameters of its three profiles.
DEMO_PARAMS = {
    "profiles.handheld_outdoor.body_loss_db": 5.0, "profiles.handheld_outdoor.ms_gain_dbi": -3.0,
    "profiles.handheld_indoor.body_loss_db": 5.0, "profiles.handheld_indoor.ms_gain_dbi": -3.0,
    "profiles.handheld_indoor.indoor": True,
    "profiles.in_car.body_loss_db": 0.0, "profiles.in_car.ms_gain_dbi": 2.0,
}


def test_profiles_get_plain_labels_in_both_languages():
    names = ["handheld_outdoor", "handheld_indoor", "in_car"]
    assert [profile_kind(n, DEMO_PARAMS) for n in names] == [
        KIND_HANDHELD_OUTDOOR, KIND_HANDHELD_INDOOR, KIND_IN_CAR]
    assert profile_labels(names, DEMO_PARAMS) == {
        "handheld_outdoor": "portofoon buiten", "handheld_indoor": "portofoon binnen",
        "in_car": "mobilofoon in voertuig"}
    assert profile_labels(names, DEMO_PARAMS, "en")["in_car"] == "in-car radio (mobilofoon)"
    # the parameters decide, not the name; two profiles of one kind keep their keys apart
    params = {"profiles.a.body_loss_db": 0.0, "profiles.a.ms_gain_dbi": 2.0,
              "profiles.b.body_loss_db": 0.0, "profiles.b.ms_gain_dbi": 3.0}
    assert profile_labels(["a", "b"], params) == {"a": "mobilofoon in voertuig (a)",
                                                  "b": "mobilofoon in voertuig (b)"}
    with pytest.raises(InvalidInputError, match="'de'.*nl, en"):
        profile_labels(names, DEMO_PARAMS, "de")


def test_thresholds_are_stated_for_every_class():
    assert class_thresholds(95.0, 80.0, 50.0) == {
        "good": "goed (≥ 95 %)", "reduced": "verminderd (80–95 %)",
        "poor": "slecht (50–80 %)", "none": "geen dekking (< 50 %)"}
    assert class_thresholds(97.5, 90.0, 60.0, "en")["reduced"] == "reduced (90–97.5 %)"


def test_class_mix_and_dominant_class():
    # the demo zone: 61 % reduced, 36 % poor, 3 % none
    p = np.r_[np.full(61, 0.9), np.full(36, 0.6), np.full(3, 0.2), np.full(50, 0.97), np.nan]
    shares = class_shares(p, 95.0, 80.0, 50.0)
    assert shares == pytest.approx((61.0, 36.0, 3.0))
    assert dominant_class(*shares) == "reduced"
    assert dominant_class(40.0, 40.0, 20.0) == "poor"  # tie: the worse class
    assert class_mix_text(*shares) == "61 % verminderd, 36 % slecht, 3 % geen dekking"
    assert class_mix_text(99.6, 0.4, 0.0, "en") == "100 % reduced, <1 % poor, 0 % no coverage"


@pytest.mark.parametrize(("deg", "nl", "en"), [
    (0, "noorden", "north"), (44, "noordoosten", "north-east"), (91, "oosten", "east"),
    (180, "zuiden", "south"), (269, "westen", "west"), (337.6, "noorden", "north")])
def test_bearing_words(deg, nl, en):
    assert bearing_word(deg, "nl") == nl and bearing_word(deg, "en") == en


def _window():
    """A 60 x 60 window at 10 m: covered except a zone of rows 20-39, cols 10-49."""
    p = np.full((60, 60), 0.99)
    zone = np.zeros((60, 60), bool)
    zone[20:40, 10:50] = True
    p[zone] = 0.6
    p[20:40, 10:20] = 0.9
    return zone, p


def test_zone_facts_measure_distances_and_in_car_share():
    zone, p = _window()
    incar = np.where(zone, 0.99, 0.99)
    incar[30:40, 10:50] = 0.5  # in-car misses the target on the southern half of the zone
    f = zone_facts(zone, p, 95.0, 10.0, (25, 30), kind=KIND_HANDHELD_OUTDOOR, limiting="UL",
                   incar_p_cover=incar)
    assert (f.share_reduced_pct, f.share_poor_pct, f.share_none_pct) == pytest.approx(
        (25.0, 75.0, 0.0))
    assert f.dominant_class == "poor"
    assert f.incar_covered_pct == pytest.approx(50.0)
    # from row 25, the nearest covered pixel is row 19: 6 pixels north
    assert f.nearest_covered_m == pytest.approx(60.0)
    assert f.nearest_covered_bearing_deg == pytest.approx(0.0)
    # the zone's deepest pixels (rows 29-30) are 10 pixels from the covered rows 19 and 40
    assert f.max_to_covered_m == pytest.approx(100.0)
    # brute force: the largest distance from a zone pixel to its nearest covered pixel
    rr, cc = np.nonzero(zone)
    cr, ccov = np.nonzero(~zone)
    d = np.hypot(rr[:, None] - cr[None, :], cc[:, None] - ccov[None, :]).min(axis=1)
    assert f.max_to_covered_m == pytest.approx(10.0 * d.max())


def test_advice_follows_the_numbers():
    base = dict(kind=KIND_HANDHELD_OUTDOOR, limiting="UL", share_reduced_pct=61.0,
                share_poor_pct=36.0, share_none_pct=3.0, nearest_covered_m=240.0,
                nearest_covered_bearing_deg=90.0, max_to_covered_m=430.0)
    whole = " ".join(zone_advice(ZoneFacts(incar_covered_pct=100.0, **base)))
    assert "Mobilofoon (in voertuig) heeft in de hele zone dekking" in whole
    assert "240 m naar het oosten" in whole
    assert "binnen 430 m van dekking: DMO" in whole and f"{DMO_REACH_M / 1000:.1f} km" in whole
    assert "uplink" in whole
    # the case: the in-car radio misses the target on 11 % of the zone
    part = " ".join(zone_advice(ZoneFacts(incar_covered_pct=89.0, **base)))
    assert "dekking op 89 % van de zone, niet overal" in part
    assert "hele zone" not in part
    far = dict(base, max_to_covered_m=2600.0)
    text = " ".join(zone_advice(ZoneFacts(incar_covered_pct=0.0, **far), "en"))
    assert "in-car radio has no coverage in this zone either" in text
    assert "Up to 2.6 km from coverage, beyond DMO reach" in text
    assert "reaches everywhere" not in text
    indoor = zone_advice(ZoneFacts(**dict(base, kind=KIND_HANDHELD_INDOOR)))
    assert indoor[-1] == "Binnen: ga eerst naar buiten of naar een raam."
    car = " ".join(zone_advice(ZoneFacts(**dict(base, kind=KIND_IN_CAR)), "en"))
    assert car.startswith("Even the in-car radio misses the target here")
    assert zone_title(ZoneFacts(**base)) == "verminderde dekking"
    assert zone_title(ZoneFacts(**dict(base, share_none_pct=70.0)), "en") == "no coverage"
