"""Where the package's own data lives: assets, templates and reference data.

One owner for these folders so that moving a module never breaks a path.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
DATA_DIR = PACKAGE_DIR / "data"
P1812_DATA_DIR = DATA_DIR / "itu" / "p1812"
