"""WGAN-GP state and compiled step: n_critic critic updates and one generator update per step."""
import functools

import jax
import jax.numpy as jnp
import optax
from flax import struct

from common import batches, data, mesh as mesh_lib
from gans import losses


@struct.dataclass
class GANState:
  step: jax.Array          # generator updates done
  rng: jax.Array           # base key; step keys are fold_in(rng, step)
  g_params: dict
  d_params: dict
  g_opt_state: optax.OptState
  d_opt_state: optax.OptState
  data_order: jax.Array    # this epoch's permutation of the training set


@struct.dataclass
class Models:
  """The static half of a run: modules and optimizers, kept out of the state."""
  generator: object = struct.field(pytree_node=False)
  critic: object = struct.field(pytree_node=False)
  g_opt: optax.GradientTransformation = struct.field(pytree_node=False)
  d_opt: optax.GradientTransformation = struct.field(pytree_node=False)


def _streams(rng):
  """Independent keys for parameter init, the data order and the per-step noise."""
  init_key, data_key, step_key = jax.random.split(rng, 3)
  return init_key, data_key, step_key


def create_state(models: Models, rng, *, latent_dim: int, image_shape, num_examples: int,
                 batch_size: int) -> GANState:
  init_key, data_key, _ = _streams(rng)
  k_g, k_d = jax.random.split(init_key)
  g_params = models.generator.init(k_g, jnp.zeros((1, latent_dim)))['params']
  d_params = models.critic.init(k_d, jnp.zeros((1, *image_shape)))['params']
  return GANState(
      step=jnp.zeros((), jnp.int32), rng=rng, g_params=g_params, d_params=d_params,
      g_opt_state=models.g_opt.init(g_params), d_opt_state=models.d_opt.init(d_params),
      data_order=batches.order_at(data_key, 0, num_examples=num_examples,
                                  batch_size=batch_size))


def critic_loss_fn(d_params, g_params, models, real, z, alpha, gp_weight):
  critic = lambda x: models.critic.apply({'params': d_params}, x)
  fake = models.generator.apply({'params': g_params}, z)
  d_real, d_fake = critic(real), critic(fake)
  gp, grad_norm = losses.gradient_penalty(critic, losses.interpolate(real, fake, alpha))
  w_loss = losses.wasserstein_critic_loss(d_real, d_fake)
  return w_loss + gp_weight * gp, {
      'critic_loss': w_loss + gp_weight * gp, 'gradient_penalty': gp,
      'wasserstein_distance': -w_loss, 'critic_real': jnp.mean(d_real),
      'critic_fake': jnp.mean(d_fake), 'grad_norm': grad_norm}


def generator_loss_fn(g_params, d_params, models, z):
  fake = models.generator.apply({'params': g_params}, z)
  return losses.wasserstein_generator_loss(models.critic.apply({'params': d_params}, fake))


def generator_step(state: GANState, images, *, models: Models, mesh, n_critic: int,
                   batch_size: int, latent_dim: int, gp_weight: float, pixel_range: str):
  """`n_critic` critic updates, then one generator update.

  `images` is the whole uint8 training set, replicated; batches are gathered here from
  the epoch permutation and split over the mesh's 'data' axis.
  """
  num_examples = images.shape[0]
  _, data_key, step_key = _streams(state.rng)
  step_key = jax.random.fold_in(step_key, state.step)
  noise = lambda key: mesh_lib.shard_batch(
      jax.random.normal(key, (batch_size, latent_dim)), mesh)

  def critic_update(carry, i):
    d_params, d_opt_state, order = carry
    k_z, k_alpha = jax.random.split(jax.random.fold_in(step_key, i))
    order, idx = batches.next_indices(order, data_key, state.step * n_critic + i,
                                      num_examples=num_examples, batch_size=batch_size)
    real = mesh_lib.shard_batch(data.to_float(images[idx], pixel_range), mesh)
    alpha = mesh_lib.shard_batch(jax.random.uniform(k_alpha, (batch_size,)), mesh)
    grads, metrics = jax.grad(critic_loss_fn, has_aux=True)(
        d_params, state.g_params, models, real, noise(k_z), alpha, gp_weight)
    updates, d_opt_state = models.d_opt.update(grads, d_opt_state, d_params)
    return (optax.apply_updates(d_params, updates), d_opt_state, order), metrics

  # Unrolled: XLA:CPU runs convolutions ~9x slower inside a loop body (jax#12868).
  (d_params, d_opt_state, order), critic_metrics = jax.lax.scan(
      critic_update, (state.d_params, state.d_opt_state, state.data_order),
      jnp.arange(n_critic), unroll=True)
  g_loss, g_grads = jax.value_and_grad(generator_loss_fn)(
      state.g_params, d_params, models, noise(jax.random.fold_in(step_key, n_critic)))
  updates, g_opt_state = models.g_opt.update(g_grads, state.g_opt_state, state.g_params)
  state = state.replace(step=state.step + 1,
                        g_params=optax.apply_updates(state.g_params, updates),
                        g_opt_state=g_opt_state, d_params=d_params,
                        d_opt_state=d_opt_state, data_order=order)
  metrics = jax.tree.map(jnp.mean, critic_metrics)
  metrics['generator_loss'] = g_loss
  return state, metrics


def compile_step(state, images, **static):
  """The step jitted with the state donated, compiled ahead of time for these shapes.

  One call is one generator step: a rolled loop of steps (lax.scan) would hit the same
  XLA:CPU slowdown as above, and the host enqueues calls asynchronously anyway.
  """
  fn = jax.jit(functools.partial(generator_step, **static), donate_argnums=0)
  return fn.lower(state, images).compile()
