"""Property-style: random bytes and random TOML values fed to the readers give a valid
result or a clean refusal (a C2000CovError), never another exception (issue #16).

Examples come from seeded generators (bounded: the whole file runs in seconds), so a
failure is reproducible from its seed.
"""

from __future__ import annotations

import random
import zipfile

import pytest
from rasterio.crs import CRS

from c2000cov.errors import C2000CovError
from c2000cov.files.masts import read_masts
from c2000cov.files.rasters import raster_bounds_in
from c2000cov.products.verify import verify_bundle
from c2000cov.scenario.changes import load_changes
from c2000cov.scenario.config import load_scenario, read_toml, scenario_from_dict
from c2000cov.scenario.schema import SECTIONS, Scenario
from tests.scenarios import MAST_HEADER, write_scenario

N_EXAMPLES = 60
RD = CRS.from_epsg(28992)


def _random_bytes(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    n = rng.randrange(0, 400)
    if kind == 0:
        return rng.randbytes(n)
    if kind == 1:  # text-like with odd characters
        return "".join(rng.choice('ab=[]."\'\\\n\t,0123456789-+éinfnan#{}') for _ in range(n)
                       ).encode("utf-8", "surrogatepass")
    if kind == 2:  # a valid start, then garbage
        return b"[scenario]\nname = \"x\"\n" + rng.randbytes(n)
    return (MAST_HEADER + "\n").encode() + rng.randbytes(n)


def _clean(fn, *args):
    """Call fn; a C2000CovError is a clean refusal, anything else fails the test."""
    try:
        return fn(*args)
    except C2000CovError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), repr(exc)
        return None


@pytest.mark.parametrize("seed", range(N_EXAMPLES))
def test_random_bytes_to_the_file_readers(tmp_path, seed):
    rng = random.Random(seed)
    data = _random_bytes(rng)
    for name, reader in (("s.toml", lambda p: load_scenario(p)),
                         ("c.toml", lambda p: load_changes(p)),
                         ("t.toml", lambda p: read_toml(p, "test")),
                         ("masts.csv", lambda p: read_masts(p, RD)),
                         ("dtm.tif", lambda p: raster_bounds_in(p, RD, "terrain DTM"))):
        path = tmp_path / name
        path.write_bytes(data)
        _clean(reader, path)


def _random_value(rng: random.Random, depth: int = 0):
    choices = [lambda: rng.choice([0, 1, -1, 2**63 - 1, -(2**63)]),
               lambda: rng.choice([0.0, -0.0, 1e308, -1e308, float("inf"), float("-inf"),
                                   float("nan"), 1e-320, 0.5, 95.0, 100.0]),
               lambda: rng.choice(["", "x", "../x", "/etc/passwd", "=1+1", "p1812", "fspl",
                                   "EPSG:4326", "EPSG:28992", "nope", "\x00"]),
               lambda: rng.choice([True, False])]
    if depth < 2:
        choices += [lambda: [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))],
                    lambda: {rng.choice(["a", "x_night", "../p", "name"]):
                             _random_value(rng, depth + 1) for _ in range(rng.randrange(3))}]
    return rng.choice(choices)()


def _base(tmp_path) -> dict:
    scen = write_scenario(tmp_path, with_areas=True)
    return read_toml(scen, "scenario"), scen


@pytest.mark.parametrize("seed", range(N_EXAMPLES))
def test_random_toml_values_to_the_scenario(tmp_path, seed):
    rng = random.Random(1000 + seed)
    data, source = _base(tmp_path)
    for _ in range(rng.randrange(1, 4)):
        section = rng.choice([*SECTIONS, "profiles", "bogus"])
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            continue
        if section == "profiles":
            table = table.setdefault(rng.choice(["handheld_outdoor", "x/../y", "b"]), {})
            key = rng.choice(["h_rx_m", "sigma_db", "target_pct", "indoor", "building_class",
                              "year_threshold", "extra_loss_db", "bogus"])
        else:
            key = rng.choice(["name", "resolution_m", "crs", "bounds_m", "k_factor", "radius_m",
                              "time_pct", "dl_freq_mhz", "reduced_pct", "poor_pct",
                              "sun_factor", "dir", "path", "required_covered_pct",
                              "min_area_m2", "bogus"])
        if isinstance(table, dict):
            table[key] = _random_value(rng)
    scen = _clean(scenario_from_dict, data, source)
    assert scen is None or isinstance(scen, Scenario)


def test_random_damage_to_a_bundle_is_reported_never_raised(tmp_path):
    """Flip, cut or overwrite bytes of a small canonical zip: verify reports, never raises."""
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("MANIFEST.json", '{"format": "c2000cov-evidence-bundle/1", "files": []}')
        zf.writestr("run.json", "{}")
    raw = good.read_bytes()
    for seed in range(200):
        rng = random.Random(seed)
        data = bytearray(raw)
        how = rng.randrange(3)
        if how == 0:
            for _ in range(rng.randrange(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 1:
            data = data[:rng.randrange(len(data))]
        else:
            at = rng.randrange(len(data))
            data[at:at + 8] = rng.randbytes(8)
        bad = tmp_path / f"bad{seed}.zip"
        bad.write_bytes(bytes(data))
        report = verify_bundle(bad)
        assert report.ok or report.problems
