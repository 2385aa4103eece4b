"""Stride-1 2-D convolutions whose kernel gradient runs at matmul speed on XLA:CPU.

XLA:CPU runs a stride-1 convolution's forward pass and input gradient well, but its kernel
gradient several times slower (benchmarks/conv_layer.py). Here the forward pass is XLA's,
the input gradient is the same convolution of the output gradient with the flipped kernel,
and the kernel gradient is matmuls: for a narrow input one over its patches, else kh * kw
matmuls for which the input is padded and flattened once, so
every tap's window over it is one contiguous slice of rows, and the output gradient is laid
on the same padded grid (zeros off it) so that positions that wrap around rows multiply
zeros. Everything is pads, slices, dots and convolutions, so the second derivative (the
gradient penalty) is again made of them. Off CPU, and on CPU for the shapes where it is
slower (`matmul_pays`), XLA's own gradient is used.

`Conv` has flax.linen.Conv's parameters (`kernel` (kh, kw, in, out), `bias`), initialisers
and auto-names (Conv_0, ...), so checkpoints and converted weights load unchanged.
"""
from collections.abc import Sequence
import contextlib
import functools

import jax
import jax.numpy as jnp
from flax import linen as nn

IMPLEMENTATIONS = ('auto', 'matmul', 'xla')  # auto: matmul where it pays (matmul_pays)
_NHWC = ('NHWC', 'HWIO', 'NHWC')
PATCH_WIDTH = 32  # kernel_gradient: the widest input patches it materialises
_FORCED = []  # `forced`: what 'auto' means while tracing inside it


@contextlib.contextmanager
def forced(implementation: str):
  """Traces every 'auto' convolution inside with `implementation` (benchmarks compare)."""
  _FORCED.append(implementation)
  try:
    yield
  finally:
    _FORCED.pop()


def pads(padding, kernel_shape) -> tuple[tuple[int, int], tuple[int, int]]:
  """'SAME' (TensorFlow's: the odd pixel after), 'VALID', an int, or ((lo, hi), (lo, hi))."""
  kh, kw = kernel_shape[:2]
  if padding == 'SAME':
    return tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in (kh, kw))
  if padding == 'VALID':
    return ((0, 0), (0, 0))
  if isinstance(padding, int):
    return ((padding, padding), (padding, padding))
  return tuple(tuple(int(p) for p in pair) for pair in padding)


def _xla(x, kernel, padding):
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=_NHWC)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _conv(x, kernel, padding):
  return _xla(x, kernel, padding)


def _conv_fwd(x, kernel, padding):
  return _conv(x, kernel, padding), (x, kernel)


def _conv_bwd(padding, residuals, dy):
  x, kernel = residuals
  kh, kw = kernel.shape[:2]
  (top, bottom), (left, right) = padding
  # The adjoint of a stride-1 convolution: the flipped, in/out-swapped kernel over dy
  # padded by k - 1 - pad on each side.
  full = ((kh - 1 - top, kh - 1 - bottom), (kw - 1 - left, kw - 1 - right))
  dx = _conv(dy, jnp.flip(kernel, (0, 1)).swapaxes(2, 3), full)
  return dx, kernel_gradient(x, dy, kernel.shape, padding)


_conv.defvjp(_conv_fwd, _conv_bwd)


def kernel_gradient(x, dy, kernel_shape, padding):
  """d(sum(conv(x, k) * dy)) / dk as matmuls: one over the input's patches where they are
  narrow (kh * kw * in <= PATCH_WIDTH: a first layer), else kh * kw over row-shifted
  slices (module doc), which copies the input kh * kw times but wastes no matmul width."""
  kh, kw = kernel_shape[:2]
  (top, bottom), (left, right) = padding
  xp = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
  n, p, q, c = xp.shape
  (ho, wo), o = dy.shape[1:3], dy.shape[-1]
  if _narrow(kernel_shape, c):
    patches = jnp.concatenate([xp[:, a:a + ho, b:b + wo] for a in range(kh) for b in range(kw)],
                              axis=-1)
    dk = patches.reshape(-1, kh * kw * c).T @ dy.reshape(-1, o)
    return dk.reshape(kh, kw, c, o).astype(x.dtype)
  rows = n * p * q
  flat = jnp.pad(xp.reshape(rows, c), ((0, (kh - 1) * q + kw - 1), (0, 0)))
  grid = jnp.pad(dy, ((0, 0), (0, p - ho), (0, q - wo), (0, 0))).reshape(rows, o)
  taps = [jax.lax.dot_general(flat[a * q + b:a * q + b + rows], grid, (((0,), (0,)), ((), ())))
          for a in range(kh) for b in range(kw)]
  return jnp.stack(taps).reshape(kh, kw, c, o).astype(x.dtype)


def conv(x, kernel, padding='SAME', implementation: str = 'auto'):
  """lax.conv_general_dilated(x, kernel, stride 1, padding) for NHWC x and an HWIO kernel."""
  if implementation not in IMPLEMENTATIONS:
    raise ValueError(f'conv implementation {implementation!r}: expected one of '
                     f'{", ".join(IMPLEMENTATIONS)}.')
  padding = pads(padding, kernel.shape)
  wide = any(p > k - 1 for pair, k in zip(padding, kernel.shape) for p in pair)  # no adjoint
  if implementation == 'auto' and _FORCED:
    implementation = _FORCED[-1]
  if implementation == 'auto':
    implementation = ('matmul' if matmul_pays(x.shape, kernel.shape, jax.default_backend())
                      else 'xla')
  if implementation == 'xla' or wide:
    return _xla(x, kernel, padding)
  return _conv(x, kernel, padding)


def matmul_pays(shape, kernel_shape, backend: str) -> bool:
  """Whether the matmul kernel gradient beats XLA's for NHWC inputs of `shape`. Measured on
  2 CPU cores at batch 128 (`python -m benchmarks.conv_layer`, forward and both gradients):
  1.6x for one input channel (narrow patches), 1.9-5.3x on 28x28 and 32x32 maps, 1.1-1.4x
  on 14x14 maps; on 7x7 maps even to 0.76x (the padded grid adds 65 % rows), so XLA's there.
  """
  _, h, w, c = shape
  return backend == 'cpu' and (_narrow(kernel_shape, c) or (c >= 4 and h * w >= 196))


def _narrow(kernel_shape, channels: int) -> bool:
  """Input patches this narrow are cheap to materialise: one matmul for the gradient."""
  return kernel_shape[0] * kernel_shape[1] * channels <= PATCH_WIDTH


class Conv(nn.Module):
  """flax.linen.Conv at stride 1 (same parameters and defaults), differentiated by `conv`."""
  features: int
  kernel_size: Sequence[int]
  padding: object = 'SAME'
  use_bias: bool = True
  dtype: object = None
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init,
                        (*self.kernel_size, x.shape[-1], self.features))
    dtype = self.dtype or x.dtype
    y = conv(x.astype(dtype), kernel.astype(dtype), self.padding)
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,)).astype(dtype)
    return y
