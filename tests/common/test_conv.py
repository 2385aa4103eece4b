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
@pytest.mark.parametrize('implementation', ['patches', 'xla'])
def test_values_gradients_and_second_derivative_match_lax(h, w, kh, kw, cin, cout, padding,
                                                          implementation):
  x = jax.random.normal(jax.random.key(0), (2, h, w, cin))
  kernel = jax.random.normal(jax.random.key(1), (kh, kw, cin, cout))
  # each side under jit (op by op, every op would compile on its own)
  mine = lambda x, k: conv.conv(x, k, padding, implementation)
  ref = lambda x, k: _reference(x, k, padding)
  np.testing.assert_allclose(jax.jit(mine)(x, kernel), jax.jit(ref)(x, kernel), rtol=1e-5,
                             atol=1e-5)

  loss = lambda fn: lambda x, k: jnp.sum(jnp.sin(fn(x, k)))
  for got, want in zip(jax.jit(jax.grad(loss(mine), (0, 1)))(x, kernel),
                       jax.jit(jax.grad(loss(ref), (0, 1)))(x, kernel)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

  # WGAN-GP's penalty: the kernel gradient of a function of the input gradient
  penalty = lambda fn: lambda k: jnp.sum(
      jax.grad(lambda x: jnp.sum(jnp.tanh(fn(x, k))))(x) ** 2)
  # entries in the hundreds: a small one carries the float32 rounding of the sums' order
  # (1e-6 of the largest entry when XLA fuses, up to 1.4e-6 with its optimizations off)
  want = jax.jit(jax.grad(penalty(ref)))(kernel)
  np.testing.assert_allclose(jax.jit(jax.grad(penalty(mine)))(kernel), want, rtol=1e-4,
                             atol=2e-6 * float(jnp.max(jnp.abs(want))))


def _ops(fn, *args):
  jaxpr = str(jax.make_jaxpr(fn)(*args))
  return jaxpr.count('dot_general'), jaxpr.count('conv_general_dilated')


def test_patches_differentiate_as_matmuls_and_evaluate_as_xla():
  """Under grad no convolution is left (a rolled loop runs at matmul speed): the forward
  matmul and both gradients'; evaluated alone it is XLA's convolution."""
  x, kernel = jnp.ones((1, 8, 8, 3)), jnp.ones((3, 3, 3, 4))
  loss = lambda x, k: conv.conv(x, k, 'SAME', 'patches').sum()
  assert _ops(jax.grad(loss, (0, 1)), x, kernel) == (3, 0)
  assert _ops(loss, x, kernel) == (0, 1)
  xla = lambda x, k: conv.conv(x, k, 'SAME', 'xla').sum()
  assert _ops(jax.grad(xla, (0, 1)), x, kernel)[0] == 0


def test_auto_is_patches_on_cpu_only_and_forced_overrides_it():
  assert conv.default_implementation('cpu') == 'patches'
  assert conv.default_implementation('gpu') == conv.default_implementation('tpu') == 'xla'
  x, kernel = jnp.ones((1, 28, 28, 8)), jnp.ones((3, 3, 8, 4))
  grad = lambda: jax.grad(lambda k: conv.conv(x, k).sum())  # new each time: traces are cached
  assert _ops(grad(), kernel)[0] == (3 if jax.default_backend() == 'cpu' else 0)
  with conv.forced('xla'):
    assert _ops(grad(), kernel)[0] == 0


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
  with pytest.raises(ValueError, match="'fast'.*auto, patches, xla"):
    conv.conv(x, jnp.ones((3, 3, 8, 2)), 'SAME', 'fast')
