"""DCGAN-style conv generator and critic for 28x28 and 32x32 images (WGAN-GP, Gulrajani et al.)."""
from collections.abc import Sequence

from flax import linen as nn

from gans.layers import Conv4x4Stride2, ConvTranspose4x4


def num_upsamples(height: int) -> int:
  """Resolution doublings from the generator's first feature map (>= 4 pixels) to `height`."""
  n = 0
  while n < 3 and height % 2**(n + 1) == 0 and height // 2**(n + 1) >= 4:
    n += 1
  return n


class Generator(nn.Module):
  """z -> Dense -> s x s x (width * 2^n) -> n transposed convs, each doubling the size.

  28x28: 7x7x4w -> 14x14x2w -> 28x28xC; 32x32: 4x4x8w -> 8x8x4w -> 16x16x2w -> 32x32xC.
  """
  image_shape: Sequence[int]
  width: int = 64
  output_activation: str = 'tanh'  # 'tanh' for pixels in [-1, 1], 'sigmoid' for [0, 1]

  @nn.compact
  def __call__(self, z):
    height, width_px, channels = self.image_shape
    n = num_upsamples(height)
    s = height // 2**n
    x = nn.Dense(s * (width_px // 2**n) * self.width * 2**n)(z)
    x = nn.relu(x).reshape(z.shape[0], s, width_px // 2**n, self.width * 2**n)
    for i in range(n):
      last = i == n - 1
      x = ConvTranspose4x4(channels if last else self.width * 2**(n - 1 - i))(x)
      if not last:
        x = nn.relu(x)
    return nn.tanh(x) if self.output_activation == 'tanh' else nn.sigmoid(x)


class Critic(nn.Module):
  """n strided 4x4 convs (width, 2*width, ...) with LeakyReLU(0.2), then Dense(1).

  No batch norm: the gradient penalty is per example, so examples must not interact.
  """
  width: int = 64

  @nn.compact
  def __call__(self, x):
    for i in range(num_upsamples(x.shape[1])):
      x = Conv4x4Stride2(self.width * 2**i)(x)
      x = nn.leaky_relu(x, 0.2)
    return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]
