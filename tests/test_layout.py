"""The two rules the package layout relies on, and the attack maths written once."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from advbook import checks, norms
from advbook.errors import InvalidArgument

PACKAGE = Path(__file__).resolve().parent.parent / "advbook"
# `python -m advbook` is the command line, so __main__ belongs to the build side.
TEACHING = sorted(p for p in PACKAGE.rglob("*.py")
                  if "build" not in p.parts and p.name != "__main__.py")
# Modules that must run with TensorFlow alone: no foolbox, no eagerpy.
TENSORFLOW_ONLY = ("tf_attacks", "adversarial_regularization", "norms", "checks")


def imported_modules(source: str, module: str) -> set[str]:
    """Absolute names of everything `source` (the module `module`) imports."""
    package = module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            found.add(stem)
            found |= {f"{stem}.{alias.name}" for alias in node.names}
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _doctor_imports(path: Path) -> set[str]:
    """What advbook/__init__.py's doctor() imports: its one allowed doorway."""
    tree = ast.parse(path.read_text())
    doctor = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
                  and n.name == "doctor")
    return imported_modules(ast.unparse(doctor), "advbook.__init__")


def test_import_scanner_sees_relative_imports_of_build():
    # The rule below is only as good as this scanner: show it can fail.
    names = imported_modules("from .build import slides\nimport foolbox as fb\n",
                             "advbook.plots")
    assert "advbook.build" in names and "foolbox" in names
    names = imported_modules("from ..build.book import x\n", "advbook.exercises.ch01")
    assert "advbook.build.book" in names


def test_teaching_modules_never_import_the_build_machinery():
    offenders = {}
    for path in TEACHING:
        names = imported_modules(path.read_text(), _module_name(path) + (
            ".__init__" if path.name == "__init__.py" else ""))
        if path == PACKAGE / "__init__.py":
            names -= _doctor_imports(path)
        bad = sorted(n for n in names if n == "advbook.build"
                     or n.startswith("advbook.build."))
        if bad:
            offenders[str(path.relative_to(PACKAGE.parent))] = bad
    assert not offenders, f"teaching modules import advbook.build: {offenders}"


def test_the_reader_namespace_leaves_out_the_build_machinery():
    import advbook as ab

    assert "build" not in ab._LAZY_MODULES
    assert not any(name in ab._LAZY_MODULES
                   for name in ("book", "slides", "site", "cli", "machine"))


def _internal_closure(module: str) -> set[str]:
    """Every name imported by `module` and the advbook modules it imports."""
    seen, todo, names = set(), [module], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        path = PACKAGE.parent / (current.replace(".", "/") + ".py")
        if not path.is_file():
            path = path.with_suffix("") / "__init__.py"
            if not path.is_file():
                continue
        found = imported_modules(path.read_text(), current)
        names |= found
        todo += [n for n in found if n.startswith("advbook.")]
    return names


@pytest.mark.parametrize("module", TENSORFLOW_ONLY)
def test_tensorflow_only_modules_import_no_foolbox_statically(module):
    names = _internal_closure(f"advbook.{module}")
    assert not {n.split(".")[0] for n in names} & {"foolbox", "eagerpy"}, \
        f"advbook.{module} reaches foolbox or eagerpy"


def test_tensorflow_only_attacks_load_no_foolbox_when_run():
    probe = (
        "import sys, numpy as np, keras\n"
        "from advbook import tf_attacks, adversarial_regularization as ar\n"
        "net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])\n"
        "x = np.full((2, 4), 0.5, np.float32); y = np.array([0, 1])\n"
        "tf_attacks.pgd(net, x, y, 0.1, steps=2)\n"
        "tf_attacks.fgsm(net, x, y, 0.1)\n"
        "ar.make_neighbours(net, x, y, 0.1, 'l2')\n"
        "print(sorted(m for m in ('foolbox', 'eagerpy') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("spelling, canonical", [
    ("linf", "linf"), ("LInf", "linf"), ("inf", "linf"), ("infinity", "linf"),
    ("l2", "l2"), ("L2", "l2")])
def test_one_spelling_of_the_norms_with_aliases(spelling, canonical):
    assert checks.check_norm(spelling) == canonical


@pytest.mark.parametrize("bad", ["l1", "", None, 2, "linf "])
def test_unknown_norms_are_refused_naming_the_spellings(bad):
    with pytest.raises(InvalidArgument, match='"linf" or "l2"'):
        checks.check_norm(bad)


def test_norm_pieces_do_what_chapter_6_says():
    import tensorflow as tf

    delta = tf.constant([[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(norms.project(delta, 1.0, "linf"),
                               [[1.0, 1.0], [0.3, 0.4]])
    # L2: the long one is scaled onto the sphere, the short one is kept.
    np.testing.assert_allclose(norms.project(delta, 1.0, "l2"),
                               [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    x = tf.zeros((1, 2))
    grad = tf.constant([[-2.0, 0.5]])
    np.testing.assert_allclose(norms.ascend(x, grad, 0.1, "linf"), [[-0.1, 0.1]])
    step = norms.ascend(x, grad, 0.1, "l2").numpy()
    assert np.isclose(np.linalg.norm(step), 0.1)
    rng = np.random.default_rng(0)
    starts = norms.random_start(np.zeros((500, 3)), 0.5, "l2", rng)
    lengths = np.linalg.norm(starts, axis=1)
    assert lengths.max() <= 0.5 + 1e-9 and lengths.mean() > 0.3  # filled ball
    box = norms.random_start(np.zeros((500, 3)), 0.5, "linf", rng)
    assert np.abs(box).max() <= 0.5 and np.abs(box).max() > 0.45
