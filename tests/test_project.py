"""Project conventions: dependency lists agree, notebooks are clean."""

import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}


def _name_and_bound(requirement: str) -> tuple[str, str]:
    """'scikit-image>=0.22' -> ('scikit-image', '>=0.22'); extras dropped."""
    match = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)", requirement.strip())
    return match.group(1).lower().replace("_", "-"), match.group(3).replace(" ", "")


def test_environment_yml_installs_what_pyproject_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = dict(_name_and_bound(r) for r in project["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = [], []
    for entry in env["dependencies"]:
        (pip.extend(entry["pip"]) if isinstance(entry, dict) else conda.append(entry))
    listed = dict(_name_and_bound(r) for r in conda + pip
                  if not r.startswith(("-e", "python=", "pip")) or r.startswith("pillow"))
    listed.pop("python", None)
    assert listed == declared
    assert "-e ." in pip, "the conda env must install advbook itself"


def test_readme_opens_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash)?\n(.*?)```", readme, re.S).group(1)
    commands = [ln for ln in first_block.splitlines() if ln and not ln.startswith("#")]
    assert commands == ["make book", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_there_are_chapters():
    assert NOTEBOOKS, "chapters/ holds no NN_*.ipynb notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_follows_the_book_conventions(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert cells[0].metadata["slideshow"]["slide_type"] == "slide"
    for i, cell in enumerate(cells):
        kind = cell.metadata.get("slideshow", {}).get("slide_type")
        assert kind in SLIDE_TYPES, f"{path.name} cell {i}: slide_type {kind!r}"
    code = [c for c in cells if c.cell_type == "code"]
    assert "import advbook as ab" in code[0].source, "first code cell imports"
    imports = [c for c in code if re.search(r"^(import|from) ", c.source, re.M)]
    assert imports == [code[0]], "all imports live in the one imports cell"
    assert "parameters" in code[1].metadata.get("tags", [])
    smoke = code[2]
    assert "smoke" in smoke.metadata.get("tags", []) and "ab.smoke()" in smoke.source
    assert smoke.metadata["slideshow"]["slide_type"] == "skip"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_exercise_check_has_a_solution_before_it(path):
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if "ab.exercises.check(" in cell.source:
            earlier = cells[max(0, i - 3):i]
            assert any("solution" in c.metadata.get("tags", []) for c in earlier), \
                f"{path.name} cell {i}: exercise check without a solution cell"
