"""Saliency: which input pixels a class score depends on (the methods Captum offers).

Every method is a pure function of `(apply_fn, params, images, labels, key)` with
`apply_fn(params, images [N, H, W, C]) -> scores [N, classes]`, batched over examples,
returning attributions shaped like `images` (signed); `to_map` turns them into the [N, H, W]
map report 001 shows (absolute value, max over channels). Examples must not interact inside
`apply_fn` (no batch statistics), so the gradient of the summed scores is per example.
Grad-CAM instead takes `conv_apply_fn(params, images, delta) -> (scores, activations + delta)`.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np


def _score_sum(apply_fn, params, images, labels):
  scores = apply_fn(params, images)
  return jnp.take_along_axis(scores, labels[:, None], axis=1).sum(), scores


def gradient(apply_fn, params, images, labels, key=None):
  """d score[label] / d image: Simonyan et al.'s saliency (Captum's Saliency, abs=False)."""
  del key
  return jax.grad(lambda x: _score_sum(apply_fn, params, x, labels)[0])(images)


def to_map(attributions):
  """[N, H, W, C] -> [N, H, W]: absolute value, max over channels (report 001's maps)."""
  return jnp.abs(attributions).max(axis=-1)


def smoothgrad(apply_fn, params, images, labels, key, *, num_samples: int = 25,
               noise_level: float = 0.15, value_range: float = 1.0):
  """Mean gradient over copies with Gaussian noise of std `noise_level * value_range`
  (Smilkov et al. 2017; PAIR's stdev_spread)."""
  sigma = noise_level * value_range

  def one(k):
    noisy = images + sigma * jax.random.normal(k, images.shape, images.dtype)
    return gradient(apply_fn, params, noisy, labels)

  grads = jax.lax.map(one, jax.random.split(key, num_samples))
  return grads.mean(axis=0)


def _path_points(num_steps: int, method: str):
  """Interpolation points in [0, 1] and their weights: Captum's two integration rules."""
  if method == 'gausslegendre':
    x, w = np.polynomial.legendre.leggauss(num_steps)
    return (x + 1) / 2, w / 2
  if method == 'riemann_trapezoid':
    x = np.linspace(0.0, 1.0, num_steps)
    w = np.full(num_steps, 1.0 / (num_steps - 1))
    w[[0, -1]] /= 2
    return x, w
  raise ValueError(f'integrated_gradients: method {method!r}; use gausslegendre or '
                   f'riemann_trapezoid.')


IG_METHODS = ('gausslegendre', 'riemann_trapezoid')


def integrated_gradients(apply_fn, params, images, labels, key=None, *, baseline=None,
                         num_steps: int = 64, method: str = 'gausslegendre'):
  """Sundararajan et al. 2017: (x - b) * integral of the gradient along b -> x.

  `baseline` broadcasts against `images` (default zeros). Returns (attributions, delta):
  delta = sum(attributions) - (f(x) - f(b)) per example, which completeness says is 0.
  """
  del key
  baseline = jnp.zeros_like(images) if baseline is None else jnp.broadcast_to(
      jnp.asarray(baseline, images.dtype), images.shape)
  alphas, weights = _path_points(num_steps, method)

  def weighted_grad(point):
    alpha, weight = point
    return weight * gradient(apply_fn, params, baseline + alpha * (images - baseline), labels)

  total = jax.lax.map(weighted_grad, (jnp.asarray(alphas, images.dtype),
                                      jnp.asarray(weights, images.dtype)))
  attributions = (images - baseline) * total.sum(axis=0)
  score = lambda x: jnp.take_along_axis(apply_fn(params, x), labels[:, None], 1)[:, 0]
  delta = attributions.reshape(len(images), -1).sum(1) - (score(images) - score(baseline))
  return attributions, delta


def completeness_error(attributions, delta):
  """|delta| relative to |f(x) - f(b)|: over the batch (sum over sum, robust to examples
  whose score barely moves) and per example."""
  gap = jnp.abs(attributions.reshape(len(delta), -1).sum(1) - delta)
  per_example = jnp.abs(delta) / jnp.maximum(gap, 1e-12)
  return jnp.abs(delta).sum() / jnp.maximum(gap.sum(), 1e-12), per_example


def grad_cam(conv_apply_fn, params, images, labels, key=None):
  """Selvaraju et al. 2017: ReLU(sum_k mean_hw(d score / d A_k) A_k), upsampled bilinearly
  to the image size; [N, H, W] (unnormalised, as Captum's LayerGradCam + interpolation)."""
  del key
  _, acts = jax.eval_shape(functools.partial(conv_apply_fn, params), images)
  zeros = jnp.zeros(acts.shape, acts.dtype)

  def score(delta):
    scores, a = conv_apply_fn(params, images, delta)
    return jnp.take_along_axis(scores, labels[:, None], axis=1).sum(), a

  grads, a = jax.grad(score, has_aux=True)(zeros)
  cam = jax.nn.relu((grads.mean(axis=(1, 2), keepdims=True) * a).sum(-1))
  return jax.image.resize(cam, (len(images), *images.shape[1:3]), 'bilinear')


def normalize_maps(maps):
  """Each [H, W] map scaled to [0, 1] for display."""
  lo = maps.min(axis=(1, 2), keepdims=True)
  hi = maps.max(axis=(1, 2), keepdims=True)
  return (maps - lo) / jnp.maximum(hi - lo, 1e-12)
