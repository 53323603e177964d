"""Checks of what a command is about to write: names that would collide in a run folder,
and map or export paths that would overwrite a run-folder file or pose as another file.

The names themselves come from :mod:`c2000cov.products.runfolder`.
"""

from __future__ import annotations

from pathlib import Path

from c2000cov.errors import InvalidInputError
from c2000cov.products.runfolder import MANIFEST, NIGHT_SUFFIX, REPORT, read_run_manifest


def check_profile_names(profiles, source: str) -> None:
    """Refuse profile names whose files would collide (``x`` at night is ``x_night``)."""
    names = set(profiles)
    for name in sorted(names):
        if name.endswith(NIGHT_SUFFIX):
            raise InvalidInputError(
                f"{source}: profile name {name!r} ends in {NIGHT_SUFFIX!r}, which names the "
                f"night raster of profile {name[:-len(NIGHT_SUFFIX)]!r}; rename the profile")


def check_map_target(target: Path, run_dir: Path | None = None, suffix: str = ".html") -> Path:
    """Refuse a map or export path that would overwrite a run-folder file or a non-``suffix``
    file (``--out run.json``, ``--map dtm.tif``)."""
    target = Path(target)
    if target.suffix.lower() != suffix:
        raise InvalidInputError(f"output {target} must end in {suffix}; it would overwrite or "
                                "pose as another kind of file")
    if run_dir is not None and Path(run_dir).is_dir() and target.resolve().parent == \
            Path(run_dir).resolve():
        listed = set(read_run_manifest(run_dir).get("files", [])) | {MANIFEST, REPORT}
        if target.name in listed:
            raise InvalidInputError(f"output {target} is a file of the run folder ({target.name}); "
                                    "choose another name")
    return target
