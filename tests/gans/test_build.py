"""gans/build.py: the config keys that shape the optimizers and the networks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common import checks
from configs import wgan_gp
from gans import build


@pytest.mark.parametrize('decay', ['constant', 'linear'])
def test_learning_rates_fall_linearly_to_zero_over_each_networks_updates(decay):
  config = wgan_gp.get_config('quick')
  config.optim.decay = decay
  config.train.num_steps, config.loss.n_critic = 40, 3
  config.optim.decay_steps = 4  # the horizon, not num_steps
  gan = build.build_gan(config, (28, 28, 1), 10)
  for opt, rate, updates in ((gan.d_opt, config.optim.d_learning_rate, 12),
                             (gan.g_opt, config.optim.g_learning_rate, 4)):
    params = {'w': jnp.zeros(3)}
    grads = {'w': jnp.ones(3)}  # a constant gradient: each Adam update is -rate_t * 1
    state = opt.init(params)
    steps = []
    for _ in range(updates + 1):
      update, state = opt.update(grads, state, params)
      steps.append(float(update['w'][0]))
    t = np.arange(updates + 1)
    expected = -rate * (np.maximum(1 - t / updates, 0) if decay == 'linear' else np.ones_like(t))
    np.testing.assert_allclose(steps, expected, rtol=1e-4, atol=1e-10)


def test_batchnorm_in_the_generator_only():
  config = wgan_gp.get_config('quick')
  config.model.generator_batchnorm = True
  build.validate(config)  # the gradient penalty allows it: the critic has none
  gan = build.build_gan(config, (28, 28, 1), 10)
  z = jnp.zeros((2, config.model.latent_dim))
  # shapes only (eval_shape): initialised op by op, each op would compile on its own
  g_vars = jax.eval_shape(lambda k: gan.generator.init(k, z, None, train=False),
                          jax.random.key(0))
  d_vars = jax.eval_shape(gan.discriminator.init, jax.random.key(0),
                          jnp.zeros((2, 28, 28, 1)), None)
  assert 'batch_stats' in g_vars and 'batch_stats' not in d_vars
  config.model.critic_batchnorm = True
  with pytest.raises(checks.ConfigError, match='model.critic_batchnorm'):
    build.validate(config)
  config.model.critic_batchnorm, config.optim.decay = False, 'cosine'
  with pytest.raises(checks.ConfigError, match='optim.decay'):
    build.validate(config)


def test_acgan_gives_the_critic_a_class_head_instead_of_the_label():
  config = wgan_gp.get_config('acgan,quick')
  gan = build.build_gan(config, (28, 28, 1), 10)
  assert gan.num_classes == 10 and gan.acgan_weights == (1.0, 1.0)
  assert gan.generator.num_classes == 10  # G takes the label
  assert (gan.discriminator.num_classes, gan.discriminator.aux_classes) == (0, 10)
  scores, classes = gan.discriminator.apply(
      gan.discriminator.init(jax.random.key(0), jnp.zeros((2, 28, 28, 1))),
      jnp.zeros((2, 28, 28, 1)))
  assert scores.shape == (2,) and classes.shape == (2, 10)
  config.loss.acgan_weights = (0.0, 1.0)
  with pytest.raises(checks.ConfigError, match='d_weight > 0 when g_weight is'):
    build.validate(config)
