"""The exercise flow in a real kernel: a wrong answer is never told ✓.

Runs chapter 5's imports and exercise cells in their committed order, then
again in other orders, with wrong answers written in the answer cells.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "05_gaussian_noise.ipynb"
# What students really write wrong, one per exercise of the chapter.
WRONG = {
    "ch5.pairs": "answer = [(m, s) for m in range(0, 256, 32) for s in range(8, 64, 8)]",
    "ch5.noise_image": ("def noise_image(mu, sigma, size, rng):\n"
                        "    return rng.normal(mu, sigma, (size, size, 3))"
                        ".astype(np.float32)\n\nanswer = noise_image"),
    "ch5.scale_to_l2": ("def scale_to_l2(delta, norm):\n"
                        "    return np.asarray(delta) * norm\n\nanswer = scale_to_l2"),
    "ch5.confident_fraction": ("def confident_fraction(probs, threshold):\n"
                               "    return float(np.mean(probs[:, 0] >= threshold))"
                               "\n\nanswer = confident_fraction"),
}


def _exercises(nb):
    """(exercise id, answer cell, check cell, solution cell) in order."""
    cells, found = nb.cells, []
    for i, cell in enumerate(cells):
        if cell.source.startswith("ab.exercises.check("):
            exercise = cell.source.split('"')[1]
            found.append((exercise, cells[i - 1], cell, cells[i + 1]))
    return found


def _run(cells):
    """Execute the cells in a fresh kernel; return each one's printed text."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.from_dict(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=300, resources={
        "metadata": {"path": str(CHAPTER.parent)}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]


@pytest.fixture(scope="module")
def chapter():
    nb = nbformat.read(CHAPTER, as_version=4)
    imports = next(c for c in nb.cells if c.cell_type == "code")
    return imports, _exercises(nb)


def test_the_chapter_has_the_exercises_this_test_knows(chapter):
    assert {exercise for exercise, *_ in chapter[1]} == set(WRONG)


def test_wrong_answers_are_rejected_whatever_the_order(chapter):
    imports, exercises = chapter
    cells = [imports]
    for exercise, answer, check, solution in exercises:
        wrong = nbformat.v4.new_code_cell(WRONG[exercise])
        # committed order, the solution run, then the check run again
        cells += [wrong, check, solution, check]
    printed = _run(cells)[1:]
    for k, (exercise, *_) in enumerate(exercises):
        first, after_solution = printed[4 * k + 1], printed[4 * k + 3]
        assert "✗" in first and exercise in first, (exercise, first)
        assert "✓" in printed[4 * k + 2], (exercise, "the solution must pass")
        assert "✗" in after_solution, (exercise, "the solution changed the verdict")


def test_the_untouched_answer_cells_are_rejected_too(chapter):
    imports, exercises = chapter
    cells = [imports]
    for _, answer, check, solution in exercises:
        cells += [answer, check, solution]
    printed = _run(cells)[1:]
    for k, (exercise, *_) in enumerate(exercises):
        assert "✗" in printed[3 * k + 1], (exercise, printed[3 * k + 1])
        assert "✓" in printed[3 * k + 2], (exercise, printed[3 * k + 2])
