"""advbook's fast foolbox path gives eager foolbox's answers (issue 17).

Speed itself is measured in benchmarks/, never here.
"""

import foolbox as fb
import keras
import numpy as np
import pytest
import tensorflow as tf

from advbook import attacks, models

EPS = 4.0


@pytest.fixture(scope="module")
def lite0():
    # Its own Classifier, so its compiled forward has traced for these
    # batches only. Once relaxed to any batch size (after other tests), a
    # trace may round differently and flip the sign of near-zero gradients:
    # 41 of 301,056 FGSM pixels did after tests/test_attacks.py.
    shared = models.load("efficientnet_lite0")
    return models.Classifier(shared.spec, shared.keras_model)


@pytest.fixture(scope="module")
def batch(lite0):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (2, lite0.input_size, lite0.input_size, 3)).astype(np.float32)
    return tf.constant(x), attacks.as_label_tensor(rng.integers(0, 1000, 2))


@pytest.fixture(scope="module")
def eager_lite0(lite0):
    """foolbox as the reader would build it by hand: the keras model run eagerly."""
    return fb.TensorFlowModel(lite0.keras_model, bounds=(0, 255),
                              preprocessing=lite0.preprocessing.foolbox())


def _tiny_models():
    """A small convnet on 0-1 inputs: foolbox eager, and with a compiled forward."""
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((12, 12, 3)),
                            keras.layers.Conv2D(8, 3, activation="relu"),
                            keras.layers.Flatten(), keras.layers.Dense(10)])
    spec = models.spec("efficientnet_lite0")  # any spec: only the network matters
    clf = models.Classifier(spec, net)
    return (fb.TensorFlowModel(net, bounds=(0, 1)),
            fb.TensorFlowModel(clf.compiled_forward(), bounds=(0, 1)))


@pytest.fixture(scope="module")
def tiny():
    eager, fast = _tiny_models()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 1, (8, 12, 12, 3)).astype(np.float32))
    return eager, fast, x, attacks.as_label_tensor(rng.integers(0, 10, 8))


def _adversarials(attack, fmodel, x, y, eps):
    return attack(fmodel, x, y, epsilons=eps)[0].numpy()


def test_fgsm_equals_eager_foolbox_pixel_for_pixel(lite0, batch, eager_lite0):
    x, y = batch
    fmodel = attacks.foolbox_model(lite0)
    expected = _adversarials(fb.attacks.FGSM(), eager_lite0, x, y, EPS)
    np.testing.assert_array_equal(
        _adversarials(attacks.compiled(fb.attacks.FGSM()), fmodel, x, y, EPS), expected)
    np.testing.assert_array_equal(
        _adversarials(fb.attacks.FGSM(), fmodel, x, y, EPS), expected)


def test_linf_pgd_equals_eager_foolbox_for_two_steps(lite0, batch, eager_lite0):
    x, y = batch
    pgd = fb.attacks.LinfPGD(steps=2, abs_stepsize=1.0, random_start=False)
    expected = _adversarials(pgd, eager_lite0, x, y, EPS)
    assert np.abs(expected - x.numpy()).max() > 0, "the attack moved the images"
    fmodel = attacks.foolbox_model(lite0)
    np.testing.assert_array_equal(
        _adversarials(attacks.compiled(pgd), fmodel, x, y, EPS), expected)


def test_l2_pgd_matches_eager_foolbox_for_two_steps(lite0, batch, eager_lite0):
    x, y = batch
    pgd = fb.attacks.L2PGD(steps=2, abs_stepsize=50.0, random_start=False)
    expected = _adversarials(pgd, eager_lite0, x, y, 300.0)
    ours = _adversarials(attacks.compiled(pgd), attacks.foolbox_model(lite0), x, y, 300.0)
    # The L2 step follows the gradient's values, not only their signs, so
    # graph-vs-eager rounding reaches the pixels: measured up to 0.02 of a
    # grey level on this batch, far below 8-bit quantisation.
    np.testing.assert_allclose(ours, expected, rtol=0, atol=0.05)
    assert np.abs(expected - x.numpy()).max() > 1.0, "the attack moved the images"


@pytest.mark.parametrize("attack_class", [fb.attacks.LinfPGD, fb.attacks.L2PGD])
def test_longer_pgd_reaches_eager_foolbox_loss(tiny, attack_class):
    eager, fast, x, y = tiny
    pgd = attack_class(steps=20, rel_stepsize=0.1, random_start=False)
    eps = 0.1 if attack_class is fb.attacks.LinfPGD else 1.0

    def loss(adversarials):
        return float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=eager(tf.constant(adversarials)))))

    reached = loss(_adversarials(attacks.compiled(pgd), fast, x, y, eps))
    expected = loss(_adversarials(pgd, eager, x, y, eps))
    assert expected > 1.2 * loss(x.numpy()), "the attack raised the loss"
    assert reached == pytest.approx(expected, rel=1e-3)


def test_targeted_pgd_equals_eager_foolbox(tiny):
    eager, fast, x, y = tiny
    target = fb.criteria.TargetedMisclassification(attacks.as_label_tensor(
        (y.numpy() + 1) % 10))
    pgd = fb.attacks.LinfPGD(steps=2, abs_stepsize=0.01, random_start=False)
    np.testing.assert_array_equal(_adversarials(attacks.compiled(pgd), fast, x, target, 0.03),
                                  _adversarials(pgd, eager, x, target, 0.03))


def test_compiled_step_gives_tapes_value_and_gradient(tiny):
    import eagerpy as ep

    eager, fast, x, y = tiny
    pgd = attacks.compiled(fb.attacks.LinfPGD())
    recipe = pgd.get_loss_fn(fast, ep.astensor(y))
    loss, grad = pgd.value_and_grad(recipe, ep.astensor(x))
    want_loss, want_grad = ep.value_and_grad(
        fb.attacks.LinfPGD().get_loss_fn(eager, ep.astensor(y)), ep.astensor(x))
    np.testing.assert_allclose(loss.numpy(), want_loss.numpy(), rtol=1e-6)
    np.testing.assert_allclose(grad.numpy(), want_grad.numpy(), rtol=1e-5, atol=1e-9)


def test_one_trace_serves_every_attack_object_and_epsilon():
    _, fast = _tiny_models()
    x = tf.constant(np.random.default_rng(1).uniform(0, 1, (4, 12, 12, 3)), tf.float32)
    y = attacks.as_label_tensor([1, 2, 3, 4])
    for eps in (0.01, 0.02):
        attacks.compiled(fb.attacks.FGSM())(fast, x, y, epsilons=eps)
        attacks.compiled(fb.attacks.LinfPGD(steps=2))(fast, x, y, epsilons=[eps, 2 * eps])
    [step] = fast.__dict__["_advbook_grad_steps"].values()
    assert step.experimental_get_tracing_count() == 1


def test_new_batch_sizes_work_and_stop_retracing(tiny):
    eager, fast, x, y = tiny
    fgsm = fb.attacks.FGSM()
    for n in (8, 3, 5):  # the second size relaxes the trace to any batch
        np.testing.assert_array_equal(
            _adversarials(attacks.compiled(fgsm), fast, x[:n], y[:n], 0.05),
            _adversarials(fgsm, eager, x[:n], y[:n], 0.05))
    [step] = fast.__dict__["_advbook_grad_steps"].values()
    assert step.experimental_get_tracing_count() <= 2


def test_compiled_leaves_the_callers_attack_and_other_attacks_alone():
    pgd = fb.attacks.LinfPGD()
    fast = attacks.compiled(pgd)
    assert fast is not pgd and attacks.compiled(fast) is fast
    assert "value_and_grad" not in vars(pgd), "the caller's attack stays eager"
    fmn = fb.attacks.L2FMNAttack()
    assert attacks.compiled(fmn) is fmn


def test_compiled_forward_does_not_differentiate_the_weights(lite0, batch):
    x, y = batch
    forward = lite0.compiled_forward()
    weights = lite0.keras_model.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=forward(lite0.preprocessing.tf(x))))
    # The reason it keeps up with the raw step: no weight gradients to compute.
    assert all(g is None for g in tape.gradient(loss, weights))
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, x)))) > 0
