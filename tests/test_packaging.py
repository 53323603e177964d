"""The wheel carries the kernels (as c2000cov.kernels), the map assets and the templates."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]


def test_editable_install_maps_kernels_into_the_package():
    import c2000cov.kernels.area as area

    assert Path(area.__file__).resolve() == REPO / "kernels" / "area.py"


@pytest.mark.slow
def test_wheel_contains_and_imports_the_kernels(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True)
    wheel = next(tmp_path.glob("c2000cov-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("c2000cov/kernels/__init__.py", "c2000cov/kernels/area.py",
                     "c2000cov/kernels/diffraction.py", "c2000cov/kernels/profile.py",
                     "c2000cov/templates/report.html.j2", "c2000cov/assets/PROVENANCE.md",
                     "c2000cov/data/DOMAIN.md",
                     "c2000cov/radio/itu/p1812.py"):
        assert required in names, required
    assert not any(n.startswith("kernels/") or n.startswith("tests/") for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True)
    out = subprocess.run([sys.executable, "-c", "import c2000cov.kernels.area as a; "
                          "print(a.__file__)"], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(target)))
    assert Path(out.stdout.strip()).resolve().is_relative_to(target.resolve())
