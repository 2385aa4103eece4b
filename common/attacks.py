"""Adversarial examples: FGSM and PGD (BIM with a random start), L-inf and L2, untargeted or
targeted, as pure batched functions of `(apply_fn, params, images, labels, key)`.

Sizes (`eps`, `step_size`) are in unit pixels, a fraction of the input range, as in the
FGSM papers and PyTorch's tutorial on [0, 1] MNIST; a model fed [-1, 1] gets twice the
step in its own input space. Adversarial images are clipped to `bounds`, the model's valid
inputs, and PGD projects back onto the eps-ball around the original after every step.
"""
import jax
import jax.numpy as jnp

NORMS = ('linf', 'l2')
LOSSES = ('cross_entropy', 'margin')


def _input_grad(apply_fn, params, images, labels, reduce_others):
  """(d sum over examples of reduce_others(other scores) - score[label] / d images, scores);
  the other scores come with the label's set to -inf."""
  def loss(x):
    scores = apply_fn(params, x)
    own = jnp.take_along_axis(scores, labels[:, None], axis=1)[:, 0]
    others = jnp.where(jax.nn.one_hot(labels, scores.shape[-1], dtype=bool), -jnp.inf, scores)
    return jnp.sum(reduce_others(others, axis=-1) - own), scores
  return jax.grad(loss, has_aux=True)(images)


def cross_entropy_direction(apply_fn, params, images, labels):
  """(ascent direction of each example's cross-entropy / d images, clean scores).

  The rule that makes the attacks independent of rounding: an example's cross-entropy
  gradient is (1 - p_y) times the gradient of its log-odds lse_{k != y} s_k - s_y, a
  positive factor that changes neither the sign (L-inf) nor the normalised direction (L2),
  so we follow the log-odds. On a confident image p_y rounds to 1 in float32 and the
  cross-entropy's own gradient keeps only the tiny other-class terms, whose signs rounding
  decides; the log-odds gradient has no such cancellation. Components that are exactly
  zero (pixels the scores do not depend on) have sign 0: those pixels stay where they are.
  Foolbox 3's FGSM moves the same pixels (benchmarks/attack_foolbox.py).
  """
  return _input_grad(apply_fn, params, images, labels, jax.nn.logsumexp)


def margin_grad(apply_fn, params, images, labels):
  """(d sum of (max other score - score[label]) / d images, scores): Carlini & Wagner's f6
  without the clamp, the negated margin. Like the cross-entropy it rises as the label loses,
  so PGD ascends it when untargeted and descends it when targeted.
  """
  return _input_grad(apply_fn, params, images, labels, jnp.max)


def _per_example_l2(x):
  return jnp.sqrt(jnp.sum(x.reshape(len(x), -1) ** 2, axis=1)).reshape(
      (len(x),) + (1,) * (x.ndim - 1))


def _direction(grad, norm):
  if norm == 'linf':
    return jnp.sign(grad)
  return grad / jnp.maximum(_per_example_l2(grad), 1e-12)


def project(delta, eps, norm):
  """The nearest point of the eps-ball (in input units) to `delta`."""
  if norm == 'linf':
    return jnp.clip(delta, -eps, eps)
  return delta * jnp.minimum(1.0, eps / jnp.maximum(_per_example_l2(delta), 1e-12))


def fgsm(apply_fn, params, images, labels, eps, *, bounds=(0.0, 1.0), targeted=False,
         norm='linf'):
  """Goodfellow et al. 2014: one step of size eps along the sign of the loss gradient
  (towards `labels` when targeted). eps = 0 returns the images unchanged."""
  grad, _ = cross_entropy_direction(apply_fn, params, images, labels)
  return fgsm_from_grad(images, grad, eps, bounds=bounds, targeted=targeted, norm=norm)


def fgsm_from_grad(images, grad, eps, *, bounds=(0.0, 1.0), targeted=False, norm='linf'):
  """FGSM given the gradient: several eps share one gradient computation."""
  lo, hi = bounds
  step = eps * (hi - lo) * _direction(grad, norm)
  return jnp.clip(images - step if targeted else images + step, lo, hi)


def pgd(apply_fn, params, images, labels, key, *, eps, step_size, num_steps: int,
        norm='linf', random_start=True, targeted=False, bounds=(0.0, 1.0),
        loss='cross_entropy'):
  """Madry et al. 2018 (BIM when random_start=False): `num_steps` steps of `step_size`, each
  projected onto the eps-ball around `images` and clipped to `bounds`. Targeted attacks
  descend the loss of `labels` (the targets); untargeted ones ascend it. `loss`: the
  cross-entropy, or the logit margin (see margin_grad)."""
  loss_grad = {'cross_entropy': cross_entropy_direction, 'margin': margin_grad}[loss]
  lo, hi = bounds
  scale = hi - lo
  eps, step_size = eps * scale, step_size * scale
  sign = -1.0 if targeted else 1.0
  x = images
  if random_start:
    if norm == 'linf':
      noise = jax.random.uniform(key, images.shape, images.dtype, -eps, eps)
    else:  # uniform in the L2 ball: a random direction, radius eps * u^(1/d)
      k_dir, k_rad = jax.random.split(key)
      d = images[0].size
      direction = _direction(jax.random.normal(k_dir, images.shape, images.dtype), 'l2')
      radius = eps * jax.random.uniform(k_rad, (len(images),) + (1,) * (images.ndim - 1)) ** (1 / d)
      noise = direction * radius
    x = jnp.clip(images + noise, lo, hi)

  def body(_, x):
    grad, _ = loss_grad(apply_fn, params, x, labels)
    x = x + sign * step_size * _direction(grad, norm)
    return jnp.clip(images + project(x - images, eps, norm), lo, hi)

  return jax.lax.fori_loop(0, num_steps, body, x)


def perturbation_norms(images, adversarial, bounds=(0.0, 1.0)):
  """Per-example L-inf and L2 norms of the change, in unit pixels."""
  delta = ((adversarial - images) / (bounds[1] - bounds[0])).reshape(len(images), -1)
  return jnp.abs(delta).max(axis=1), jnp.sqrt(jnp.sum(delta ** 2, axis=1))


def fgsm_curve(apply_fn, params, images, labels, epsilons, *, bounds=(0.0, 1.0), norm='linf'):
  """One batch of the accuracy-vs-eps curve; one gradient serves every eps.

  Returns (clean predictions [N], predictions [E, N], L-inf norms [E, N], L2 norms [E, N]).
  """
  grad, scores = cross_entropy_direction(apply_fn, params, images, labels)
  clean = jnp.argmax(scores, axis=-1)
  preds, linf, l2 = [], [], []
  for eps in epsilons:
    adv = fgsm_from_grad(images, grad, eps, bounds=bounds, norm=norm)
    # eps 0 leaves in-range images unchanged: their clean predictions, one forward pass saved
    preds.append(clean if eps == 0 else jnp.argmax(apply_fn(params, adv), axis=-1))
    a, b = perturbation_norms(images, adv, bounds)
    linf.append(a)
    l2.append(b)
  return clean, jnp.stack(preds), jnp.stack(linf), jnp.stack(l2)
