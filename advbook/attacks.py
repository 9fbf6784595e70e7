"""A thin layer over foolbox 3: device-placed, compiled models and tidy runs."""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Optional, Sequence, Union

import eagerpy as ep
import foolbox as fb
import numpy as np
import pandas as pd

from . import imagenet, models
from .checks import check_epsilons, check_labels, check_positive_int
from .config import data_file
from .errors import InvalidArgument
from .images import check_images
from .numerics import softmax
from .progress import tqdm

IMAGENET_CLASSES = 1000  # run_attack works on advbook's ImageNet classifiers
Criterionish = Union[fb.criteria.Criterion, Sequence[int], np.ndarray]


def _numpy2_shim_for_eagerpy() -> None:
    """Let eagerpy 0.30 (foolbox's backend) mix dtypes under NumPy 2.

    eagerpy promotes mismatched dtypes (say int32 labels against int64
    argmax) with np.find_common_type, which NumPy 2 removed. eagerpy is no
    longer maintained, so give its TensorFlow module a numpy that still has
    it, computed with np.result_type (the same answer for array dtypes).
    """
    import eagerpy.tensor.tensorflow as ep_tf

    if hasattr(np, "find_common_type") or hasattr(ep_tf.np, "find_common_type"):
        return

    class NumpyWithFindCommonType(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return getattr(np, name)

        @staticmethod
        def find_common_type(array_types: list, scalar_types: list) -> np.dtype:
            return np.result_type(*array_types, *scalar_types)

    ep_tf.np = NumpyWithFindCommonType("numpy")


_numpy2_shim_for_eagerpy()


@lru_cache(maxsize=1)
def device() -> str:
    """'/GPU:0' when TensorFlow sees a GPU (memory growth on), else '/CPU:0'."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            # Grow on demand, so a notebook does not grab the whole card.
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth is fixed by then
            pass
    return "/GPU:0" if gpus else "/CPU:0"


def foolbox_model(name_or_model: Union[str, models.Classifier]) -> fb.TensorFlowModel:
    """A foolbox TensorFlowModel on 0-255 pixels, with a compiled forward pass."""
    import tensorflow as tf

    classifier = (models.load(name_or_model) if isinstance(name_or_model, str)
                  else name_or_model)
    if not isinstance(classifier, models.Classifier):
        raise InvalidArgument(
            "foolbox_model needs a registry name such as 'efficientnet_lite0' "
            f"or an advbook Classifier; got {type(name_or_model).__name__}")
    # foolbox would call the keras model eagerly; the compiled forward pass
    # runs about twice as fast, and input gradients still flow through it.
    # compiled(attack) goes further: the whole gradient step in one call.
    forward = classifier.compiled_forward()
    with tf.device(device()):
        return fb.TensorFlowModel(forward, bounds=(0, 255), device=device(),
                                  preprocessing=classifier.preprocessing.foolbox())


_BaseGradientDescent = fb.attacks.gradient_descent_base.BaseGradientDescent


class _LossRecipe:
    """foolbox's loss_fn, with what built it, so a trace can rebuild it.

    Calling it runs foolbox's own loss, eagerly, as before.
    """

    def __init__(self, make_loss: Callable, model: fb.Model, labels: ep.Tensor):
        self.make_loss, self.model, self.labels = make_loss, model, labels
        self.eager = make_loss(model, labels)

    def __call__(self, x: ep.Tensor) -> ep.Tensor:
        return self.eager(x)

    def cache_key(self) -> Any:
        """foolbox's own loss depends on nothing but (model, labels), so every
        attack object shares one trace; an overridden one gets its own."""
        func = getattr(self.make_loss, "__func__", None)
        return func if func is _BaseGradientDescent.get_loss_fn else self.make_loss


def _grad_step(recipe: _LossRecipe) -> Callable:
    """(x, labels) -> (loss, ∂loss/∂x) as one tf.function, cached per recipe."""
    import tensorflow as tf

    # Kept on the model, so the traces go when it goes. The model is part
    # of the key because copy.copy(model) (transform_bounds) shares the dict.
    per_model = recipe.model.__dict__.setdefault("_advbook_grad_steps", {})
    key = (recipe.cache_key(), recipe.model)
    if key not in per_model:
        make_loss, model = recipe.make_loss, recipe.model

        # The loss is rebuilt inside the trace, so the labels are a graph
        # input and one trace serves every batch of that shape (after a
        # second batch size, of any). The tape is written out because
        # eagerpy's asserts equal static shapes, which an unknown batch
        # dimension never has.
        @tf.function(reduce_retracing=True)
        def step(x, labels):
            loss_fn = make_loss(model, ep.astensor(labels))
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = loss_fn(ep.astensor(x)).raw
            return loss, tape.gradient(loss, x)

        per_model[key] = step
    return per_model[key]


class _CompiledGradient:
    """An attack's get_loss_fn and value_and_grad, replaced (foolbox allows both).

    foolbox's loop calls value_and_grad(loss_fn, x) once per step. Eagerly
    that is a tape around the loss ops and the compiled forward, which TF
    runs as two graph calls (see foolbox_model). Here loss, forward and
    backward are one tf.function, as in ab.tf_attacks; the loop, the
    projection and the criterion stay foolbox's own.
    """

    def __init__(self, attack: _BaseGradientDescent):
        self.make_loss = attack.get_loss_fn
        self.eager_value_and_grad = attack.value_and_grad

    def get_loss_fn(self, model: fb.Model, labels: ep.Tensor) -> _LossRecipe:
        return _LossRecipe(self.make_loss, model, labels)

    def value_and_grad(self, loss_fn: Callable, x: ep.Tensor) -> tuple:
        if not (isinstance(loss_fn, _LossRecipe) and isinstance(x, ep.TensorFlowTensor)):
            return self.eager_value_and_grad(loss_fn, x)
        loss, grad = _grad_step(loss_fn)(x.raw, loss_fn.labels.raw)
        return ep.astensor(loss), ep.astensor(grad)


def compiled(attack: fb.attacks.Attack) -> fb.attacks.Attack:
    """The same foolbox attack, each loss-and-gradient step one compiled call.

    Call it as the attack itself: `compiled(fb.attacks.LinfPGD())(fmodel, x,
    criterion, epsilons=...)`. It speeds up foolbox's gradient-descent family
    (FGSM, FGM, L1/L2/LinfPGD, BIM, ...) on TensorFlow models; any other
    attack comes back as it was.
    """
    if not isinstance(attack, _BaseGradientDescent) or hasattr(attack, "_advbook_compiled"):
        return attack
    import copy

    fast = copy.copy(attack)  # the caller's attack object stays eager
    hooks = _CompiledGradient(attack)
    fast.get_loss_fn = hooks.get_loss_fn  # type: ignore[method-assign]
    fast.value_and_grad = hooks.value_and_grad  # type: ignore[method-assign]
    fast._advbook_compiled = True  # type: ignore[attr-defined]
    return fast


def as_label_tensor(labels: Any) -> Any:
    """Class ids as a TensorFlow int64 tensor, the dtype argmax returns.

    eagerpy (under foolbox) compares tensors of different dtypes through
    np.find_common_type, which NumPy 2 removed; matching dtypes avoids it.
    """
    import tensorflow as tf

    raw = labels.raw if isinstance(labels, ep.Tensor) else labels
    return tf.cast(tf.constant(np.asarray(raw)), tf.int64)


class ConfidentMisclassification(fb.criteria.Misclassification):
    """Adversarial when the top class is wrong and has probability >= threshold.

    foolbox 3 dropped this criterion. Subclassing Misclassification keeps it
    usable by gradient attacks, which ascend the loss of the true labels.
    """

    def __init__(self, labels: Any, threshold: float = 0.9):
        raw = np.asarray(labels.raw if isinstance(labels, ep.Tensor) else labels)
        check_labels(raw, max(raw.size, 1), IMAGENET_CLASSES)
        super().__init__(as_label_tensor(raw))
        if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):  # NaN fails too
            raise InvalidArgument(f"threshold must be in (0, 1]; got {threshold!r}")
        self.threshold = float(threshold)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.labels!r}, "
                f"threshold={self.threshold})")

    def __call__(self, perturbed: Any, outputs: Any) -> Any:
        logits, restore_type = ep.astensor_(outputs)
        del perturbed, outputs
        if self.labels.shape[0] != logits.shape[0]:
            # Broadcasting would stretch one label over the whole batch.
            raise InvalidArgument(
                f"ConfidentMisclassification has {self.labels.shape[0]} labels "
                f"for a batch of {logits.shape[0]}; give one label per image")
        probs = ep.softmax(logits, axis=-1)
        wrong = probs.argmax(axis=-1) != self.labels
        confident = probs.max(axis=-1) >= self.threshold
        return restore_type(ep.logical_and(wrong, confident))


def _criterion_for(labels_or_criterion: Criterionish, n: int) -> fb.criteria.Criterion:
    """Accept a foolbox criterion or integer labels (-> Misclassification).

    A criterion's labels are checked too: one label for N images, or a class
    id the model does not have, would report clean images as fooled.
    """
    if isinstance(labels_or_criterion, fb.criteria.Criterion):
        for attr in ("labels", "target_classes"):
            values = getattr(labels_or_criterion, attr, None)
            if values is not None:
                raw = values.raw if isinstance(values, ep.Tensor) else values
                check_labels(np.asarray(raw), n, IMAGENET_CLASSES,
                             f"the criterion's {attr}")
        return labels_or_criterion
    labels = check_labels(labels_or_criterion, n, IMAGENET_CLASSES, "labels")
    return fb.criteria.Misclassification(as_label_tensor(labels))


def _as_fmodel(fmodel: Any) -> fb.models.Model:
    """A foolbox model; an advbook Classifier is wrapped by foolbox_model."""
    if isinstance(fmodel, models.Classifier):
        return foolbox_model(fmodel)
    if not isinstance(fmodel, fb.models.Model):
        raise InvalidArgument(
            f"fmodel must be a foolbox model; got {type(fmodel).__name__}. "
            "Wrap an advbook classifier first: fmodel = "
            "ab.attacks.foolbox_model(classifier) (a bare Keras model lacks "
            "the bounds and preprocessing foolbox needs)")
    return fmodel


def _subset(criterion: fb.criteria.Criterion, rows: slice) -> fb.criteria.Criterion:
    """The same criterion restricted to a batch slice."""
    import copy

    part = copy.copy(criterion)
    for attr in ("labels", "target_classes"):
        if hasattr(part, attr):
            values = getattr(part, attr)
            raw = values.raw if isinstance(values, ep.Tensor) else values
            setattr(part, attr, ep.astensor(as_label_tensor(np.asarray(raw)[rows])))
    return part


@dataclass
class AttackResult:
    """What an attack did to a batch, per ε."""

    epsilons: list[float]
    clean: np.ndarray  # (N, H, W, 3)
    adversarials: np.ndarray  # (len(epsilons), N, H, W, 3), clipped to 0-255
    success: np.ndarray  # (len(epsilons), N) bool
    clean_probs: np.ndarray  # (N, 1000)
    adversarial_probs: np.ndarray  # (len(epsilons), N, 1000)

    @property
    def success_rate(self) -> pd.Series:
        """Fraction of images fooled at each ε."""
        return pd.Series(self.success.mean(axis=1), index=pd.Index(
            self.epsilons, name="epsilon"), name="success_rate")

    def top_k_before(self, i: int = 0, k: int = 3) -> pd.DataFrame:
        """Top-k classes of clean image i."""
        return imagenet.top_k(self.clean_probs[i], k)

    def top_k_after(self, i: int = 0, eps_index: int = -1, k: int = 3) -> pd.DataFrame:
        """Top-k classes of image i's adversarial at epsilons[eps_index]."""
        return imagenet.top_k(self.adversarial_probs[eps_index, i], k)

    def smallest_successful_epsilon(self, i: int = 0) -> float | None:
        """The smallest ε in the sweep that fooled image i (None if none did)."""
        hits = [e for e, ok in zip(self.epsilons, self.success[:, i]) if ok]
        return min(hits) if hits else None


def run_attack(attack: fb.attacks.Attack, fmodel: fb.TensorFlowModel,
               images: np.ndarray, labels_or_criterion: Criterionish,
               epsilons: Union[float, Sequence[float]], batch_size: int = 16,
               progress: Optional[bool] = None) -> AttackResult:
    """Run a foolbox attack over a batch in chunks, for every ε.

    Gradient attacks run through `compiled` (the same results, one compiled
    call per step). progress=None leaves the bar to tqdm's defaults
    (TQDM_DISABLE=1 hides it).
    """
    import tensorflow as tf

    x = check_images(images)
    eps = check_epsilons(epsilons)
    criterion = _criterion_for(labels_or_criterion, len(x))
    batch_size = check_positive_int("batch_size", batch_size)
    fmodel = _as_fmodel(fmodel)
    attack = compiled(attack)

    def probs(batch: np.ndarray) -> np.ndarray:
        return softmax(fmodel(tf.constant(batch)).numpy())

    adversarials, successes, clean_probs, adv_probs = [], [], [], []
    starts = range(0, len(x), batch_size)
    # tqdm's own disable=None means "off unless a terminal", so the choice
    # is passed only when the caller made one.
    shown = {} if progress is None else {"disable": not progress}
    for start in tqdm(starts, desc=type(attack).__name__, leave=False, **shown):
        rows = slice(start, start + batch_size)
        with tf.device(device()):
            _, clipped, success = attack(fmodel, tf.constant(x[rows]),
                                         _subset(criterion, rows), epsilons=eps)
            chunk = np.stack([c.numpy() for c in clipped])
            clean_probs.append(probs(x[rows]))
            adv_probs.append(np.stack([probs(a) for a in chunk]))
        adversarials.append(chunk)
        successes.append(success.numpy())
    return AttackResult(
        epsilons=eps, clean=x,
        adversarials=np.concatenate(adversarials, axis=1),
        success=np.concatenate(successes, axis=1),
        clean_probs=np.concatenate(clean_probs),
        adversarial_probs=np.concatenate(adv_probs, axis=1),
    )


def migration_table() -> pd.DataFrame:
    """foolbox 1/2 calls beside their foolbox 3 equivalents (data/)."""
    return pd.read_csv(data_file("foolbox_migration.csv")).set_index("topic")
