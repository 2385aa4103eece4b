import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

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


LN2, LN3 = np.log(2.0), np.log(3.0)


def test_bce_losses_by_hand():
  # logit 0 is D = 1/2; logit ln 3 is D = 3/4
  zero, l3 = jnp.zeros(2), jnp.full((2,), LN3)
  for kind in ('minimax', 'non_saturating'):
    assert float(losses.discriminator_loss(kind, zero, zero)) == pytest.approx(2 * LN2)
    # -log(3/4) - log(1 - 3/4)
    want = -np.log(0.75) - np.log(0.25)
    assert float(losses.discriminator_loss(kind, l3, l3)) == pytest.approx(want, rel=1e-6)
  assert float(losses.generator_loss('minimax', l3)) == pytest.approx(np.log(0.25), rel=1e-6)
  assert float(losses.generator_loss('non_saturating', l3)) == pytest.approx(-np.log(0.75),
                                                                             rel=1e-6)


def test_smoothed_targets_by_hand():
  l3 = jnp.full((2,), LN3)
  # real target 0.9: -(0.9 log 3/4 + 0.1 log 1/4); fake target 0.2: -(0.2 log 3/4 + 0.8 log 1/4)
  want = (-(0.9 * np.log(0.75) + 0.1 * np.log(0.25))
          - (0.2 * np.log(0.75) + 0.8 * np.log(0.25)))
  got = losses.discriminator_loss('non_saturating', l3, l3, 0.9, 0.2)
  assert float(got) == pytest.approx(want, rel=1e-6)
  targets = losses.label_targets(jax.random.key(0), 10_000, 0.7, 1.2)
  assert 0.7 <= float(targets.min()) and float(targets.max()) <= 1.2
  assert float(targets.mean()) == pytest.approx(0.95, abs=0.01)
  chex.assert_trees_all_equal(losses.label_targets(jax.random.key(0), 3, 0.9, 0.9),
                              jnp.full((3,), 0.9))


def test_least_squares_losses_by_hand():
  d_real, d_fake = jnp.array([1.0, 3.0]), jnp.array([0.0, 2.0])
  # (mean((0, 2)^2) + mean((0, 2)^2)) / 2 = 2; generator: mean((-1, 1)^2) / 2 = 0.5
  assert float(losses.discriminator_loss('least_squares', d_real, d_fake)) == 2.0
  assert float(losses.generator_loss('least_squares', d_fake)) == 0.5


def test_wasserstein_by_name_and_clipping():
  d_real, d_fake = jnp.array([1.0, 3.0]), jnp.array([0.0, 2.0])
  assert float(losses.discriminator_loss('wasserstein', d_real, d_fake)) == -1.0
  assert float(losses.generator_loss('wasserstein', d_fake)) == -1.0
  clipped = losses.clip_weights({'a': jnp.array([-1.0, 0.005, 0.5])}, 0.01)
  chex.assert_trees_all_close(clipped['a'], jnp.array([-0.01, 0.005, 0.01]))
  with pytest.raises(ValueError, match="unknown GAN loss 'relativistic'"):
    losses.generator_loss('relativistic', d_fake)


def test_hinge_losses_by_hand():
  d_real, d_fake = jnp.array([0.5, 2.0]), jnp.array([-2.0, 0.5])
  # D: mean(relu(1 - (0.5, 2))) + mean(relu(1 + (-2, 0.5))) = 0.25 + 0.75; G: -mean(-2, 0.5)
  assert float(losses.discriminator_loss('hinge', d_real, d_fake)) == 1.0
  assert float(losses.generator_loss('hinge', d_fake)) == 0.75
