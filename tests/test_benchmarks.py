"""The benchmark helpers (the timings themselves are not tests)."""

from benchmarks import pgd_step, timing


def test_timed_rounds_interleaves_in_rotated_order():
    calls = []
    runs = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = timing.timed_rounds(runs, repeats=3, warmup=1)
    assert calls[:3] == ["a", "b", "c"], "one warm-up each"
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert {name: len(t) for name, t in times.items()} == {"a": 3, "b": 3, "c": 3}


def test_spread_is_half_the_interquartile_range_over_the_median():
    assert timing.spread([1.0, 1.0, 1.0, 1.0, 1.0]) == 0.0
    # quartiles of 1..7 (exclusive method): 2 and 6; median 4
    assert timing.spread([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]) == 0.5


def _row(contender, seconds, ratio, same_work=float("nan")):
    return {"model": "m", "batch": 1, "contender": contender, "s_per_step": seconds,
            "spread": 0.0, "x_raw": ratio, "x_same_work": same_work}


def test_verdicts_name_both_targets():
    rows = [_row("raw TF step", 1.0, 1.0),
            _row("foolbox LinfPGD, eager model", 3.0, 3.0),
            _row("advbook tf_attacks.pgd", 1.2, 1.2)]
    [line] = pgd_step.verdicts(rows)
    assert "1.20x raw (misses <= 1.10x)" in line
    assert "2.5x faster than foolbox eager (meets >= 2x)" in line


def test_verdicts_without_the_eager_contenders_skip_the_speedup():
    rows = [_row("raw TF step", 1.0, 1.0), _row("advbook tf_attacks.pgd", 1.0, 1.0)]
    [line] = pgd_step.verdicts(rows)
    assert line.endswith("1.00x raw (meets <= 1.10x)")


def test_foolbox_verdicts_judge_only_the_foolbox_rows():
    rows = [_row("raw TF step", 1.0, 1.0),
            _row("fb FGSM, compiled", 1.0, 0.7, same_work=1.19),
            _row("fb L2FMN, foolbox_model", 1.0, 1.5, same_work=1.5)]
    assert pgd_step.foolbox_verdicts(rows) == [
        "m batch 1: fb FGSM, compiled 1.19x raw same work (meets <= 1.2x)",
        "m batch 1: fb L2FMN, foolbox_model 1.50x raw same work (misses <= 1.2x)"]


def test_same_work_adds_the_verdict_pass_except_for_fmn():
    step, forward = 1.0, 0.25
    assert pgd_step.same_work_seconds("fb FGSM, compiled", step, forward, 5) == 1.25
    assert pgd_step.same_work_seconds("fb LinfPGD, compiled", step, forward, 5) == 5.25
    assert pgd_step.same_work_seconds("fb L2FMN, foolbox_model", step, forward, 5) == 5.0
