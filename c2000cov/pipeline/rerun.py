"""Rerun an evidence bundle from its own inputs and compare the outputs bit for bit."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from c2000cov.pipeline.run import run_scenario
from c2000cov.products.bundle import INPUTS_DIR, SCENARIO_NAME
from c2000cov.products.bundle_format import MANIFEST_NAME, BundleError
from c2000cov.products.runfolder import MANIFEST, REPORT
from c2000cov.products.verify import verify_bundle
from c2000cov.scenario.config import load_scenario

#: Outputs a rerun does not compare: they embed paths, times or the host.
NOT_COMPARED = (MANIFEST, REPORT)


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
        with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
            root = Path(tmp)
            for name in names:  # names were checked safe by verify_bundle
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
            scen = load_scenario(root / SCENARIO_NAME)
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
