import functools

import chex
import jax
import numpy as np
import optax
import pytest

from common import mesh as mesh_lib
from gans import models, wgan_gp

LATENT, BATCH, N = 16, 16, 64


def _setup(num_devices):
  m = wgan_gp.Models(models.Generator((28, 28, 1), width=4), models.Critic(width=4),
                     optax.adam(1e-3, 0.5, 0.9), optax.adam(1e-3, 0.5, 0.9))
  mesh = mesh_lib.data_mesh(num_devices)
  state = jax.jit(functools.partial(
      wgan_gp.create_state, m, latent_dim=LATENT, image_shape=(28, 28, 1), num_examples=N,
      batch_size=BATCH))(jax.random.key(0))
  images = np.random.default_rng(0).integers(0, 256, (N, 28, 28, 1), dtype=np.uint8)
  static = dict(models=m, mesh=mesh, n_critic=2, batch_size=BATCH, latent_dim=LATENT,
                gp_weight=10.0, pixel_range='minus_one_one')
  return (mesh_lib.put_replicated(state, mesh), mesh_lib.put_replicated(images, mesh),
          static)


def test_step_traces_once_and_keeps_its_state_types():
  state, images, static = _setup(1)

  @chex.assert_max_traces(n=1)
  def step(state, images):
    return wgan_gp.generator_step(state, images, **static)

  step = jax.jit(step, donate_argnums=0)
  for _ in range(3):
    state, metrics = step(state, images)
  assert int(state.step) == 3
  chex.assert_tree_all_finite(metrics)
  for key in ('critic_loss', 'generator_loss', 'gradient_penalty', 'wasserstein_distance'):
    chex.assert_shape(metrics[key], ())


def test_losses_and_gradients_are_finite():
  state, images, static = _setup(1)
  m = static['models']
  real = jax.random.uniform(jax.random.key(1), (BATCH, 28, 28, 1), minval=-1, maxval=1)
  z = jax.random.normal(jax.random.key(2), (BATCH, LATENT))
  alpha = jax.random.uniform(jax.random.key(3), (BATCH,))
  d_grads, aux = jax.jit(lambda d, g: jax.grad(wgan_gp.critic_loss_fn, has_aux=True)(
      d, g, m, real, z, alpha, 10.0))(state.d_params, state.g_params)
  g_loss, g_grads = jax.jit(lambda g, d: jax.value_and_grad(wgan_gp.generator_loss_fn)(
      g, d, m, z))(state.g_params, state.d_params)
  chex.assert_tree_all_finite((d_grads, aux, g_loss, g_grads))
  assert float(optax.global_norm(d_grads)) > 0 and float(optax.global_norm(g_grads)) > 0


@pytest.mark.skipif(jax.device_count() < 8, reason='needs 8 (fake) devices: see conftest')
def test_eight_devices_match_one_device():
  results = []
  for n in (1, 8):
    state, images, static = _setup(n)
    step = wgan_gp.compile_step(state, images, **static)
    for _ in range(3):
      state, metrics = step(state, images)
    assert state.g_params['Dense_0']['kernel'].sharding.num_devices == n
    results.append(jax.device_get((state.g_params, state.d_params, metrics)))
  chex.assert_trees_all_close(results[0], results[1], rtol=2e-4, atol=2e-5)
