"""Class visualization and fooling images: valid images that raise the target's score."""
import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from probes import class_viz


def test_gaussian_blur_matches_scipy():
  x = np.random.default_rng(0).random((2, 9, 11, 3)).astype(np.float32)
  ours = class_viz.gaussian_blur(jnp.asarray(x), 0.8)
  theirs = ndimage.gaussian_filter(x, sigma=(0, 0.8, 0.8, 0), mode='nearest', truncate=3.0)
  np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_class_visualization_raises_each_target_score(net):
  targets = jnp.arange(4)
  start = 0.5 + 0.05 * jax.random.normal(jax.random.key(1), (4, 28, 28, 1))
  viz = jax.jit(class_viz.visualize_classes, static_argnums=0, static_argnames=(
      'num_iterations', 'blur_every', 'blur_sigma', 'max_jitter'))
  out = viz(net.apply_fn, net.params, start, targets, jax.random.key(0), num_iterations=30,
            learning_rate=1.0, l2_reg=1e-3, blur_every=10, blur_sigma=0.5, max_jitter=2)
  assert out.shape == start.shape
  assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
  before = np.asarray(net.apply_fn(net.params, start))[np.arange(4), targets]
  after = np.asarray(net.apply_fn(net.params, out))[np.arange(4), targets]
  assert np.all(after > before + 0.1), (before, after)
  np.testing.assert_array_equal(np.argmax(net.apply_fn(net.params, out), -1), targets)


def test_fooling_images_stop_at_their_first_success(net):
  # under jit, the iteration limit traced: one program per batch shape, not one per op
  logits = jax.jit(net.apply_fn)
  fooling_images = jax.jit(class_viz.fooling_images, static_argnums=0)
  predicted = np.argmax(logits(net.params, net.images), -1)
  targets = jnp.asarray((predicted + 1) % 10)
  fooled, done, iters = fooling_images(
      net.apply_fn, net.params, net.images, targets, learning_rate=0.1, max_iterations=200)
  assert bool(done.all())
  np.testing.assert_array_equal(np.argmax(logits(net.params, fooled), -1), targets)
  assert np.all(np.asarray(iters) >= 1)
  # one step fewer leaves each image short of its target
  for i in range(len(targets)):
    one = fooling_images(net.apply_fn, net.params, net.images[i:i + 1], targets[i:i + 1],
                         learning_rate=0.1, max_iterations=int(iters[i]) - 1)
    assert not bool(one[1][0])
