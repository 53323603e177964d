"""The kernels folder keeps its house rules: small modules by job, one Numba options
module, every constant defined once, no imports beyond numpy, numba and the standard
library (pysheds' rule for its ``_sgrid.py``)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

KERNELS = Path(__file__).parents[2] / "kernels"
MODULES = sorted(KERNELS.glob("*.py"))
MAX_LINES = 600
# third-party packages a kernel may import (GPU modules may also import numba.cuda)
ALLOWED_THIRD_PARTY = {"numpy", "numba"}


def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


def test_the_kernel_modules_are_found():
    names = {p.name for p in MODULES}
    assert {"jit.py", "constants.py", "tables.py", "hulls.py", "smooth.py", "ray.py", "area.py",
            "profile.py", "diffraction.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_kernel_module_over_600_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.name} has {n} lines, more than {MAX_LINES}"


def test_every_constant_is_defined_once_in_constants_py():
    """Module-level UPPER_CASE assignments live in constants.py only (jit.py holds the
    Numba options), so no constant can be defined twice with different values."""
    where = {}
    for path in MODULES:
        for node in _tree(path).body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            for t in targets:
                if isinstance(t, ast.Name) and t.id.isupper():
                    where.setdefault(t.id, []).append(path.name)
    misplaced = {k: v for k, v in where.items()
                 if v != ["constants.py"] and v != ["jit.py"]}
    assert not misplaced, misplaced


def test_only_jit_py_calls_njit():
    for path in MODULES:
        if path.name == "jit.py":
            continue
        assert "njit" not in path.read_text(), f"{path.name} uses njit directly; use kernels.jit"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_kernels_import_only_numpy_numba_and_the_standard_library(path):
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names, (
                f"{path.name} imports {name}")
