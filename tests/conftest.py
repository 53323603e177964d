"""Shared fixtures: small synthetic scenarios built in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from c2000cov.resources import use_numba_cache_dir
from tests.scenarios import write_scenario

# the suite compiles the kernels into the same digest-keyed cache as the CLI
use_numba_cache_dir()


@pytest.fixture
def flat_scenario(tmp_path: Path) -> Path:
    """One omni mast in the middle of flat terrain, free space."""
    return write_scenario(tmp_path / "flat")
