"""Every exercise's reference passes its checker; a wrong answer fails it."""

import pytest

from advbook import exercises
from advbook.errors import ExerciseError

ALL = exercises.all_exercises()


@pytest.mark.parametrize("exercise_id", list(ALL))
def test_reference_passes(exercise_id):
    passed, message = exercises.evaluate(exercise_id, ALL[exercise_id].reference())
    assert passed, message


@pytest.mark.parametrize("exercise_id", list(ALL))
def test_wrong_answer_fails_with_a_hint(exercise_id):
    passed, message = exercises.evaluate(exercise_id, ALL[exercise_id].wrong())
    assert not passed and message.startswith("✗") and len(message) > 30


def test_check_prints_verdict(capsys):
    first = next(iter(ALL))
    assert exercises.check(first, ALL[first].reference()) is None
    assert "✓" in capsys.readouterr().out
    exercises.check(first, ALL[first].wrong())
    assert "✗" in capsys.readouterr().out


def test_unknown_exercise_lists_known_ones():
    with pytest.raises(ExerciseError, match="ch0.load"):
        exercises.check("ch99.nothing", 1)


def test_a_crashing_answer_is_reported_not_raised(monkeypatch):
    def calls_the_answer(answer):
        answer()

    monkeypatch.setitem(exercises._REGISTRY, "test.calls", exercises.Exercise(
        "test.calls", "calls the answer", calls_the_answer, int, int))

    def broken():
        raise RuntimeError("boom")

    passed, message = exercises.evaluate("test.calls", broken)
    assert not passed and "RuntimeError: boom" in message


def test_student_edition_drops_solution_and_lecturer_cells(tmp_path):
    import nbformat

    from advbook.build import book

    written = book.student_edition(tmp_path)
    assert len(written) == len(book.chapters())
    dropped = {"solution": 0, "lecturer": 0}
    for source, student in zip(book.chapters(), written):
        before = nbformat.read(source, as_version=4).cells
        after = nbformat.read(student, as_version=4).cells
        removed = [c for c in before
                   if set(c.metadata.get("tags", [])) & set(dropped)]
        for cell in removed:
            for tag in set(cell.metadata.get("tags", [])) & set(dropped):
                dropped[tag] += 1
        assert not [c for c in after if set(c.metadata.get("tags", [])) & set(dropped)]
        assert len(after) == len(before) - len(removed)
    assert all(dropped.values()), f"nothing to remove for some tag: {dropped}"


def test_reader_html_leaves_out_lecturer_notes():
    import nbformat

    from advbook.build import book

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Readers see this."),
        nbformat.v4.new_markdown_cell("Ask the class why.",
                                      metadata={"tags": ["lecturer"]})])
    kept = book.reader_copy(nb)
    assert [c.source for c in kept.cells] == ["Readers see this."]
    assert len(nb.cells) == 2, "the executed notebook (and deck) keep them"


@pytest.mark.parametrize("exercise_id", ["ch1.count_digits", "ch4.fgsm_step"])
def test_a_value_where_a_function_is_due_gets_the_shared_hint(exercise_id):
    assert exercise_id in ALL
    passed, message = exercises.evaluate(exercise_id, 42)
    assert not passed and "assign the function itself" in message


# Exercises whose answer is a function that returns something. ch0.load and
# ch5.pairs take values; None is a right answer of ch3.first_flip; and three
# checkers name the tuple, dict or number they want in a hint of their own.
OWN_HINT_FOR_NONE = {"ch0.load", "ch5.pairs", "ch3.first_flip",
                     "ch3.error_and_confidence", "ch4.budget",
                     "ch5.confident_fraction"}
FUNCTION_EXERCISES = [e for e in ALL if e not in OWN_HINT_FOR_NONE]


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
def test_a_function_that_returns_nothing_gets_the_shared_hint(exercise_id):
    def forgot_to_return(*args, **kwargs):
        pass

    passed, message = exercises.evaluate(exercise_id, forgot_to_return)
    assert not passed and "your function returns None; return " in message


def test_require_array_names_the_shapes_it_got_and_wants():
    from advbook.exercises import Mismatch, require_array

    assert require_array([1, 2], (2,)).dtype == float
    with pytest.raises(Mismatch, match=r"the image has shape \(3,\); want \(2,\)"):
        require_array([1, 2, 3], (2,), "the image")
    with pytest.raises(Mismatch, match="returns None; return an array"):
        require_array(None, (2,))
