"""Class visualization (Simonyan et al. 2014, the CS231n / report 001 recipe) and fooling
images, as pure batched functions: one image per target class, all in one compiled loop.

Gradient ascent on score[target] - l2_reg * ||x||^2, each step of `learning_rate` along the
gradient normalised to unit L2 norm, with a random jitter (roll) before the step and its
inverse after, clipping to the valid inputs and a Gaussian blur every `blur_every` steps.
"""
import jax
import jax.numpy as jnp


def gaussian_blur(images, sigma: float):
  """Separable Gaussian blur of [N, H, W, C] images, per channel, edges replicated."""
  radius = max(1, int(round(3 * sigma)))
  t = jnp.arange(-radius, radius + 1, dtype=images.dtype)
  k = jnp.exp(-0.5 * (t / sigma) ** 2)
  k = k / k.sum()
  padded = jnp.pad(images, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode='edge')
  h, w = images.shape[1:3]
  rows = sum(k[i] * padded[:, i:i + h, :, :] for i in range(2 * radius + 1))
  return sum(k[i] * rows[:, :, i:i + w, :] for i in range(2 * radius + 1))


def _unit_l2(g):
  norm = jnp.sqrt(jnp.sum(g.reshape(len(g), -1) ** 2, axis=1))
  return g / jnp.maximum(norm, 1e-12).reshape((len(g),) + (1,) * (g.ndim - 1))


def _target_score_grad(apply_fn, params, x, targets, l2_reg):
  def objective(x):
    scores = apply_fn(params, x)
    picked = jnp.take_along_axis(scores, targets[:, None], axis=1).sum()
    return picked - l2_reg * jnp.sum(x ** 2)
  return jax.grad(objective)(x)


def visualize_classes(apply_fn, params, init_images, targets, key, *, num_iterations: int,
                      learning_rate: float, l2_reg: float, blur_every: int,
                      blur_sigma: float, max_jitter: int, bounds=(0.0, 1.0)):
  """Images that maximise score[targets], from `init_images` (noise or real images).

  num_iterations, blur_every, blur_sigma and max_jitter are static under jit."""
  lo, hi = bounds

  def body(t, x):
    ox, oy = jax.random.randint(jax.random.fold_in(key, t), (2,), 0, max_jitter + 1)
    x = jnp.roll(x, (ox, oy), axis=(1, 2))
    x = x + learning_rate * _unit_l2(_target_score_grad(apply_fn, params, x, targets, l2_reg))
    x = jnp.clip(jnp.roll(x, (-ox, -oy), axis=(1, 2)), lo, hi)
    if blur_every:
      x = jax.lax.cond(t % blur_every == blur_every - 1,
                       lambda x: gaussian_blur(x, blur_sigma), lambda x: x, x)
    return x

  return jax.lax.fori_loop(0, num_iterations, body, init_images)


def fooling_images(apply_fn, params, images, targets, *, learning_rate: float,
                   max_iterations: int, bounds=(0.0, 1.0)):
  """CS231n's fooling images: normalised-gradient ascent on score[target] until the network
  predicts the target, each example stopping at its own first success.

  Returns (images, fooled [N] bool, iterations [N] int).
  """
  lo, hi = bounds

  def predicted(x):
    return jnp.argmax(apply_fn(params, x), axis=-1) == targets

  def cond(carry):
    _, done, _, t = carry
    return (t < max_iterations) & ~jnp.all(done)

  def body(carry):
    x, done, iters, t = carry
    step = learning_rate * _unit_l2(_target_score_grad(apply_fn, params, x, targets, 0.0))
    keep = done.reshape((len(x),) + (1,) * (x.ndim - 1))
    x = jnp.where(keep, x, jnp.clip(x + step, lo, hi))
    iters = iters + (~done).astype(jnp.int32)
    return x, done | predicted(x), iters, t + 1

  start = (images, predicted(images), jnp.zeros(len(images), jnp.int32), 0)
  x, done, iters, _ = jax.lax.while_loop(cond, body, start)
  return x, done, iters
