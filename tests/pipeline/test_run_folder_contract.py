"""A run folder is one run: stale outputs, failed and concurrent runs, folders that are not
run folders, outputs that would overwrite inputs, names that would escape (issue #16)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import c2000cov.pipeline.run as run_module
from c2000cov.files.atomic import folder_lock
from tests.scenarios import run_cli, write_scenario

TWO = "[profiles.a]\n\n[profiles.b]\n"


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".cache" not in p.parts}


def test_stale_outputs_of_an_earlier_run_are_gone(tmp_path, monkeypatch):
    scen = write_scenario(tmp_path, profiles=TWO)
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 0
    (out / "map.html").write_text("<p>map of the first run</p>")
    scen.write_text(scen.read_text().replace("[profiles.b]\n", ""))
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "p_cover_b.tif" not in names and "map.html" not in names
    assert json.loads((out / "run.json").read_text())["files"] == sorted(
        n for n in names if n not in ("run.json", "report.html", ".cache"))
    assert ".cache" in names  # the loss cache survives the replacement


def test_a_run_that_fails_while_writing_leaves_the_previous_run(tmp_path, monkeypatch, capsys):
    scen = write_scenario(tmp_path, profiles=TWO)
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 0
    before = _snapshot(out)
    real = run_module.write_run_folder

    def write_then_fail(result, folder):
        real(result, folder)
        raise OSError(28, "No space left on device", str(folder / "report.html"))

    monkeypatch.setattr(run_module, "write_run_folder", write_then_fail)
    scen.write_text(scen.read_text().replace("[profiles.b]\n", ""))
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 2
    assert "No space left on device" in _one_line(capsys)
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == [".out.lock"]


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path, monkeypatch, capsys):
    scen = write_scenario(tmp_path)
    out = tmp_path / "out"
    with folder_lock(out):
        assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 2
        assert "another run is writing into this folder" in _one_line(capsys)
    assert not (out / "run.json").exists()
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 0


def test_a_folder_that_is_not_a_run_folder_is_not_replaced(tmp_path, monkeypatch, capsys):
    scen = write_scenario(tmp_path)
    # --out . would replace the scenario's own folder, inputs included
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", ".") == 2
    assert "is not a run folder" in _one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dtm.tif", "masts.csv",
                                                          "scenario.toml"]


@pytest.mark.parametrize("target", ["dtm.tif", "masts.csv", "scenario.toml"])
def test_the_map_never_overwrites_an_input(tmp_path, monkeypatch, capsys, target):
    scen = write_scenario(tmp_path)
    before = (tmp_path / target).read_bytes()
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--map", tmp_path / target) == 2
    assert target in _one_line(capsys)
    assert (tmp_path / target).read_bytes() == before
    assert not (tmp_path / "out").exists()


def test_an_html_map_named_like_an_input_is_refused(tmp_path, monkeypatch, capsys):
    scen = write_scenario(tmp_path)
    (tmp_path / "legend.html").write_text("x")
    scen.write_text(scen.read_text().replace('path = "masts.csv"', 'path = "masts.csv"')
                    + '\n[roads]\npath = "legend.html"\n')
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--map", tmp_path / "legend.html") == 2
    assert "is an input of this run" in _one_line(capsys)


def test_map_and_export_never_overwrite_run_folder_files(tmp_path, monkeypatch, capsys):
    scen = write_scenario(tmp_path)
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 0
    before = _snapshot(out)
    for args in (("map", out, "--out", out / "run.json"),
                 ("map", out, "--out", out / "report.html"),
                 ("map", out, "--out", out / "p_cover_handheld_outdoor.tif"),
                 ("export", out, "--kmz", "--out", out / "masts_used.csv")):
        assert run_cli(monkeypatch, *args) == 2, args
        _one_line(capsys)
    assert _snapshot(out) == before


def test_a_scenario_name_is_not_a_path(tmp_path, monkeypatch):
    scen = write_scenario(tmp_path / "s")
    scen.write_text(scen.read_text().replace('name = "synthetic"', 'name = "../../x y"'))
    monkeypatch.chdir(tmp_path / "s")
    assert run_cli(monkeypatch, "run", scen, "--quiet") == 0
    assert (tmp_path / "s" / "maps" / "x_y.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    # the name itself is kept as the label
    assert json.loads((tmp_path / "s" / "out" / "run.json").read_text())["scenario"] == \
        "../../x y"


def test_mast_names_that_are_formulas_are_escaped_in_every_csv(tmp_path, monkeypatch):
    scen = write_scenario(tmp_path, masts_rows=[
        "=HYPERLINK(\"http://evil\"),=cmd|' /C calc'!A0,152000.5,452000.5,30,44,11,8,3",
        "M2,@SUM(A1),151000.5,451000.5,30,44,11,8,3"], with_areas=True)
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 0
    for csv in sorted(out.glob("*.csv")):
        text = pd.read_csv(csv, dtype=str, keep_default_na=False)
        for column in text.columns:
            for cell in text[column]:
                assert not cell.startswith(("=", "@", "+")), (csv.name, column, cell)
    masts = pd.read_csv(out / "masts_used.csv", dtype=str)
    assert masts["name"].tolist() == ["'=cmd|' /C calc'!A0", "'@SUM(A1)"]
