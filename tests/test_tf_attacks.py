"""advbook.tf_attacks: from-scratch FGSM/PGD agree with foolbox 3."""

import foolbox as fb
import numpy as np
import pytest
import tensorflow as tf

from advbook import attacks, datasets, models, small_models, tf_attacks
from advbook.errors import InvalidArgument


@pytest.fixture(scope="module")
def digits_model():
    data = datasets.digits()
    model = small_models.dense_net()
    small_models.train(model, data, epochs=40)
    x, y = data.x_test[:200], data.y_test[:200]
    assert small_models.accuracy(model, x, y) > 0.9
    return model, x, y


@pytest.fixture(scope="module")
def lite0_photos():
    lite0 = models.load("efficientnet_lite0")
    x = np.stack([lite0.load_image(n) for n in ("coffee", "chelsea", "rocket")])
    return lite0, x, lite0.logits(x).argmax(axis=1)


def _foolbox_digits(model):
    return fb.TensorFlowModel(model, bounds=(0, 1))


def test_fgsm_equals_foolbox_fgsm_on_imagenet(lite0_photos):
    lite0, x, y = lite0_photos
    ours = tf_attacks.fgsm(lite0, x, y, eps=4.0)
    fmodel = attacks.foolbox_model(lite0)
    theirs = fb.attacks.FGSM()(fmodel, tf.constant(x), attacks.as_label_tensor(y),
                               epsilons=4.0)[1].numpy()
    # Different float paths may flip sign() where a gradient entry is ~0.
    assert (np.abs(ours - theirs) > 1e-3).mean() < 1e-3
    assert np.abs(ours - x).max() <= 4.0 + 1e-4


def test_fgsm_equals_foolbox_fgsm_on_digits(digits_model):
    model, x, y = digits_model
    ours = tf_attacks.fgsm(model, x, y, eps=0.1)
    theirs = fb.attacks.FGSM()(_foolbox_digits(model), tf.constant(x),
                               attacks.as_label_tensor(y), epsilons=0.1)[1].numpy()
    assert (np.abs(ours - theirs) > 1e-5).mean() < 1e-3


@pytest.mark.parametrize("norm, fb_attack, eps", [
    ("linf", fb.attacks.LinfPGD, 0.1), ("l2", fb.attacks.L2PGD, 0.5)])
def test_pgd_without_random_start_matches_foolbox(digits_model, norm, fb_attack, eps):
    model, x, y = digits_model
    ours = tf_attacks.pgd(model, x, y, eps, steps=10, step_size=eps / 4,
                          norm=norm, random_start=False)
    attack = fb_attack(steps=10, abs_stepsize=eps / 4, random_start=False)
    theirs, _, success = attack(_foolbox_digits(model), tf.constant(x),
                                attacks.as_label_tensor(y), epsilons=eps)
    fooled = 1 - small_models.accuracy(model, ours, y)
    assert 0.2 < fooled < 0.95, "an ε where agreeing is informative"
    assert fooled == pytest.approx(success.numpy().mean(), abs=0.01)
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4)


@pytest.mark.parametrize("norm, fb_attack, eps", [
    ("linf", fb.attacks.LinfPGD, 0.1), ("l2", fb.attacks.L2PGD, 0.5)])
def test_pgd_with_random_start_matches_foolbox_success(digits_model, norm, fb_attack, eps):
    model, x, y = digits_model
    ours = tf_attacks.pgd(model, x, y, eps, steps=20, step_size=eps / 8, norm=norm)
    tf.random.set_seed(0)
    attack = fb_attack(steps=20, abs_stepsize=eps / 8, random_start=True)
    _, _, success = attack(_foolbox_digits(model), tf.constant(x),
                           attacks.as_label_tensor(y), epsilons=eps)
    ours_rate = 1 - small_models.accuracy(model, ours, y)
    # Different random starts: equal within 5 points on 200 digits.
    assert abs(ours_rate - success.numpy().mean()) <= 0.05


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_stays_in_the_ball_and_the_bounds(digits_model, norm):
    model, x, y = digits_model
    adv = tf_attacks.pgd(model, x, y, 0.3, steps=5, norm=norm, seed=3)
    delta = (adv - x).reshape(len(x), -1)
    size = np.abs(delta).max(axis=1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert size.max() <= 0.3 + 1e-4
    assert adv.min() >= 0 and adv.max() <= 1


def test_pgd_is_reproducible_and_seeded(digits_model):
    model, x, y = digits_model
    a = tf_attacks.pgd(model, x, y, 0.1, steps=3, seed=1)
    b = tf_attacks.pgd(model, x, y, 0.1, steps=3, seed=1)
    c = tf_attacks.pgd(model, x, y, 0.1, steps=3, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_targeted_pgd_reaches_the_target(digits_model):
    model, x, y = digits_model
    target = (y + 1) % 10
    adv = tf_attacks.pgd(model, x, target, 0.3, steps=20, targeted=True)
    assert small_models.accuracy(model, adv, target) > 0.8


def _fooled(model, adv, y, targeted=False):
    top = model.predict(adv, verbose=0).argmax(axis=1)
    return top == y if targeted else top != y


@pytest.mark.parametrize("targeted", [False, True])
def test_more_restarts_never_fool_fewer_examples(digits_model, targeted):
    model, x, y = digits_model
    labels = (y + 1) % 10 if targeted else y
    runs = [_fooled(model, tf_attacks.pgd(model, x, labels, 0.1, steps=2, seed=0,
                                          restarts=r, targeted=targeted),
                    labels, targeted) for r in (1, 3, 8)]
    # Each example fooled with r restarts is still fooled with more.
    for fewer, more in zip(runs, runs[1:]):
        assert np.all(more[fewer])
    assert runs[-1].sum() > runs[0].sum(), "restarts should find more here"


def test_pgd_on_a_classifier_uses_pixel_bounds(lite0_photos):
    lite0, x, y = lite0_photos
    adv = tf_attacks.pgd(lite0, x, y, eps=2.0, steps=3)
    assert np.abs(adv - x).max() <= 2.0 + 1e-3
    assert (lite0.logits(adv).argmax(axis=1) != y).all()


@pytest.mark.parametrize("kwargs, words", [
    (dict(eps=-0.1), "ε"), (dict(eps=float("nan")), "ε"),
    (dict(eps=0.1, norm="l1"), "norm"), (dict(eps=0.1, steps=0), "steps"),
    (dict(eps=0.1, restarts=0), "restarts"),
])
def test_pgd_rejects_bad_arguments(digits_model, kwargs, words):
    model, x, y = digits_model
    with pytest.raises(InvalidArgument, match=words):
        tf_attacks.pgd(model, x, y, **kwargs)


def test_rejects_inputs_outside_bounds_and_bad_labels(digits_model):
    model, x, y = digits_model
    with pytest.raises(InvalidArgument, match="bounds"):
        tf_attacks.fgsm(model, x * 255, y, 0.1)
    with pytest.raises(InvalidArgument, match="labels"):
        tf_attacks.fgsm(model, x, y[:-1], 0.1)
    with pytest.raises(InvalidArgument, match="Keras model"):
        tf_attacks.fgsm("resnet50", x, y, 0.1)
