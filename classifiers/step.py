"""Classifier state, optimizers, and the compiled train and eval steps.

`train_steps` runs several optimizer steps in one compiled call (a lax.scan over a whole
epoch for MLPs), drawing batches on device; stacking states and wrapping it in `jax.vmap`
trains several variants (learning rates, seeds) in one program (classifiers/sweep.py).
"""
import dataclasses

import jax
import jax.numpy as jnp
import optax
from flax import struct

from common import batches, data, mesh as mesh_lib
from classifiers import losses, models as models_lib, optimizers
from common import attacks

@struct.dataclass
class ClassifierState:
  step: jax.Array         # optimizer steps done
  rng: jax.Array          # base key: init, data order and dropout streams derive from it
  params: dict
  opt_state: optax.OptState  # holds the learning rate (inject_hyperparams), so it can vary
  data_order: jax.Array      # this epoch's permutation of the training set


@dataclasses.dataclass(frozen=True)
class Setup:
  """The static half of a run."""
  model: object
  optimizer: optax.GradientTransformation
  loss: str
  pixel_range: str
  batch_size: int
  image_shape: tuple
  mesh: object
  augment: str = 'none'    # see AUGMENTATIONS
  adversarial: str = 'none'       # see ADVERSARIAL
  adversarial_eps: float = 0.0    # unit pixels (L-inf)
  adversarial_steps: int = 1      # PGD steps
  adversarial_weight: float = 0.5  # the clean loss's share (Goodfellow et al.'s alpha)

# 'flip': mirror left-right with p = 1/2; 'flip_shift': also translate by up to 2 pixels
# (zero padding), as torchvision's RandomCrop(28, padding=2).
AUGMENTATIONS = ('none', 'flip', 'flip_shift')
# Adversarial training: each batch's loss is alpha * J(x) + (1 - alpha) * J(x_adv), with x_adv
# from FGSM (Goodfellow et al. 2014) or PGD with a random start (Madry et al. 2018) against
# the current parameters (without dropout), treated as data.
ADVERSARIAL = ('none', 'fgsm', 'pgd')
MAX_SHIFT = 2


def augment(images, key, kind: str):
  if kind == 'none':
    return images
  k_flip, k_shift = jax.random.split(key)
  flip = jax.random.bernoulli(k_flip, 0.5, (images.shape[0], 1, 1, 1))
  images = jnp.where(flip, images[:, :, ::-1], images)
  if kind == 'flip_shift':
    n, h, w, _ = images.shape
    padded = jnp.pad(images, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT), (0, 0)))
    offsets = jax.random.randint(k_shift, (n, 2), 0, 2 * MAX_SHIFT + 1)
    crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, img.shape[-1]))
    images = jax.vmap(crop)(padded, offsets)
  return images


def _streams(rng):
  init_key, data_key, noise_key = jax.random.split(rng, 3)  # noise: dropout, augmentation
  return init_key, data_key, noise_key


def create_state(setup: Setup, rng, num_examples: int) -> ClassifierState:
  init_key, data_key, _ = _streams(rng)
  params = models_lib.init_params(setup.model, init_key, setup.image_shape)
  return ClassifierState(
      step=jnp.zeros((), jnp.int32), rng=rng, params=params,
      opt_state=setup.optimizer.init(params),
      data_order=batches.order_at(data_key, 0, num_examples=num_examples,
                                  batch_size=setup.batch_size))


def set_learning_rate(state: ClassifierState, learning_rate) -> ClassifierState:
  return state.replace(opt_state=optimizers.set_learning_rate(state.opt_state, learning_rate))


def loss_fn(params, setup: Setup, images, labels, dropout_key, adversarial=None):
  """The batch loss and the clean outputs; with `adversarial` images, Goodfellow's mix."""
  loss = losses.LOSSES[setup.loss]
  if adversarial is None:
    outputs = setup.model.apply({'params': params}, images, train=True,
                                rngs={'dropout': dropout_key})
    return loss(outputs, labels), outputs
  both = setup.model.apply({'params': params}, jnp.concatenate([images, adversarial]),
                           train=True, rngs={'dropout': dropout_key})
  clean, adv = both[:len(images)], both[len(images):]
  w = setup.adversarial_weight
  return w * loss(clean, labels) + (1 - w) * loss(adv, labels), clean


def adversarial_examples(params, setup: Setup, images, labels, key):
  if setup.adversarial == 'none':
    return None
  apply_fn = lambda p, x: setup.model.apply({'params': p}, x)
  bounds = data.bounds(setup.pixel_range)
  eps = setup.adversarial_eps
  if setup.adversarial == 'fgsm':
    adv = attacks.fgsm(apply_fn, params, images, labels, eps, bounds=bounds)
  else:
    adv = attacks.pgd(apply_fn, params, images, labels, key, eps=eps,
                      step_size=2.5 * eps / setup.adversarial_steps,
                      num_steps=setup.adversarial_steps, bounds=bounds)
  return jax.lax.stop_gradient(adv)


def _flip_matrices(tree):
  """Transposes every 2-D leaf (dense kernels and their optimizer moments).

  The steps carry dense kernels as [out, in]: XLA:CPU then computes a batch's weight
  gradient as [out, batch] @ [batch, in], with the long input axis contiguous, ~3x faster
  than Flax's [in, out] for report 000's MLP at batch 4 (35 -> 13 us a step for the first
  layer). The optimizers here are elementwise, so they run on the flipped trees as is.
  """
  return jax.tree.map(lambda a: a.T if a.ndim == 2 else a, tree)


def train_steps(state: ClassifierState, images, labels, *, setup: Setup, num_steps: int):
  """`num_steps` optimizer steps; returns the state and the steps' mean loss and accuracy.

  `images` (uint8) and `labels` are the whole training set; each batch is gathered from
  the epoch permutation and split over the mesh's 'data' axis.
  """
  num_examples = images.shape[0]
  _, data_key, dropout_key = _streams(state.rng)

  def one_step(carry, i):
    flipped_params, opt_state, order = carry
    params = _flip_matrices(flipped_params)
    counter = state.step + i
    order, idx = batches.next_indices(order, data_key, counter, num_examples=num_examples,
                                      batch_size=setup.batch_size)
    k_drop, k_aug, k_adv = jax.random.split(jax.random.fold_in(dropout_key, counter), 3)
    x = augment(data.to_float(images[idx], setup.pixel_range), k_aug, setup.augment)
    x = mesh_lib.shard_batch(x, setup.mesh)
    y = mesh_lib.shard_batch(labels[idx], setup.mesh)
    x_adv = adversarial_examples(params, setup, x, y, k_adv)
    (loss, outputs), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, setup, x, y, k_drop, x_adv)
    updates, opt_state = setup.optimizer.update(_flip_matrices(grads), opt_state,
                                                flipped_params)
    accuracy = jnp.mean(losses.predictions(outputs) == y)
    return ((optax.apply_updates(flipped_params, updates), opt_state, order),
            (loss, accuracy))

  flipped = _flip_matrices((state.params, state.opt_state))
  (params, opt_state, order), (loss, accuracy) = jax.lax.scan(
      one_step, (*flipped, state.data_order), jnp.arange(num_steps))
  params, opt_state = _flip_matrices((params, opt_state))
  state = state.replace(step=state.step + num_steps, params=params, opt_state=opt_state,
                        data_order=order)
  return state, {'train_loss': jnp.mean(loss), 'train_accuracy': jnp.mean(accuracy)}


def eval_batch(params, images, labels, mask, *, setup: Setup):
  """Sums over the masked examples of one batch: loss, correct, squared error; predictions."""
  x = data.to_float(images, setup.pixel_range)
  outputs = setup.model.apply({'params': params}, x)
  weight = mask.astype(jnp.float32)
  per_example = jax.vmap(lambda o, y: losses.LOSSES[setup.loss](o[None], y[None]))(
      outputs, labels)
  predicted = losses.predictions(outputs)
  return {'loss': jnp.sum(per_example * weight),
          'correct': jnp.sum((predicted == labels) * weight),
          'squared_error': jnp.sum(losses.squared_errors(outputs, labels) * weight),
          'count': jnp.sum(weight)}, predicted
