"""Saliency methods against Captum on the same weights, and IG's completeness."""
import captum.attr
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from tests import torch_reference
from probes import saliency


def _captum(net, attribution, **kwargs):
  x = torch_reference.nhwc_to_torch(net.images)
  out = attribution.attribute(x, target=torch.tensor(net.labels).long(), **kwargs)
  out = out[0] if isinstance(out, tuple) else out
  return out.detach().numpy()


def test_gradient_and_map_match_captum_saliency(net):
  grads = jax.jit(saliency.gradient, static_argnums=0)(net.apply_fn, net.params, net.images,
                                                       net.labels)
  chex.assert_shape(grads, net.images.shape)
  theirs = _captum(net, captum.attr.Saliency(net.torch()), abs=False)
  np.testing.assert_allclose(grads, theirs.transpose(0, 2, 3, 1), rtol=1e-4,
                             atol=1e-5 * np.abs(theirs).max())
  maps = saliency.to_map(grads)
  chex.assert_shape(maps, net.images.shape[:3])
  abs_theirs = _captum(net, captum.attr.Saliency(net.torch()), abs=True).max(axis=1)
  np.testing.assert_allclose(maps, abs_theirs, rtol=1e-4, atol=1e-5 * abs_theirs.max())


@pytest.mark.parametrize('method', saliency.IG_METHODS)
def test_integrated_gradients_match_captum_and_are_complete(plain_net, method):
  net = plain_net
  ig = jax.jit(saliency.integrated_gradients, static_argnums=0,
               static_argnames=('num_steps', 'method'))
  attr, delta = ig(net.apply_fn, net.params, net.images, net.labels, num_steps=64,
                   method=method)
  theirs = _captum(net, captum.attr.IntegratedGradients(net.torch()), n_steps=64,
                   method=method, baselines=0.0)
  if method == 'riemann_trapezoid':  # Captum's trapezoid weights sum to (n - 1) / n, ours to 1
    theirs = theirs * 64 / 63
  np.testing.assert_allclose(attr, theirs.transpose(0, 2, 3, 1), rtol=1e-3,
                             atol=1e-4 * np.abs(theirs).max())
  # completeness: attributions sum to f(x) - f(0) within 1 % over the batch at 64 steps,
  # and for every image at 1024 (ReLU kinks along the path are what the rules miss)
  scores = lambda x: np.take_along_axis(np.asarray(net.apply_fn(net.params, x)),
                                        net.labels[:, None], 1)[:, 0]
  gap = scores(net.images) - scores(np.zeros_like(net.images))
  np.testing.assert_allclose(np.asarray(attr).reshape(6, -1).sum(1) - gap, delta, atol=1e-5)
  overall, _ = saliency.completeness_error(attr, delta)
  np.testing.assert_allclose(overall, np.abs(delta).sum() / np.abs(gap).sum(), rtol=1e-3)
  assert overall <= 0.01, (method, delta, gap)
  attr, delta = ig(net.apply_fn, net.params, net.images, net.labels, num_steps=1024,
                   method=method)
  assert np.all(saliency.completeness_error(attr, delta)[1] <= 0.01), (method, delta, gap)


def test_integrated_gradients_of_a_linear_model_are_exact():
  """f(x) = sum(w * x): attributions are w * (x - b) with any rule, even 2 points."""
  w = jax.random.normal(jax.random.key(0), (1, 5, 5, 2))
  apply_fn = lambda p, x: jnp.stack([jnp.sum(p * x, axis=(1, 2, 3)), -jnp.sum(x, (1, 2, 3))], 1)
  x = jax.random.uniform(jax.random.key(1), (3, 5, 5, 2))
  attr, delta = saliency.integrated_gradients(apply_fn, w, x, jnp.zeros(3, jnp.int32),
                                              baseline=0.5, num_steps=2)
  np.testing.assert_allclose(attr, w * (x - 0.5), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(delta, 0.0, atol=1e-5)


def test_smoothgrad_is_the_gradient_without_noise_and_adds_the_noise_variance(net):
  key = jax.random.key(0)
  # under jit: op by op, each of the network's ops compiles on its own (~150 compiles)
  noiseless = jax.jit(saliency.smoothgrad, static_argnums=0, static_argnames='num_samples')(
      net.apply_fn, net.params, net.images, net.labels, key, num_samples=3, noise_level=0.0)
  plain = jax.jit(saliency.gradient, static_argnums=0)(net.apply_fn, net.params, net.images,
                                                       net.labels)
  np.testing.assert_allclose(noiseless, plain, rtol=1e-5, atol=1e-7)
  # a linear model's gradient is the same everywhere: SmoothGrad at any noise is the gradient
  w = jax.random.normal(jax.random.key(1), (1, 5, 5, 2))
  linear = lambda p, x: jnp.stack([jnp.sum(p * x, axis=(1, 2, 3)), jnp.sum(x, (1, 2, 3))], 1)
  x = jax.random.uniform(jax.random.key(2), (3, 5, 5, 2))
  labels = jnp.zeros(3, jnp.int32)
  np.testing.assert_allclose(
      saliency.smoothgrad(linear, w, x, labels, key, num_samples=4, noise_level=0.5),
      jnp.broadcast_to(w, x.shape), rtol=1e-5)
  # f = sum(x^3) / 3: E[(x + e)^2] = x^2 + sigma^2, sigma = noise_level * value_range
  cubic = lambda p, x: jnp.stack([jnp.sum(x ** 3, axis=(1, 2, 3)) / 3] * 2, 1)
  smooth = saliency.smoothgrad(cubic, w, x, labels, key, num_samples=512, noise_level=0.1,
                               value_range=2.0)
  sigma2 = (0.1 * 2.0) ** 2
  # the mean over 150 pixels of 512 samples each: its std ~2 % of sigma^2 (the 2 x e term)
  assert np.mean(smooth - x ** 2) == pytest.approx(sigma2, rel=0.05)


def test_grad_cam_matches_captum_layer_grad_cam(net):
  cam = jax.jit(saliency.grad_cam, static_argnums=0)(net.conv_apply_fn, net.params,
                                                     net.images, net.labels)
  chex.assert_shape(cam, net.images.shape[:3])
  torch_net = net.torch()
  layer = captum.attr.LayerGradCam(torch_net, torch_net.last_conv)
  coarse = layer.attribute(torch_reference.nhwc_to_torch(net.images),
                           target=torch.tensor(net.labels).long(), relu_attributions=True)
  theirs = captum.attr.LayerAttribution.interpolate(coarse, (28, 28), 'bilinear')
  theirs = theirs.detach().numpy()[:, 0]
  assert theirs.max() > 0
  np.testing.assert_allclose(cam, theirs, rtol=1e-4, atol=1e-5 * theirs.max())
