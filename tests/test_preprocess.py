"""advbook.preprocess: numpy and foolbox forms agree with each other and keras."""

import foolbox as fb
import keras
import numpy as np
import pytest
import tensorflow as tf

from advbook import preprocess
from advbook.errors import InvalidArgument


@pytest.fixture(scope="module")
def pixels():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, size=(4, 8, 8, 3)).astype(np.float32)


@pytest.mark.parametrize("family, keras_fn", [
    (preprocess.CAFFE, keras.applications.resnet50.preprocess_input),
    (preprocess.TF, keras.applications.inception_v3.preprocess_input),
])
def test_numpy_form_matches_keras(family, keras_fn, pixels):
    ours = family(pixels)
    theirs = keras_fn(pixels.copy())
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_torch_family_is_imagenet_mean_std(pixels):
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    expected = (pixels / 255.0 - mean) / std
    np.testing.assert_allclose(preprocess.TORCH(pixels), expected, atol=1e-4)


@pytest.mark.parametrize("family", list(preprocess.FAMILIES.values()),
                         ids=list(preprocess.FAMILIES))
def test_foolbox_dict_equals_numpy_form(family, pixels):
    identity = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Identity()])
    fmodel = fb.TensorFlowModel(identity, bounds=(0, 255),
                                preprocessing=family.foolbox())
    through_foolbox = fmodel(tf.constant(pixels)).numpy()
    np.testing.assert_allclose(through_foolbox, family(pixels), atol=1e-4)


def test_caffe_really_flips_to_bgr():
    red = np.zeros((1, 1, 1, 3), np.float32)
    red[..., 0] = 255  # pure red in RGB
    bgr = preprocess.CAFFE(red)[0, 0, 0]
    assert bgr[2] == pytest.approx(255 - 123.68)  # red lands in the last slot


def test_rejects_channels_first():
    with pytest.raises(InvalidArgument, match="channels-last"):
        preprocess.CAFFE(np.zeros((1, 3, 8, 8)))


def test_unknown_family():
    with pytest.raises(InvalidArgument, match="caffe"):
        preprocess.get("bgr")


@pytest.mark.parametrize("family", list(preprocess.FAMILIES.values()),
                         ids=list(preprocess.FAMILIES))
def test_tensorflow_form_equals_numpy_form(family, pixels):
    np.testing.assert_allclose(family.tf(pixels).numpy(), family(pixels), atol=1e-4)
