"""ITU-R P.1812-8 against the ITU-R SG3 validation data (c2000cov/data/itu/p1812)."""

from __future__ import annotations

import functools
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from c2000cov.errors import InvalidInputError, OutsideValidityWarning
from c2000cov.files.sg3 import read_sg3, read_validation_log
from c2000cov.radio.itu.p1812 import ITU_REC, beta0_pct, inv_cum_norm, p1812
from c2000cov.radio.link import evaluate_sg3
from c2000cov.radio.validation import P1812_DATA_DIR

DATA_DIR = P1812_DATA_DIR
PROFILE_DIR = DATA_DIR / "validation_profiles"
RESULT_DIR = DATA_DIR / "validation_results"

# Acceptance tolerances of this file.
LB_TOL_DB = 0.1  # final basic transmission loss and field strength vs. the reference
COMPONENT_TOL_DB = 0.05  # every loss component in the validation logs
GEOMETRY_RTOL = 1e-6  # path-geometry values (km, m, mrad, %, fractions): relative
GEOMETRY_ATOL = 1e-6  # ... and absolute

PROFILES = sorted(PROFILE_DIR.glob("*.csv"))
CASES = [(p.name, c.index) for p in PROFILES for c in read_sg3(p).cases]
LOGS = sorted(RESULT_DIR.glob("*_log.csv"))

# Validation-log name -> P1812Result field. The logs give Lbulla/Lbulls/Ldsph for
# a_beta (see c2000cov/data/itu/p1812/PROVENANCE.md).
LOSS_FIELDS = {
    "Lbfs": "lbfs_db",
    "Lb0p": "lb0p_db",
    "Lb0b": "lb0b_db",
    "Lbulla (dB)": "lbulla_beta_db",
    "Lbulls (dB)": "lbulls_beta_db",
    "Ldsph (dB)": "ldsph_beta_db",
    "Ld50 (dB)": "ld50_db",
    "Ldb (dB)": "ldb_db",
    "Ldp (dB)": "ldp_db",
    "Lbd50 (dB)": "lbd50_db",
    "Lminb0p (dB)": "lminb0p_db",
    "Lba (dB)": "lba_db",
    "Lminbap (dB)": "lminbap_db",
    "Lbda (dB)": "lbda_db",
    "Lbam (dB)": "lbam_db",
    "Lbs (dB)": "lbs_db",
    "Lbc (dB)": "lbc_db",
    "Lb (dB)": "lb_db",
    "Ep (dBuV/m)": "ep_1kw_dbuv_m",
    "Ep (dBuV/m) w.r.t. Ptx": "ep_dbuv_m",
}
GEOMETRY_FIELDS = {
    "ae (km)": "ae_km",
    "d (km)": "dtot_km",
    "dlt (km)": "dlt_km",
    "dlr (km)": "dlr_km",
    "th_t (mrad)": "theta_t_mrad",
    "th_r (mrad)": "theta_r_mrad",
    "th (mrad)": "theta_mrad",
    "hts (m)": "hts_m",
    "hrs (m)": "hrs_m",
    "w": "omega_frac",
    "dtm (km)": "dtm_km",
    "dlm (km)": "dlm_km",
    "phi (deg)": "phi_path_deg",
    "b0 (%)": "beta0_pct",
    "hst (m)": "hst_ls_m",
    "hsr (m)": "hsr_ls_m",
    "hst (m) Eq (90a)": "hst_m",
    "hsr (m) Eq (90b)": "hsr_m",
    "hstd (m)": "hstd_m",
    "hsrd (m)": "hsrd_m",
    "htc (m) Eq (37a)": "hte_diff_m",
    "hrc (m) Eq (37b)": "hre_diff_m",
    "hte (m)": "hte_m",
    "hre (m)": "hre_m",
    "hm (m)": "hm_m",
    "Fi": "fi",
    "Fj": "fj",
    "Fk": "fk",
}


@functools.cache
def _evaluated(profile_name: str) -> tuple[dict, ...]:
    return tuple(evaluate_sg3(PROFILE_DIR / profile_name))


def test_edition_is_pinned():
    assert ITU_REC == "ITU-R P.1812-8"


def test_every_profile_has_cases():
    assert len(PROFILES) == 14
    assert len(CASES) == 45


@pytest.mark.parametrize(("profile", "case"), CASES, ids=[f"{p[:-4]}-{k}" for p, k in CASES])
def test_lb_and_ep_match_reference(profile, case):
    row = _evaluated(profile)[case]
    ref = read_sg3(PROFILE_DIR / profile).cases[case]
    dev_lb = row["lb_db"] - ref.lb_db
    dev_ep = row["ep_dbuv_m"] - ref.ep_dbuv_m
    assert abs(dev_lb) <= LB_TOL_DB, (
        f"{profile} case {case}: Lb = {row['lb_db']:.6f} dB, reference {ref.lb_db:.6f} dB, "
        f"deviation {dev_lb:+.6f} dB > {LB_TOL_DB} dB"
    )
    assert abs(dev_ep) <= LB_TOL_DB, (
        f"{profile} case {case}: Ep = {row['ep_dbuv_m']:.6f} dBuV/m, reference "
        f"{ref.ep_dbuv_m:.6f}, deviation {dev_ep:+.6f} dB > {LB_TOL_DB} dB"
    )


def _log_case(log: Path) -> tuple[str, int]:
    m = re.fullmatch(r"(.+)_(\d+)_log\.csv", log.name)
    return f"{m.group(1)}.csv", int(m.group(2))


@pytest.mark.parametrize("log", LOGS, ids=[p.name[:-8] for p in LOGS])
def test_components_match_validation_log(log):
    profile, case = _log_case(log)
    row = _evaluated(profile)[case]
    ref = read_validation_log(log)
    bad = []
    for key, field in LOSS_FIELDS.items():
        dev = row[field] - ref[key]
        if not abs(dev) <= COMPONENT_TOL_DB:
            bad.append(f"{key}: got {row[field]:.6f}, log {ref[key]:.6f}, deviation {dev:+.6f} dB")
    # Lbd, eq. (43): the logs hold Lb0p + Ldp, or Lbda where the reference code
    # overwrote it (when Lminbap <= Lbd); check both readings.
    lbd_ref = ref["Lb0p"] + ref["Ldp (dB)"]
    if not abs(row["lbd_db"] - lbd_ref) <= COMPONENT_TOL_DB:
        bad.append(f"Lbd: got {row['lbd_db']:.6f}, log Lb0p + Ldp {lbd_ref:.6f}")
    lbd_logged = row["lbda_db"] if ref["Lminbap (dB)"] <= lbd_ref else row["lbd_db"]
    if not abs(lbd_logged - ref["Lbd (dB)"]) <= COMPONENT_TOL_DB:
        bad.append(f"logged Lbd: got {lbd_logged:.6f}, log {ref['Lbd (dB)']:.6f}")
    for key, field in GEOMETRY_FIELDS.items():
        if not math.isclose(row[field], ref[key], rel_tol=GEOMETRY_RTOL, abs_tol=GEOMETRY_ATOL):
            bad.append(f"{key}: got {row[field]!r}, log {ref[key]!r}")
    assert not bad, f"{log.name}: " + "; ".join(bad)


# ---------------------------------------------------------------- hand-worked values


def test_inverse_complementary_normal():
    # Q^-1 values: 1.2816 at 10 %, 1.6449 at 5 %, 2.3263 at 1 %; approximation error < 4.5e-4.
    assert inv_cum_norm(0.5) == pytest.approx(0.0, abs=1e-6)
    assert inv_cum_norm(0.1) == pytest.approx(1.2816, abs=5e-4)
    assert inv_cum_norm(0.05) == pytest.approx(1.6449, abs=5e-4)
    assert inv_cum_norm(0.01) == pytest.approx(2.3263, abs=5e-4)
    assert inv_cum_norm(0.9) == pytest.approx(-inv_cum_norm(0.1), abs=1e-12)


def test_beta0_for_a_long_inland_path():
    # tau = 1 for a long inland path; mu1 = (10^-(d/9.4) + 10^-4.25)^0.2 -> 10^-0.85,
    # mu4 = mu1^(-0.935 + 0.0176 |phi|); beta0 = 10^(1.67 - 0.015 |phi|) mu1 mu4.
    phi = 50.0
    mu1 = 10.0**-0.85
    expected = 10.0 ** (1.67 - 0.015 * phi) * mu1 * mu1 ** (-0.935 + 0.0176 * phi)
    assert beta0_pct(phi, 500.0, 500.0) == pytest.approx(expected, rel=1e-9)


def _flat_profile(dist_km=10.0, n=401):
    d = np.linspace(0.0, dist_km, n)
    return d, np.zeros(n), np.zeros(n), np.full(n, 4)


def test_free_space_and_effective_radius_on_a_short_clear_path():
    d, h, r, zone = _flat_profile(2.0, 81)
    res = p1812(390.0, 50.0, 50.0, d, h, r, zone, 60.0, 60.0, 2, 52.0, 52.0, 5.0, 5.03)
    # Eq. (8): 92.4 + 20 log f_GHz + 20 log d_km for equal antenna heights.
    assert res.lbfs_db == pytest.approx(92.4 + 20 * math.log10(0.39) + 20 * math.log10(2.0))
    # eq. (7) with the default dN = 40 N-units/km (the Netherlands, as area runs use)
    assert res.ae_km == pytest.approx(6371.0 * 157.0 / (157.0 - 40.0))
    assert res.path_type == "los"
    assert res.ld50_db == 0.0
    # Line of sight at 50 % time and 50 % locations: Lb is free-space loss.
    assert res.lb_db == pytest.approx(res.lbfs_db, abs=1e-9)


def test_location_percentage_adds_sigma_times_q_inverse():
    d, h, r, zone = _flat_profile(15.0, 601)
    kw = dict(d_km=d, h_m=h, r_m=r, zone=zone, htg_m=30.0, hrg_m=1.5, pol=2)
    args = (52.0, 52.0, 5.0, 5.2)
    median = p1812(
        390.0,
        50.0,
        50.0,
        **kw,
        phi_t_deg=args[0],
        phi_r_deg=args[1],
        lam_t_deg=args[2],
        lam_r_deg=args[3],
        sigma_loc_db=5.5,
    )
    p90 = p1812(
        390.0,
        50.0,
        90.0,
        **kw,
        phi_t_deg=args[0],
        phi_r_deg=args[1],
        lam_t_deg=args[2],
        lam_r_deg=args[3],
        sigma_loc_db=5.5,
    )
    assert median.lloc_db == pytest.approx(0.0, abs=1e-6)
    assert p90.lb_db - median.lb_db == pytest.approx(-inv_cum_norm(0.9) * 5.5, abs=1e-6)


# ---------------------------------------------------------------- bad input


def _call(**over):
    d, h, r, zone = _flat_profile()
    kw = dict(
        freq_mhz=390.0,
        time_pct=50.0,
        loc_pct=50.0,
        d_km=d,
        h_m=h,
        r_m=r,
        zone=zone,
        htg_m=30.0,
        hrg_m=1.5,
        pol=2,
        phi_t_deg=52.0,
        phi_r_deg=52.0,
        lam_t_deg=5.0,
        lam_r_deg=5.15,
    )
    kw.update(over)
    return p1812(**kw)


@pytest.mark.parametrize("freq_mhz", [20.0, 6500.0])
def test_frequency_out_of_range_is_an_error(freq_mhz):
    with pytest.raises(InvalidInputError, match=r"freq_mhz must be within 30-6000 MHz"):
        _call(freq_mhz=freq_mhz)


def test_non_monotonic_distance_is_an_error():
    d, h, r, zone = _flat_profile()
    d = d.copy()
    d[5] = d[3]
    with pytest.raises(
        InvalidInputError, match=r"d_km must increase strictly along the profile, got d_km\[5\]"
    ):
        _call(d_km=d)


def test_profile_must_start_at_zero():
    d, *_ = _flat_profile()
    with pytest.raises(InvalidInputError, match=r"d_km\[0\] must be 0"):
        _call(d_km=d + 1.0)


def test_array_length_mismatch_is_an_error():
    with pytest.raises(InvalidInputError, match=r"h_m must have the same length as d_km \(401\)"):
        _call(h_m=np.zeros(400))


@pytest.mark.parametrize("time_pct", [0.0, 50.5, 90.0])
def test_time_percentage_out_of_range_is_an_error(time_pct):
    with pytest.raises(InvalidInputError, match=r"time_pct must be > 0 and <= 50"):
        _call(time_pct=time_pct)


def test_bad_zone_and_polarisation_are_errors():
    d, h, r, zone = _flat_profile()
    zone = zone.copy()
    zone[7] = 2
    with pytest.raises(InvalidInputError, match=r"zone\[7\] must be 1 \(sea\), 3"):
        _call(zone=zone)
    with pytest.raises(InvalidInputError, match=r"pol must be 1 \(horizontal\) or 2"):
        _call(pol=3)


def test_time_below_one_percent_warns_and_still_computes():
    with pytest.warns(OutsideValidityWarning, match=r"time_pct = 0.5 % is below the 1 %"):
        res = _call(time_pct=0.5)
    assert math.isfinite(res.lb_db)


def test_antenna_height_below_one_metre_warns():
    with pytest.warns(OutsideValidityWarning, match=r"hrg_m = 0.5 m is outside the 1-3000 m"):
        _call(hrg_m=0.5)


def test_valid_input_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _call()
