"""common/conv.py against lax.conv_general_dilated and its autodiff: values, both gradients,
the gradient penalty's second derivative, and flax.linen.Conv's parameters."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common import conv

SHAPES = [  # (height, width, kh, kw, in, out, padding)
    (9, 7, 3, 3, 4, 5, 'SAME'),
    (8, 8, 5, 5, 3, 2, 'SAME'),
    (9, 7, 3, 3, 4, 5, 'VALID'),
    (10, 9, 5, 5, 2, 3, 2),                # LeNet's padding 2
    (6, 6, 4, 4, 2, 3, 'SAME'),            # even kernel: the odd pixel after
    (7, 6, 1, 3, 2, 3, ((0, 0), (1, 1))),
]


def _reference(x, kernel, padding):
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), conv.pads(padding, kernel.shape),
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


@pytest.mark.parametrize('h,w,kh,kw,cin,cout,padding', SHAPES)
@pytest.mark.parametrize('implementation', ['matmul', 'xla'])
def test_values_gradients_and_second_derivative_match_lax(h, w, kh, kw, cin, cout, padding,
                                                          implementation):
  x = jax.random.normal(jax.random.key(0), (2, h, w, cin))
  kernel = jax.random.normal(jax.random.key(1), (kh, kw, cin, cout))
  mine = lambda x, k: conv.conv(x, k, padding, implementation)
  ref = lambda x, k: _reference(x, k, padding)
  np.testing.assert_allclose(mine(x, kernel), ref(x, kernel), rtol=1e-5, atol=1e-5)

  loss = lambda fn: lambda x, k: jnp.sum(jnp.sin(fn(x, k)))
  for got, want in zip(jax.grad(loss(mine), (0, 1))(x, kernel),
                       jax.grad(loss(ref), (0, 1))(x, kernel)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

  # WGAN-GP's penalty: the kernel gradient of a function of the input gradient
  penalty = lambda fn: lambda k: jnp.sum(
      jax.grad(lambda x: jnp.sum(jnp.tanh(fn(x, k))))(x) ** 2)
  np.testing.assert_allclose(jax.grad(penalty(mine))(kernel), jax.grad(penalty(ref))(kernel),
                             rtol=1e-4, atol=1e-4)


def test_the_matmul_gradient_is_the_one_used():
  """The custom rule really runs (not XLA's transpose): one matmul over narrow patches, nine
  over row-shifted slices for wider inputs."""
  def dots(channels, impl):
    x, kernel = jnp.ones((1, 8, 8, channels)), jnp.ones((3, 3, channels, 4))
    return str(jax.make_jaxpr(jax.grad(
        lambda k: conv.conv(x, k, 'SAME', impl).sum()))(kernel)).count('dot_general')
  assert dots(2, 'matmul') == 1 and dots(8, 'matmul') == 9
  assert dots(2, 'xla') == dots(8, 'xla') == 0


def test_auto_picks_matmul_only_where_it_pays_and_only_on_cpu():
  k3 = (3, 3, 0, 0)
  assert conv.matmul_pays((16, 28, 28, 32), k3, 'cpu')
  assert not conv.matmul_pays((16, 28, 28, 32), k3, 'gpu')
  assert conv.matmul_pays((16, 28, 28, 1), k3, 'cpu')        # narrow patches
  assert not conv.matmul_pays((16, 7, 7, 128), k3, 'cpu')    # small maps
  with conv.forced('xla'):
    x, kernel = jnp.ones((1, 28, 28, 8)), jnp.ones((3, 3, 8, 4))
    assert 'dot_general' not in str(jax.make_jaxpr(jax.grad(
        lambda k: conv.conv(x, k).sum()))(kernel))


def test_layer_has_flax_conv_parameters_and_outputs():
  x = jax.random.normal(jax.random.key(2), (2, 28, 28, 8))
  for padding in ('SAME', 'VALID', 2):
    ours = conv.Conv(6, (5, 5), padding=padding)
    theirs = nn.Conv(6, (5, 5), padding=padding if padding != 2 else [(2, 2)] * 2)
    params = theirs.init(jax.random.key(3), x)
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(3), x)) == jax.tree.map(
        jnp.shape, params)
    np.testing.assert_array_equal(ours.init(jax.random.key(3), x)['params']['kernel'],
                                  params['params']['kernel'])   # same initialiser
    np.testing.assert_allclose(ours.apply(params, x), theirs.apply(params, x), rtol=1e-5,
                               atol=1e-5)
  with pytest.raises(ValueError, match="'fast'.*auto, matmul, xla"):
    conv.conv(x, jnp.ones((3, 3, 8, 2)), 'SAME', 'fast')
