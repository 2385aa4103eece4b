"""GAN losses as pure functions of discriminator outputs (and of the critic, for the penalty).

Discriminators return logits l; D(x) = sigmoid(l). With binary cross-entropy
bce(l, t) = -[t log D + (1 - t) log(1 - D)] = softplus(l) - t * l (any target t, so the
smoothed labels of report 004, drawn in [0.7, 1.2], work as in Keras):

| loss            | discriminator                                   | generator              |
| --------------- | ----------------------------------------------- | ---------------------- |
| minimax         | bce(l_real, 1) + bce(l_fake, 0)                 | E log(1 - D(G(z)))     |
| non_saturating  | same                                            | -E log D(G(z))         |
| least_squares   | (E (l_real - 1)^2 + E l_fake^2) / 2  (LSGAN a=0, b=c=1) | E (l_fake - 1)^2 / 2 |
| wasserstein     | E l_fake - E l_real                             | -E l_fake              |
| hinge           | E relu(1 - l_real) + E relu(1 + l_fake)         | -E l_fake              |

The discriminator's two terms are summed, as PyTorch's DCGAN example logs Loss_D
(2 log 2 = 1.386 at D = 1/2 everywhere). Label targets replace 1 and 0 when smoothed.
AC-GAN adds `class_loss` of the discriminator's class head to either side, weighted.
"""
import jax
import jax.numpy as jnp
import optax

LOSSES = ('minimax', 'non_saturating', 'least_squares', 'wasserstein', 'hinge')
PROBABILISTIC = ('minimax', 'non_saturating')  # D outputs are logits of a probability
TARGETED = PROBABILISTIC + ('least_squares',)  # the losses with targets to smooth


def bce_with_logits(logits, targets):
  """Per-example -[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))], stable for any l."""
  return jax.nn.softplus(logits) - targets * logits


def discriminator_loss(kind: str, d_real, d_fake, real_target=1.0, fake_target=0.0):
  """The discriminator's (critic's) loss to minimise; targets may be per example."""
  if kind in PROBABILISTIC:
    return (jnp.mean(bce_with_logits(d_real, real_target))
            + jnp.mean(bce_with_logits(d_fake, fake_target)))
  if kind == 'least_squares':
    return 0.5 * (jnp.mean(jnp.square(d_real - real_target))
                  + jnp.mean(jnp.square(d_fake - fake_target)))
  if kind == 'wasserstein':
    return wasserstein_critic_loss(d_real, d_fake)
  if kind == 'hinge':  # Lim & Ye; Miyato et al.'s SNGAN
    return jnp.mean(jax.nn.relu(1.0 - d_real)) + jnp.mean(jax.nn.relu(1.0 + d_fake))
  raise ValueError(f'unknown GAN loss {kind!r}; expected one of {", ".join(LOSSES)}.')


def generator_loss(kind: str, d_fake):
  """The generator's loss to minimise."""
  if kind == 'minimax':
    return -jnp.mean(bce_with_logits(d_fake, 0.0))  # E log(1 - D): saturates when D wins
  if kind == 'non_saturating':
    return jnp.mean(bce_with_logits(d_fake, 1.0))
  if kind == 'least_squares':
    return 0.5 * jnp.mean(jnp.square(d_fake - 1.0))
  if kind in ('wasserstein', 'hinge'):
    return wasserstein_generator_loss(d_fake)
  raise ValueError(f'unknown GAN loss {kind!r}; expected one of {", ".join(LOSSES)}.')


def label_targets(key, batch_size: int, low: float, high: float):
  """Per-example targets drawn uniformly in [low, high] (report 004's random label
  smoothing); a constant when low == high (0.9 for one-sided smoothing)."""
  if low == high:
    return jnp.full((batch_size,), low, jnp.float32)
  return jax.random.uniform(key, (batch_size,), minval=low, maxval=high)


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


def class_loss(class_logits, labels):
  """AC-GAN's auxiliary term: the mean cross-entropy of the discriminator's class logits."""
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


def clip_weights(params, limit: float):
  """The original WGAN's critic weight clipping to [-limit, limit]."""
  return jax.tree.map(lambda p: jnp.clip(p, -limit, limit), params)
