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
  # Plain SGD on an MLP: the first layer's updates wait for the end of a block of steps
  # (`train_steps`); build.build_setup turns it on where it holds.
  deferred_first_layer: bool = False

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
  if setup.deferred_first_layer:
    return _deferred_first_layer_steps(state, images, labels, setup, num_steps)
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
  (params, opt_state, order), metrics = jax.lax.scan(
      one_step, (*flipped, state.data_order), jnp.arange(num_steps))
  return _advanced(state, num_steps, params, opt_state, order, metrics)


def _advanced(state, num_steps, flipped_params, opt_state, order, metrics):
  """The state after `num_steps` steps (parameters back in Flax's layout), and the mean of
  the steps' (loss, accuracy)."""
  params, opt_state = _flip_matrices((flipped_params, opt_state))
  state = state.replace(step=state.step + num_steps, params=params, opt_state=opt_state,
                        data_order=order)
  loss, accuracy = metrics
  return state, {'train_loss': jnp.mean(loss), 'train_accuracy': jnp.mean(accuracy)}


# Steps per block of deferred first-layer updates: the largest divisor of a call's steps up to
# this (report 000's MLP sweep: 8 and 40 measured as fast as 24).
MAX_DEFERRED_BLOCK = 24


def _deferred_first_layer_steps(state, images, labels, setup: Setup, num_steps: int):
  """`train_steps` for plain SGD on an MLP, with the same result up to float rounding.

  At batch 4 a step's work is a rank-4 update of the first layer's kernel, which XLA:CPU
  runs at memory speed, reading and writing the whole kernel every step (for 64 vmapped
  variants, 4 MB a step). SGD's update is linear in the gradient x^T dL/dz, so the kernel
  W_s of step s within a block that started at W_0 gives
      x_s W_s = x_s W_0 + sum_{r < s} (x_s x_r^T) u_r,    u_r = -lr_r dL/dz_r,
  and W_end = W_0 + X^T U: the block's inputs X meet the kernel in two large matmuls, and
  each step only multiplies by the block's small Gram matrix X X^T. The variants of one seed
  share X (sweeps), so those matmuls merge across them. Kernels are [out, in] here.
  """
  num_examples, batch = images.shape[0], setup.batch_size
  _, data_key, _ = _streams(state.rng)
  block = max(k for k in range(1, MAX_DEFERRED_BLOCK + 1) if num_steps % k == 0)

  def one_block(carry, first):
    flipped_params, opt_state, order = carry

    def indices(order, i):
      return batches.next_indices(order, data_key, state.step + first + i,
                                  num_examples=num_examples, batch_size=batch)
    order, idx = jax.lax.scan(indices, order, jnp.arange(block))
    x_all = data.to_float(images[idx.reshape(-1)], setup.pixel_range)
    x_all = mesh_lib.shard_batch(x_all.reshape(block * batch, -1), setup.mesh)
    y_all = labels[idx]
    first_layer = flipped_params['Dense_0']
    z_start = first_layer['kernel'] @ x_all.T   # [out, block * batch]
    gram = x_all @ x_all.T
    rest = {**flipped_params, 'Dense_0': {'bias': first_layer['bias']}}

    def one_step(carry, i):
      rest, opt_state, u = carry   # u: [out, block * batch], -lr dL/dz of the steps so far
      columns = lambda a: jax.lax.dynamic_slice_in_dim(a, i * batch, batch, axis=1)
      z = (columns(z_start) + u @ columns(gram)).T
      y = y_all[i]

      def loss(rest, z):
        params = _flip_matrices(
            {**rest, 'Dense_0': {**rest['Dense_0'], 'kernel': first_layer['kernel']}})
        # the images only give the model its input width: z is their first matmul
        outputs = setup.model.apply({'params': params}, x_all[:batch], first_matmul=z)
        return losses.LOSSES[setup.loss](outputs, y), outputs
      (loss_value, outputs), (grads, dz) = jax.value_and_grad(loss, (0, 1), has_aux=True)(
          rest, z)
      # -lr of this step (SGD is stateless and linear: the update of a gradient of 1)
      scale = setup.optimizer.update({'unit': jnp.ones(())}, opt_state)[0]['unit']
      updates, opt_state = setup.optimizer.update(grads, opt_state, rest)
      u = jax.lax.dynamic_update_slice_in_dim(u, scale * dz.T, i * batch, axis=1)
      accuracy = jnp.mean(losses.predictions(outputs) == y)
      return (optax.apply_updates(rest, updates), opt_state, u), (loss_value, accuracy)

    u = jnp.zeros(z_start.shape, z_start.dtype)
    (rest, opt_state, u), metrics = jax.lax.scan(one_step, (rest, opt_state, u),
                                                 jnp.arange(block))
    kernel = first_layer['kernel'] + u @ x_all
    flipped_params = {**rest, 'Dense_0': {**rest['Dense_0'], 'kernel': kernel}}
    return (flipped_params, opt_state, order), metrics

  flipped = _flip_matrices((state.params, state.opt_state))
  (params, opt_state, order), metrics = jax.lax.scan(
      one_block, (*flipped, state.data_order), jnp.arange(0, num_steps, block))
  return _advanced(state, num_steps, params, opt_state, order, metrics)


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
