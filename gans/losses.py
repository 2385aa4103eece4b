"""GAN losses as pure functions of critic outputs (and of the critic, for the penalty)."""
import jax
import jax.numpy as jnp


def wasserstein_critic_loss(d_real, d_fake):
  """E[D(G(z))] - E[D(x)]: minimising it widens the critic's estimate of W(P_r, P_g)."""
  return jnp.mean(d_fake) - jnp.mean(d_real)


def wasserstein_generator_loss(d_fake):
  return -jnp.mean(d_fake)


def interpolate(real, fake, alpha):
  """x_hat = alpha * x + (1 - alpha) * x_g, one alpha ~ U[0, 1] per example."""
  alpha = alpha.reshape((-1,) + (1,) * (real.ndim - 1))
  return alpha * real + (1.0 - alpha) * fake


def gradient_penalty(critic_fn, x_hat):
  """E[(||grad_x D(x_hat)||_2 - 1)^2] with per-example norms; returns (penalty, mean norm).

  `critic_fn` maps a batch to one score per example with no interaction between
  examples, so the gradient of the summed scores holds each example's own gradient.
  """
  grads = jax.grad(lambda x: jnp.sum(critic_fn(x)))(x_hat)
  norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=tuple(range(1, grads.ndim))) + 1e-12)
  return jnp.mean(jnp.square(norms - 1.0)), jnp.mean(norms)
