"""VGG16 (Simonyan & Zisserman 2015, configuration D) in Flax, stopping at any named layer.

Parameter names follow Keras (`block1_conv1` ... `block5_conv3`, `fc1`, `fc2`, `predictions`),
kernels are HWIO and the flatten before fc1 is channels-last: Keras weights load unchanged,
torchvision's are transposed by `transfer.convert`. Layer outputs (all after their ReLU, as in
Keras):

  block{b}_conv{i}, block{b}_pool, flatten, fc1, fc2, logits, predictions (softmax)

with aliases `relu{k}` for the k-th ReLU (relu1..relu13 the convs, relu14/relu15 fc1/fc2) and
`pool{b}` for `block{b}_pool`. `VGG16()(x, outputs=('relu7', 'pool5'))` returns a dict with
those keys and runs only the layers up to the last one asked for.
"""
from collections.abc import Sequence
import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from common import conv, pooling

BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))   # (width, convs) per block
TOP_LAYERS = ('flatten', 'fc1', 'fc2', 'logits', 'predictions')
PARAMS_WITH_TOP = 138_357_544
DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}   # config.model.dtype values
PARAMS_WITHOUT_TOP = 14_714_688


def conv_layers(blocks=BLOCKS) -> tuple[str, ...]:
  return tuple(f'block{b}_conv{i}' for b, (_, n) in enumerate(blocks, 1)
               for i in range(1, n + 1))


def layers(blocks=BLOCKS, include_top: bool = True) -> tuple[str, ...]:
  """Every output name in order (without aliases)."""
  base = tuple(name for b, (_, n) in enumerate(blocks, 1)
               for name in (*(f'block{b}_conv{i}' for i in range(1, n + 1)), f'block{b}_pool'))
  return base + TOP_LAYERS if include_top else base


def aliases(blocks=BLOCKS) -> dict[str, str]:
  """relu{k}: the k-th ReLU (the convs', then fc1's and fc2's); pool{b}: block{b}_pool."""
  return {**{f'relu{k}': name for k, name in enumerate((*conv_layers(blocks), 'fc1', 'fc2'), 1)},
          **{f'pool{b}': f'block{b}_pool' for b in range(1, len(blocks) + 1)}}


CONV_LAYERS = conv_layers()
LAYERS = layers()


def canonical(name: str, include_top: bool = True, blocks=BLOCKS) -> str:
  """The layer an output name (or alias) refers to; a clear error for anything else."""
  layer = aliases(blocks).get(name, name)
  allowed = layers(blocks, include_top)
  if layer not in allowed:
    num_relus = len(conv_layers(blocks)) + 2 * include_top
    raise ValueError(
        f'VGG has no output {name!r}{"" if include_top else " without its top"}; accepted: '
        f'{", ".join(allowed)} or the aliases relu1..relu{num_relus}, '
        f'pool1..pool{len(blocks)}.')
  return layer


class VGG16(nn.Module):
  """VGG16; other `blocks` give a VGG-style net with the same layer names (fc1 and fc2 keep
  4,096 units and need a 7x7 pool before them: use such nets without their top)."""
  include_top: bool = True
  num_classes: int = 1000
  dtype: Any = jnp.float32     # computation dtype (bfloat16 on accelerators); params float32
  blocks: Sequence[Sequence[int]] = BLOCKS

  @nn.compact
  def __call__(self, x, outputs: Sequence[str] = ('logits',)):
    """x: [N, H, W, 3] preprocessed images (`preprocess`). Returns {name: activation}."""
    wanted = {name: canonical(name, self.include_top, self.blocks) for name in outputs}
    if not wanted:
      raise ValueError('VGG16: ask for at least one output (e.g. outputs=("logits",)).')
    order = layers(self.blocks)
    last = max(order.index(layer) for layer in wanted.values())
    acts = {}

    def reached(layer, value):   # True once every asked-for output is computed
      acts[layer] = value
      return order.index(layer) >= last

    x = x.astype(self.dtype)
    for b, (width, num_convs) in enumerate(self.blocks, 1):
      for i in range(1, num_convs + 1):
        name = f'block{b}_conv{i}'
        x = nn.relu(conv.Conv(width, (3, 3), padding='SAME', dtype=self.dtype, name=name)(x))
        if reached(name, x):
          return _pick(acts, wanted)
      x = pooling.max_pool(x, (2, 2))
      if reached(f'block{b}_pool', x):
        return _pick(acts, wanted)
    if x.shape[1:3] != (7, 7):
      raise ValueError(f'VGG16 with its top needs a 7x7 pool5 (224x224 input); got '
                       f'{x.shape[1]}x{x.shape[2]} from a {x.shape[1] * 32}-pixel input. '
                       f'Resize to 224, or ask only for layers up to pool5.')
    x = x.reshape(x.shape[0], -1)
    if reached('flatten', x):
      return _pick(acts, wanted)
    for name in ('fc1', 'fc2'):
      x = nn.relu(nn.Dense(4096, dtype=self.dtype, name=name)(x))
      if reached(name, x):
        return _pick(acts, wanted)
    logits = nn.Dense(self.num_classes, dtype=self.dtype, name='predictions')(x)
    reached('logits', logits)
    reached('predictions', nn.softmax(logits.astype(jnp.float32)))
    return _pick(acts, wanted)


def _pick(acts, wanted):
  return {name: acts[layer] for name, layer in wanted.items()}


def init_params(rng, include_top: bool = True, num_classes: int = 1000, image_size: int = 224):
  """Random parameters of the whole network (with or without its top)."""
  model = VGG16(include_top=include_top, num_classes=num_classes)
  last = 'logits' if include_top else 'pool5'
  return model.init(rng, jnp.zeros((1, image_size, image_size, 3)), (last,))['params']


def param_shapes(include_top: bool = True, num_classes: int = 1000):
  """Parameter shapes without allocating them (138M floats with the top)."""
  return jax.eval_shape(lambda: init_params(jax.random.key(0), include_top, num_classes))


# Preprocessing follows the weights' source (transfer.convert records it): Keras' 'caffe' mode
# (RGB->BGR, ImageNet BGR means subtracted on 0-255) or torchvision's mean/std on 0-1.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
PREPROCESSING = ('caffe', 'torch')


def preprocess(images, mode: str):
  """RGB images on 0-255, [N, H, W, 3] (or 1 channel, replicated) -> the network's input."""
  images = jnp.asarray(images, jnp.float32)
  if images.shape[-1] == 1:        # grayscale: the same image in each channel (report 001)
    images = jnp.repeat(images, 3, axis=-1)
  if mode == 'caffe':
    return images[..., ::-1] - jnp.asarray(CAFFE_BGR_MEAN)
  if mode == 'torch':
    return (images / 255.0 - jnp.asarray(TORCH_MEAN)) / jnp.asarray(TORCH_STD)
  raise ValueError(f'preprocessing {mode!r}: expected one of {", ".join(PREPROCESSING)}.')


PREPROCESS = {mode: functools.partial(preprocess, mode=mode) for mode in PREPROCESSING}
