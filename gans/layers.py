"""4x4 stride-2 convolutions (and their transposes) that XLA:CPU differentiates fast.

XLA:CPU computes the input gradient of a strided convolution, and the kernel gradient of
a transposed one, through a slow dilated-convolution path; WGAN-GP's gradient penalty
differentiates the critic twice. Here the strided conv is strided slices (im2col) and one
matmul, so all its derivatives are matmuls, pads and slices; the transposed conv runs
XLA's fast forward with a hand-written VJP built from the same two pieces. Kernels keep
the usual layouts, so weights convert one to one: (kh, kw, in, out) as flax.linen.Conv
for `Conv4x4Stride2`, and PyTorch's ConvTranspose2d(4, 2, 1) taps, (kh, kw, in, out),
for `ConvTranspose4x4`. benchmarks/wgan_gp_step.py times both against XLA's own.
"""
import jax
import jax.numpy as jnp
from flax import linen as nn

_NHWC = ('NHWC', 'HWIO', 'NHWC')


def _patches4x4_stride2(x):
  """[B, H, W, C] -> [B, H/2, W/2, 16C]: each output pixel's 4x4 window (padding 1),
  in (kh, kw, c) order."""
  _, h, w, _ = x.shape
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  return jnp.concatenate([xp[:, a:a + h - 1:2, q:q + w - 1:2]
                          for a in range(4) for q in range(4)], axis=-1)


def conv4x4_stride2(x, kernel):
  """lax.conv(x, kernel, stride 2, padding 1) for NHWC x (even H, W) and an HWIO kernel."""
  return _patches4x4_stride2(x) @ kernel.reshape(-1, kernel.shape[-1])


@jax.custom_vjp
def conv_transpose4x4_stride2(x, kernel):
  """PyTorch's ConvTranspose2d(kernel 4, stride 2, padding 1): [B,H,W,I] -> [B,2H,2W,O]."""
  # It is the adjoint of conv4x4_stride2 with the kernel's in/out swapped.
  return jax.lax.conv_transpose(x, jnp.swapaxes(kernel, 2, 3), (2, 2), ((2, 2), (2, 2)),
                                dimension_numbers=_NHWC, transpose_kernel=True)


def _conv_transpose_fwd(x, kernel):
  return conv_transpose4x4_stride2(x, kernel), (x, kernel)


def _conv_transpose_bwd(residuals, dy):
  x, kernel = residuals
  i, o = kernel.shape[2:]
  dx = jax.lax.conv_general_dilated(dy, jnp.swapaxes(kernel, 2, 3), (2, 2), ((1, 1), (1, 1)),
                                    dimension_numbers=_NHWC)
  dk = jnp.einsum('bhwi,bhwp->ip', x, _patches4x4_stride2(dy))  # p in (kh, kw, o) order
  return dx, dk.reshape(i, 4, 4, o).transpose(1, 2, 0, 3)


conv_transpose4x4_stride2.defvjp(_conv_transpose_fwd, _conv_transpose_bwd)


class _Kernel4x4(nn.Module):
  """A 4x4 kernel (kh, kw, in, out) and a bias around `op(x, kernel)`."""
  features: int
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  op = None  # set by subclasses

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros_init(), (self.features,))
    return type(self).op(x, kernel.astype(x.dtype)) + bias


class Conv4x4Stride2(_Kernel4x4):
  """Halves height and width: nn.Conv(features, (4, 4), strides=2, padding=1)."""
  op = staticmethod(conv4x4_stride2)


class ConvTranspose4x4(_Kernel4x4):
  """Doubles height and width, exactly as ConvTranspose2d(kernel 4, stride 2, padding 1)."""
  op = staticmethod(conv_transpose4x4_stride2)
