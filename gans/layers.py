"""Layers the GAN models need that Flax lacks or computes slowly."""
import jax
import jax.numpy as jnp
from flax import linen as nn

# Transposed conv, kernel 4, stride 2, padding 1 (PyTorch's ConvTranspose2d(4, 2, 1)):
# output pixel 2m + r takes input taps m-1, m, m+1 with kernel rows (3, 1, -) for r = 0
# and (-, 2, 0) for r = 1. _TAPS[r, a, k] = 1 where tap a of phase r uses kernel row k.
_TAPS = jnp.array([[[0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]],
                   [[0, 0, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]]], jnp.float32)


def depth_to_space(x, block: int = 2):
  """[B, H, W, (b, b, C)] -> [B, H*b, W*b, C]."""
  b, h, w, c = x.shape
  x = x.reshape(b, h, w, block, block, c // block**2)
  return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * block, w * block, c // block**2)


def subpixel_kernel(kernel):
  """A (4, 4, I, O) transposed-conv kernel as the (3, 3, I, 4*O) kernel of its 4 phases."""
  taps = _TAPS.astype(kernel.dtype)
  k3 = jnp.einsum('rap,sbq,pqio->abirso', taps, taps, kernel)
  return k3.reshape(3, 3, kernel.shape[2], 4 * kernel.shape[3])


class ConvTranspose4x4(nn.Module):
  """Doubles height and width, exactly as ConvTranspose2d(kernel 4, stride 2, padding 1).

  Computed as one 3x3 convolution into the four output phases, then depth-to-space: on
  CPU its gradient is an order of magnitude faster than nn.ConvTranspose's, and the
  parameters keep the transposed-conv layout (kh, kw, in, out) for weight conversion.
  """
  features: int
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros_init(), (self.features,))
    y = jax.lax.conv_general_dilated(x, subpixel_kernel(kernel).astype(x.dtype), (1, 1),
                                     'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return depth_to_space(y) + bias
