"""Every exercise rejects several plausible wrong answers, each with a hint."""

import math

import numpy as np
import pytest

from advbook import exercises
from advbook.exercises import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08
from advbook.images import load_image
from advbook.numerics import softmax

ALL = exercises.all_exercises()


def _fgsm_tf(model, x, y, eps, *, sign=1.0, use_sign=True, clip=True, mean=False,
             label_from_model=False):
    """FGSM variants written the ways students get them wrong."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    if label_from_model:
        y = tf.argmax(model(x), axis=1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x))
        loss = tf.reduce_mean(losses) if mean else tf.reduce_sum(losses)
    grad = tape.gradient(loss, x)
    step = tf.sign(grad) if use_sign else grad
    out = x + sign * eps * step
    return np.clip(out, 0, 1) if clip else out.numpy()


def _first_flip_row(row):
    def first_flip(epsilons, logits):
        top = np.argmax(logits, axis=1)
        clean = top[row(len(epsilons))]
        changed = epsilons[(epsilons > 0) & (top != clean)]
        return float(changed.min()) if len(changed) else None
    return first_flip


WRONG = {
    "ch0.load": [
        lambda: load_image("chelsea", size=(160, 240)) / 255.0,
        lambda: load_image("chelsea", size=(240, 160)),
        lambda: load_image("coffee", size=(160, 240)),
    ],
    "ch1.count_digits": [
        lambda: ch01._count_digits_rounded,
        # The naive float formula: right only while the float error is small.
        lambda: (lambda h, w, c, b: math.floor(h * w * c * b * math.log10(2)) + 1),
        lambda: (lambda h, w, c, b: int(h * w * c * b * math.log(2) / math.log(10)) + 1),
        lambda: (lambda h, w, c, b: math.ceil(h * w * c * b / math.log2(10))),
    ],
    "ch1.mean_spread": [
        lambda: (lambda n: 255 / math.sqrt(12) / math.sqrt(n)),  # continuous
        lambda: (lambda n: math.sqrt((256**2 - 1) / 12)),
        lambda: (lambda n: math.sqrt((256**2 - 1) / 12) / n),
        lambda: (lambda n: (256**2 - 1) / 12 / n),
    ],
    "ch1.vertical_correlation": [
        lambda: ch01._horizontal,
        lambda: (lambda im: float(np.corrcoef(im[:-1].ravel(), im[1:].ravel())[0, 1])),
        lambda: (lambda im: float(np.mean(im.mean(-1)[:-1] * im.mean(-1)[1:]))),
    ],
    "ch1.nearest_same_class": [
        lambda: ch01._nearest_any,
        lambda: (lambda xt, yt, x, y: float((((xt[yt == y] - x) ** 2).sum(1)).min())),
        lambda: (lambda xt, yt, x, y: float(np.abs(xt[yt == y] - x).sum(1).min())),
        lambda: (lambda xt, yt, x, y: float(np.linalg.norm(xt[yt == y] - x, axis=1).mean())),
    ],
    "ch2.sgd_step": [
        lambda: ch02._sgd_uphill,
        lambda: (lambda params, grads, rate: [p - 0.1 * g for p, g in zip(params, grads)]),
        lambda: (lambda params, grads, rate: [p - 0.3 * g for p, g in zip(params, grads)]),
        lambda: (lambda params, grads, rate: [p - rate * np.sign(g) for p, g in zip(params, grads)]),
    ],
    "ch2.logit_gradient": [
        lambda: ch02._logit_gradient_flipped,
        lambda: (lambda z, y: np.exp(z) / np.exp(z).sum() - np.eye(len(z))[y]),
        lambda: (lambda z, y: softmax(z)),
        lambda: (lambda z, y: -np.log(softmax(z))),
    ],
    "ch2.filter_normalise": [
        lambda: ch02._whole_normalise,
        lambda: (lambda d, w: d / np.linalg.norm(d, axis=0)),
        lambda: (lambda d, w: d * (np.linalg.norm(w, axis=1, keepdims=True)
                                   / np.linalg.norm(d, axis=1, keepdims=True))),
    ],
    "ch2.ascent_step": [
        lambda: ch02._descent,
        lambda: (lambda x, g, rate: np.clip(x + 0.1 * g, 0, 1)),
        lambda: (lambda x, g, rate: np.clip(x + 0.3 * g, 0, 1)),
        lambda: (lambda x, g, rate: x + rate * g),
        lambda: (lambda x, g, rate: np.clip(x + rate * np.sign(g), 0, 1)),
    ],
    "ch3.worst_perturbation": [
        lambda: ch03._scaled,
        lambda: (lambda w, eps: -eps * np.sign(w)),
        lambda: (lambda w, eps: eps * w / np.linalg.norm(w)),
        lambda: (lambda w, eps: eps * np.sign(w) * (np.abs(w) > 0.5)),
    ],
    "ch3.fgsm": [
        lambda: ch03._fgsm_raw_gradient,
        lambda: (lambda m, x, y, eps: _fgsm_tf(m, x, y, eps, sign=-1.0)),
        lambda: (lambda m, x, y, eps: _fgsm_tf(m, x, y, eps, clip=False)),
        lambda: (lambda m, x, y, eps: _fgsm_tf(m, x, y, eps, label_from_model=True)),
    ],
    "ch3.first_flip": [
        lambda: ch03._first_flip_any_side,
        lambda: _first_flip_row(lambda n: 0),  # clean class from row 0
        lambda: _first_flip_row(lambda n: n // 2),  # from the middle row
        lambda: (lambda eps, logits: float(eps[np.argmax(np.argmax(logits, 1)
                                                          != np.argmax(logits[0]))])),
    ],
    "ch3.error_and_confidence": [
        lambda: ch03._error_confidence_all,
        lambda: (lambda z, y: (float((z.argmax(1) != y).mean()),
                               float(z.max(1)[z.argmax(1) != y].mean()))),  # logits
        lambda: (lambda z, y: (float((z.argmax(1) == y).mean()),
                               ch03._error_confidence(z, y)[1])),
        lambda: (lambda z, y: (float((z.argmax(1) != y).sum()),
                               ch03._error_confidence(z, y)[1])),
    ],
    "ch4.fgsm_step": [
        lambda: ch04._fgsm_step_unclipped,
        lambda: (lambda im, g, eps: np.clip(im - eps * np.sign(g), 0, 255)),
        lambda: (lambda im, g, eps: np.clip(im + eps * g, 0, 255)),
        lambda: (lambda im, g, eps: np.clip(im + eps * np.sign(g), 0, 1)),
    ],
    "ch4.budget": [
        lambda: ch04._measure_squared,
        lambda: (lambda a, b: {"linf": float(np.abs(b - a).max()),
                               "l2": float(np.linalg.norm(b - a)),
                               "changed": int(np.any(b != a, axis=-1).sum())}),  # pixels
        lambda: (lambda a, b: {"linf": float((b - a).max()),  # no abs
                               "l2": float(np.linalg.norm(b - a)),
                               "changed": int(np.count_nonzero(b - a))}),
        lambda: (lambda a, b: {"linf": float(np.abs(b - a).max()),
                               "l2": float(np.abs(b - a).sum()),
                               "changed": int(np.count_nonzero(b - a))}),
    ],
    "ch4.caffe": [
        lambda: ch04._caffe_no_flip,
        lambda: (lambda im: im[..., ::-1] - ch04._CAFFE_MEAN_BGR[::-1]),
        lambda: (lambda im: im[..., ::-1] / 255.0 - ch04._CAFFE_MEAN_BGR / 255.0),
        lambda: (lambda im: im[..., ::-1] - np.array([104.0, 117.0, 124.0])),
    ],
    "ch4.smallest_epsilon": [
        lambda: ch04._largest,
        lambda: (lambda eps, s: [next((e for e, ok in zip(eps, col) if ok), None)
                                 for col in np.asarray(s).T]),  # first row, unsorted
        lambda: (lambda eps, s: [min((e for e, ok in zip(eps, row) if ok), default=None)
                                 for row in np.asarray(s)]),  # rows as images
        lambda: (lambda eps, s: [min([e for e, ok in zip(eps, col) if ok], default=0.0)
                                 for col in np.asarray(s).T]),
    ],
    "ch5.pairs": [
        lambda: list(__import__("itertools").product(range(0, 256, 32), range(8, 64, 8))),
        lambda: list(zip(range(8, 64, 8), range(0, 256, 32))),
        lambda: list(zip(range(0, 256, 32), range(8, 72, 8))),
        lambda: [(m, s) for m, s in zip(range(0, 255, 32), range(8, 64, 8))][:-1],
    ],
    "ch5.noise_image": [
        lambda: ch05._noise_unclipped,
        # Ignores the rng it is given and draws from numpy's global state.
        lambda: (lambda mu, sigma, size, rng: np.clip(
            np.random.normal(mu, sigma, (size, size, 3)), 0, 255).astype(np.float32)),
        lambda: (lambda mu, sigma, size, rng: np.clip(
            np.random.default_rng(0).normal(mu, sigma, (size, size, 3)), 0, 255
        ).astype(np.float32)),
        lambda: (lambda mu, sigma, size, rng: np.clip(
            rng.normal(mu, sigma, (size, size, 3)), 0, 255)),  # float64
        lambda: (lambda mu, sigma, size, rng: np.clip(
            rng.normal(mu, sigma ** 2, (size, size, 3)), 0, 255).astype(np.float32)),
    ],
    "ch5.scale_to_l2": [
        lambda: ch05._scale_linf,
        lambda: (lambda d, n: d * n / np.linalg.norm(d, axis=-1, keepdims=True)),
        lambda: (lambda d, n: d / np.linalg.norm(d)),
        lambda: (lambda d, n: d * n / np.sum(d ** 2)),
    ],
    "ch5.confident_fraction": [
        lambda: ch05._mean_confidence,
        lambda: (lambda p, t: float(np.mean(np.max(p, axis=1) > t))),
        lambda: (lambda p, t: int(np.sum(np.max(p, axis=1) >= t))),
        lambda: (lambda p, t: float(np.mean(np.max(p, axis=1) >= 0.5))),
    ],
    "ch6.project_linf": [
        lambda: ch06._project_linf_around_zero,
        lambda: (lambda x, x0, eps: np.clip(x, 0, 1)),
        lambda: (lambda x, x0, eps: x0 + eps * np.sign(x - x0)),
        lambda: (lambda x, x0, eps: np.clip(x - x0, -eps, eps)),
    ],
    "ch6.project_l2": [
        lambda: ch06._normalise_always,
        lambda: (lambda d, eps: d * min(1.0, eps / np.linalg.norm(d))),
        lambda: (lambda d, eps: np.clip(d, -eps, eps)),
        lambda: (lambda d, eps: d / np.maximum(1.0, np.linalg.norm(d.reshape(len(d), -1), axis=1)
                                                 ).reshape(-1, 1, 1, 1)),
    ],
    "ch6.pgd_step": [
        lambda: ch06._step_without_projection,
        lambda: (lambda x, x0, g, eps, a: np.clip(x0 + np.clip(x + a * g - x0, -eps, eps), 0, 1)),
        lambda: (lambda x, x0, g, eps, a: x0 + np.clip(x + a * np.sign(g) - x0, -eps, eps)),
        lambda: (lambda x, x0, g, eps, a: np.clip(x + np.clip(a * np.sign(g), -eps, eps), 0, 1)),
    ],
    "ch6.random_start": [
        lambda: ch06._no_start,
        # Corners only: every value moves by exactly ±ε.
        lambda: (lambda x, eps, rng: np.clip(
            x + eps * rng.choice([-1.0, 1.0], size=np.shape(x)), 0, 1)),
        # A normal, clipped to the box.
        lambda: (lambda x, eps, rng: np.clip(
            x + np.clip(rng.normal(0, eps, size=np.shape(x)), -eps, eps), 0, 1)),
        lambda: (lambda x, eps, rng: np.clip(
            x + rng.uniform(0, eps, size=np.shape(x)), 0, 1)),
        lambda: (lambda x, eps, rng: np.clip(
            x + np.random.uniform(-eps, eps, size=np.shape(x)), 0, 1)),
    ],
    "ch7.linear_fgsm": [
        lambda: ch07._linear_fgsm_towards_label,
        lambda: (lambda W, b, x, y, eps: np.clip(x + eps * np.sign(
            (softmax(x @ W + b) - np.eye(10)[y]) @ W), 0, 1) if W.shape[0] == W.shape[1]
            else np.clip(x + eps * np.sign(W[:, y].T), 0, 1)),  # the label's weights only
        lambda: (lambda W, b, x, y, eps: x + eps * np.sign(
            (softmax(x @ W + b) - np.eye(10)[y]) @ W.T)),  # no clip
        lambda: (lambda W, b, x, y, eps: np.clip(x + eps * (
            (softmax(x @ W + b) - np.eye(10)[y]) @ W.T), 0, 1)),  # no sign
    ],
    "ch7.conditional_rate": [
        lambda: ch07._unconditional,
        lambda: (lambda c, a, y: float(np.mean(a[c == y] == y[c == y]))),
        lambda: (lambda c, a, y: float(np.mean(a[c != y] != y[c != y]))),
        lambda: (lambda c, a, y: float(np.mean(a != c))),
    ],
    "ch7.mean_cosine": [
        lambda: ch07._batch_cosine,
        lambda: (lambda a, b: float(np.mean((a * b).reshape(len(a), -1).sum(1)))),
        lambda: (lambda a, b: float(np.mean([np.corrcoef(u.ravel(), v.ravel())[0, 1]
                                             for u, v in zip(a, b)]))),
        lambda: (lambda a, b: float(np.mean((a * b).sum(axis=(1, 2, 3))
                                            / (np.linalg.norm(a) * np.linalg.norm(b))))),
    ],
    "ch7.vote_first": [
        lambda: ch07._vote_smallest,
        lambda: (lambda v: np.asarray(v)[:, 0]),
        lambda: (lambda v: np.array([np.bincount(r, minlength=10)[::-1].argmax()
                                     for r in np.asarray(v)]) * 0
                 + np.array([9 - np.bincount(r, minlength=10)[::-1].argmax()
                             for r in np.asarray(v)])),  # ties to the largest label
        lambda: (lambda v: np.array([np.median(r) for r in np.asarray(v)]).astype(int)),
    ],
    "ch8.l2_neighbour": [
        lambda: ch08._l2_neighbour_whole_batch,
        lambda: (lambda x, g, s: x - s * g / np.linalg.norm(
            g.reshape(len(g), -1), axis=1).reshape(-1, 1, 1, 1)),
        lambda: (lambda x, g, s: x + s * np.sign(g)),
        lambda: (lambda x, g, s: np.clip(x + s * g / np.linalg.norm(
            g.reshape(len(g), -1), axis=1).reshape(-1, 1, 1, 1), 0, 1)),
    ],
    "ch8.quantise": [
        lambda: ch08._quantise_floor,
        lambda: (lambda x, k: np.round(x * k) / k),
        lambda: (lambda x, k: np.ceil(x * (k - 1)) / (k - 1)),
        lambda: (lambda x, k: np.round(x * (k - 1))),
    ],
    "ch8.straight_through": [
        lambda: ch08._plain_round,
        lambda: (lambda x, k: x),
        lambda: (lambda x, k: __import__("tensorflow").stop_gradient(x - (
            __import__("tensorflow").round(x * (k - 1)) / (k - 1))) + x * 0),
        lambda: (lambda x, k: x + __import__("tensorflow").stop_gradient(
            __import__("tensorflow").round(x * k) / k - x)),
    ],
    "ch8.vat_smoothness": [
        lambda: ch08._kl_reversed,
        lambda: (lambda p, q: float((p * np.log(p / q)).sum())),  # a sum, not a mean
        lambda: (lambda p, q: float(np.mean(p * np.log(p / q)))),  # mean over all
        lambda: (lambda p, q: float(np.mean(np.sum((p - q) ** 2, axis=1)))),
    ],
}


def test_every_exercise_has_wrong_answers():
    assert set(WRONG) == set(ALL)
    assert all(len(answers) >= 3 for answers in WRONG.values())


CASES = [(eid, i) for eid, answers in WRONG.items() for i in range(len(answers))]


@pytest.mark.parametrize("exercise_id, index", CASES,
                         ids=[f"{e}-{i}" for e, i in CASES])
def test_wrong_answer_is_rejected_with_a_hint(exercise_id, index):
    passed, message = exercises.evaluate(exercise_id, WRONG[exercise_id][index]())
    assert not passed, f"accepted a wrong answer: {message}"
    assert message.startswith("✗") and "Hint:" in message or "raised" in message
