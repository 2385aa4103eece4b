"""The shared GAN step: tracing, finiteness, sharding, BatchNorm, EMA, ratios, clipping,
the minimax switch and conditioning."""
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from common import mesh as mesh_lib
from gans import gan as gan_lib, losses, models

LATENT, BATCH, N, SHAPE = 16, 16, 64, (28, 28, 1)


def _gan(**kw):
  defaults = dict(generator=models.Generator(SHAPE, width=4), discriminator=models.Critic(4),
                  g_opt=optax.adam(1e-3, 0.5, 0.9), d_opt=optax.adam(1e-3, 0.5, 0.9),
                  latent_dim=LATENT, loss='wasserstein', n_critic=2, gp_weight=10.0)
  return gan_lib.GAN(**{**defaults, **kw})


def _setup(gan, num_devices=1):
  mesh = mesh_lib.data_mesh(num_devices)
  state = jax.jit(functools.partial(
      gan_lib.create_state, gan, image_shape=SHAPE, num_examples=N,
      batch_size=BATCH))(jax.random.key(0))
  rng = np.random.default_rng(0)
  arrays = (rng.integers(0, 256, (N, *SHAPE), dtype=np.uint8),
            rng.integers(0, 10, N).astype(np.int32))
  return (mesh_lib.put_replicated(state, mesh), mesh_lib.put_replicated(arrays, mesh),
          dict(gan=gan, mesh=mesh, batch_size=BATCH))


def _run(gan, steps=3, num_devices=1):
  state, arrays, static = _setup(gan, num_devices)
  step = gan_lib.compile_step(state, arrays, **static)
  before = jax.device_get(state)
  for _ in range(steps):
    state, metrics = step(state, arrays)
  return before, state, metrics


def test_step_traces_once_and_keeps_its_state_types():
  state, arrays, static = _setup(_gan())

  @chex.assert_max_traces(n=1)
  def step(state, arrays):
    return gan_lib.train_step(state, arrays, **static)

  step = jax.jit(step, donate_argnums=0)
  for _ in range(3):
    state, metrics = step(state, arrays)
  assert int(state.step) == 3
  chex.assert_tree_all_finite(metrics)
  for key in ('d_loss', 'g_loss', 'gradient_penalty', 'wasserstein_distance', 'd_real',
              'd_fake'):
    chex.assert_shape(metrics[key], ())


@pytest.mark.parametrize('loss', losses.LOSSES)
def test_losses_and_gradients_are_finite(loss):
  gan = _gan(loss=loss, gp_weight=10.0 if loss == 'wasserstein' else 0.0)
  state, _, _ = _setup(gan)
  real = jax.random.uniform(jax.random.key(1), (BATCH, *SHAPE), minval=-1, maxval=1)
  z = jax.random.normal(jax.random.key(2), (BATCH, LATENT))
  y = jnp.zeros((BATCH,), jnp.int32)
  fake = jax.jit(gan.generate)(state.g_params, {}, z, y)  # (op by op: ~150 compiles)
  d_grads, aux = jax.jit(lambda d: jax.grad(gan_lib.discriminator_loss_fn, has_aux=True)(
      d, {}, gan, real, y, fake, y, jax.random.key(3)))(state.d_params)
  (g_loss, _), g_grads = jax.jit(lambda g: jax.value_and_grad(
      gan_lib.generator_loss_fn, has_aux=True)(g, {}, state.d_params, {}, gan, z, y,
                                               jax.random.key(4), 0))(state.g_params)
  chex.assert_tree_all_finite((d_grads, aux, g_loss, g_grads))
  assert float(optax.global_norm(d_grads)) > 0 and float(optax.global_norm(g_grads)) > 0
  if loss in losses.PROBABILISTIC:
    assert 0 < float(aux[0]['d_real']) < 1  # D(x) is logged as a probability
  # the losses from their textbook forms (float64) on D's logits: a flipped sign fails here
  logits = jax.jit(lambda x, k: gan_lib.apply(gan.discriminator, state.d_params, {}, x, y,
                                               train=True, rng=k)[0])
  critic = lambda x, k: np.float64(logits(x, k))
  l_fake = critic(jax.jit(lambda z: gan_lib.apply(gan.generator, state.g_params, {}, z, y,
                                                  train=True)[0])(z), jax.random.key(4))
  d_of = lambda l: 1 / (1 + np.exp(-l))
  expected_g = {'minimax': np.mean(np.log(1 - d_of(l_fake))),
                'non_saturating': -np.mean(np.log(d_of(l_fake))),
                'least_squares': np.mean((l_fake - 1) ** 2) / 2,
                'wasserstein': -np.mean(l_fake), 'hinge': -np.mean(l_fake)}[loss]
  np.testing.assert_allclose(float(g_loss), expected_g, rtol=1e-5, atol=1e-6)
  l_real, l_fake = critic(real, None), critic(fake, None)  # (no dropout in this critic)
  expected_d = {'minimax': -np.mean(np.log(d_of(l_real))) - np.mean(np.log(1 - d_of(l_fake))),
                'least_squares': (np.mean((l_real - 1) ** 2) + np.mean(l_fake ** 2)) / 2,
                'wasserstein': np.mean(l_fake) - np.mean(l_real),
                'hinge': np.mean(np.maximum(1 - l_real, 0)) + np.mean(np.maximum(1 + l_fake, 0))}
  expected_d['non_saturating'] = expected_d['minimax']
  d_loss = aux[0]['d_loss'] - (gan.gp_weight * aux[0]['gradient_penalty'] if gan.gp_weight else 0)
  np.testing.assert_allclose(float(d_loss), expected_d[loss], rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(jax.device_count() < 8, reason='needs 8 (fake) devices: see conftest')
def test_eight_devices_match_one_device():
  results = []
  for n in (1, 8):
    _, state, metrics = _run(_gan(), num_devices=n)
    assert state.g_params['Dense_0']['kernel'].sharding.num_devices == n
    results.append(jax.device_get((state.g_params, state.d_params, metrics)))
  chex.assert_trees_all_close(results[0], results[1], rtol=2e-4, atol=2e-5)


def test_batchnorm_statistics_move_and_sampling_uses_them():
  gan = _gan(generator=models.Generator(SHAPE, 4, batchnorm=True),
             discriminator=models.Critic(4, batchnorm=True), loss='non_saturating',
             gp_weight=0.0)
  before, state, _ = _run(gan, steps=2)
  for name in ('g_batch_stats', 'd_batch_stats'):
    moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))),
                         getattr(before, name), jax.device_get(getattr(state, name)))
    assert min(jax.tree.leaves(moved)) > 0, name
  z = jax.random.normal(jax.random.key(5), (4, LATENT))
  y = jnp.zeros((4,), jnp.int32)
  # running statistics: an image does not depend on the rest of its batch
  generate = jax.jit(gan.generate)  # (op by op, every op would compile on its own)
  both = generate(state.g_params, state.g_batch_stats, z, y)
  alone = generate(state.g_params, state.g_batch_stats, z[:1], y[:1])
  chex.assert_trees_all_close(both[:1], alone, atol=1e-6)


def test_ema_follows_the_formula():
  gan = _gan(ema_decay=0.9, n_critic=1, gp_weight=0.0)
  before, state, _ = _run(gan, steps=1)
  # one update from ema = g0 with d = min(0.9, 1/10) = 0.1: ema = 0.1 g0 + 0.9 g1
  want = jax.tree.map(lambda g0, g1: 0.1 * g0 + 0.9 * g1, before.g_params,
                      jax.device_get(state.g_params))
  chex.assert_trees_all_close(jax.device_get(state.ema_params), want, atol=1e-6)
  assert _setup(_gan())[0].ema_params == {}  # off: no copy kept


def test_update_ratio_and_weight_clipping():
  gan = _gan(n_critic=3, n_generator=2, gp_weight=0.0, clip=0.01)
  before, state, _ = _run(gan, steps=1)
  assert int(state.d_opt_state[0].count) == 3 and int(state.g_opt_state[0].count) == 2
  assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state.d_params)) <= 0.01
  assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(before.d_params)) > 0.01


def test_generator_loss_switches_to_minimax():
  gan = _gan(loss='non_saturating', minimax_after=5, gp_weight=0.0)
  state, _, _ = _setup(gan)
  z = jax.random.normal(jax.random.key(2), (BATCH, LATENT))
  y = jnp.zeros((BATCH,), jnp.int32)
  d_fake = gan.discriminator.apply({'params': state.d_params},
                                   gan.generate(state.g_params, {}, z, y))
  loss_at = lambda step: float(gan_lib.generator_loss_fn(
      state.g_params, {}, state.d_params, {}, gan, z, y, jax.random.key(0), step)[0])
  assert loss_at(4) == pytest.approx(float(losses.generator_loss('non_saturating', d_fake)))
  assert loss_at(5) == pytest.approx(float(losses.generator_loss('minimax', d_fake)))


@pytest.mark.parametrize('generator,discriminator', [
    (models.Generator(SHAPE, 4, num_classes=10), models.Critic(4, num_classes=10)),
    (models.MLPGenerator(SHAPE, (8,), num_classes=10),
     models.MLPDiscriminator((8,), num_classes=10)),
])
def test_conditional_models_use_the_label(generator, discriminator):
  gan = _gan(generator=generator, discriminator=discriminator, num_classes=10,
             loss='non_saturating', gp_weight=0.0)
  _, state, metrics = _run(gan, steps=2)
  chex.assert_tree_all_finite(metrics)
  z = jnp.tile(jax.random.normal(jax.random.key(0), (1, LATENT)), (2, 1))
  # under jit (op by op, every op would compile on its own)
  images = jax.jit(gan.generate)(state.g_params, {}, z, jnp.array([0, 1]))
  assert float(jnp.max(jnp.abs(images[0] - images[1]))) > 1e-4  # same noise, other class
  scores = jax.jit(lambda d, x, y: discriminator.apply({'params': d}, x, y))(
      state.d_params, images[:1].repeat(2, 0), jnp.array([0, 1]))
  assert float(jnp.abs(scores[0] - scores[1])) > 0


def test_acgan_adds_the_class_heads_cross_entropy_to_both_losses():
  gan = _gan(generator=models.Generator(SHAPE, 4, num_classes=10),
             discriminator=models.Critic(4, aux_classes=10), num_classes=10,
             acgan_weights=(1.0, 0.1))
  state, _, _ = _setup(gan)
  real = jax.random.uniform(jax.random.key(1), (BATCH, *SHAPE), minval=-1, maxval=1)
  z = jax.random.normal(jax.random.key(2), (BATCH, LATENT))
  y = jnp.arange(BATCH, dtype=jnp.int32) % 10
  fake = jax.jit(lambda g: gan.generate(g, {}, z, y))(state.g_params)
  d_loss, (metrics, _) = jax.jit(lambda d: gan_lib.discriminator_loss_fn(
      d, {}, gan, real, y, fake, y, jax.random.key(3)))(state.d_params)
  g_loss, _ = jax.jit(lambda g, d: gan_lib.generator_loss_fn(
      g, {}, d, {}, gan, z, y, jax.random.key(4), 0))(state.g_params, state.d_params)
  # by hand in float64: the Wasserstein terms on the scores, cross-entropy on the class head
  critic = jax.jit(lambda d, x: gan.discriminator.apply({'params': d}, x))
  heads = lambda x: [np.float64(a) for a in critic(state.d_params, x)]
  (s_real, c_real), (s_fake, c_fake) = heads(real), heads(fake)
  cross_entropy = lambda c: -np.mean((c - np.log(np.exp(c).sum(1, keepdims=True)))[
      np.arange(BATCH), np.asarray(y)])
  np.testing.assert_allclose(float(d_loss - gan.gp_weight * metrics['gradient_penalty']),
                             s_fake.mean() - s_real.mean() + 1.0 * cross_entropy(c_real),
                             rtol=1e-5)
  np.testing.assert_allclose(float(g_loss), -s_fake.mean() + 0.1 * cross_entropy(c_fake),
                             rtol=1e-5)
  assert float(metrics['d_class_accuracy']) == np.mean(c_real.argmax(1) == np.asarray(y))
  _, _, metrics = _run(gan, steps=2)  # and it trains, with the head's numbers logged
  chex.assert_tree_all_finite(metrics)
  assert 'd_class_loss' in metrics
