"""advbook.attacks: foolbox wrappers, the confident criterion, run_attack."""

import foolbox as fb
import numpy as np
import pytest
import tensorflow as tf

from advbook import attacks, models
from advbook.errors import InvalidArgument

OFFLINE_MODELS = ["efficientnet_lite0", "efficientnet_lite2"]


@pytest.mark.parametrize("name", OFFLINE_MODELS)
def test_foolbox_model_matches_keras_on_random_batches(name):
    classifier = models.load(name)
    fmodel = attacks.foolbox_model(name)
    assert fmodel.bounds == (0, 255)
    size = classifier.input_size
    x = np.random.default_rng(1).uniform(0, 255, (3, size, size, 3)).astype(np.float32)
    ours = fmodel(tf.constant(x)).numpy()
    direct = classifier.keras_model(classifier.preprocessing(x), training=False).numpy()
    np.testing.assert_allclose(ours, direct, atol=1e-4)


def test_foolbox_model_uses_a_compiled_forward_on_the_chosen_device(lite0):
    fmodel = attacks.foolbox_model(lite0)
    assert isinstance(fmodel._model, tf.types.experimental.PolymorphicFunction)
    expected = "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
    assert attacks.device() == expected


def test_foolbox_model_rejects_other_objects():
    with pytest.raises(InvalidArgument):
        attacks.foolbox_model(42)


def _criterion_says(logits, label, threshold=0.9):
    criterion = attacks.ConfidentMisclassification(np.array([label]), threshold)
    return bool(criterion(None, tf.constant([logits], tf.float32)).numpy()[0])


def test_confident_criterion():
    confident_right = [10.0, 0.0, 0.0]
    confident_wrong = [0.0, 10.0, 0.0]  # p(class 1) ~ 0.9999
    hesitant_wrong = [0.0, 0.5, 0.0]  # class 1 wins with p ~ 0.45
    assert not _criterion_says(confident_right, 0)
    assert _criterion_says(confident_wrong, 0)
    assert not _criterion_says(hesitant_wrong, 0)
    assert _criterion_says(hesitant_wrong, 0, threshold=0.4)


@pytest.mark.parametrize("threshold", [0, -0.5, 1.5, float("nan"), "high"])
def test_confident_criterion_rejects_bad_thresholds(threshold):
    with pytest.raises(InvalidArgument):
        attacks.ConfidentMisclassification(np.array([0]), threshold)


def test_gradient_attacks_accept_the_confident_criterion(lite0, photos):
    fmodel = attacks.foolbox_model(lite0)
    labels = lite0.logits(photos).argmax(axis=1)
    x = tf.constant(photos)
    # int32 labels against int64 argmax: needs advbook's NumPy 2 shim.
    int32_labels = tf.constant(labels.astype(np.int32))
    plain = fb.attacks.FGSM()(fmodel, x, fb.criteria.Misclassification(int32_labels),
                              epsilons=4.0)[1].numpy()
    confident = fb.attacks.FGSM()(fmodel, x, attacks.ConfidentMisclassification(labels),
                                  epsilons=4.0)[1].numpy()
    # Same loss, same step: only the verdict differs.
    np.testing.assert_array_equal(plain, confident)


def test_run_attack_result(lite0, photos):
    fmodel = attacks.foolbox_model(lite0)
    labels = lite0.logits(photos).argmax(axis=1)
    eps = [0.0, 2.0, 16.0]
    result = attacks.run_attack(fb.attacks.LinfPGD(steps=5, random_start=False),
                                fmodel, photos, labels, eps, batch_size=1,
                                progress=False)
    assert result.adversarials.shape == (3, 2, 224, 224, 3)
    assert result.success.shape == (3, 2)
    assert not result.success[0].any(), "ε = 0 changes nothing"
    for e, adv in zip(eps, result.adversarials):
        assert np.abs(adv - photos).max() <= e + 1e-3
        assert adv.min() >= 0 and adv.max() <= 255
    assert result.success[2].all(), "5 PGD steps of 16/255 fool Lite0"
    assert list(result.success_rate.index) == eps
    assert result.top_k_before(0)["class"].iloc[0] == "espresso"
    assert result.top_k_after(0, eps_index=2)["class"].iloc[0] != "espresso"
    assert result.smallest_successful_epsilon(0) in (2.0, 16.0)
    # Batched convolutions round differently; sign() turns that into a flip
    # only where a gradient entry is ~0, so batching barely changes FGSM.
    fgsm = fb.attacks.FGSM()
    one = attacks.run_attack(fgsm, fmodel, photos, labels, eps, batch_size=1,
                             progress=False)
    two = attacks.run_attack(fgsm, fmodel, photos, labels, eps, batch_size=2,
                             progress=False)
    differs = np.abs(one.adversarials - two.adversarials) > 1e-3
    assert differs.mean() < 1e-4
    np.testing.assert_array_equal(one.success, two.success)


@pytest.mark.parametrize("progress, passed", [
    (True, {"disable": False}),   # the caller's choice wins
    (False, {"disable": True}),
    (None, {}),                   # left to tqdm, so TQDM_DISABLE applies
])
def test_run_attack_progress_bar_choice(progress, passed, lite0, photos,
                                        monkeypatch):
    seen = {}

    def fake_tqdm(iterable, **options):
        seen.update(options)
        return iterable

    monkeypatch.setattr(attacks, "tqdm", fake_tqdm)
    fmodel = attacks.foolbox_model(lite0)
    attacks.run_attack(fb.attacks.FGSM(), fmodel, photos[:1], [967], 1.0,
                       progress=progress)
    assert {k: v for k, v in seen.items() if k == "disable"} == passed


@pytest.mark.parametrize("epsilons", [-1.0, [1.0, float("nan")], [float("inf")],
                                      [], ["big"]])
def test_bad_epsilons(epsilons, lite0, photos):
    with pytest.raises(InvalidArgument, match="ε|epsilons"):
        attacks.run_attack(fb.attacks.FGSM(), attacks.foolbox_model(lite0),
                           photos, np.array([967, 285]), epsilons)


@pytest.mark.parametrize("labels", [np.array([967]), np.array([967.0, 285.0]),
                                    np.array([967, 1000]), np.array([[967, 285]])])
def test_bad_labels(labels, lite0, photos):
    with pytest.raises(InvalidArgument, match="labels"):
        attacks.run_attack(fb.attacks.FGSM(), attacks.foolbox_model(lite0),
                           photos, labels, [1.0])


def test_images_in_0_1_are_refused(lite0, photos):
    with pytest.raises(InvalidArgument, match="255"):
        attacks.run_attack(fb.attacks.FGSM(), attacks.foolbox_model(lite0),
                           photos / 255.0, np.array([967, 285]), [1.0])
