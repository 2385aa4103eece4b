"""The one train step of every GAN: `n_critic` discriminator updates, then `n_generator`
generator updates, with the variants differing only by their modules and loss functions.

`GAN` holds the static half of a run (modules, optimizers, loss and schedule choices);
`GANState` the dynamic half (both parameter sets and optimizer states, BatchNorm
statistics, the generator's EMA, step, RNG and the epoch's data order).
"""
import functools

import jax
import jax.numpy as jnp
import optax
from flax import struct
from jax.sharding import NamedSharding

from common import batches, data, mesh as mesh_lib
from gans import losses

LATENTS = ('normal', 'uniform')


@struct.dataclass
class GANState:
  step: jax.Array          # steps done (each: n_critic D updates, n_generator G updates)
  rng: jax.Array           # base key; step keys are fold_in(rng, step)
  g_params: dict
  d_params: dict
  g_opt_state: optax.OptState
  d_opt_state: optax.OptState
  data_order: jax.Array    # this epoch's permutation of the training set
  g_batch_stats: dict      # BatchNorm running statistics ({} without BatchNorm)
  d_batch_stats: dict
  ema_params: dict         # exponential moving average of g_params ({} when off)


@struct.dataclass
class GAN:
  """Modules, optimizers and loss settings: static, kept out of the state."""
  generator: object = struct.field(pytree_node=False)
  discriminator: object = struct.field(pytree_node=False)
  g_opt: optax.GradientTransformation = struct.field(pytree_node=False)
  d_opt: optax.GradientTransformation = struct.field(pytree_node=False)
  latent_dim: int = struct.field(pytree_node=False, default=128)
  latent: str = struct.field(pytree_node=False, default='normal')
  num_classes: int = struct.field(pytree_node=False, default=0)   # 0: unconditional
  loss: str = struct.field(pytree_node=False, default='non_saturating')
  minimax_after: int = struct.field(pytree_node=False, default=0)  # steps; 0: never
  n_critic: int = struct.field(pytree_node=False, default=1)
  n_generator: int = struct.field(pytree_node=False, default=1)
  gp_weight: float = struct.field(pytree_node=False, default=0.0)
  clip: float = struct.field(pytree_node=False, default=0.0)       # WGAN weight clipping
  real_target: tuple = struct.field(pytree_node=False, default=(1.0, 1.0))  # [low, high]
  fake_target: tuple = struct.field(pytree_node=False, default=(0.0, 0.0))
  # AC-GAN (Odena et al.): the weights of the discriminator's class head's cross-entropy on
  # real images in D's loss and on generated ones in G's loss; (0, 0): no class head
  acgan_weights: tuple = struct.field(pytree_node=False, default=(0.0, 0.0))
  ema_decay: float = struct.field(pytree_node=False, default=0.0)  # 0: no EMA
  pixel_range: str = struct.field(pytree_node=False, default='minus_one_one')

  @property
  def has_class_head(self) -> bool:
    """AC-GAN: the discriminator returns (scores, class logits)."""
    return bool(getattr(self.discriminator, 'aux_classes', 0))

  def loss_description(self) -> str:
    """E.g. 'wasserstein + gradient penalty, AC-GAN class head' (titles, the app's page)."""
    return (self.loss + (' + gradient penalty' if self.gp_weight else '')
            + (', AC-GAN class head' if self.has_class_head else ''))

  def sample_latent(self, key, n: int):
    if self.latent == 'uniform':
      return jax.random.uniform(key, (n, self.latent_dim), minval=-1.0, maxval=1.0)
    return jax.random.normal(key, (n, self.latent_dim))

  def sample_labels(self, key, n: int):
    return jax.random.randint(key, (n,), 0, max(self.num_classes, 1))

  def generate(self, g_params, g_batch_stats, z, labels):
    """Images in the data's pixel range, BatchNorm on its running statistics."""
    return apply(self.generator, g_params, g_batch_stats, z, labels, train=False)[0]


def apply(module, params, batch_stats, *inputs, train: bool, rng=None):
  """(outputs, batch_stats): updated statistics in training mode, the same ones otherwise."""
  variables = {'params': params}
  if batch_stats:
    variables['batch_stats'] = batch_stats
  rngs = {'dropout': rng} if rng is not None else {}
  if train and batch_stats:
    out, new = module.apply(variables, *inputs, train=True, rngs=rngs,
                            mutable=['batch_stats'])
    return out, new['batch_stats']
  return module.apply(variables, *inputs, train=train, rngs=rngs), batch_stats


def _streams(rng):
  """Independent keys for parameter init, the data order and the per-step noise."""
  init_key, data_key, step_key = jax.random.split(rng, 3)
  return init_key, data_key, step_key


def create_state(gan: GAN, rng, *, image_shape, num_examples: int,
                 batch_size: int) -> GANState:
  init_key, data_key, _ = _streams(rng)
  k_g, k_d = jax.random.split(init_key)
  labels = jnp.zeros((1,), jnp.int32)
  g_vars = gan.generator.init(k_g, jnp.zeros((1, gan.latent_dim)), labels)
  d_vars = gan.discriminator.init(k_d, jnp.zeros((1, *image_shape)), labels)
  g_params, d_params = g_vars['params'], d_vars['params']
  return GANState(
      step=jnp.zeros((), jnp.int32), rng=rng, g_params=g_params, d_params=d_params,
      g_opt_state=gan.g_opt.init(g_params), d_opt_state=gan.d_opt.init(d_params),
      data_order=batches.order_at(data_key, 0, num_examples=num_examples,
                                  batch_size=batch_size),
      g_batch_stats=g_vars.get('batch_stats', {}), d_batch_stats=d_vars.get('batch_stats', {}),
      ema_params=g_params if gan.ema_decay else {})


def _mean_output(gan: GAN, logits):
  """D(x) as report 001 logs it: a probability for the BCE losses, the raw score otherwise."""
  return jnp.mean(jax.nn.sigmoid(logits) if gan.loss in losses.PROBABILISTIC else logits)


def _split(gan: GAN, d_out):
  """(scores, class logits or None) of a discriminator's output."""
  return d_out if gan.has_class_head else (d_out, None)


def discriminator_loss_fn(d_params, d_batch_stats, gan: GAN, real, real_labels, fake,
                          fake_labels, key):
  k_real, k_fake, k_drop, k_alpha = jax.random.split(key, 4)
  critic = lambda p, s, x, y, k: apply(gan.discriminator, p, s, x, y, train=True, rng=k)
  d_real, stats = critic(d_params, d_batch_stats, real, real_labels, k_drop)
  d_fake, stats = critic(d_params, stats, fake, fake_labels, jax.random.fold_in(k_drop, 1))
  (d_real, real_classes), (d_fake, _) = _split(gan, d_real), _split(gan, d_fake)
  n = real.shape[0]
  loss = losses.discriminator_loss(
      gan.loss, d_real, d_fake, losses.label_targets(k_real, n, *gan.real_target),
      losses.label_targets(k_fake, n, *gan.fake_target))
  metrics = {'d_real': _mean_output(gan, d_real), 'd_fake': _mean_output(gan, d_fake)}
  if gan.loss == 'wasserstein':
    metrics['wasserstein_distance'] = -loss
  if real_classes is not None:
    metrics['d_class_loss'] = losses.class_loss(real_classes, real_labels)
    metrics['d_class_accuracy'] = jnp.mean(jnp.argmax(real_classes, -1) == real_labels)
    loss = loss + gan.acgan_weights[0] * metrics['d_class_loss']
  if gan.gp_weight:
    alpha = jax.random.uniform(k_alpha, (n,))
    gp, metrics['grad_norm'] = losses.gradient_penalty(
        lambda x: _split(gan, critic(d_params, d_batch_stats, x, real_labels, k_drop)[0])[0],
        losses.interpolate(real, fake, alpha))
    metrics['gradient_penalty'] = gp
    loss = loss + gan.gp_weight * gp
  metrics['d_loss'] = loss
  return loss, (metrics, stats)


def generator_loss_fn(g_params, g_batch_stats, d_params, d_batch_stats, gan: GAN, z, labels,
                      key, step):
  fake, g_stats = apply(gan.generator, g_params, g_batch_stats, z, labels, train=True)
  d_fake, _ = apply(gan.discriminator, d_params, d_batch_stats, fake, labels, train=True,
                    rng=key)  # the discriminator's statistics are updated on its own steps
  d_fake, fake_classes = _split(gan, d_fake)
  if gan.minimax_after:  # report 003: non-saturating first, then the minimax loss
    loss = jnp.where(step >= gan.minimax_after, losses.generator_loss('minimax', d_fake),
                     losses.generator_loss('non_saturating', d_fake))
  else:
    loss = losses.generator_loss(gan.loss, d_fake)
  if fake_classes is not None:
    loss = loss + gan.acgan_weights[1] * losses.class_loss(fake_classes, labels)
  return loss, g_stats


def ema_update(ema, params, decay: float, step):
  """ema <- d * ema + (1 - d) * params with d = min(decay, (1 + t) / (10 + t)): early
  steps are not averaged in for long (TensorFlow's ExponentialMovingAverage warm-up)."""
  d = jnp.minimum(decay, (1.0 + step) / (10.0 + step))
  return jax.tree.map(lambda e, p: d * e + (1.0 - d) * p, ema, params)


def train_step(state: GANState, data_arrays, *, gan: GAN, mesh, batch_size: int):
  """One step: `n_critic` discriminator updates, then `n_generator` generator updates.

  `data_arrays` is (uint8 images, int labels) of the whole training set, replicated;
  batches are gathered here from the epoch permutation and split over the mesh's 'data'
  axis.
  """
  images, labels = data_arrays
  num_examples = images.shape[0]
  _, data_key, step_key = _streams(state.rng)
  step_key = jax.random.fold_in(step_key, state.step)
  shard = lambda x: mesh_lib.shard_batch(x, mesh)

  def d_update(carry, i):
    d_params, d_stats, d_opt_state, order = carry
    k_z, k_y, k_loss = jax.random.split(jax.random.fold_in(step_key, i), 3)
    order, idx = batches.next_indices(order, data_key, state.step * gan.n_critic + i,
                                      num_examples=num_examples, batch_size=batch_size)
    real = shard(data.to_float(images[idx], gan.pixel_range))
    fake_labels = shard(gan.sample_labels(k_y, batch_size))
    fake, _ = apply(gan.generator, state.g_params, state.g_batch_stats,
                    shard(gan.sample_latent(k_z, batch_size)), fake_labels, train=True)
    grads, (metrics, d_stats) = jax.grad(discriminator_loss_fn, has_aux=True)(
        d_params, d_stats, gan, real, shard(labels[idx]), jax.lax.stop_gradient(fake),
        fake_labels, k_loss)
    updates, d_opt_state = gan.d_opt.update(grads, d_opt_state, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if gan.clip:
      d_params = losses.clip_weights(d_params, gan.clip)
    return (d_params, d_stats, d_opt_state, order), metrics

  # Unrolled: XLA:CPU runs convolutions ~9x slower inside a loop body (jax#12868).
  (d_params, d_stats, d_opt_state, order), d_metrics = jax.lax.scan(
      d_update, (state.d_params, state.d_batch_stats, state.d_opt_state, state.data_order),
      jnp.arange(gan.n_critic), unroll=True)

  def g_update(carry, j):
    g_params, g_stats, g_opt_state, ema = carry
    k_z, k_y, k_drop = jax.random.split(jax.random.fold_in(step_key, gan.n_critic + j), 3)
    (loss, g_stats), grads = jax.value_and_grad(generator_loss_fn, has_aux=True)(
        g_params, g_stats, d_params, d_stats, gan, shard(gan.sample_latent(k_z, batch_size)),
        shard(gan.sample_labels(k_y, batch_size)), k_drop, state.step)
    updates, g_opt_state = gan.g_opt.update(grads, g_opt_state, g_params)
    g_params = optax.apply_updates(g_params, updates)
    if gan.ema_decay:
      ema = ema_update(ema, g_params, gan.ema_decay, state.step * gan.n_generator + j)
    return (g_params, g_stats, g_opt_state, ema), loss

  (g_params, g_stats, g_opt_state, ema), g_losses = jax.lax.scan(
      g_update, (state.g_params, state.g_batch_stats, state.g_opt_state, state.ema_params),
      jnp.arange(gan.n_generator), unroll=True)
  state = state.replace(step=state.step + 1, g_params=g_params, g_batch_stats=g_stats,
                        g_opt_state=g_opt_state, ema_params=ema, d_params=d_params,
                        d_batch_stats=d_stats, d_opt_state=d_opt_state, data_order=order)
  metrics = jax.tree.map(jnp.mean, d_metrics)
  metrics['g_loss'] = jnp.mean(g_losses)
  return state, metrics


def compile_step(state, data_arrays, *, steps_per_call: int = 1, step_fn=None, **static):
  """The step jitted with the state donated, compiled ahead of time for these shapes.

  `steps_per_call` > 1 runs that many steps in one rolled lax.scan (metrics averaged):
  for MLP GANs, whose steps are too small to hide the per-call cost. Conv GANs run one
  step per call (their configs' default; rolled, the WGAN-GP step took 83-85 ms against 85-106,
  docs/contributing.md). `step_fn` replaces train_step (same signature; the sweep's
  vmapped step).
  """
  step = functools.partial(step_fn or train_step, **static)
  if steps_per_call > 1:
    def step(state, data_arrays, one=step):  # pylint: disable=function-redefined
      state, metrics = jax.lax.scan(lambda s, _: one(s, data_arrays), state, None,
                                    length=steps_per_call)
      return state, jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)
  kwargs = {}
  placed = [getattr(x, 'sharding', None) for x in jax.tree.leaves(state)]
  if all(isinstance(p, NamedSharding) and p.mesh == static['mesh'] for p in placed):
    # the state comes back where it went in (replicated, or a sweep's variants on their
    # devices), so each call's output feeds the next
    kwargs['out_shardings'] = (jax.tree.map(lambda x: x.sharding, state),
                               mesh_lib.replicated(static['mesh']))
  return jax.jit(step, donate_argnums=0, **kwargs).lower(state, data_arrays).compile()
