"""c2000cov: coverage, interference and dead-zone analysis for the C2000 TETRA network.

The public API follows the data flow of a run (scenario → grid and surface →
per-mast loss → link budget → best server → dead zones and areas → files)::

    import c2000cov

    scen = c2000cov.load_scenario("data/demo.toml")         # validated scenario
    result = c2000cov.run_scenario(scen, "out/notebook")     # computes and writes
    result.area_table                                        # per-area statistics
    c2000cov.covered_pct(result.coverage["handheld_outdoor"])
    c2000cov.build_map(result, "maps/notebook.html")         # offline meldkamer map
    zip_path = c2000cov.make_bundle("out/notebook")          # evidence bundle
    c2000cov.verify_bundle(zip_path).ok

Functions
---------
load_scenario(path, overrides=None)
    Read and validate a scenario TOML file.
run_scenario(scen, out_dir=None, progress=None, executor=None, cache_dir=None)
    Run a scenario and write its run folder; returns a :class:`RunResult`.
run_whatif(scen, changes_path, out_dir, ...)
    Run a what-if (a CHANGES file applied to the scenario) and write its deltas.
build_map(result, out_path) / build_map_from_run(run_dir, out_path, ...)
    Write the offline HTML map of a run.
build_report(run_dir, out_path=None, ...)
    Write the HTML compliance report of a run folder.
make_bundle(run_dir, out_zip=None) / verify_bundle(zip_path)
    Pack a run folder into a verifiable evidence zip, and check one.
covered_pct(coverage)
    Share of the evaluated area reaching a profile's target (%).

Importing the package has no side effects and loads nothing heavy: each name
is imported from its layer on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> module that owns it.
_API = {
    "load_scenario": "c2000cov.scenario.config",
    "Scenario": "c2000cov.scenario.schema",
    "run_scenario": "c2000cov.pipeline.run",
    "run_whatif": "c2000cov.pipeline.whatif",
    "RunResult": "c2000cov.analysis.result",
    "covered_pct": "c2000cov.analysis.coverage",
    "build_map": "c2000cov.products.maps",
    "build_map_from_run": "c2000cov.products.maps",
    "build_report": "c2000cov.products.report",
    "make_bundle": "c2000cov.products.bundle",
    "verify_bundle": "c2000cov.products.verify",
    "C2000CovError": "c2000cov.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'c2000cov' has no attribute {name!r}")
    if not name[0].isupper():  # a function that may compile kernels
        from c2000cov.resources import use_numba_cache_dir

        use_numba_cache_dir()
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
