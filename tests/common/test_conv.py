"""common/conv.py against lax.conv_general_dilated and its autodiff: values, both gradients,
the gradient penalty's second derivative, for the patches, Winograd's 3x3 tiles and XLA's
own; and flax.linen.Conv's parameters."""
import re

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
    (6, 4, 3, 3, 3, 2, ((0, 1), (2, 0))),  # uneven padding: a 5x4 output
    (10, 11, 3, 3, 8, 4, 1),
    (9, 10, 3, 3, 32, 4, 'SAME'),          # where auto is Winograd's on CPU
]
CASES = [(*shape, implementation) for shape in SHAPES
         for implementation in ('patches', 'winograd', 'xla')
         if implementation != 'winograd' or shape[2:4] == (3, 3)]   # Winograd's are 3x3


def _reference(x, kernel, padding):
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), conv.pads(padding, kernel.shape),
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


@pytest.mark.parametrize('h,w,kh,kw,cin,cout,padding,implementation', CASES)
def test_values_gradients_and_second_derivative_match_lax(h, w, kh, kw, cin, cout, padding,
                                                          implementation):
  x = jax.random.normal(jax.random.key(0), (2, h, w, cin))
  kernel = jax.random.normal(jax.random.key(1), (kh, kw, cin, cout))
  # each side under jit (op by op, every op would compile on its own)
  mine = lambda x, k: conv.conv(x, k, padding, implementation)
  ref = lambda x, k: _reference(x, k, padding)
  want = jax.jit(ref)(x, kernel)
  np.testing.assert_allclose(jax.jit(mine)(x, kernel), want, rtol=1e-5, atol=1e-5)
  # the forward pass that differentiation runs (the one above is XLA's where it differs)
  np.testing.assert_allclose(jax.jit(lambda x, k: jax.vjp(mine, x, k)[0])(x, kernel), want,
                             rtol=1e-5, atol=1e-5)

  loss = lambda fn: lambda x, k: jnp.sum(jnp.sin(fn(x, k)))
  for got, want in zip(jax.jit(jax.grad(loss(mine), (0, 1)))(x, kernel),
                       jax.jit(jax.grad(loss(ref), (0, 1)))(x, kernel)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

  # WGAN-GP's penalty: the kernel gradient of a function of the input gradient
  penalty = lambda fn: lambda k: jnp.sum(
      jax.grad(lambda x: jnp.sum(jnp.tanh(fn(x, k))))(x) ** 2)
  # entries in the hundreds: a small one carries the float32 rounding of the sums' order
  # (1e-6 of the largest entry when XLA fuses, up to 1.4e-6 with its optimizations off).
  # Winograd's transforms round otherwise: on the 32-channel shape, against float64, XLA's
  # float32 is 4.6e-6 of the largest entry off and Winograd's 7.9e-6.
  want = jax.jit(jax.grad(penalty(ref)))(kernel)
  rounding = 1.5e-5 if implementation == 'winograd' else 2e-6
  np.testing.assert_allclose(jax.jit(jax.grad(penalty(mine)))(kernel), want, rtol=1e-4,
                             atol=rounding * float(jnp.max(jnp.abs(want))))


def _ops(fn, *args):
  jaxpr = str(jax.make_jaxpr(fn)(*args))
  return jaxpr.count('dot_general'), jaxpr.count('conv_general_dilated')


@pytest.mark.parametrize('implementation, batched', [('patches', 0), ('winograd', 3)])
def test_differentiated_as_matmuls_and_evaluated_as_xla(implementation, batched):
  """Under grad no convolution is left (a rolled loop runs at matmul speed): the forward
  matmul and both gradients' (Winograd's batched over the tiles' 16 entries); evaluated
  alone it is XLA's convolution."""
  x, kernel = jnp.ones((1, 8, 8, 3)), jnp.ones((3, 3, 3, 4))
  loss = lambda x, k: conv.conv(x, k, 'SAME', implementation).sum()
  assert _ops(jax.grad(loss, (0, 1)), x, kernel) == (3, 0)
  assert _batched_dots(jax.grad(loss, (0, 1)), x, kernel) == batched
  assert _ops(loss, x, kernel) == (0, 1)
  xla = lambda x, k: conv.conv(x, k, 'SAME', 'xla').sum()
  assert _ops(jax.grad(xla, (0, 1)), x, kernel)[0] == 0


def _batched_dots(fn, *args) -> int:
  """How many dot_generals batch over a leading axis (Winograd's 16 tile entries)."""
  return len(re.findall(r'dimension_numbers=\(\(\[\d\], \[\d\]\), \(\[0\], \[0\]\)\)',
                        str(jax.make_jaxpr(fn)(*args))))


def test_auto_is_winograd_or_patches_on_cpu_only_and_forced_overrides_it():
  for kernel_shape, output_hw, implementation in [
      ((3, 3, 32, 4), (7, 7), 'winograd'), ((3, 3, 16, 4), (28, 28), 'patches'),
      ((3, 3, 64, 4), (7, 6), 'patches'), ((5, 5, 64, 4), (28, 28), 'patches')]:
    assert conv.default_implementation(kernel_shape, output_hw, 'cpu') == implementation
    assert conv.default_implementation(kernel_shape, output_hw, 'gpu') == 'xla'
    assert conv.default_implementation(kernel_shape, output_hw, 'tpu') == 'xla'
  on_cpu = jax.default_backend() == 'cpu'
  kernel = jnp.ones((3, 3, 32, 4))
  # new each time: traces are cached
  grad = lambda x, padding: jax.grad(lambda k: conv.conv(x, k, padding).sum())
  # the output's size decides, not the input's: 9x9 VALID is a 7x7 output, 8x8 a 6x6
  for size, padding, batched in [(9, 'SAME', 3), (9, 'VALID', 3), (8, 'VALID', 0)]:
    x = jnp.ones((1, size, size, 32))
    assert _ops(grad(x, padding), kernel)[0] == (3 if on_cpu else 0)
    assert _batched_dots(grad(x, padding), kernel) == (batched if on_cpu else 0), size
  x = jnp.ones((1, 9, 9, 32))
  with conv.forced('xla'):
    assert _ops(grad(x, 'SAME'), kernel)[0] == 0
  with conv.forced('winograd'):   # Winograd's where it applies, the patches elsewhere
    assert _batched_dots(grad(x, 'SAME'), kernel) == 3
    assert _batched_dots(grad(x, 'SAME'), jnp.ones((5, 5, 32, 4))) == 0
    assert _ops(grad(x, 'SAME'), jnp.ones((5, 5, 32, 4)))[0] == 3
  with pytest.raises(ValueError, match="'fast'.*auto, patches, winograd, xla"):
    with conv.forced('fast'):
      pass


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
  with pytest.raises(ValueError, match="'fast'.*auto, patches, winograd, xla"):
    conv.conv(x, jnp.ones((3, 3, 8, 2)), 'SAME', 'fast')
  with pytest.raises(ValueError, match="'winograd' is for 3x3 kernels; this kernel is 5x5"):
    conv.conv(x, jnp.ones((5, 5, 8, 2)), 'SAME', 'winograd')
