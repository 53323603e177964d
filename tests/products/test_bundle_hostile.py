"""Hostile bundles and received run folders: zip bombs, forged directories, changed inputs,
scenarios that point outside the bundle (issue #16).

The bombs are verified in a subprocess under resource limits: at most 512 MiB of address
space, 64 KiB of any file written (``RLIMIT_FSIZE``: the layout check writes nothing) and
60 s of CPU.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile

import pytest

import c2000cov.products.verify as verify_module
from c2000cov.errors import InvalidInputError
from c2000cov.files.atomic import sha256_file
from c2000cov.pipeline.rerun import rerun_bundle
from c2000cov.products.bundle import make_bundle
from c2000cov.products.bundle_format import MANIFEST_NAME, write_canonical_zip
from c2000cov.products.verify import verify_bundle
from tests.scenarios import REPO, write_scenario
from tests.scenarios import run_cli as cli

GIB = 1 << 30


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    scen = write_scenario(tmp / "s")
    mp = pytest.MonkeyPatch()
    try:
        assert cli(mp, "run", scen, "--out", tmp / "out", "--quiet", "--no-map") == 0
    finally:
        mp.undo()
    return tmp, scen, tmp / "out", make_bundle(tmp / "out", tmp / "evidence.zip")


def _deflated(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _zip_with_deflated(path, name: str, n_bytes: int):
    """A zip whose ``name`` inflates to ``n_bytes`` zeros (about n_bytes / 1000 on disk)."""
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open(_deflated(name), "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(n_bytes >> 20):
                fh.write(block)
    return path


VERIFY_UNDER_LIMITS = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
    from c2000cov.products.verify import verify_bundle
    report = verify_bundle(sys.argv[1])
    # VmHWM: this process's own peak resident memory (ru_maxrss keeps the parent's across exec)
    hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status")
                  if line.startswith("VmHWM:"))
    print(json.dumps({"ok": report.ok, "problems": list(report.problems),
                      "peak_rss_mb": hwm_kb / 1024}))
""")


def _verify_limited(path) -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", VERIFY_UNDER_LIMITS, str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_deflate_bomb_manifest_is_refused_without_inflating(tmp_path):
    bomb = _zip_with_deflated(tmp_path / "bomb.zip", MANIFEST_NAME, GIB)
    assert bomb.stat().st_size < 2 << 20  # ~1 MB on disk, 1 GiB inflated
    result = _verify_limited(bomb)
    assert not result["ok"]
    assert result["problems"] == [
        f"entry {MANIFEST_NAME!r} is compressed (method 8), which differs from the canonical "
        "bundle layout (every entry stored uncompressed): the zip was repacked; nothing was "
        "inflated"]
    assert result["peak_rss_mb"] < 100, result
    print(f"verify of a 1 GiB deflate bomb: peak {result['peak_rss_mb']:.0f} MB")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_bombs_are_refused_before_inflating(tmp_path):
    with zipfile.ZipFile(tmp_path / "dups.zip", "w") as zf:
        for _ in range(50):
            with zf.open(_deflated("run.json"), "w") as fh:
                fh.write(bytes(8 << 20))
    result = _verify_limited(tmp_path / "dups.zip")
    assert result["problems"] == ["entry 'run.json' appears 50 times (duplicate entries)"]


def test_a_forged_directory_size_is_refused(made, tmp_path):
    _, _, _, bundle = made
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as zf:
        info = next(i for i in zf.infolist() if i.filename == "run.json")
        cd = zf.start_dir
    # the central-directory record of run.json: sizes at offsets 20 (compressed), 24
    at = raw.index(b"PK\x01\x02" + raw[cd + 4:cd + 6], cd)
    while raw[at + 46:at + 46 + len(b"run.json")] != b"run.json":
        at = raw.index(b"PK\x01\x02", at + 4)
    raw[at + 20:at + 28] = struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0)
    forged = tmp_path / "forged.zip"
    forged.write_bytes(bytes(raw))
    result = _verify_limited(forged)
    assert not result["ok"] and info.file_size < 0xFFFFFFF0
    assert any("run.json" in p for p in result["problems"]), result


def test_too_many_entries_are_refused(made, tmp_path, monkeypatch):
    _, _, _, bundle = made
    monkeypatch.setattr(verify_module, "MAX_ENTRIES", 3)
    problems = verify_bundle(bundle).problems
    assert len(problems) == 1 and "more than the 3 a bundle may hold" in problems[0]


def test_the_layout_check_writes_nothing(made):
    """An intact bundle verifies with RLIMIT_FSIZE at 64 KiB although it is larger."""
    _, _, _, bundle = made
    assert bundle.stat().st_size > 64 << 10
    result = _verify_limited(bundle)
    assert result["ok"], result


# --------------------------------------------------------------------------- bundling
def test_bundle_refuses_an_input_changed_since_the_run(made, tmp_path):
    tmp, scen, out, _ = made
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    masts = scen.parent / "masts.csv"
    original = masts.read_bytes()
    try:
        masts.write_bytes(original.replace(b",30,44,", b",31,44,"))
        with pytest.raises(InvalidInputError, match="input masts.path/masts.csv .* changed since "
                                                    "the run"):
            make_bundle(copy, tmp_path / "x.zip")
    finally:
        masts.write_bytes(original)
    assert not (tmp_path / "x.zip").exists()


def test_bundle_packs_only_what_the_run_recorded(made, tmp_path):
    tmp, scen, out, _ = made
    copy = tmp_path / "received"
    shutil.copytree(out, copy)
    (copy / "notes.txt").write_text("not an output")
    (copy / "p_cover_stale.tif").write_bytes(b"an earlier run")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    hostile = tmp_path / "hostile.toml"
    hostile.write_text(scen.read_text().replace('path = "masts.csv"', f'path = "{secret}"')
                       .replace('dtm = "dtm.tif"', f'dtm = "{scen.parent / "dtm.tif"}"'))
    run = json.loads((copy / "run.json").read_text())
    run["parameters"]["source"] = str(hostile)  # the hidden scenario of a received folder
    (copy / "run.json").write_text(json.dumps(run))
    zip_path = make_bundle(copy, tmp_path / "r.zip")
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        blob = b"".join(zf.read(n) for n in names)
    assert "notes.txt" not in names and "p_cover_stale.tif" not in names
    assert b"root:x:0:0" not in blob


def test_bundle_refuses_a_forged_input_record(made, tmp_path):
    _, _, out, _ = made
    copy = tmp_path / "received"
    shutil.copytree(out, copy)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    run = json.loads((copy / "run.json").read_text())
    run["inputs"]["terrain.dtm/passwd"] = {"path": str(secret), "sha256": "0" * 64,
                                           "size_bytes": 10}
    (copy / "run.json").write_text(json.dumps(run))
    with pytest.raises(InvalidInputError, match="input terrain.dtm/passwd .* changed since"):
        make_bundle(copy, tmp_path / "f.zip")


# --------------------------------------------------------------------------- rerun
def _rewrite_bundle(bundle, target, scenario_text: str):
    """A self-consistent canonical bundle with a replaced inputs/scenario.toml."""
    with zipfile.ZipFile(bundle) as zf:
        items = {i.filename: zf.read(i) for i in zf.infolist()}
    items["inputs/scenario.toml"] = scenario_text.encode()
    manifest = json.loads(items.pop(MANIFEST_NAME))
    staged = target.parent / "staged"
    staged.mkdir(exist_ok=True)
    for rec in manifest["files"]:
        path = staged / rec["path"].replace("/", "__")
        path.write_bytes(items[rec["path"]])
        rec["sha256"], rec["size_bytes"] = sha256_file(path)
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    with target.open("wb") as fh:
        write_canonical_zip(fh, [(n, (lambda n=n: open(staged / n.replace("/", "__"), "rb")),
                                  len(items[n])) for n in items], manifest_bytes)
    return target


@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_rerun_accepts_only_scenario_paths_inside_the_bundle(made, tmp_path, how):
    tmp, scen, _, bundle = made
    with zipfile.ZipFile(bundle) as zf:
        text = zf.read("inputs/scenario.toml").decode()
    outside = scen.parent / "masts.csv"
    value = str(outside) if how == "absolute" else "../../../../../../../.." + str(outside)
    hostile = _rewrite_bundle(bundle, tmp_path / "hostile.zip",
                              text.replace('"masts.path/masts.csv"', json.dumps(value)))
    assert verify_bundle(hostile).ok  # self-consistent ...
    with pytest.raises(InvalidInputError, match="masts.path .* lies outside"):
        rerun_bundle(hostile, work_dir=tmp_path)  # ... but it may not read outside itself
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.zip", "staged"]


def test_rerun_refuses_a_bundled_profile_name_that_is_a_path(made, tmp_path):
    tmp, scen, _, bundle = made
    with zipfile.ZipFile(bundle) as zf:
        text = zf.read("inputs/scenario.toml").decode()
    hostile = _rewrite_bundle(bundle, tmp_path / "hostile.zip", text.replace(
        "[profiles.handheld_outdoor]", '[profiles."x/../../../ESCAPED"]'))
    with pytest.raises(InvalidInputError, match="cannot be used in file names"):
        rerun_bundle(hostile, work_dir=tmp_path)
    assert not list(tmp.parent.rglob("*ESCAPED*"))
