import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gans import layers, models


def _conv_transpose_reference(x, kernel, bias):
  """ConvTranspose2d(k=4, s=2, p=1) by its definition: y[2i - 1 + a] += x[i] * w[a]."""
  b, h, w, _ = x.shape
  out = np.zeros((b, 2 * h + 2, 2 * w + 2, kernel.shape[-1]))
  for i in range(h):
    for j in range(w):
      for a in range(4):
        for c in range(4):
          out[:, 2 * i + a, 2 * j + c] += x[:, i, j] @ kernel[a, c]
  return out[:, 1:-1, 1:-1] + bias


def test_conv_transpose_4x4_matches_its_definition():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
  module = layers.ConvTranspose4x4(4)
  params = module.init(jax.random.key(0), x)
  params = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
  y = module.apply(params, x)
  chex.assert_shape(y, (2, 10, 12, 4))
  p = params['params']
  np.testing.assert_allclose(y, _conv_transpose_reference(x, np.asarray(p['kernel']),
                                                          np.asarray(p['bias'])),
                             atol=1e-4, rtol=1e-5)


def test_conv_transpose_gradients_match_xla_autodiff():
  # The hand-written VJP against XLA's autodiff of the same op as a dilated convolution.
  rng = np.random.default_rng(1)
  x = jnp.asarray(rng.normal(size=(2, 4, 5, 3)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(4, 4, 3, 6)), jnp.float32)
  reference = lambda x, k: jax.lax.conv_general_dilated(
      x, jnp.flip(k, (0, 1)), (1, 1), ((2, 2), (2, 2)), lhs_dilation=(2, 2),
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  dy = jnp.asarray(rng.normal(size=(2, 8, 10, 6)), jnp.float32)
  ours = jax.vjp(layers.conv_transpose4x4_stride2, x, kernel)[1](dy)
  theirs = jax.vjp(reference, x, kernel)[1](dy)
  chex.assert_trees_all_close(ours, theirs, atol=1e-4, rtol=1e-5)


def test_strided_conv_and_its_second_derivative_match_xla():
  rng = np.random.default_rng(2)
  x = jnp.asarray(rng.normal(size=(3, 6, 8, 2)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(4, 4, 2, 5)), jnp.float32)
  reference = lambda x, k: jax.lax.conv_general_dilated(
      x, k, (2, 2), ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  y = layers.conv4x4_stride2(x, kernel)
  chex.assert_shape(y, (3, 3, 4, 5))
  chex.assert_trees_all_close(y, reference(x, kernel), atol=1e-4, rtol=1e-5)
  # What the gradient penalty needs: d/dk of a function of d/dx.
  penalty = lambda f: lambda k: jnp.sum(jax.grad(lambda x: jnp.sum(jnp.tanh(f(x, k))))(x) ** 2)
  chex.assert_trees_all_close(jax.grad(penalty(layers.conv4x4_stride2))(kernel),
                              jax.grad(penalty(reference))(kernel), atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize('shape,ups', [((28, 28, 1), 2), ((32, 32, 3), 3)])
def test_generator_and_critic_shapes(shape, ups):
  assert models.num_upsamples(shape[0]) == ups
  g, d = models.Generator(shape, width=8), models.Critic(width=8)
  z = jnp.zeros((5, 16))
  g_params = jax.jit(g.init)(jax.random.key(0), z)
  fake = jax.jit(g.apply)(g_params, z)
  chex.assert_shape(fake, (5, *shape))
  assert float(jnp.max(jnp.abs(fake))) <= 1.0
  d_params = jax.jit(d.init)(jax.random.key(1), fake)
  chex.assert_shape(jax.jit(d.apply)(d_params, fake), (5,))


def test_critic_has_no_batch_statistics():
  d = models.Critic(width=8)
  variables = d.init(jax.random.key(0), jnp.zeros((2, 28, 28, 1)))
  assert set(variables) == {'params'}
