"""Issue 18 items 15 and 17: check() survives hostile answers; checkers copy."""

import copy
import sys
import time

import numpy as np
import pytest

from advbook import exercises

ALL = exercises.all_exercises()


def _looping(*args):
    while True:
        pass


def test_a_looping_answer_is_stopped_with_a_hint():
    start = time.perf_counter()
    passed, message = exercises.evaluate("ch1.mean_spread", _looping, time_limit=0.5)
    assert time.perf_counter() - start < 10
    assert not passed and "still running" in message and "loop" in message


def test_a_looping_answer_that_catches_exceptions_is_still_stopped():
    def stubborn(n):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # what a student might write around a loop
                pass

    passed, message = exercises.evaluate("ch1.mean_spread", stubborn, time_limit=0.3)
    assert not passed and "still running" in message


def test_the_time_limit_is_switched_off_afterwards():
    import signal

    exercises.evaluate("ch1.mean_spread", lambda n: 1.0, time_limit=0.2)
    time.sleep(0.4)  # a leftover alarm would fire here and kill the test
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("escape", [lambda n: sys.exit(), lambda n: exit(3),
                                    lambda n: (_ for _ in ()).throw(KeyboardInterrupt)])
def test_exiting_answers_fail_with_a_hint(escape):
    passed, message = exercises.evaluate("ch1.mean_spread", escape)
    assert not passed and "return the result" in message


def test_check_prints_rather_than_exits(capsys):
    exercises.check("ch1.mean_spread", lambda n: sys.exit(1))
    assert "✗" in capsys.readouterr().out


def _vandalise(value):
    """Overwrite arrays in place, as an answer that reuses its inputs might."""
    if isinstance(value, np.ndarray) and value.flags.writeable:
        value[...] = np.nan if value.dtype.kind == "f" else 0
    elif isinstance(value, list):
        for item in value:
            _vandalise(item)


def _mutating(reference):
    def answer(*args):
        result = copy.deepcopy(reference(*args))
        for arg in args:
            _vandalise(arg)
        return result
    return answer


FUNCTION_EXERCISES = [e for e, item in ALL.items() if callable(item.reference())
                      and e != "ch8.straight_through"]  # takes tf tensors


@pytest.mark.parametrize("exercise_id", FUNCTION_EXERCISES)
def test_a_correct_answer_that_mutates_its_inputs_passes(exercise_id):
    answer = _mutating(ALL[exercise_id].reference())
    passed, message = exercises.evaluate(exercise_id, answer)
    assert passed, message


def test_vat_smoothness_accepts_a_mutating_answer():
    def kl_in_place(p, q):
        np.divide(p, q, out=q)  # reuses q's memory for the ratio
        np.log(q, out=q)
        q *= p
        return float(q.sum(axis=1).mean())

    passed, message = exercises.evaluate("ch8.vat_smoothness", kl_in_place)
    assert passed, message
