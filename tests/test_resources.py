"""Package data paths and the kernel-source digest that keys the Numba and loss caches."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np

from c2000cov.pipeline.cache import loss_key
from c2000cov.radio import models
from c2000cov.resources import (
    ASSETS_DIR,
    P1812_DATA_DIR,
    TEMPLATES_DIR,
    kernel_source_digest,
    kernels_dir,
)
from c2000cov.scenario.schema import ModelConfig


def test_package_data_folders_exist():
    assert (TEMPLATES_DIR / "report.html.j2").is_file()
    assert (ASSETS_DIR / "PROVENANCE.md").is_file()
    assert (P1812_DATA_DIR / "validation_profiles").is_dir()
    assert (kernels_dir() / "area.py").is_file()


def test_the_loss_cache_key_follows_every_kernel_source(tmp_path):
    """Editing any kernel file (even one another kernel inlines) changes the cache key."""
    copy = tmp_path / "kernels"
    shutil.copytree(kernels_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = kernel_source_digest(copy)
    assert before == kernel_source_digest(kernels_dir()) == models.KERNEL_VERSION
    win = np.zeros((5, 5), dtype="float32")
    keys = []
    for name in sorted(p.name for p in copy.glob("*.py")):
        target = copy / name
        original = target.read_bytes()
        target.write_bytes(original + b"\n# edited\n")
        kernel_source_digest.cache_clear()
        digest = kernel_source_digest(copy)
        assert digest != before, name
        keys.append(loss_key(win, win, (1, 0, 0, 0, -1, 0), 2, 2, 30.0, ModelConfig(),
                             392.5, 1.5, digest))
        target.write_bytes(original)
    kernel_source_digest.cache_clear()
    assert kernel_source_digest(copy) == before
    base = loss_key(win, win, (1, 0, 0, 0, -1, 0), 2, 2, 30.0, ModelConfig(), 392.5, 1.5,
                    before)
    assert base not in keys and len(set(keys)) == len(keys)


def test_importing_the_package_has_no_side_effects():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", "import os, sys, c2000cov; "
         "print('NUMBA_CACHE_DIR' in os.environ, 'numba' in sys.modules, "
         "'geopandas' in sys.modules)"],
        capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["False", "False", "False"]
