"""One exit-code contract: 0 ok, 2 bad input or usage (one line), 130/143 interrupted,
1 internal error with one line naming the log file that holds the traceback (issue #16)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scenarios import REPO, run_cli, write_scenario


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(("args", "message"), [
    ((), "no command given"),
    (("runn",), "No such command 'runn'"),
    (("run",), "Missing argument 'scenario'"),
    (("verify",), "Missing argument 'BUNDLE.zip'"),
    (("run", "x.toml", "--bogus"), "No such option: --bogus"),
    (("link", "p.csv", "--case", "abc"), "Invalid value for '--case'"),
])
def test_usage_errors_exit_2_with_one_line(capsys, monkeypatch, args, message):
    assert run_cli(monkeypatch, *args) == 2
    line = _one_line(capsys)
    assert line.startswith("error: ") and message in line, line


def test_version(capsys, monkeypatch):
    assert run_cli(monkeypatch, "--version") == 0
    assert capsys.readouterr().out.strip() == f"c2000cov {importlib.metadata.version('c2000cov')}"


def test_typer_is_in_the_pinned_range():
    """The exit-code contract relies on typer's bundled click (typer._click) and on typer
    returning 130 for Ctrl-C in non-standalone mode; pyproject pins the range tested here."""
    from packaging.requirements import Requirement

    requirement = Requirement(next(r for r in importlib.metadata.requires("c2000cov")
                                   if r.startswith("typer")))
    assert requirement.specifier.contains(importlib.metadata.version("typer"))
    assert any(s.operator == "<" for s in requirement.specifier)  # an upper bound


def test_workers_out_of_range_exit_2(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--executor", "dask",
                   "--workers", "-1") == 2
    assert "--workers must be between 1 and" in _one_line(capsys)


def test_internal_error_exits_1_with_the_log_path(tmp_path, capsys, monkeypatch):
    import c2000cov.pipeline.run as run_module

    def broken(*args, **kwargs):
        raise RuntimeError("kaboom in the kernel")

    monkeypatch.setattr(run_module, "run_scenario", broken)
    monkeypatch.setenv("C2000COV_LOG_DIR", str(tmp_path / "logs"))
    scen = write_scenario(tmp_path / "s")
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map") == 1
    line = _one_line(capsys)
    assert line.startswith("internal error: RuntimeError: kaboom in the kernel; the traceback "
                           "is in "), line
    log = Path(line.rsplit(" ", 1)[1])
    assert log.parent == tmp_path / "logs"
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "kaboom in the kernel" in text


def test_unreadable_raster_exits_2(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    (tmp_path / "dtm.tif").write_bytes(b"II*\x00" + bytes(range(256)) * 4)  # a broken TIFF
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map") == 2
    assert "dtm.tif" in _one_line(capsys)


def test_non_utf8_scenario_exits_2(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path)
    scen.write_bytes(scen.read_bytes().replace(b'"synthetic"', b'"synth\xe9tic"'))
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map") == 2
    assert "UTF-8" in _one_line(capsys)


def test_ctrl_c_exits_130(tmp_path, capsys, monkeypatch):
    import c2000cov.pipeline.run as run_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "run_scenario", interrupted)
    scen = write_scenario(tmp_path)
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map") == 130
    assert "interrupted" in capsys.readouterr().err


SIGNAL_SCRIPT = """
import os, signal, sys
import c2000cov.products.runfolder as rf
import c2000cov.pipeline.run as run_module
real = rf.write_run_folder
SIG = getattr(signal, sys.argv[1])
def write_then_signal(result, out_dir):
    real(result, out_dir)           # the new run is half written (no report yet) ...
    os.kill(os.getpid(), SIG)       # ... when the signal arrives
run_module.write_run_folder = write_then_signal
sys.argv = ["c2000cov", "run", sys.argv[2], "--quiet", "--no-map", "--out", sys.argv[3]]
from c2000cov.cli import main
main()
"""


@pytest.mark.parametrize(("sig", "status"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_signals_leave_the_previous_complete_run(tmp_path, monkeypatch, sig, status):
    scen = write_scenario(tmp_path, profiles="[profiles.a]\n\n[profiles.b]\n")
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "run", scen, "--quiet", "--no-map", "--out", out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    scen.write_text(scen.read_text().replace("[profiles.b]\n", ""))  # the new run differs
    proc = subprocess.run([sys.executable, "-c", SIGNAL_SCRIPT, sig, str(scen), str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # byte for byte the previous run, nothing of the new one
    assert sorted(p.name for p in tmp_path.iterdir() if "staging" in p.name or ".old-" in
                  p.name) == []
