"""Project conventions: dependency lists agree, notebooks are clean."""

import ast
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
    # Node.js is no Python package: it fetches reveal.js and MathJax for the
    # decks, as npm does outside conda.
    assert listed.pop("nodejs", None) is not None, "environment.yml lacks nodejs"
    assert listed == declared
    assert "-e ." in pip, "the conda env must install advbook itself"


LOCK = ROOT / "requirements-lock.txt"


def locked_versions(text: str) -> dict[str, str]:
    """'numpy==2.4.6 ; marker' lines -> {'numpy': '2.4.6'}."""
    pins = {}
    for line in text.splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_the_lock_pins_every_declared_dependency_within_its_bounds():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked_versions(LOCK.read_text())
    stale = []
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-")
        if name not in pins or not req.specifier.contains(pins[name], prereleases=True):
            stale.append(f"{spec} (locked: {pins.get(name, 'nothing')})")
    assert not stale, f"requirements-lock.txt is out of step with " \
                      f"pyproject.toml for {stale}: run `make lock`"
    assert "make lock" in LOCK.read_text(), "the lock says how to refresh it"


def test_locked_versions_reads_pins_and_markers():
    text = "numpy==2.4.6\n    # via pandas\nappnope==1.0.0 ; sys_platform == 'darwin'\n"
    assert locked_versions(text) == {"numpy": "2.4.6", "appnope": "1.0.0"}


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


def _assigned_names(source: str) -> set[str]:
    """Names a cell defines or assigns at top level."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        for target in getattr(node, "targets", []):
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_solutions_follow_the_check_and_leave_the_answer_alone(path):
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if not cell.source.startswith("ab.exercises.check("):
            continue
        answer, solution = cells[i - 1], cells[i + 1]
        assert "solution" in solution.metadata.get("tags", []), \
            f"{path.name} cell {i}: the solution cell comes right after the check"
        assert solution.metadata.get("jupyter", {}).get("source_hidden"), \
            f"{path.name} cell {i + 1}: solutions are collapsed"
        shared = _assigned_names(answer.source) & _assigned_names(solution.source)
        assert not shared, f"{path.name} cell {i + 1} overwrites {shared}"
        exercise = re.match(r'ab\.exercises\.check\("([^"]+)"', cell.source)[1]
        assert f'ab.exercises.check("{exercise}",' in solution.source


# The chapters that run ImageNet classifiers, whose results depend on the model.
IMAGENET_NOTEBOOKS = [p for p in NOTEBOOKS if re.search(
    r"default_classifier|second_classifier", p.read_text())]
# Class names that Markdown may use: the book's own tables and the chosen
# attack target (facts, not results), and ordinary words that happen to be
# ImageNet classes.
ALLOWED_CLASSES = {"mountain_tent", "promontory", "valley", "volcano",
                   "suspension_bridge", "notebook", "scale", "cup", "laptop",
                   "file", "rule", "pick"}
# Numbers quoted from the book and the papers: sources, not results.
CITED_NUMBERS = {"0.6873", "0.0736", "0.0717", "0.5914", "0.1685", "0.0869",
                 "0.59", "0.25", "96.19%", "88.94%", "99.9%", "79.3%", "89.4%",
                 "97.6%", "17.9%", "0.94%", "0.84%", "0.782%"}


def _markdown_cells(path):
    return [(i, c.source) for i, c in enumerate(nbformat.read(path, 4).cells)
            if c.cell_type == "markdown"]


def result_like_numbers(text: str) -> list[str]:
    """Probabilities (0.xx) and percentages that are not cited sources."""
    found = re.findall(r"(?<![\w.])0\.\d{2,}%?|(?<![\w.])\d+(?:\.\d+)?%", text)
    return [n for n in found if n not in CITED_NUMBERS]


def class_names_in(text: str, names) -> list[str]:
    """ImageNet class names written in `text` (as words, _ or space)."""
    hits = []
    for name in names:
        forms = {name, name.replace("_", " ")}
        if any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text, re.I)
               for f in forms):
            hits.append(name)
    return [h for h in hits if h not in ALLOWED_CLASSES]


def test_the_markdown_checks_catch_what_they_should():
    assert result_like_numbers("confidence 0.94, 45% of values") == ["0.94", "45%"]
    assert result_like_numbers("threshold 0.9; Amazon 96.19%; ε = 0.25") == []
    assert class_names_in("it became a doormat or an espresso",
                          ["doormat", "espresso", "volcano"]) == ["doormat", "espresso"]
    assert class_names_in("make it a volcano", ["volcano"]) == []


@pytest.mark.parametrize("path", IMAGENET_NOTEBOOKS,
                         ids=[p.name for p in IMAGENET_NOTEBOOKS])
def test_markdown_quotes_no_model_dependent_result(path):
    from advbook import imagenet

    names = imagenet.class_names()
    problems = []
    for i, text in _markdown_cells(path):
        for found in result_like_numbers(text) + class_names_in(text, names):
            problems.append(f"cell {i}: {found!r}")
    assert not problems, (
        f"{path.name}: static Markdown quotes what the run decides; print it "
        f"from the computing cell instead: {problems}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_assert_cell_is_tagged_claim(path):
    for i, cell in enumerate(nbformat.read(path, 4).cells):
        if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
            continue
        asserts = re.search(r"^\s*(assert\b|np\.testing\.assert)", cell.source, re.M)
        tagged = "claim" in cell.metadata.get("tags", [])
        assert bool(asserts) == tagged, \
            f"{path.name} cell {i}: assert cells, and only they, carry the claim tag"


# Words with which a speaker note addresses the lecturer, not the reader.
TO_THE_LECTURER = re.compile(
    r"\b(point (out|at|students)|ask (the class|students)|"
    r"be explicit with students|tell (the class|students)|things to point)",
    re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notes_for_the_lecturer_are_tagged(path):
    for i, cell in enumerate(nbformat.read(path, 4).cells):
        tagged = "lecturer" in cell.metadata.get("tags", [])
        kind = cell.metadata.get("slideshow", {}).get("slide_type")
        if tagged:
            assert kind == "notes", f"{path.name} cell {i}: lecturer cells are notes"
        elif kind == "notes":
            assert not TO_THE_LECTURER.search(cell.source), \
                f"{path.name} cell {i} speaks to the lecturer: tag it lecturer"


def _cell_tree(source: str):
    """A code cell's syntax tree, its IPython magics turned into Python first."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(source))


# A function longer than this is taught in a cell of its own.
LONG_FUNCTION_LINES = 12


def _is_constant(node) -> bool:
    """Whether an expression is a literal (a number, string, tuple of them…)."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False
    return True


def long_function_and_work(source: str) -> list[str]:
    """Functions over LONG_FUNCTION_LINES lines in a cell that also does work.

    A cell that defines a long function may hold only definitions beside it:
    imports, def, class, a docstring and assignments of literal constants.
    Any other top-level statement (a call, a loop, a computed assignment, a
    bare expression to display) runs or plots in the same cell, and so
    belongs in the next one.
    """
    body = _cell_tree(source).body
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    long = [n.name for n in body if isinstance(n, functions)
            and n.end_lineno - n.lineno + 1 > LONG_FUNCTION_LINES]
    definitions = (ast.Import, ast.ImportFrom, ast.ClassDef) + functions

    def defines(node) -> bool:
        if isinstance(node, definitions):
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):
            return node.value is not None and _is_constant(node.value)
        return False

    return long if long and not all(defines(n) for n in body) else []


def test_the_long_function_rule_catches_a_cell_that_defines_and_runs():
    long_body = "".join(f"    step_{i} = {i}\n" for i in range(12))
    definition = f"def train(model):\n{long_body}    return model\n"
    assert long_function_and_work(definition + "\nmodel = train(1)\nmodel") == ["train"]
    assert long_function_and_work(definition + "\nfor k in range(2):\n    train(k)") == ["train"]
    assert long_function_and_work(definition + "\nEPOCHS = 3\n") == []
    assert long_function_and_work("def short(x):\n    return x\n\nshort(1)") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_a_long_function_is_defined_in_a_cell_of_its_own(path):
    problems = [f"cell {i}: {long_function_and_work(c.source)}"
                for i, c in enumerate(nbformat.read(path, 4).cells)
                if c.cell_type == "code" and long_function_and_work(c.source)]
    assert not problems, (
        f"{path.name}: these cells define a function of more than "
        f"{LONG_FUNCTION_LINES} lines and also run code; define it in one "
        f"cell and run or plot it in the next: {problems}")


def bound_and_read(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at top level, names it reads from outside).

    Bound: assignment and loop targets, imports, def and class names, at
    the cell's own level (not inside its functions or comprehensions). Read:
    names loaded anywhere in the cell, less those each function,
    lambda or comprehension binds for itself, less those the cell binds.
    """
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp,
              ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def visit(node, bound: set, loaded: set) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, scopes):
                inner_bound, inner_loaded = set(), set()
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    bound.add(child.name)
                args = getattr(child, "args", None)
                if args is not None:
                    inner_bound |= {a.arg for a in ast.walk(args)
                                    if isinstance(a, ast.arg)}
                visit(child, inner_bound, inner_loaded)
                loaded |= inner_loaded - inner_bound
            elif isinstance(child, ast.Name):
                (loaded if isinstance(child.ctx, ast.Load) else bound).add(child.id)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                bound |= {(a.asname or a.name).split(".")[0] for a in child.names}
            elif isinstance(child, ast.ClassDef):
                bound.add(child.name)
                visit(child, set(), loaded)
            else:
                visit(child, bound, loaded)

    bound, loaded = set(), set()
    visit(_cell_tree(source), bound, loaded)
    return bound, loaded - bound


def claim_state_leaks(cells: list[tuple[int, str, bool]]) -> list[str]:
    """'name: claim cell i -> cell j' for each name a claim cell leaves behind.

    `cells` are the code cells in order, as (index, source, is_claim). A
    name a claim cell binds leaks when a later cell reads it before any
    later cell binds it again: the claim cell then carries state, and the
    chapter would break if it were folded away, skipped or deleted.
    """
    names = [bound_and_read(source) for _, source, _ in cells]
    leaks = []
    for k, (i, _, claim) in enumerate(cells):
        alive = set(names[k][0]) if claim else set()
        for (j, _, _), (bound, read) in zip(cells[k + 1:], names[k + 1:]):
            leaks += [f"{name}: claim cell {i} -> cell {j}"
                      for name in sorted(alive & read)]
            alive -= bound
    return leaks


def test_the_claim_rule_catches_a_claim_that_defines_what_comes_after():
    cells = [(0, "x = 1", False), (1, "gap = x - 1\nassert gap == 0", True),
             (3, "print(gap)", False)]
    assert claim_state_leaks(cells) == ["gap: claim cell 1 -> cell 3"]
    rebound = [(0, "assert (gap := 0) == 0", True), (1, "gap = 2\ngap", False),
               (2, "def f(gap):\n    return [gap for gap in range(gap)]", False)]
    assert claim_state_leaks(rebound) == []
    imports = [(0, "import os\nassert os.sep", True), (1, "os.getcwd()", False)]
    assert claim_state_leaks(imports) == ["os: claim cell 0 -> cell 1"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_claim_cells_leave_nothing_behind(path):
    leaks = claim_state_leaks([
        (i, c.source, "claim" in c.metadata.get("tags", []))
        for i, c in enumerate(nbformat.read(path, 4).cells) if c.cell_type == "code"])
    assert not leaks, (
        f"{path.name}: a later cell uses a name a claim (assert) cell defines; "
        f"define it in the cell before the claim instead: {leaks}")
