import chex
import jax
import jax.numpy as jnp
import numpy as np

from gans import losses


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
  # D(x) = <w, x> + b has gradient w everywhere, so the penalty is (||w|| - 1)^2.
  w = jax.random.normal(jax.random.key(0), (6, 6, 2))
  critic = lambda x: jnp.sum(x * w, axis=(1, 2, 3)) + 0.3
  real = jax.random.normal(jax.random.key(1), (4, 6, 6, 2))
  fake = jax.random.normal(jax.random.key(2), (4, 6, 6, 2))
  x_hat = losses.interpolate(real, fake, jax.random.uniform(jax.random.key(3), (4,)))
  gp, norm = losses.gradient_penalty(critic, x_hat)
  norm_w = float(jnp.linalg.norm(w))
  chex.assert_trees_all_close(gp, jnp.float32((norm_w - 1.0) ** 2), rtol=1e-5)
  chex.assert_trees_all_close(norm, jnp.float32(norm_w), rtol=1e-5)


def test_gradient_penalty_is_per_example():
  # D(x) = ||x||^2 / 2 has gradient x: each example's norm is its own.
  x = jnp.stack([jnp.full((2, 2, 1), 0.5), jnp.full((2, 2, 1), 1.5)])  # norms 1 and 3
  gp, norm = losses.gradient_penalty(lambda x: 0.5 * jnp.sum(x**2, axis=(1, 2, 3)), x)
  chex.assert_trees_all_close(gp, jnp.float32((0.0 + 4.0) / 2), rtol=1e-6)
  chex.assert_trees_all_close(norm, jnp.float32(2.0), rtol=1e-6)


def test_interpolates_lie_on_the_segment():
  real, fake = jnp.ones((3, 2, 2, 1)), jnp.zeros((3, 2, 2, 1))
  alpha = jnp.array([0.0, 0.25, 1.0])
  x_hat = losses.interpolate(real, fake, alpha)
  np.testing.assert_allclose(x_hat[:, 0, 0, 0], alpha)


def test_wasserstein_losses_by_hand():
  d_real, d_fake = jnp.array([1.0, 3.0]), jnp.array([-1.0, 0.0])
  chex.assert_trees_all_close(losses.wasserstein_critic_loss(d_real, d_fake),
                              jnp.float32(-2.5))
  chex.assert_trees_all_close(losses.wasserstein_generator_loss(d_fake), jnp.float32(0.5))
