"""Transfer recipes on top of a conv base: a new head on frozen features, fine-tuning with
part of the network frozen, features + linear SVM.

Frozen parameters are not an optimizer's zero learning rate: they are passed to the step as a
separate argument, so they get no optimizer state and no gradient (JAX differentiates only
the trainable tree). A frozen base below the head is run once to cache its features.
"""
from collections.abc import Callable, Sequence
import dataclasses
import functools
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from common import batching, checks, loop, mesh as mesh_lib
from transfer import vgg16


class Head(nn.Module):
  """Flatten -> Dense(h, ReLU) for h in `hidden` -> Dense(num_classes): report 000's new head
  (hidden (50,)) on a truncated VGG16."""
  num_classes: int
  hidden: Sequence[int] = (50,)

  @nn.compact
  def __call__(self, x):
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.num_classes)(x)


def partition(params: dict, trainable: Callable[[str], bool]):
  """Split a parameter dict by top-level name: (trainable, frozen)."""
  return ({k: p for k, p in params.items() if trainable(k)},
          {k: p for k, p in params.items() if not trainable(k)})


MAX_STEPS_PER_CALL = 16


def steps_per_call(steps: int) -> int:
  """The steps of each of fit's calls: the largest divisor of `steps` up to
  MAX_STEPS_PER_CALL (one compiled program per fit)."""
  return loop.largest_divisor(steps, MAX_STEPS_PER_CALL)


def fit(apply_fn, trainable, frozen, images, labels, *, steps: int, batch_size: int,
        learning_rate, seed: int):
  """Adam on softmax cross-entropy for `steps` steps of random batches (reshuffled each
  epoch); `apply_fn({**trainable, **frozen}, x)` gives logits. The steps run in calls of
  `steps_per_call(steps)`, each one rolled loop, whose buffers are allocated once (the
  transfer demo's step took ~30 % less time than at one step a call: `python -m
  benchmarks.classifier_epoch --only=transfer`). The compiled calls are cached on (apply_fn,
  learning_rate, mesh): pass a BaseAndHead or its bound methods, not a new lambda. In a
  multi-process job each batch is split over the job's devices (mesh.job_mesh). Returns
  (trainable params, losses per step)."""
  mesh = mesh_lib.job_mesh()
  opt, steps_fn = _rolled_steps(apply_fn, learning_rate, mesh)
  # the data goes to the devices once; each call sends only its batches' indices
  trainable, frozen, images, labels = mesh_lib.put_replicated(
      (trainable, frozen, images, labels), mesh)
  opt_state = opt.init(trainable)
  n = len(labels)
  batch_size = min(batch_size, n)
  per_epoch = n // batch_size
  k = steps_per_call(steps)
  rng = np.random.default_rng(seed)
  order, losses = None, []
  for start in range(0, steps, k):
    idx = []
    for i in range(start, start + k):
      if i % per_epoch == 0:
        order = rng.permutation(n).astype(np.int32)
      idx.append(order[(i % per_epoch) * batch_size:(i % per_epoch + 1) * batch_size])
    trainable, opt_state, loss = steps_fn(trainable, opt_state, frozen, images, labels,
                                          mesh_lib.put_replicated(np.stack(idx), mesh))
    losses.append(mesh_lib.local_copy(mesh_lib.wait_in_cpu_job(loss, mesh)))
  return trainable, np.concatenate(jax.device_get(losses))


def _adam(learning_rate):
  """Adam; `learning_rate` a number, or ((top-level name, rate), ...) for one per layer."""
  if isinstance(learning_rate, (int, float)):
    return optax.adam(learning_rate)
  rates = dict(learning_rate)
  return optax.multi_transform(
      {name: optax.adam(rate) for name, rate in rates.items()},
      lambda params: {k: jax.tree.map(lambda _, k=k: k, p) for k, p in params.items()})


@functools.lru_cache(maxsize=16)   # one jitted function per (model, learning rate, mesh)
def _rolled_steps(apply_fn, learning_rate, mesh):
  """(optimizer, steps(trainable, opt_state, frozen, images, labels, idx)): a step for each
  row of `idx`, in one rolled loop."""
  opt = _adam(learning_rate)

  def loss_fn(trainable, frozen, x, y):
    logits = apply_fn({**trainable, **frozen}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

  @functools.partial(jax.jit, out_shardings=mesh_lib.replicated(mesh))
  def steps(trainable, opt_state, frozen, images, labels, idx):
    def step(carry, rows):   # rows: a batch's indices
      trainable, opt_state = carry
      batch = mesh_lib.batch_or_replicated(mesh, len(rows))   # split over the job's devices
      x, y = (jax.lax.with_sharding_constraint(a[rows], batch) for a in (images, labels))
      loss, grads = jax.value_and_grad(loss_fn)(trainable, frozen, x, y)
      updates, opt_state = opt.update(grads, opt_state, trainable)
      return (optax.apply_updates(trainable, updates), opt_state), loss
    (trainable, opt_state), losses = jax.lax.scan(step, (trainable, opt_state), idx)
    return trainable, opt_state, losses
  return opt, steps


def outputs(fn, images, batch_size: int, *args) -> np.ndarray:
  """fn(*args, batch) over fixed-size batches, as one numpy array; compiled once per fn. In a
  multi-process job each batch is split over the job's devices (mesh.job_mesh)."""
  mesh = mesh_lib.job_mesh()
  jitted, args = _jit(fn, mesh), mesh_lib.put_replicated(args, mesh)
  return batching.in_batches(lambda x: jitted(*args, x), (images,), batch_size, mesh)


@functools.lru_cache(maxsize=32)
def _jit(fn, mesh):
  return jax.jit(fn, out_shardings=mesh_lib.replicated(mesh))


def accuracy(logits, labels) -> float:
  return float(np.mean(np.argmax(logits, -1) == labels))


def svm_sweep(train_x, train_y, test_x, test_y, cs: Sequence[float], seed: int = 0):
  """Linear SVMs (scikit-learn's LinearSVC, one-vs-rest, dual coordinate descent: 3-10x
  faster than the primal solver on 5,000 x 3,136 features) on standardised features, one per
  C: [{'C', 'test_accuracy', 'cv_accuracy', 'seconds'}], the CV accuracy from 3-fold
  cross-validation on the training features only (what picks C without the test set)."""
  from sklearn import model_selection, pipeline, preprocessing, svm  # pylint: disable=g-import-not-at-top
  train_x = np.asarray(train_x, np.float32).reshape(len(train_x), -1)
  test_x = np.asarray(test_x, np.float32).reshape(len(test_x), -1)
  folds = min(3, int(np.bincount(train_y).min()))
  rows = []
  for c in cs:
    t0 = time.perf_counter()
    model = pipeline.make_pipeline(
        preprocessing.StandardScaler(),
        svm.LinearSVC(C=c, dual=True, max_iter=2000, random_state=seed))
    cv = (float(np.mean(model_selection.cross_val_score(model, train_x, train_y, cv=folds)))
          if folds >= 2 else float('nan'))
    model.fit(train_x, train_y)
    rows.append({'C': float(c), 'test_accuracy': float(model.score(test_x, test_y)),
                 'cv_accuracy': cv, 'seconds': time.perf_counter() - t0})
  return rows


def best_by_cv(rows):
  """The row whose C has the best cross-validation accuracy (ties: the smaller C)."""
  return max(rows, key=lambda r: (r['cv_accuracy'], -r['C']))


def few_labels(labels, per_class: int, seed: int):
  """Indices of `per_class` random examples of each class (all of a class if fewer)."""
  rng = np.random.default_rng(seed)
  idx = [rng.permutation(np.flatnonzero(labels == c))[:per_class]
         for c in range(int(labels.max()) + 1)]
  return np.sort(np.concatenate(idx))


def timed(fn, *args, **kwargs):
  t0 = time.perf_counter()
  out = fn(*args, **kwargs)
  return out, time.perf_counter() - t0


def to_unit_float(images):
  return jnp.asarray(images, jnp.float32) / 255.0


@dataclasses.dataclass(frozen=True)
class BaseAndHead:
  """A VGG-style base (transfer.vgg16, any `blocks`) cut at `feature_layer`, then a Head.
  Parameters: the base's layers by name plus 'head'. Inputs are raw images, made the base's
  input by `prepare` on device. Hashable, so `fit` and `outputs` cache their programs."""
  blocks: tuple
  feature_layer: str
  num_classes: int
  hidden: tuple = (50,)
  dtype: Any = jnp.float32
  prepare: Callable | None = None

  def features(self, base_params, x):
    base = vgg16.VGG16(include_top=False, blocks=self.blocks, dtype=self.dtype)
    x = self.prepare(x) if self.prepare else x
    return base.apply({'params': base_params}, x, (self.feature_layer,))[self.feature_layer]

  def head(self, params, features):
    """Logits from features; params holds 'head' (and may hold the base's layers)."""
    return Head(self.num_classes, self.hidden).apply({'params': params['head']}, features)

  def __call__(self, params, x):
    return self.head(params, self.features(base_of(params), x))

  def init(self, rng, image_shape):
    base_key, head_key = jax.random.split(rng)
    base = vgg16.VGG16(include_top=False, blocks=self.blocks)
    params = dict(base.init(base_key, jnp.zeros((1, *image_shape)), (self.feature_layer,))
                  ['params'])
    features = jax.eval_shape(self.features, params, jnp.zeros((1, *image_shape), jnp.uint8))
    params['head'] = self.init_head(head_key, features.shape[1:])
    return params

  def init_head(self, rng, feature_shape):
    return Head(self.num_classes, self.hidden).init(rng, jnp.zeros((1, *feature_shape)))[
        'params']


def base_of(params: dict) -> dict:
  """The base's layers of a BaseAndHead's (or VGG16's) parameters: the conv blocks."""
  return {k: p for k, p in params.items() if k.startswith('block')}


def check_layer(config, key: str, name: str, include_top: bool, blocks=vgg16.BLOCKS):
  """A ConfigError naming `key` unless `name` is an output of the VGG (see vgg16.canonical)."""
  try:
    vgg16.canonical(name, include_top, blocks)
  except ValueError as e:
    raise checks.ConfigError(f'config.{key} = {name!r}: {e}') from None


def block_of(layer: str) -> int:
  """'block3_conv2' -> 3; the head (or anything else) -> a block after every base block."""
  return int(layer[5:layer.index('_')]) if layer.startswith('block') else 10 ** 6
