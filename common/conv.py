"""Stride-1 2-D convolutions whose gradients run at matmul speed on XLA:CPU.

XLA:CPU runs a stride-1 convolution's kernel gradient several times slower than its
forward pass, and every convolution 3-9x slower inside a rolled loop (jax#12868), so a
training epoch could not be one lax.scan (benchmarks/conv_layer.py, classifier_epoch.py).
Here, under differentiation, the convolution is im2col: the input's kh * kw shifted windows
side by side along the channels (the patches, kept for the backward pass), one matmul with
the kernel; the kernel gradient is the patches' transpose times the output gradient, the
input gradient the output gradient times the kernel's transpose, summed back over the
windows. Everything is pads, slices and dots, so the second derivative (the gradient
penalty) is again made of them, and loops run at the speed of their matmuls. Evaluated
without differentiation (inference), it is XLA's convolution, which is faster there. Off
CPU, XLA's convolution is used throughout (`implementation`, chosen by platform).

`Conv` has flax.linen.Conv's parameters (`kernel` (kh, kw, in, out), `bias`), initialisers
and auto-names (Conv_0, ...), so checkpoints and converted weights load unchanged.
"""
from collections.abc import Sequence
import contextlib
import functools

import jax
import jax.numpy as jnp
from flax import linen as nn

IMPLEMENTATIONS = ('auto', 'patches', 'xla')  # auto: patches on CPU, xla elsewhere
_NHWC = ('NHWC', 'HWIO', 'NHWC')
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


def patches(x, kernel_shape, padding):
  """[n, ho, wo, kh * kw * in]: each output position's input window, taps in the kernel's
  (kh, kw, in) order, so that patches @ kernel.reshape(-1, out) is the convolution."""
  kh, kw = kernel_shape[:2]
  (top, bottom), (left, right) = padding
  xp = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
  ho, wo = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
  return jnp.concatenate([xp[:, a:a + ho, b:b + wo] for a in range(kh) for b in range(kw)],
                         axis=-1)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _conv(x, kernel, padding):
  return _xla(x, kernel, padding)


def _conv_fwd(x, kernel, padding):
  p = patches(x, kernel.shape, padding)
  return p @ kernel.reshape(-1, kernel.shape[-1]), (p, kernel)


def _conv_bwd(padding, residuals, dy):
  p, kernel = residuals
  kh, kw, cin, out = kernel.shape
  (top, bottom), (left, right) = padding
  x_shape = (p.shape[0], p.shape[1] + kh - 1 - top - bottom, p.shape[2] + kw - 1 - left - right,
             cin)
  dk = p.reshape(-1, p.shape[-1]).T @ dy.reshape(-1, out)
  to_patches = jax.linear_transpose(functools.partial(patches, kernel_shape=kernel.shape,
                                                      padding=padding),
                                    jax.ShapeDtypeStruct(x_shape, p.dtype))
  dx, = to_patches(dy @ kernel.reshape(-1, out).T)   # each window's gradient summed back
  return dx, dk.reshape(kernel.shape)


_conv.defvjp(_conv_fwd, _conv_bwd)


def conv(x, kernel, padding='SAME', implementation: str = 'auto'):
  """lax.conv_general_dilated(x, kernel, stride 1, padding) for NHWC x and an HWIO kernel."""
  if implementation not in IMPLEMENTATIONS:
    raise ValueError(f'conv implementation {implementation!r}: expected one of '
                     f'{", ".join(IMPLEMENTATIONS)}.')
  padding = pads(padding, kernel.shape)
  if implementation == 'auto':
    implementation = _FORCED[-1] if _FORCED else default_implementation()
  if implementation == 'xla':
    return _xla(x, kernel, padding)
  return _conv(x, kernel, padding)


def default_implementation(backend: str | None = None) -> str:
  """'patches' on CPU (benchmarks/conv_layer.py), XLA's convolution on GPU and TPU."""
  return 'patches' if (backend or jax.default_backend()) == 'cpu' else 'xla'


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
