"""The #12 fidelity table's steps: each switches off exactly the fixes not yet applied."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from c2000cov.devtools.fidelity_table import COLUMNS, PROFILES, STEPS, markdown, step_scenario
from c2000cov.scenario.config import load_scenario

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.toml"


def test_last_step_is_the_shipped_demo_and_the_baseline_the_old_model():
    demo = load_scenario(DEMO)
    assert step_scenario(demo, STEPS[-1][1]) == replace(demo, areas=None)
    base = step_scenario(demo, STEPS[0][1])
    assert base.model.k_factor == 4.0 / 3.0 and demo.model.k_factor == 157.0 / 117.0
    assert base.radio.bs_diversity_gain_db == 0.0 and demo.radio.bs_diversity_gain_db == 3.0
    assert base.landcover is None and demo.landcover.terminal_loss_db == {"4": 10.0}
    assert (base.interference.ground_reflection_db, base.interference.qp_to_rms_db) == (0, 0)
    assert [len(f) for _, f in STEPS] == [0, 1, 2, 3, 4, 5]  # cumulative


def test_markdown_row():
    t = pd.DataFrame([[84.776, 96.84, 95.351, 99.28]] * 3, index=list(PROFILES),
                     columns=list(COLUMNS))
    row = markdown([("baseline", t)]).splitlines()[2]
    assert row == "| baseline" + " | 84.78 / 96.84 | 95.35 / 99.28" * 3 + " |"
