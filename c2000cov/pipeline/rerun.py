"""Rerun an evidence bundle from its own inputs and compare the outputs bit for bit."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from rasterio.crs import CRS

from c2000cov.files.atomic import require_inside
from c2000cov.files.masts import read_masts
from c2000cov.pipeline.run import run_scenario
from c2000cov.products.bundle import ADDED_LATER, INPUTS_DIR, SCENARIO_NAME
from c2000cov.products.bundle_format import MANIFEST_NAME, BundleError
from c2000cov.products.runfolder import MANIFEST, REPORT
from c2000cov.products.verify import verify_bundle
from c2000cov.scenario.config import load_scenario, scenario_input_paths

#: Outputs a rerun does not compare: they embed paths, times or the host, or a later
#: step made them from files that are not inputs of the run (validate's field reports).
NOT_COMPARED = (MANIFEST, REPORT, *ADDED_LATER)


def rerun_bundle(zip_path: str | Path, work_dir: str | Path | None = None) -> list[str]:
    """Recompute a bundle's run from its own inputs and compare the outputs bit for bit.

    The bundle is verified first. Every output in the manifest (except
    :data:`NOT_COMPARED` and HTML maps, which embed paths or times) must come
    out byte-identical. Returns the list of differences (empty: reproduced).
    """
    checked = verify_bundle(zip_path)
    checked.raise_for_problems()
    with zipfile.ZipFile(zip_path) as zf:
        names = [i.orig_filename for i in zf.infolist()]
        if SCENARIO_NAME not in names:
            raise BundleError(f"{Path(zip_path).name}: no {SCENARIO_NAME}; the bundle was made "
                              "without its inputs and cannot be rerun")
        with tempfile.TemporaryDirectory(dir=work_dir, prefix="c2000cov-rerun-") as tmp:
            root = Path(tmp).resolve()  # private: mode 0700, removed afterwards
            inputs = root / INPUTS_DIR
            for name in names:  # names were checked safe by verify_bundle
                target = require_inside(root / name, root, "bundle entry")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
            scen = load_scenario(root / SCENARIO_NAME)
            check_inputs_inside(scen, inputs, Path(zip_path).name)
            out = root / "rerun"
            run_scenario(scen, out, cache_dir=False)
            differences = []
            for name in sorted(names):
                if (name.startswith(f"{INPUTS_DIR}/") or name == MANIFEST_NAME
                        or name in NOT_COMPARED or name.endswith(".html")):
                    continue
                fresh = out / name
                if not fresh.is_file():
                    differences.append(f"{name}: not produced by the rerun")
                elif fresh.read_bytes() != zf.read(name):
                    differences.append(f"{name}: differs from the bundled output")
            return differences


def check_inputs_inside(scen, inputs_dir: Path, label: str) -> None:
    """Refuse a bundled scenario that names a file outside the bundle's own inputs
    (an absolute path, ``../``, a link or an antenna pattern elsewhere)."""
    for key, path in scenario_input_paths(scen).items():
        require_inside(path, inputs_dir, f"{label}: {SCENARIO_NAME} {key}")
    masts = read_masts(scen.masts.path, CRS.from_user_input(scen.scenario.crs),
                       scen.masts.layer)
    for pattern in sorted(set(p for p in masts["pattern"] if isinstance(p, str))):
        require_inside(Path(pattern), inputs_dir, f"{label}: antenna pattern")
