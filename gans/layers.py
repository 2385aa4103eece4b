"""Stride-2 convolutions (and 4x4 transposes) that XLA:CPU differentiates fast.

XLA:CPU computes the input gradient of a strided convolution, and the kernel gradient of
a transposed one, through a slow dilated-convolution path; WGAN-GP's gradient penalty
differentiates the critic twice. Here the strided conv is strided slices (im2col) and one
matmul, so all its derivatives are matmuls, pads and slices; the transposed conv runs
XLA's fast forward with a hand-written VJP built from the same two pieces. Kernels keep
the usual layouts, so weights convert one to one: (kh, kw, in, out) as flax.linen.Conv
for `Conv4x4Stride2`, and PyTorch's ConvTranspose2d(4, 2, 1) taps, (kh, kw, in, out),
for `ConvTranspose4x4`. benchmarks/wgan_gp_step.py times both against XLA's own.
"""
import functools

import jax
import jax.numpy as jnp
from flax import linen as nn

_NHWC = ('NHWC', 'HWIO', 'NHWC')


def _patches_stride2(x, k: int, lo: int | None = None, hi: int | None = None):
  """[B, H, W, C] -> [B, H', W', k*k*C]: each output pixel's k x k window at stride 2, in
  (kh, kw, c) order, after `lo` / `hi` zeros on each side. By default 'SAME' padding for
  even H and W (k - 2 zeros, the odd one after: 1 and 1 for k = 4, 0 and 1 for k = 3, as
  TensorFlow and Flax pad; H' = H / 2)."""
  _, h, w, _ = x.shape
  if lo is None:
    if h % 2 or w % 2:
      raise ValueError(f'stride-2 convolution needs even height and width, got {h}x{w}.')
    lo, hi = (k - 2) // 2, k - 2 - (k - 2) // 2
  xp = jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)))
  oh, ow = (xp.shape[1] - k) // 2 + 1, (xp.shape[2] - k) // 2 + 1
  return jnp.concatenate([xp[:, a:a + 2 * oh - 1:2, q:q + 2 * ow - 1:2]
                          for a in range(k) for q in range(k)], axis=-1)


def conv_stride2(x, kernel):
  """lax.conv(x, kernel, stride 2, 'SAME') for NHWC x (even H, W) and an HWIO kernel."""
  return _patches_stride2(x, kernel.shape[0]) @ kernel.reshape(-1, kernel.shape[-1])


def conv_stride2_padded(x, kernel, pad: int):
  """lax.conv(x, kernel, stride 2, padding `pad` on every side), any H and W: PyTorch's
  Conv2d(k, stride=2, padding=pad), as strided slices and one matmul."""
  return (_patches_stride2(x, kernel.shape[0], pad, pad)
          @ kernel.reshape(-1, kernel.shape[-1]))


conv4x4_stride2 = conv_stride2  # padding 1 on each side: PyTorch's Conv2d(4, 2, 1)


def _keeping_inputs(op):
  """The custom_vjp forward rule of a transposed conv: its output, and (x, kernel) for
  `_conv_transpose_bwd`."""
  return lambda x, kernel, *static: (op(x, kernel, *static), (x, kernel))


def _conv_transpose_bwd(pad: int, residuals, dy):
  """The VJP of a PyTorch-padded stride-2 transposed conv (output 2H x 2W): it is the adjoint
  of the strided conv, so one set of dy's stride-2 patches feeds two matmuls."""
  x, kernel = residuals
  k, _, i, o = kernel.shape
  d_taps = _patches_stride2(dy, k, pad, k - 2 - pad)  # [B, H, W, k*k*O], (kh, kw, o) order
  dx = d_taps @ _tap_matrix(kernel).T
  dk = jnp.einsum('bhwi,bhwp->ip', x, d_taps)
  return dx, dk.reshape(i, k, k, o).transpose(1, 2, 0, 3)


@jax.custom_vjp
def conv_transpose4x4_stride2(x, kernel):
  """PyTorch's ConvTranspose2d(kernel 4, stride 2, padding 1): [B,H,W,I] -> [B,2H,2W,O]."""
  # It is the adjoint of conv4x4_stride2 with the kernel's in/out swapped.
  return jax.lax.conv_transpose(x, jnp.swapaxes(kernel, 2, 3), (2, 2), ((2, 2), (2, 2)),
                                dimension_numbers=_NHWC, transpose_kernel=True)


conv_transpose4x4_stride2.defvjp(_keeping_inputs(conv_transpose4x4_stride2),
                                 functools.partial(_conv_transpose_bwd, 1))


def _tap_matrix(kernel):
  """(kh, kw, I, O) -> [I, kh * kw * O], columns in (kh, kw, O) order."""
  kh, kw, i, o = kernel.shape
  return kernel.transpose(2, 0, 1, 3).reshape(i, kh * kw * o)


def _shifted_sum(taps, kh: int, kw: int):
  """[B, H, W, kh, kw, O] per-tap outputs at their input pixels -> the 'SAME' conv output:
  output (r, c) sums tap (a, q) of input (r + a - lo_h, c + q - lo_w)."""
  _, h, w = taps.shape[:3]
  lo_h, lo_w = (kh - 1) // 2, (kw - 1) // 2
  taps = jnp.pad(taps, ((0, 0), (lo_h, kh - 1 - lo_h), (lo_w, kw - 1 - lo_w), (0, 0), (0, 0),
                        (0, 0)))
  return sum(taps[:, a:a + h, q:q + w, a, q] for a in range(kh) for q in range(kw))


def _shifted_patches(dy, kh: int, kw: int):
  """The adjoint of `_shifted_sum`: [B, H, W, O] -> [B, H, W, kh * kw * O]."""
  _, h, w, _ = dy.shape
  lo_h, lo_w = (kh - 1) // 2, (kw - 1) // 2
  dyp = jnp.pad(dy, ((0, 0), (kh - 1 - lo_h, lo_h), (kw - 1 - lo_w, lo_w), (0, 0)))
  return jnp.concatenate([dyp[:, kh - 1 - a:kh - 1 - a + h, kw - 1 - q:kw - 1 - q + w]
                          for a in range(kh) for q in range(kw)], axis=-1)


@jax.custom_vjp
def conv_same_by_taps(x, kernel):
  """lax.conv(x, kernel, stride 1, 'SAME') as one matmul to every tap's output and a sum of
  shifted slices, differentiated by matmuls: for convolutions to few channels (report
  000's 7x7 conv to 1 channel), which XLA:CPU runs at a fraction of its matmul speed."""
  kh, kw, _, o = kernel.shape
  return _shifted_sum((x @ _tap_matrix(kernel)).reshape(*x.shape[:3], kh, kw, o), kh, kw)


def _taps_fwd(x, kernel):
  return conv_same_by_taps(x, kernel), (x, kernel)


def _taps_bwd(residuals, dy):
  x, kernel = residuals
  kh, kw, i, o = kernel.shape
  d_taps = _shifted_patches(dy, kh, kw)
  dx = d_taps @ _tap_matrix(kernel).T
  dk = jnp.einsum('bhwi,bhwp->ip', x, d_taps)
  return dx, dk.reshape(i, kh, kw, o).transpose(1, 2, 0, 3)


conv_same_by_taps.defvjp(_taps_fwd, _taps_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_transpose_stride2_padded(x, kernel, pad: int):
  """PyTorch's ConvTranspose2d(k, stride=2, padding=pad, output_padding=1): [B, H, W, I] ->
  [B, 2H, 2W, O] with output (2i + a - pad, 2j + q - pad) += x[i, j] @ kernel[a, q] for the
  (kh, kw, in, out) taps. One matmul to every tap, then each tap's map added at its stride-2
  offset; the VJP is `_conv_transpose_bwd`'s two matmuls (autodiff through the adds, and
  XLA:CPU's own transposed convolution, are several times slower here)."""
  k, _, _, o = kernel.shape
  b, h, w, _ = x.shape
  taps = (x @ _tap_matrix(kernel)).reshape(b, h, w, k, k, o)
  full = sum(jnp.pad(jax.lax.pad(taps[:, :, :, a, q], jnp.zeros((), x.dtype),
                                 ((0, 0, 0), (0, 0, 1), (0, 0, 1), (0, 0, 0))),
                     ((0, 0), (a, k - a), (q, k - q), (0, 0)))
             for a in range(k) for q in range(k))  # [B, 2H + k, 2W + k, O]
  return full[:, pad:pad + 2 * h, pad:pad + 2 * w]


conv_transpose_stride2_padded.defvjp(_keeping_inputs(conv_transpose_stride2_padded),
                                     _conv_transpose_bwd)


class _SquareKernel(nn.Module):
  """A k x k kernel (kh, kw, in, out) and a bias around `op(x, kernel)`."""
  features: int
  kernel_size: int = 4
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  op = None  # set by subclasses

  @nn.compact
  def __call__(self, x):
    k = self.kernel_size
    kernel = self.param('kernel', self.kernel_init, (k, k, x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros_init(), (self.features,))
    return type(self).op(x, kernel.astype(x.dtype)) + bias


class ConvStride2(_SquareKernel):
  """Halves height and width: nn.Conv(features, (k, k), strides=2, padding='SAME')."""
  op = staticmethod(conv_stride2)


class Conv5x5Stride2Pad2(_SquareKernel):
  """nn.Conv(features, (5, 5), strides=2, padding=2), as PyTorch's Conv2d(5, 2, 2):
  28 -> 14 -> 7 -> 4 (gan_mnist.py's critic)."""
  kernel_size: int = 5
  op = staticmethod(lambda x, kernel: conv_stride2_padded(x, kernel, 2))


class ConvTranspose5x5Stride2Pad2(_SquareKernel):
  """Doubles height and width as PyTorch's ConvTranspose2d(5, 2, padding=2, output_padding=1)
  (gan_mnist.py's generator); taps (kh, kw, in, out)."""
  kernel_size: int = 5
  op = staticmethod(lambda x, kernel: conv_transpose_stride2_padded(x, kernel, 2))


class Conv4x4Stride2(ConvStride2):
  """nn.Conv(features, (4, 4), strides=2, padding=1), as PyTorch's Conv2d(4, 2, 1)."""


class ConvByTaps(_SquareKernel):
  """nn.Conv(features, (k, k), padding='SAME') (same parameters), fast for few outputs."""
  op = staticmethod(conv_same_by_taps)


class ConvTranspose4x4(_SquareKernel):
  """Doubles height and width, exactly as ConvTranspose2d(kernel 4, stride 2, padding 1)
  (and Keras' Conv2DTranspose(4, strides=2, padding='same'))."""
  op = staticmethod(conv_transpose4x4_stride2)

  def __post_init__(self):
    if self.kernel_size != 4:
      raise ValueError(f'ConvTranspose4x4 has 4x4 kernels, got kernel_size={self.kernel_size}.')
    super().__post_init__()
