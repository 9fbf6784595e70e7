"""advbook.adversarial_regularization: NSL-style adversarial neighbours in Keras 3."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from advbook import datasets, small_models
from advbook.adversarial_regularization import (AdversarialRegularization,
                                                make_neighbours)
from advbook.errors import InvalidArgument

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.fixture(scope="module")
def digits():
    data = datasets.digits()
    return data.x_train[:256], data.y_train[:256]


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return small_models.dense_net(hidden=(32,))


def _twin(model):
    """A second model with the same architecture and weights."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def _compile(model, optimizer=None):
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2), loss=LOSS)
    return model


def _max_weight_gap(a, b):
    pairs = zip(a.get_weights(), b.get_weights())
    return max(np.abs(u - v).max() for u, v in pairs)


@pytest.mark.parametrize("step", [0.05, 0.2])
def test_infinity_neighbour_moves_every_example_by_the_step(digits, step):
    x, y = digits
    delta = make_neighbours(_model(), x[:64], y[:64], step, "infinity") - x[:64]
    np.testing.assert_allclose(np.abs(delta).reshape(64, -1).max(axis=1), step,
                               rtol=1e-5)
    # Each pixel moves by +step, -step or (zero gradient) not at all.
    moved = np.abs(delta[np.abs(delta) > 1e-7])
    np.testing.assert_allclose(moved, step, rtol=1e-5)


@pytest.mark.parametrize("step", [0.05, 0.5])
def test_l2_neighbour_is_the_step_away_in_l2(digits, step):
    x, y = digits
    delta = make_neighbours(_model(), x[:64], y[:64], step, "l2") - x[:64]
    np.testing.assert_allclose(np.linalg.norm(delta.reshape(64, -1), axis=1),
                               step, rtol=1e-5)


def test_neighbour_follows_the_loss_gradient(digits):
    x, y = digits
    model = _model()
    near = make_neighbours(model, x[:64], y[:64], 0.05, "l2")
    assert LOSS(y[:64], model(near)) > LOSS(y[:64], model(x[:64]))


def test_clipping_keeps_neighbours_in_range(digits):
    x, y = digits
    near = make_neighbours(_model(), x[:64], y[:64], 0.3, "linf", clip=(0, 1))
    assert near.min() >= 0 and near.max() <= 1
    assert np.abs(near - x[:64]).max() <= 0.3 + 1e-6


def test_multiplier_zero_trains_exactly_like_plain_training(digits):
    x, y = digits
    base = _model()
    plain = _compile(_twin(base))
    wrapped = _compile(AdversarialRegularization(base, multiplier=0.0))
    for model in (wrapped, plain):
        model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    assert _max_weight_gap(base, plain) < 1e-6
    assert _max_weight_gap(base, _model()) > 1e-2  # and training did happen


def test_one_step_minimises_labelled_plus_multiplier_times_neighbour_loss(digits):
    x, y = digits[0][:32], digits[1][:32]
    multiplier, step, rate = 0.7, 0.1, 0.5
    base = _model()
    expected = _twin(base)
    # By hand: one SGD step on labelled + multiplier x neighbour loss.
    near = make_neighbours(expected, x, y, step, "l2", clip=(0, 1))
    with tf.GradientTape() as tape:
        total = LOSS(y, expected(x)) + multiplier * LOSS(y, expected(near))
    grads = tape.gradient(total, expected.trainable_weights)
    for weight, grad in zip(expected.trainable_weights, grads):
        weight.assign_sub(rate * grad)
    wrapped = AdversarialRegularization(base, multiplier=multiplier,
                                        adv_step_size=step, adv_grad_norm="l2",
                                        clip=(0, 1))
    _compile(wrapped, keras.optimizers.SGD(rate))
    history = wrapped.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert _max_weight_gap(base, expected) < 1e-5
    np.testing.assert_allclose(history.history["loss"][0], float(total), rtol=1e-5)
    assert history.history["neighbour_loss"][0] > 0


def test_a_positive_multiplier_changes_training(digits):
    x, y = digits
    base = _model()
    plain = _compile(_twin(base))
    wrapped = _compile(AdversarialRegularization(base, clip=(0, 1)))
    for model in (wrapped, plain):
        model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert _max_weight_gap(base, plain) > 1e-3


def test_defaults_are_those_of_nsl_mnist_tutorial():
    # NSL's MNIST tutorial: multiplier 0.2, step 0.2, infinity. (NSL's library
    # defaults, AdvRegConfig, are 0.2, 0.001 and L2: not what we use.)
    wrapped = AdversarialRegularization(_model())
    assert (wrapped.multiplier, wrapped.adv_step_size) == (0.2, 0.2)
    assert wrapped.adv_grad_norm == "linf" and wrapped.clip is None


@pytest.mark.parametrize("kwargs", [
    {"multiplier": -0.1}, {"multiplier": float("nan")}, {"multiplier": "big"},
    {"adv_step_size": -1}, {"adv_step_size": float("inf")},
    {"adv_grad_norm": "l3"}, {"adv_grad_norm": 2},
    {"clip": (1, 0)}, {"clip": 5}, {"clip": (0, float("nan"))}])
def test_bad_arguments_raise_invalid_argument(kwargs):
    with pytest.raises(InvalidArgument):
        AdversarialRegularization(_model(), **kwargs)


def test_bad_inputs_raise_invalid_argument(digits):
    x, y = digits
    with pytest.raises(InvalidArgument):
        AdversarialRegularization("not a model")
    with pytest.raises(InvalidArgument):
        make_neighbours(_model(), x[:4], y[:3])
    with pytest.raises(InvalidArgument):
        make_neighbours(_model(), x[:4], y[:4], norm="l1")
    with pytest.raises(InvalidArgument):
        AdversarialRegularization(_model()).compile(optimizer="adam",
                                                    loss=[LOSS, LOSS])
