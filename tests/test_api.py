"""The public API: what `import c2000cov` offers, and the README notebook example, run."""

from __future__ import annotations

import re
from pathlib import Path

import c2000cov
from tests.scenarios import write_scenario

README = Path(__file__).resolve().parents[1] / "README.md"


def test_public_api_names_resolve_to_their_layers():
    for name in c2000cov.__all__:
        obj = getattr(c2000cov, name)
        if name != "__version__":
            assert obj.__module__.startswith("c2000cov."), name
    assert c2000cov.run_scenario.__module__ == "c2000cov.pipeline.run"
    assert c2000cov.verify_bundle.__module__ == "c2000cov.products.verify"


def notebook_example() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- notebook-example -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md lacks the notebook example block"
    return m.group(1)


def test_readme_notebook_example_runs(tmp_path, monkeypatch):
    """The README example, on a small scenario instead of the demo, with its outputs checked."""
    scen = write_scenario(tmp_path / "scen")
    monkeypatch.chdir(tmp_path)
    code = notebook_example().replace("data/demo.toml", str(scen))
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert (tmp_path / "out/notebook/run.json").is_file()
    assert (tmp_path / "maps/notebook.html").is_file()
    assert namespace["report"].ok
    table = result.area_table
    assert set(table["profile"]) == set(result.coverage)
    pct = namespace["covered"]
    for name, cov in result.coverage.items():
        assert pct[name] == c2000cov.covered_pct(cov)
        assert 0.0 < pct[name] <= 100.0
