"""Evidence bundles: deterministic zips of a real run folder, and every tamper case caught."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import warnings
import zipfile

import pytest

from c2000cov.errors import C2000CovError, InputNotFoundError
from c2000cov.pipeline.rerun import rerun_bundle
from c2000cov.products.bundle import make_bundle
from c2000cov.products.bundle_format import MANIFEST_NAME, BundleError, entry_name_problem
from c2000cov.products.verify import verify_bundle
from tests.scenarios import run_cli as cli
from tests.scenarios import write_scenario


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bundle")
    scen = write_scenario(tmp, with_areas=True)
    mp = pytest.MonkeyPatch()
    try:
        assert cli(mp, "run", scen, "--out", tmp / "out", "--quiet", "--no-map") == 0
    finally:
        mp.undo()
    out = tmp / "out"
    (out / ".partial-leftover.tif").write_bytes(b"half")  # hidden: never bundled
    return out


@pytest.fixture(scope="module", autouse=True)
def reproducible_time():
    """Bundles record their creation time; SOURCE_DATE_EPOCH fixes it, as for builds."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
    yield
    mp.undo()


@pytest.fixture(scope="module")
def bundle(run_dir, tmp_path_factory):
    return make_bundle(run_dir, tmp_path_factory.mktemp("zips") / "evidence.zip",
                       command=["c2000cov", "bundle", "RUN_DIR"])


def entries(path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def write_zip(path, items, compression=zipfile.ZIP_STORED) -> None:
    """A zip with exactly these (name, bytes) entries, names written as given, in the
    bundle's header style (so only the intended change differs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names on purpose
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in items:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o100644 << 16
                info.create_system = 3
                info.compress_type = compression
                zf.writestr(info, data)


def manifest_sha(path) -> str:
    with zipfile.ZipFile(path) as zf:
        return hashlib.sha256(zf.read(MANIFEST_NAME)).hexdigest()


# --------------------------------------------------------------------------- making
def test_bundle_holds_every_run_file_and_a_manifest(bundle, run_dir):
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    with zipfile.ZipFile(bundle) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        manifest = json.loads(zf.read(MANIFEST_NAME))
    outputs = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    assert "report.html" in outputs  # written by make_bundle when missing
    inputs = ["inputs/areas.path/areas.gpkg", "inputs/masts.path/masts.csv",
              "inputs/scenario.toml", "inputs/terrain.dtm/dtm.tif"]
    expected = sorted(outputs + inputs)
    assert names == sorted(expected + [MANIFEST_NAME])
    assert manifest["created_utc"] == "2023-11-14T22:13:20Z"
    assert manifest["command"] == ["c2000cov", "bundle", "RUN_DIR"]
    assert manifest["dependencies"]["numba"] and manifest["host"]
    assert "[scenario]" in manifest["scenario_toml"]
    assert manifest["inputs"]["inputs/terrain.dtm/dtm.tif"].endswith("dtm.tif")
    assert ".cache" not in "".join(names) and ".partial-leftover.tif" not in names
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644 and info.extra == b"" and info.comment == b""
    run = json.loads((run_dir / "run.json").read_text())
    assert manifest["software"] == run["software"]
    assert manifest["software"]["git_commit"]
    listed = {f["path"]: f for f in manifest["files"]}
    assert sorted(listed) == expected
    data = (run_dir / "p_cover_handheld_outdoor.tif").read_bytes()
    assert listed["p_cover_handheld_outdoor.tif"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert listed["p_cover_handheld_outdoor.tif"]["size_bytes"] == len(data)
    assert report.manifest_sha256 == manifest_sha(bundle) and report.n_files == len(expected)


def test_rerun_is_bit_identical(bundle, run_dir, tmp_path):
    command = ["c2000cov", "bundle", "RUN_DIR"]
    again = make_bundle(run_dir, tmp_path / "again.zip", command=command)
    assert again.read_bytes() == bundle.read_bytes()
    inside = make_bundle(run_dir, run_dir / "inside.zip", command=command)  # not packed in
    try:
        assert inside.read_bytes() == bundle.read_bytes()
    finally:
        inside.unlink()


def test_make_bundle_refuses_incomplete_or_odd_folders(run_dir, tmp_path):
    with pytest.raises(InputNotFoundError, match="no run.json"):
        make_bundle(tmp_path, tmp_path / "x.zip")
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    (broken / "masts_used.csv").unlink()
    with pytest.raises(BundleError, match="masts_used.csv"):
        make_bundle(broken, tmp_path / "b.zip")
    linked = tmp_path / "linked"
    shutil.copytree(run_dir, linked)
    (linked / "link.csv").symlink_to(linked / "masts_used.csv")
    with pytest.raises(BundleError, match="symbolic link"):
        make_bundle(linked, tmp_path / "l.zip")


# --------------------------------------------------------------------------- tampering
def _problems(path, expected_sha=None) -> list[str]:
    report = verify_bundle(path, expected_sha)
    assert not report.ok
    with pytest.raises(BundleError):
        report.raise_for_problems()
    return list(report.problems)


def test_flipped_byte_in_stored_data(bundle, tmp_path):
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo("run.json")
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:
                                                   info.header_offset + 30])
    data_start = info.header_offset + 30 + name_len + extra_len
    raw[data_start + info.compress_size // 2] ^= 0x01
    bad = tmp_path / "flipped.zip"
    bad.write_bytes(bytes(raw))
    problems = _problems(bad)
    assert len(problems) == 1 and "'run.json'" in problems[0]


def test_flipped_header_bytes(bundle, tmp_path):
    raw = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo("run.json")
        start_dir = zf.start_dir
    bad = tmp_path / "header.zip"
    for offset, where in ((info.header_offset + 10, "in entry 'run.json'"),  # local mod time
                          (start_dir + 40, "central directory")):  # external attributes
        flipped = bytearray(raw)
        flipped[offset] ^= 0x01
        bad.write_bytes(bytes(flipped))
        problems = _problems(bad)
        assert len(problems) == 1 and where in problems[0] and "canonical" in problems[0]


def test_repacked_bundle_is_not_canonical(bundle, tmp_path):
    bad = tmp_path / "deflated.zip"
    write_zip(bad, entries(bundle), compression=zipfile.ZIP_DEFLATED)
    problems = _problems(bad)
    assert len(problems) == 1 and "canonical bundle layout" in problems[0]
    same = tmp_path / "same.zip"
    write_zip(same, entries(bundle))
    assert same.read_bytes() == bundle.read_bytes()


def test_changed_content_with_valid_crc(bundle, tmp_path):
    items = [(n, d.replace(b"handheld_outdoor", b"handheld_0utdoor") if n == "areas_coverage.csv"
              else d) for n, d in entries(bundle)]
    bad = tmp_path / "changed.zip"
    write_zip(bad, items)
    problems = _problems(bad)
    assert problems == [f"entry 'areas_coverage.csv' sha256 differs from {MANIFEST_NAME} "
                        "(content changed)"]
    items = [(n, d + b"x" if n == "masts_used.csv" else d) for n, d in entries(bundle)]
    write_zip(bad, items)
    assert "'masts_used.csv' has" in _problems(bad)[0]


def test_deleted_file(bundle, tmp_path):
    bad = tmp_path / "deleted.zip"
    write_zip(bad, [(n, d) for n, d in entries(bundle) if n != "masts_used.csv"])
    assert _problems(bad) == [f"entry 'masts_used.csv' listed in {MANIFEST_NAME} is missing "
                              "from the bundle"]


def test_extra_file(bundle, tmp_path):
    bad = tmp_path / "extra.zip"
    write_zip(bad, entries(bundle) + [("notes.txt", b"added later")])
    assert _problems(bad) == [f"entry 'notes.txt' is not listed in {MANIFEST_NAME} "
                              "(extra file)"]


@pytest.mark.parametrize("name, why", [
    ("../evil.txt", "path traversal"),
    ("sub/../../evil.txt", "path traversal"),
    ("/etc/evil.txt", "absolute path"),
    ("C:/evil.txt", "absolute path"),
    ("sub\\evil.txt", "backslash"),
    ("..\\evil.txt", "backslash"),
    ("./evil.txt", "not a normalised"),
])
def test_unsafe_entry_names(bundle, tmp_path, name, why):
    bad = tmp_path / "unsafe.zip"
    write_zip(bad, entries(bundle) + [(name, b"x")])
    problems = _problems(bad)
    assert any(why in p and repr(name) in p for p in problems), problems
    assert entry_name_problem(name) is not None


def test_duplicate_entries(bundle, tmp_path):
    items = entries(bundle)
    run_json = dict(items)["run.json"]
    bad = tmp_path / "dup.zip"
    write_zip(bad, items + [("run.json", run_json)])  # same content: hashes still match
    assert _problems(bad) == ["entry 'run.json' appears 2 times (duplicate entries)"]


def test_replaced_manifest_needs_the_recorded_hash(bundle, tmp_path):
    recorded = manifest_sha(bundle)
    items = dict(entries(bundle))
    items["areas_coverage.csv"] += b"West,forged,1,1,1,100,1,0,0\n"
    manifest = json.loads(items[MANIFEST_NAME])
    for rec in manifest["files"]:
        if rec["path"] == "areas_coverage.csv":
            rec["sha256"] = hashlib.sha256(items["areas_coverage.csv"]).hexdigest()
            rec["size_bytes"] = len(items["areas_coverage.csv"])
    items[MANIFEST_NAME] = json.dumps(manifest).encode()
    forged = tmp_path / "forged.zip"
    write_zip(forged, sorted(items.items()))
    assert verify_bundle(forged).ok  # consistent on its own ...
    problems = _problems(forged, recorded)  # ... but not the bundle the inspector recorded
    assert problems == [f"{MANIFEST_NAME} sha256 is {manifest_sha(forged)}, expected {recorded}"]


def test_not_a_zip_and_no_manifest(bundle, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really")
    assert "not a readable zip" in _problems(junk)[0]
    bare = tmp_path / "bare.zip"
    write_zip(bare, [(n, d) for n, d in entries(bundle) if n != MANIFEST_NAME])
    assert _problems(bare) == [f"no {MANIFEST_NAME} in the bundle"]
    with pytest.raises(InputNotFoundError):
        verify_bundle(tmp_path / "absent.zip")
    assert issubclass(BundleError, C2000CovError)


# --------------------------------------------------------------------------- CLI
def test_cli_bundle_and_verify(run_dir, bundle, tmp_path, monkeypatch, capsys):
    out = tmp_path / "cli.zip"
    assert cli(monkeypatch, "bundle", run_dir, "--out", out) == 0
    printed = capsys.readouterr().out
    assert f"MANIFEST.json sha256 {manifest_sha(out)}" in printed
    # the same files; only the recorded command line differs
    assert [e for e in entries(out) if e[0] != MANIFEST_NAME] == [
        e for e in entries(bundle) if e[0] != MANIFEST_NAME]
    assert json.loads(dict(entries(out))[MANIFEST_NAME])["command"][:2] == ["c2000cov",
                                                                          "bundle"]
    assert cli(monkeypatch, "verify", out) == 0
    assert capsys.readouterr().out.strip() == f"OK {manifest_sha(out)}"
    assert cli(monkeypatch, "verify", out, "--manifest-sha256", manifest_sha(out)) == 0
    capsys.readouterr()
    bad = tmp_path / "bad.zip"
    write_zip(bad, entries(bundle) + [("../evil.txt", b"x")])
    assert cli(monkeypatch, "verify", bad) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bad.zip failed verification" in err and "evil.txt" in err


def test_verify_names_every_problem(bundle, tmp_path):
    items = entries(bundle)
    names = [n for n, _ in items]
    victim, dropped = names[1], names[2]
    changed = [(n, (d[:-1] + bytes([d[-1] ^ 1]) if n == victim else d)) for n, d in items
               if n != dropped] + [("extra.txt", b"x")]
    bad = tmp_path / "bad.zip"
    write_zip(bad, changed)
    with pytest.raises(C2000CovError) as exc:
        verify_bundle(bad).raise_for_problems()
    message = str(exc.value)
    assert victim in message and dropped in message and "extra.txt" in message


@pytest.mark.slow
def test_rerun_reproduces_the_outputs(bundle, tmp_path, monkeypatch, capsys):
    assert rerun_bundle(bundle) == []
    assert cli(monkeypatch, "verify", bundle, "--rerun") == 0
    assert "bit for bit" in capsys.readouterr().out
    # a bundle whose output was replaced, consistently with its manifest, fails the rerun
    items = dict(entries(bundle))
    manifest = json.loads(items[MANIFEST_NAME])
    name = "areas_coverage.csv"
    items[name] = items[name].replace(b"West", b"Wast")
    for rec in manifest["files"]:
        if rec["path"] == name:
            rec["sha256"] = hashlib.sha256(items[name]).hexdigest()
            rec["size_bytes"] = len(items[name])
    items[MANIFEST_NAME] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    forged = tmp_path / "forged.zip"
    write_zip(forged, sorted(items.items()))
    assert verify_bundle(forged).ok  # the hashes alone cannot tell
    assert rerun_bundle(forged) == [f"{name}: differs from the bundled output"]
