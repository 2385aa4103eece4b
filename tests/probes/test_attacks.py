"""Attacks: eps = 0 is the identity, the eps-ball and the valid range hold, FGSM equals its
closed form, PyTorch's and Foolbox's on the same weights, PGD reaches its targets."""
import functools

import foolbox
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from tests import torch_reference
from common import attacks

BOUNDS = [(0.0, 1.0), (-1.0, 1.0)]


def _in_model_space(net, bounds):
  lo, hi = bounds
  return net.images * (hi - lo) + lo


@pytest.mark.parametrize('bounds', BOUNDS)
def test_fgsm_eps_zero_is_the_identity(net, bounds):
  x = _in_model_space(net, bounds)
  adv = jax.jit(lambda p, x, y: attacks.fgsm(net.apply_fn, p, x, y, 0.0, bounds=bounds))(
      net.params, x, net.labels)
  np.testing.assert_array_equal(adv, x)


def test_fgsm_matches_its_closed_form_on_a_linear_model():
  """Softmax regression: d CE / d x = W (p - onehot(y)), so the step is eps sign(W (p - y))."""
  rng = np.random.default_rng(0)
  w = rng.normal(size=(12, 3)).astype(np.float32)
  x = rng.random((5, 2, 2, 3)).astype(np.float32)
  y = np.array([0, 1, 2, 0, 1], np.int32)
  apply_fn = lambda w, x: x.reshape(len(x), -1) @ w
  logits = x.reshape(5, -1) @ w
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  grad = (p - np.eye(3)[y]) @ w.T
  expected = np.clip(x + 0.1 * np.sign(grad).reshape(x.shape), 0, 1)
  np.testing.assert_allclose(attacks.fgsm(apply_fn, w, x, y, 0.1), expected, atol=1e-7)
  targeted = np.clip(x - 0.1 * np.sign(grad).reshape(x.shape), 0, 1)
  np.testing.assert_allclose(attacks.fgsm(apply_fn, w, x, y, 0.1, targeted=True), targeted,
                             atol=1e-7)


def test_fgsm_keeps_the_float64_gradient_signs_on_confident_images():
  """Label logits 20 above the rest: p_y rounds to 1 in float32, so the float32 cross-entropy
  gradient W (p - onehot(y)) loses its -W_y (1 - p_y) term and many of its signs. The attack
  must move every pixel by the sign of the exact gradient, computed here in float64 with
  1 - p_y = sum of the other p_k, as Foolbox 3's FGSM does."""
  rng = np.random.default_rng(2)
  w = rng.normal(size=(12, 3))
  x = rng.random((6, 12))
  y = np.array([0, 1, 2, 0, 1, 2], np.int32)
  logits = x @ w + 20.0 * np.eye(3)[y]
  p = np.exp(logits - np.log(np.exp(logits).sum(1, keepdims=True)))
  coefficient = np.where(np.eye(3, dtype=bool)[y], -(p.sum(1, keepdims=True) - p), p)
  expected = np.clip(x + 0.1 * np.sign(coefficient @ w.T), 0, 1)

  apply_fn = lambda w, x: x @ w + 20.0 * jax.nn.one_hot(y, 3)
  w32, x32 = w.astype(np.float32), x.astype(np.float32)
  np.testing.assert_allclose(attacks.fgsm(apply_fn, w32, x32, y, 0.1), expected, atol=1e-6)
  plain = jax.grad(lambda x: -jnp.sum(jax.nn.log_softmax(apply_fn(w32, x)) * np.eye(3)[y]))(x32)
  assert np.mean(np.sign(plain) != np.sign(coefficient @ w.T)) > 0.2  # the case is a hard one
  model = foolbox.JAXModel(functools.partial(apply_fn, w32), bounds=(0, 1))
  _, theirs, _ = foolbox.attacks.FGSM()(model, jnp.asarray(x32), jnp.asarray(y), epsilons=0.1)
  np.testing.assert_allclose(theirs, expected, atol=1e-6)


@pytest.mark.parametrize('eps', [0.05, 0.3])
def test_fgsm_matches_foolbox_on_the_same_weights(net, eps):
  # both under jit: op by op, each of the network's ops compiles on its own (~200 compiles)
  ours = jax.jit(attacks.fgsm, static_argnums=0)(net.apply_fn, net.params, net.images,
                                                 net.labels, eps)
  model = foolbox.JAXModel(jax.jit(functools.partial(net.apply_fn, net.params)), bounds=(0, 1))
  _, theirs, _ = foolbox.attacks.FGSM()(model, jnp.asarray(net.images), jnp.asarray(net.labels),
                                        epsilons=eps)
  np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_fgsm_matches_pytorch_on_the_same_weights(net):
  """PyTorch's FGSM tutorial: x + eps * sign(grad of cross-entropy), clamped to [0, 1]."""
  eps = 0.1
  ours = np.asarray(jax.jit(attacks.fgsm, static_argnums=0)(net.apply_fn, net.params,
                                                            net.images, net.labels, eps))
  x = torch_reference.nhwc_to_torch(net.images).requires_grad_(True)
  loss = torch.nn.functional.cross_entropy(net.torch()(x), torch.tensor(net.labels).long())
  loss.backward()
  theirs = torch.clamp(x + eps * x.grad.sign(), 0, 1).detach().numpy().transpose(0, 2, 3, 1)
  # signs may differ only where a gradient is ~0 (float rounding)
  assert np.mean(np.abs(ours - theirs) > 1e-6) < 0.01
  np.testing.assert_allclose(np.median(np.abs(ours - theirs)), 0.0, atol=1e-7)


@pytest.mark.parametrize('norm', attacks.NORMS)
@pytest.mark.parametrize('bounds', BOUNDS)
def test_pgd_stays_in_the_eps_ball_and_the_valid_range(net, norm, bounds):
  x = _in_model_space(net, bounds)
  eps = 0.05 if norm == 'linf' else 1.0
  adv = jax.jit(attacks.pgd, static_argnums=0, static_argnames=('num_steps', 'norm'))(
      net.apply_fn, net.params, x, net.labels, jax.random.key(0), eps=eps, step_size=eps / 4,
      num_steps=10, norm=norm, bounds=bounds)
  lo, hi = bounds
  assert float(adv.min()) >= lo and float(adv.max()) <= hi
  linf, l2 = attacks.perturbation_norms(x, adv, bounds)
  radius = linf if norm == 'linf' else l2
  assert float(radius.max()) <= eps * (1 + 1e-5)
  assert float(radius.min()) > 0.5 * eps  # it moved towards the boundary
  loss = lambda z: -jnp.take_along_axis(jax.nn.log_softmax(net.apply_fn(net.params, z)),
                                        net.labels[:, None], 1).mean()
  assert loss(adv) > loss(x)


def test_projection_is_the_nearest_point_of_the_ball():
  delta = jnp.array([[3.0, 4.0], [0.3, -0.1]])
  np.testing.assert_allclose(attacks.project(delta, 1.0, 'l2'), [[0.6, 0.8], [0.3, -0.1]],
                             rtol=1e-6)
  np.testing.assert_allclose(attacks.project(delta, 0.2, 'linf'), [[0.2, 0.2], [0.2, -0.1]])


def test_targeted_pgd_reaches_its_targets(net):
  targets = (net.labels + 1) % 10
  adv = attacks.pgd(net.apply_fn, net.params, net.images, targets, jax.random.key(0), eps=0.3,
                    step_size=0.02, num_steps=40, targeted=True)
  np.testing.assert_array_equal(np.argmax(net.apply_fn(net.params, adv), -1), targets)


def test_margin_gradient_matches_its_closed_form_on_a_linear_model():
  """margin = max_{j != y} s_j - s_y with s = x W: its gradient is W[:, j*] - W[:, y]."""
  rng = np.random.default_rng(1)
  w = rng.normal(size=(12, 4)).astype(np.float32)
  x = rng.random((5, 2, 2, 3)).astype(np.float32)
  y = np.array([0, 1, 2, 3, 1], np.int32)
  scores = x.reshape(5, -1) @ w
  others = np.where(np.eye(4, dtype=bool)[y], -np.inf, scores)
  best = others.argmax(1)
  expected = (w[:, best] - w[:, y]).T.reshape(x.shape)
  grad, _ = attacks.margin_grad(lambda w, x: x.reshape(len(x), -1) @ w, w, x, y)
  np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-6)
