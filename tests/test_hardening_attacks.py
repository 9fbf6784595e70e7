"""Issue 18, items 1-7: hostile inputs to the attack API get clear errors."""

import foolbox as fb
import numpy as np
import pytest
import tensorflow as tf

from advbook import attacks, checks, datasets, models, small_models, tf_attacks
from advbook.errors import AdvbookError, InvalidArgument


@pytest.fixture(scope="module")
def digits():
    data = datasets.digits()
    return data.x_test[:6], data.y_test[:6]


def _fresh_net():
    """An untrained Flatten-first net: validation needs no training."""
    import keras

    keras.utils.set_random_seed(0)
    return small_models.dense_net(hidden=(8,))


# --- 1: one odd call must not poison the compiled step ----------------------

def test_a_call_of_another_rank_is_refused_and_does_not_poison_later_calls(digits):
    x, y = digits
    net = _fresh_net()
    with pytest.raises(InvalidArgument, match="axes"):
        tf_attacks.fgsm(net, x[..., 0], y, 0.1)
    after = tf_attacks.fgsm(net, x, y, 0.1)
    assert after.shape == x.shape
    np.testing.assert_allclose(tf_attacks.pgd(net, x, y, 0.1, steps=2),
                               tf_attacks.pgd(net, x, y, 0.1, steps=2))


def test_compiled_steps_are_kept_per_input_rank(digits):
    x, y = digits
    net = _fresh_net()
    flat = tf_attacks._compiled_step(net, tf_attacks._identity, "linf", False, 3)
    full = tf_attacks._compiled_step(net, tf_attacks._identity, "linf", False, 4)
    assert flat is not full


# --- 2: empty batches -------------------------------------------------------

def test_empty_batch_in_tf_attacks(digits):
    x, y = digits
    with pytest.raises(InvalidArgument, match="empty batch"):
        tf_attacks.fgsm(_fresh_net(), x[:0], y[:0], 0.1)


def test_empty_batch_in_run_attack(lite0, photos):
    with pytest.raises(InvalidArgument, match="empty batch"):
        attacks.run_attack(fb.attacks.FGSM(), attacks.foolbox_model(lite0),
                           photos[:0], np.array([], int), [1.0])


# --- 3: a Classifier in tf_attacks follows run_attack's pixel rules ----------

def test_classifier_refuses_0_1_images_like_run_attack(lite0, photos):
    y = np.array([967, 285])
    with pytest.raises(InvalidArgument, match="multiply by 255"):
        tf_attacks.fgsm(lite0, photos / 255.0, y, 0.01)


@pytest.mark.parametrize("bounds", [(0, 1), (-1, 1)])
def test_classifier_refuses_other_bounds(lite0, photos, bounds):
    with pytest.raises(InvalidArgument, match=r"\(0, 255\)"):
        tf_attacks.fgsm(lite0, photos, np.array([967, 285]), 1.0, bounds=bounds)


def test_classifier_accepts_its_own_bounds(lite0, photos):
    y = np.array([967, 285])
    np.testing.assert_allclose(
        tf_attacks.fgsm(lite0, photos, y, 1.0, bounds=(0, 255)),
        tf_attacks.fgsm(lite0, photos, y, 1.0))


# --- 4: labels against the class count and the batch -------------------------

@pytest.mark.parametrize("bad", [-1, 10])
def test_tf_attacks_labels_out_of_range(digits, bad):
    x, y = digits
    y = y.copy()
    y[0] = bad
    with pytest.raises(InvalidArgument, match=f"0-9.*{bad}"):
        tf_attacks.fgsm(_fresh_net(), x, y, 0.1)


def test_classifier_labels_out_of_range(lite0, photos):
    with pytest.raises(InvalidArgument, match="0-999"):
        tf_attacks.fgsm(lite0, photos, np.array([967, 1000]), 1.0)


def test_criterion_labels_out_of_range_in_run_attack(lite0, photos):
    criterion = fb.criteria.Misclassification(attacks.as_label_tensor([967, 5000]))
    with pytest.raises(InvalidArgument, match="0-999.*5000"):
        attacks.run_attack(fb.attacks.FGSM(), attacks.foolbox_model(lite0),
                           photos, criterion, [0.0])


def test_confident_criterion_with_one_label_for_two_images(lite0, photos):
    with pytest.raises(InvalidArgument, match="2 integer class labels"):
        attacks.run_attack(fb.attacks.FGSM(), attacks.foolbox_model(lite0),
                           photos, attacks.ConfidentMisclassification([967]), [0.0])
    # Used directly with foolbox, it must not broadcast either.
    logits = tf.zeros((2, 1000))
    with pytest.raises(InvalidArgument, match="one label per image"):
        attacks.ConfidentMisclassification([967])(tf.zeros((2, 4)), logits)


def test_confident_criterion_refuses_a_label_imagenet_lacks():
    with pytest.raises(InvalidArgument, match="0-999"):
        attacks.ConfidentMisclassification([1000])


# --- 5: bounds must be finite and ordered -----------------------------------

@pytest.mark.parametrize("bounds", [(0, float("nan")), (1, 0), (0, float("inf")),
                                    (0,), "01"])
def test_bad_bounds(digits, bounds):
    x, y = digits
    with pytest.raises(InvalidArgument, match="bounds"):
        tf_attacks.fgsm(_fresh_net(), x, y, 0.1, bounds=bounds)


# --- 6: run_attack accepts a Classifier, explains a Keras model ---------------

def test_run_attack_wraps_a_classifier(lite0, photos):
    result = attacks.run_attack(fb.attacks.FGSM(), lite0, photos[:1],
                                np.array([967]), [0.0], progress=False)
    assert result.success.shape == (1, 1)


def test_run_attack_explains_a_bare_keras_model(lite0, photos):
    with pytest.raises(InvalidArgument, match="foolbox_model"):
        attacks.run_attack(fb.attacks.FGSM(), lite0.keras_model, photos,
                           np.array([967, 285]), [1.0])


# --- 7: the rest of the hostile arguments -------------------------------------

def test_five_axis_input(digits):
    x, y = digits
    with pytest.raises(InvalidArgument, match="axes"):
        tf_attacks.fgsm(_fresh_net(), x[None], y[:1], 0.1)


def test_one_image_with_eight_labels(digits):
    x, y = digits
    with pytest.raises(InvalidArgument, match="batch axis"):
        tf_attacks.fgsm(_fresh_net(), x[0], np.arange(8), 0.1)


@pytest.mark.parametrize("kwargs, word", [
    (dict(seed="abc"), "seed"), (dict(seed=True), "seed"),
    (dict(steps=True), "steps"), (dict(steps=2.0), "steps"),
    (dict(restarts=True), "restarts"), (dict(step_size="0.1"), "step_size"),
])
def test_pgd_argument_types(digits, kwargs, word):
    x, y = digits
    with pytest.raises(InvalidArgument, match=word):
        tf_attacks.pgd(_fresh_net(), x, y, 0.1, **kwargs)


@pytest.mark.parametrize("eps", ["0.1", True, [0.1, 0.2]])
def test_epsilon_must_be_one_number(digits, eps):
    x, y = digits
    with pytest.raises(InvalidArgument, match="ε"):
        tf_attacks.fgsm(_fresh_net(), x, y, eps)


def test_string_epsilons_in_run_attack():
    with pytest.raises(InvalidArgument, match="string"):
        checks.check_epsilons("0.1")


def test_complex_input(digits):
    x, y = digits
    with pytest.raises(InvalidArgument, match="real"):
        tf_attacks.fgsm(_fresh_net(), x + 0j, y, 0.1)


def test_numpy_only_preprocess(digits):
    x, y = digits
    with pytest.raises(InvalidArgument, match="tf ops"):
        tf_attacks.fgsm(_fresh_net(), x, y, 0.1,
                        preprocess=lambda z: np.asarray(z) * 2 - 1)


def test_tf_preprocess_still_works(digits):
    x, y = digits
    out = tf_attacks.fgsm(_fresh_net(), x, y, 0.1, preprocess=lambda z: z * 2 - 1)
    assert np.abs(out - x).max() <= 0.1 + 1e-6


def test_grayscale_batch_in_run_attack_gets_the_right_hint(lite0, photos):
    grey = photos.mean(axis=-1)
    with pytest.raises(InvalidArgument, match="grayscale") as err:
        attacks.run_attack(fb.attacks.FGSM(), attacks.foolbox_model(lite0),
                           grey, np.array([967, 285]), [1.0])
    assert "single image" not in str(err.value)


def test_epsilon_checks_do_not_need_foolbox():
    import subprocess
    import sys

    code = ("import sys; import advbook.checks as c; c.check_epsilons([1.0]); "
            "assert 'foolbox' not in sys.modules and 'eagerpy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_old_import_path_still_works():
    assert attacks.check_epsilons is checks.check_epsilons
    assert issubclass(InvalidArgument, AdvbookError)
