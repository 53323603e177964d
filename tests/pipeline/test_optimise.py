"""c2000cov optimise on a small free-space scenario: greedy against exhaustive search,
reported gains against what-ifs, and bad candidate files."""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace

import pandas as pd
import pytest

from c2000cov.analysis.coverage import covered_area_km2
from c2000cov.cli import main
from c2000cov.pipeline.cache import LossCache
from c2000cov.pipeline.compute import compute_coverage
from c2000cov.pipeline.inputs import load_inputs
from c2000cov.pipeline.optimise import SELECTED_COLUMNS, optimise
from c2000cov.pipeline.whatif import run_whatif
from c2000cov.products.runfolder import DELTA_TABLE, OPTIMISE_FILES, delta_name
from c2000cov.scenario.config import load_scenario
from tests.scenarios import write_scenario

SELECTED_SITES, CANDIDATE_GAINS, _ = OPTIMISE_FILES
X0, Y0, RES = 150000.0, 450000.0, 20.0
HEADER = "mast_id,x_m,y_m,h_agl_m,tx_power_dbm,gain_dbi,tx_loss_db,rx_loss_db"
RADIO = "30,40,-28,3,3"  # weak masts: discs of about 0.8 km radius
# seven sites near the existing mast in the south-west corner, one in the empty north-east
SITES = [(600, 400), (400, 700), (800, 800), (1000, 300), (300, 1100), (700, 1200),
         (2300, 2300), (1200, 600)]


def cand_row(k, dx, dy):
    return f"C{k + 1},{X0 + dx + 10},{Y0 + dy + 10},{RADIO}"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("opt")
    scen_path = write_scenario(tmp, [f"M01,Base,{X0 + 410},{Y0 + 410},{RADIO}"],
                               radius_m=1200.0, size_px=150, res=RES)
    cands = tmp / "cands.csv"
    cands.write_text("\n".join([HEADER] + [cand_row(k, *s) for k, s in enumerate(SITES)]) + "\n")
    scen = load_scenario(scen_path)
    result = optimise(scen, 2, tmp / "opt", cands, cache_dir=tmp / "cache")
    return tmp, scen, cands, result


def covered_km2(scen, extra_rows, cache):
    """Covered km2 summed over profiles, computed as a run computes it."""
    inputs = load_inputs(scen)
    if not extra_rows:
        covs = compute_coverage(inputs, cache=cache)["main"]
        return sum(covered_area_km2(c) for c in covs.values())
    extra = pd.DataFrame([dict(zip(HEADER.split(","), r.split(","), strict=True))
                          for r in extra_rows])
    for col in HEADER.split(",")[1:]:
        extra[col] = extra[col].astype(float)
    extra["name"], extra["azimuth_deg"], extra["tilt_deg"], extra["pattern"] = "", float("nan"), \
        0.0, None
    extra["rx_diversity_gain_db"] = float("nan")  # the scenario's bs_diversity_gain_db
    inputs = replace(inputs, masts=pd.concat([inputs.masts, extra[inputs.masts.columns]],
                                             ignore_index=True))
    covs = compute_coverage(inputs, cache=cache)["main"]
    return sum(covered_area_km2(c) for c in covs.values())


def test_greedy_equals_exhaustive_and_tables(case):
    tmp, scen, cands, result = case
    cache = LossCache(tmp / "cache")
    rows = [cand_row(k, *s) for k, s in enumerate(SITES)]
    base = covered_km2(scen, [], cache)
    pairs = {pair: covered_km2(scen, [rows[i] for i in pair], cache) - base
             for pair in itertools.combinations(range(8), 2)}
    best_pair = max(pairs, key=pairs.get)
    chosen = [int(m[1:]) - 1 for m in result.selected["mast_id"]]
    assert sorted(chosen) == sorted(best_pair)
    px_km2 = RES * RES / 1e6
    assert result.selected["cumulative_km2"].iloc[-1] == pytest.approx(pairs[best_pair],
                                                                       abs=px_km2)
    # the site in the empty north-east ranks first
    assert result.selected["mast_id"].iloc[0] == "C7"
    sel = pd.read_csv(tmp / "opt" / SELECTED_SITES)
    assert list(sel.columns) == list(SELECTED_COLUMNS)
    assert list(sel["rank"]) == [1, 2]
    cand = pd.read_csv(tmp / "opt" / CANDIDATE_GAINS)
    assert len(cand) == 8 and cand["gain_km2"].notna().all()
    # first-round gains are single-site what-ifs
    for k in (0, 6):
        alone = covered_km2(scen, [rows[k]], cache) - base
        assert cand["gain_km2"].iloc[k] == pytest.approx(alone, abs=px_km2)
    assert result.selection.evaluations < result.plain_evaluations


def test_reported_gain_equals_whatif_delta(case, tmp_path):
    tmp, scen, cands, result = case
    # the what-if of the selected set, written by optimise
    delta = pd.read_csv(tmp / "opt" / DELTA_TABLE)
    assert delta["delta_covered_km2"].sum() == pytest.approx(
        result.selected["cumulative_km2"].iloc[-1], abs=RES * RES / 1e6)
    assert (tmp / "opt" / delta_name("handheld_outdoor")).is_file()
    # the first site alone, through a CHANGES file like an engineer would write it
    row = result.selected.iloc[0]
    changes = tmp_path / "changes.toml"
    changes.write_text(f'[[add_mast]]\nmast_id = "{row.mast_id}"\nx_m = {row.x_m}\n'
                       f"y_m = {row.y_m}\nh_agl_m = 30.0\ntx_power_dbm = 40.0\n"
                       "gain_dbi = -28.0\ntx_loss_db = 3.0\nrx_loss_db = 3.0\n")
    w = run_whatif(scen, changes, tmp_path / "w", cache_dir=tmp / "cache")
    assert w.delta_table["delta_covered_km2"].sum() == pytest.approx(row.gain_km2,
                                                                     abs=RES * RES / 1e6)


def test_pruned_run_chooses_the_same_sites(case, tmp_path):
    tmp, scen, cands, result = case
    pruned = optimise(scen, 2, tmp_path / "p", cands, cache_dir=tmp / "cache", prune=True,
                      write_whatif=False)
    assert list(pruned.selected["mast_id"]) == list(result.selected["mast_id"])
    assert pruned.selection.covers_built <= 8


def test_coarse_screen_keeps_the_winners_and_exact_gains(case, tmp_path):
    tmp, scen, cands, result = case
    r = optimise(scen, 2, tmp_path / "s", cands, cache_dir=tmp / "cache", write_whatif=False,
                 screen_m=60.0, screen_keep=3)
    table = r.candidates
    assert r.n_candidates == 8 and int(table["screened_out"].sum()) == 5
    # the exact pass on the kept sites picks what the unscreened run picked, same gains
    assert list(r.selected["mast_id"]) == list(result.selected["mast_id"])
    assert list(r.selected["gain_km2"]) == list(result.selected["gain_km2"])
    # the coarse gain (3 x 3 fewer pixels) estimates the exact first-round gain
    exact = result.candidates.set_index("mast_id")["gain_km2"]
    best = table.loc[table["screen_gain"].idxmax()]
    assert best["mast_id"] == exact.idxmax() == "C7"
    assert best["screen_gain"] == pytest.approx(exact["C7"], rel=0.05)
    assert table.loc[table["screened_out"], "gain_km2"].isna().all()


def test_grid_candidates_and_heights(case, tmp_path):
    tmp, scen, cands, _ = case
    r = optimise(scen, 1, tmp_path / "g", grid_m=1000.0, heights_m=[20.0, 40.0],
                 cache_dir=tmp / "cache", write_whatif=False)
    assert r.n_candidates == 18  # 3 x 3 sites at two heights
    assert sorted(set(r.candidates["h_agl_m"])) == [20.0, 40.0]
    assert r.candidates["mast_id"].iloc[0] == "G0001@20m"
    assert r.selected["gain_km2"].iloc[0] == pytest.approx(r.candidates["gain_km2"].max())
    # the top row of the grid is the empty north: the chosen site lies there
    assert r.selected["y_m"].iloc[0] == Y0 + 2500.0


def run_cli(args, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["c2000cov", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    (HEADER.replace(",tx_power_dbm", "") + "\nC1,150610,450410,30,-28,3,3\n",
     ["cands.csv", "tx_power_dbm"]),
    (HEADER + f"\n{cand_row(0, 600, 400)}\n{cand_row(0, 800, 800)}\n",
     ["cands.csv row 2", "duplicate mast_id 'C1'"]),
    (HEADER + f"\n{cand_row(0, 600, 400)}\n{cand_row(1, 9000, 400)}\n",
     ["cands.csv row 2", "C2", "outside"]),
    (HEADER + f"\nM01,150610,450410,{RADIO}\n", ["cands.csv row 1", "'M01'", "already"]),
])
def test_bad_candidate_files_exit_2(case, tmp_path, capsys, monkeypatch, text, expected):
    tmp, scen, _, _ = case
    bad = tmp_path / "cands.csv"
    bad.write_text(text)
    code, err = run_cli(["optimise", scen.source, "--candidates", bad, "--add", "1",
                         "--out", tmp_path / "o", "-q"], capsys, monkeypatch)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for text_ in expected:
        assert text_ in err, err
    assert not (tmp_path / "o").exists()
