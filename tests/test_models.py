"""advbook.models, advbook.weights, advbook.imagenet: the registry offline."""

import hashlib

import numpy as np
import pytest

from advbook import imagenet, models, preprocess, weights
from advbook.errors import InvalidArgument, UnknownModel, WeightsUnavailable


def test_registry_knows_sizes_and_preprocessing():
    assert models.spec("resnet50").input_size == 224
    assert models.spec("resnet50").preprocessing is preprocess.CAFFE
    assert models.spec("inception_v3").input_size == 299
    assert models.spec("inception_v3").preprocessing is preprocess.TF
    assert models.spec("efficientnet_lite0").input_size == 224
    assert models.spec("efficientnet_lite2").input_size == 260


@pytest.mark.parametrize("bad", ["vgg16", "ResNet50", "", None, 3])
def test_unknown_model_lists_known_names(bad):
    with pytest.raises(UnknownModel) as err:
        models.load(bad)
    assert "efficientnet_lite0" in str(err.value)


def test_resnet50_offline_raises_with_the_import_command(keras_home):
    with pytest.raises(WeightsUnavailable) as err:
        models.load("resnet50")
    message = str(err.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert "2cb95161c43110f7111970584f804107" in message
    assert "advbook weights import" in message


def test_status_tells_the_truth_offline(keras_home):
    report = models.availability()
    assert report["ResNet-50 (resnet50)"].startswith("unavailable offline")
    assert report["EfficientNet-Lite0 (efficientnet_lite0)"].startswith("weights present")


def test_roles_fall_back_to_the_lite_models(keras_home, capsys):
    default = models.default_classifier()
    second = models.second_classifier()
    assert default.name == "efficientnet_lite0"
    assert second.name == "efficientnet_lite2"
    said = capsys.readouterr().out
    assert "stands in for ResNet-50" in said and "stands in for Inception-V3" in said
    models.default_classifier()
    assert capsys.readouterr().out == "", "the role is announced only once"


def test_import_checks_the_hash_and_rejects_other_files(keras_home, tmp_path):
    bogus = tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    bogus.write_bytes(b"not weights")
    with pytest.raises(WeightsUnavailable) as err:
        weights.import_file(bogus)
    assert str(bogus) in str(err.value) and "md5" in str(err.value)
    assert not keras_home.exists() or not any(keras_home.iterdir())


def test_import_then_load_resnet50_end_to_end(keras_home, tmp_path, accept_md5):
    """A keras-format .h5 (random weights here) imported, found and loaded."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    donor = keras.applications.ResNet50(weights=None, classifier_activation=None)
    path = tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    with h5py.File(path, "w") as fh:  # the layout keras' download has
        legacy_h5_format.save_weights_to_hdf5_group(fh, donor)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    accept_md5("resnet50", md5)
    spec = models.spec("resnet50").weights
    models._load_cached.cache_clear()

    target = weights.import_file(path)
    assert target == keras_home / spec.file_name
    assert spec.status().startswith("weights present")
    classifier = models.load("resnet50")
    x = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype(np.float32)
    expected = donor(preprocess.CAFFE(x), training=False).numpy()
    np.testing.assert_allclose(classifier.logits(x), expected, atol=1e-4)
    models._load_cached.cache_clear()


def test_weights_dir_env_is_searched(keras_home, tmp_path, monkeypatch, accept_md5):
    extra = tmp_path / "mine"
    extra.mkdir()
    accept_md5("inception_v3", hashlib.md5(b"abc").hexdigest())
    spec = models.spec("inception_v3").weights
    (extra / spec.file_name).write_bytes(b"abc")
    monkeypatch.setenv("ADVBOOK_WEIGHTS_DIR", str(extra))
    assert spec.locate() == extra / spec.file_name


# ---- labels


def test_class_names_are_keras_style():
    names = imagenet.class_names()
    assert len(names) == 1000
    for cid, name in [(672, "mountain_tent"), (839, "suspension_bridge"),
                      (652, "military_uniform"), (285, "Egyptian_cat"),
                      (980, "volcano"), (967, "espresso")]:
        assert names[cid] == name
        assert imagenet.class_index(name) == cid


def test_top_k_table():
    probs = np.zeros(1000)
    probs[[672, 980, 979]] = [0.6873, 0.0736, 0.0717]
    table = imagenet.top_k(probs, 3)
    assert list(table.columns) == ["class_id", "class", "confidence"]
    assert table.index.name == "rank"
    assert table["class"].tolist() == ["mountain_tent", "volcano", "valley"]
    assert table["confidence"].iloc[0] == pytest.approx(0.6873)


@pytest.mark.parametrize("probs, k", [(np.zeros(10), 3), (np.zeros((2, 1000)), 3),
                                       (np.zeros(1000), 0)])
def test_top_k_rejects_bad_input(probs, k):
    with pytest.raises(InvalidArgument):
        imagenet.top_k(probs, k)


def test_unknown_class_name_suggests():
    with pytest.raises(InvalidArgument, match="mountain_tent"):
        imagenet.class_index("tent")


@pytest.fixture
def fresh_roles(keras_home, monkeypatch):
    """No role variables set, and no classifier loaded before this test."""
    for role in models.ROLES:
        monkeypatch.delenv(role.variable, raising=False)
    monkeypatch.delenv("ADVBOOK_WEIGHTS", raising=False)
    models._load_cached.cache_clear()
    yield monkeypatch
    models._load_cached.cache_clear()


def test_role_variables_pick_any_registry_model(fresh_roles, capsys):
    fresh_roles.setenv("ADVBOOK_DEFAULT_CLASSIFIER", "efficientnet_lite2")
    fresh_roles.setenv("ADVBOOK_SECOND_CLASSIFIER", "efficientnet_lite0")
    assert models.choose(models.DEFAULT_ROLE)[0] == "efficientnet_lite2"
    assert models.default_classifier().name == "efficientnet_lite2"
    assert models.second_classifier().name == "efficientnet_lite0"
    said = capsys.readouterr().out
    assert "ADVBOOK_DEFAULT_CLASSIFIER=efficientnet_lite2" in said
    assert "ADVBOOK_SECOND_CLASSIFIER=efficientnet_lite0" in said


@pytest.mark.parametrize("bad", ["vgg16", "ResNet50", "efficientnet-lite0"])
def test_unknown_role_model_names_the_variable_and_the_known(fresh_roles, bad):
    fresh_roles.setenv("ADVBOOK_SECOND_CLASSIFIER", bad)
    with pytest.raises(UnknownModel) as err:
        models.second_classifier()
    message = str(err.value)
    assert "ADVBOOK_SECOND_CLASSIFIER" in message and repr(bad) in message
    assert "inception_v3" in message and "efficientnet_lite2" in message
    assert "error" in models.roles()["second architecture"]


def test_role_model_without_weights_says_which_variable(fresh_roles):
    fresh_roles.setenv("ADVBOOK_DEFAULT_CLASSIFIER", "resnet50")
    with pytest.raises(WeightsUnavailable) as err:
        models.default_classifier()
    message = str(err.value)
    assert "ADVBOOK_DEFAULT_CLASSIFIER=resnet50" in message
    assert "advbook weights import" in message and "Unset" in message


def test_random_weights_switch_builds_the_book_models(fresh_roles, capsys):
    fresh_roles.setenv("ADVBOOK_WEIGHTS", "random")
    assert models.choose(models.DEFAULT_ROLE)[0] == "resnet50"
    assert models.choose(models.SECOND_ROLE)[0] == "inception_v3"
    model = models.default_classifier()
    assert model.name == "resnet50" and "RANDOM WEIGHTS" in capsys.readouterr().out
    probs = model.probs(np.full((1, 224, 224, 3), 128, np.float32))
    assert probs.shape == (1, 1000) and np.isclose(probs.sum(), 1)
    assert not any(keras_file.exists() for keras_file in
                   [weights.keras_cache_dir() / f.file_name
                    for f in weights.keras_files()])
    assert "random weights" in models.availability()["ResNet-50 (resnet50)"]
    entry = models.spec("resnet50")
    again = entry.build(entry)  # seeded: the same weights twice
    assert np.array_equal(again.get_weights()[0], model.keras_model.get_weights()[0])
