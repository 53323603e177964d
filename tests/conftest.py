"""Shared fixtures: small synthetic scenarios built in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios import write_scenario


@pytest.fixture
def flat_scenario(tmp_path: Path) -> Path:
    """One omni mast in the middle of flat terrain, free space."""
    return write_scenario(tmp_path / "flat")
