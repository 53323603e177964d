"""The model's validation status, from the ITU-R validation data shipped with the package.

``c2000cov/data/itu/p1812`` holds the ITU-R Study Group 3 validation profiles
and results for Recommendation ITU-R P.1812 (see its PROVENANCE.md and
LICENSE). :func:`validate_p1812` runs every test case through the installed
:mod:`c2000cov.radio.itu.p1812` and compares Lb with the reference: the report
prints the outcome, so an inspector sees the validation of the very version
that produced the numbers.
"""

from __future__ import annotations

from c2000cov.radio.itu.p1812 import ITU_REC
from c2000cov.radio.link import evaluate_sg3
from c2000cov.resources import P1812_DATA_DIR

#: Largest deviation of Lb from the ITU-R reference accepted as a pass (dB).
P1812_TOL_DB = 0.1


def validate_p1812(tol_db: float = P1812_TOL_DB) -> dict:
    """Run every ITU-R SG3 validation case; return counts and the largest deviation.

    Returns
    -------
    dict
        ``recommendation``, ``cases``, ``passed``, ``tol_db``,
        ``max_lb_dev_db`` and ``worst_case`` (file and case index).
    """
    rows = []
    for path in sorted((P1812_DATA_DIR / "validation_profiles").glob("*.csv")):
        rows += evaluate_sg3(path)
    devs = [abs(r["lb_dev_db"]) for r in rows]
    worst = max(range(len(rows)), key=devs.__getitem__) if rows else None
    return {
        "recommendation": ITU_REC,
        "cases": len(rows),
        "passed": sum(d <= tol_db for d in devs),
        "tol_db": tol_db,
        "max_lb_dev_db": max(devs) if devs else float("nan"),
        "worst_case": (f"{rows[worst]['file']} case {rows[worst]['case']}"
                       if worst is not None else ""),
    }
