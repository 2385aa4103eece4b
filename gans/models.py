"""Generators and discriminators of the GAN family, for 28x28 and 32x32 images.

Every generator is called as `G(z, labels, train=...)` and every discriminator as
`D(x, labels, train=...)` returning one logit (or critic score) per example (and class
logits, for `Critic` with an AC-GAN head); `labels` is
used when `num_classes` > 0 (conditional GANs: one-hot labels appended to the noise, and to
the discriminator's input as flat features or as constant image planes) and ignored
otherwise. `train` switches BatchNorm to batch statistics and turns dropout on.

- `Generator` / `Critic`: the DCGAN family (Radford et al.; WGAN-GP's networks without
  normalisation, the standard DCGAN with `batchnorm=True`).
- `KerasDCGANGenerator` / `KerasDCGANDiscriminator`: report 000's Keras DCGAN exactly
  (1,164,289 and 40,705 parameters on MNIST).
- `MLPGenerator` / `MLPDiscriminator`: the vanilla GANs of reports 002-004 (Goodfellow et
  al.), with the Maxout + dropout discriminator and the BatchNorm generator as options.
- `GulrajaniGenerator` / `GulrajaniCritic`: the MNIST networks of Gulrajani et al.'s
  `gan_mnist.py` (wgan-gp mode) with its tflib initialisation, 28x28 only.
"""
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from common.activations import ACTIVATIONS
from gans.layers import (ConvByTaps, ConvStride2, Conv4x4Stride2, Conv5x5Stride2Pad2,
                         ConvTranspose4x4, ConvTranspose5x5Stride2Pad2)

ARCHS = ('dcgan', 'keras_dcgan', 'mlp', 'gulrajani')  # config.model.arch: which networks below
OUTPUT_ACTIVATIONS = {'tanh': nn.tanh, 'sigmoid': nn.sigmoid}


def num_upsamples(height: int) -> int:
  """Resolution doublings from the generator's first feature map (>= 4 pixels) to `height`."""
  n = 0
  while n < 3 and height % 2**(n + 1) == 0 and height // 2**(n + 1) >= 4:
    n += 1
  return n


def _with_label(z, labels, num_classes: int):
  """Appends one-hot labels to a flat input (conditional GANs)."""
  if not num_classes:
    return z
  return jnp.concatenate([z, nn.one_hot(labels, num_classes, dtype=z.dtype)], axis=-1)


def _label_planes(x, labels, num_classes: int):
  """Appends one constant image plane per class (1 on the label's plane) to `x`."""
  if not num_classes:
    return x
  planes = nn.one_hot(labels, num_classes, dtype=x.dtype)[:, None, None, :]
  return jnp.concatenate([x, jnp.broadcast_to(planes, x.shape[:3] + (num_classes,))], -1)


def _batch_norm(train: bool, momentum: float):
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5)


class Generator(nn.Module):
  """z -> Dense -> s x s x (width * 2^n) -> n transposed convs, each doubling the size.

  28x28: 7x7x4w -> 14x14x2w -> 28x28xC; 32x32: 4x4x8w -> 8x8x4w -> 16x16x2w -> 32x32xC.
  `batchnorm` puts BatchNorm before every ReLU (the standard DCGAN).
  """
  image_shape: Sequence[int]
  width: int = 64
  output_activation: str = 'tanh'  # 'tanh' for pixels in [-1, 1], 'sigmoid' for [0, 1]
  batchnorm: bool = False
  bn_momentum: float = 0.9         # PyTorch's default (its momentum 0.1)
  num_classes: int = 0

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    height, width_px, channels = self.image_shape
    n = num_upsamples(height)
    s = height // 2**n
    z = _with_label(z, labels, self.num_classes)
    x = nn.Dense(s * (width_px // 2**n) * self.width * 2**n)(z)
    if self.batchnorm:
      x = _batch_norm(train, self.bn_momentum)(x)
    x = nn.relu(x).reshape(z.shape[0], s, width_px // 2**n, self.width * 2**n)
    for i in range(n):
      last = i == n - 1
      x = ConvTranspose4x4(channels if last else self.width * 2**(n - 1 - i))(x)
      if not last:
        if self.batchnorm:
          x = _batch_norm(train, self.bn_momentum)(x)
        x = nn.relu(x)
    return OUTPUT_ACTIVATIONS[self.output_activation](x)


class Critic(nn.Module):
  """n strided 4x4 convs (width, 2*width, ...) with LeakyReLU(0.2), then Dense(1).

  No batch norm by default: WGAN-GP's penalty is per example, so examples must not
  interact. `batchnorm` adds it after every conv but the first (the standard DCGAN).
  `aux_classes` > 0 adds AC-GAN's classifier head (Odena et al.), Dense(aux_classes) on the
  same features: the call then returns (scores, class logits).
  """
  width: int = 64
  batchnorm: bool = False
  bn_momentum: float = 0.9
  num_classes: int = 0
  aux_classes: int = 0

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    n = num_upsamples(x.shape[1])
    x = _label_planes(x, labels, self.num_classes)
    for i in range(n):
      x = Conv4x4Stride2(self.width * 2**i)(x)
      if self.batchnorm and i > 0:
        x = _batch_norm(train, self.bn_momentum)(x)
      x = nn.leaky_relu(x, 0.2)
    features = x.reshape(x.shape[0], -1)
    scores = nn.Dense(1)(features)[:, 0]
    if self.aux_classes:
      return scores, nn.Dense(self.aux_classes, name='classes')(features)
    return scores


class KerasDCGANGenerator(nn.Module):
  """Report 000: Dense(128 * s * s) LReLU -> reshape -> ConvT(128, 4, s2) LReLU ->
  ConvT(128, 4, s2) LReLU -> Conv(C, 7x7, same) with a sigmoid (pixels in [0, 1])."""
  image_shape: Sequence[int]
  width: int = 128
  output_activation: str = 'sigmoid'
  num_classes: int = 0

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    del train
    height, width_px, channels = self.image_shape
    s, t = height // 4, width_px // 4
    x = nn.Dense(self.width * s * t)(_with_label(z, labels, self.num_classes))
    x = nn.leaky_relu(x, 0.2).reshape(z.shape[0], s, t, self.width)
    for _ in range(2):
      x = nn.leaky_relu(ConvTranspose4x4(self.width)(x), 0.2)
    return OUTPUT_ACTIVATIONS[self.output_activation](ConvByTaps(channels, 7)(x))


class KerasDCGANDiscriminator(nn.Module):
  """Report 000: two Conv(64, 3x3, stride 2, same) with LeakyReLU(0.2) and Dropout(0.4),
  Flatten, Dense(1) (the sigmoid is in the loss)."""
  width: int = 64
  dropout: float = 0.4
  num_classes: int = 0

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    x = _label_planes(x, labels, self.num_classes)
    for _ in range(2):
      x = nn.leaky_relu(ConvStride2(self.width, kernel_size=3)(x), 0.2)
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]


class MLPGenerator(nn.Module):
  """z -> hidden Dense layers -> Dense(H * W * C) -> tanh/sigmoid -> image.

  Report 002: widths (256, 512, 1024), LeakyReLU(0.2). Report 004: (256, 512, 1024, 2048)
  from noise 128, ReLU, BatchNorm with momentum 0.8 (Keras' convention, as Flax's).
  """
  image_shape: Sequence[int]
  widths: Sequence[int] = (256, 512, 1024)
  activation: str = 'leaky_relu_0.2'
  batchnorm: bool = False
  bn_momentum: float = 0.8
  output_activation: str = 'tanh'
  num_classes: int = 0

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    x = _with_label(z, labels, self.num_classes)
    for width in self.widths:
      x = nn.Dense(width)(x)
      if self.batchnorm:
        x = _batch_norm(train, self.bn_momentum)(x)
      x = ACTIVATIONS[self.activation](x)
    x = nn.Dense(math.prod(self.image_shape))(x)
    return OUTPUT_ACTIVATIONS[self.output_activation](x).reshape(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
  """Flattened image -> hidden Dense layers -> Dense(1).

  Report 002: widths (512, 256), LeakyReLU(0.2). Report 003 (Goodfellow et al.'s Maxout
  net): `maxout_pieces` > 0 makes the last hidden layer a maxout layer (the max over that
  many linear pieces per unit) and `dropout` follows every hidden layer.
  """
  widths: Sequence[int] = (512, 256)
  activation: str = 'leaky_relu_0.2'
  dropout: float = 0.0
  maxout_pieces: int = 0
  num_classes: int = 0

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    x = _with_label(x.reshape(x.shape[0], -1), labels, self.num_classes)
    for i, width in enumerate(self.widths):
      if self.maxout_pieces and i == len(self.widths) - 1:
        x = nn.Dense(width * self.maxout_pieces)(x)
        x = jnp.max(x.reshape(x.shape[0], width, self.maxout_pieces), axis=-1)
      else:
        x = ACTIVATIONS[self.activation](nn.Dense(width)(x))
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(1)(x)[:, 0]


def tflib_he_uniform(transposed: bool, stride: int = 2):
  """gan_mnist.py's conv initialisation (tflib's he_init): uniform with variance
  4 / (fan_in + fan_out), fan = channels x k^2 and the low-resolution side's divided by
  stride^2 (the output of a conv, the input of a transposed conv); taps (k, k, in, out)."""
  def init(key, shape, dtype=jnp.float32):
    k, _, c_in, c_out = shape
    fan_in, fan_out = c_in * k * k, c_out * k * k
    if transposed:
      fan_in /= stride**2
    else:
      fan_out /= stride**2
    limit = math.sqrt(3 * 4 / (fan_in + fan_out))
    return jax.random.uniform(key, shape, dtype, -limit, limit)
  return init


# tflib's Linear default: Glorot uniform (variance 2 / (fan_in + fan_out)); all biases 0
TFLIB_LINEAR_INIT = nn.initializers.xavier_uniform()


class GulrajaniGenerator(nn.Module):
  """gan_mnist.py's generator: Dense(4*4*4w) ReLU -> 4x4x4w -> 5x5 transposed convs (stride 2,
  output doubled as PyTorch's ConvTranspose2d(5, 2, 2, output_padding=1)) to 2w, ReLU,
  cropped to 7x7 -> w, ReLU -> C, then the output activation (sigmoid there: pixels in
  [0, 1])."""
  image_shape: Sequence[int]
  width: int = 64
  output_activation: str = 'sigmoid'
  num_classes: int = 0

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    del train
    x = nn.Dense(4 * 4 * 4 * self.width, kernel_init=TFLIB_LINEAR_INIT)(
        _with_label(z, labels, self.num_classes))
    x = nn.relu(x).reshape(z.shape[0], 4, 4, 4 * self.width)
    up = lambda features: ConvTranspose5x5Stride2Pad2(features,
                                                      kernel_init=tflib_he_uniform(True))
    x = nn.relu(up(2 * self.width)(x))[:, :7, :7]
    x = nn.relu(up(self.width)(x))
    return OUTPUT_ACTIVATIONS[self.output_activation](up(self.image_shape[-1])(x))


class GulrajaniCritic(nn.Module):
  """gan_mnist.py's critic: 5x5 stride-2 convs (padding 2: 28 -> 14 -> 7 -> 4) to w, 2w, 4w,
  each with LeakyReLU(0.2), then Dense(1); no normalisation."""
  width: int = 64
  num_classes: int = 0

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    del train
    x = _label_planes(x, labels, self.num_classes)
    for features in (self.width, 2 * self.width, 4 * self.width):
      conv = Conv5x5Stride2Pad2(features, kernel_init=tflib_he_uniform(False))
      x = nn.leaky_relu(conv(x), 0.2)
    return nn.Dense(1, kernel_init=TFLIB_LINEAR_INIT)(x.reshape(x.shape[0], -1))[:, 0]
