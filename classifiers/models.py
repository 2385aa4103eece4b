"""Classifier modules: an MLP and a conv net described by layer specs (the reports' CNNs, LeNets).

Both take float images [N, H, W, C] and return outputs [N, num_outputs]; with
`return_features=True` they return the penultimate activations instead (the features the
GAN evaluation takes a Frechet distance on).
"""
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from common import pooling
from common.activations import ACTIVATIONS
from common.conv import Conv

# Output layers: 'none' gives logits; the reports' choices (sigmoid, ReLU, log-softmax) too.
OUTPUT_ACTIVATIONS = {**ACTIVATIONS, 'log_softmax': nn.log_softmax, 'softmax': nn.softmax}
POOLS = {'max': pooling.max_pool, 'avg': nn.avg_pool}   # same values, faster gradient
# Normalisation after each conv, before its activation. Batch-free (no running statistics),
# so a model stays a pure function of its params: vmappable in sweeps, loadable anywhere.
NORMS = {'none': None, 'group': lambda: nn.GroupNorm(num_groups=8)}


def _kernel_first_dot(inputs, kernel, dimension_numbers, precision=None,
                      preferred_element_type=None, **unused):
  """inputs @ kernel, computed as (kernel^T inputs^T)^T."""
  (in_contract, kernel_contract), _ = dimension_numbers
  out = jax.lax.dot_general(kernel, inputs, ((kernel_contract, in_contract), ((), ())),
                            precision=precision, preferred_element_type=preferred_element_type)
  return jnp.moveaxis(out, 0, -1)


# Up to this many weights, a dense layer multiplies elementwise and sums (_small_dot).
SMALL_KERNEL = 1024


def _small_dot(inputs, kernel, dimension_numbers, precision=None,
               preferred_element_type=None, **unused):
  """inputs @ kernel; for a small kernel, as a multiply and a sum that XLA fuses with the
  activation and loss around it instead of calling a matmul each way (report 000's MLP on
  one CPU core: epoch medians 0.40 -> 0.33 s)."""
  if kernel.size > SMALL_KERNEL:
    return jax.lax.dot_general(inputs, kernel, dimension_numbers, precision=precision,
                               preferred_element_type=preferred_element_type)
  return jnp.sum(inputs[..., :, None] * kernel, axis=-2)


def _dense(features, init_constant, dot_general=None):
  """Dense with Flax's default init, or every weight and bias equal to `init_constant`."""
  kwargs = {'dot_general': dot_general} if dot_general else {}
  if init_constant is None:
    return nn.Dense(features, **kwargs)
  init = nn.initializers.constant(init_constant)
  return nn.Dense(features, kernel_init=init, bias_init=init, **kwargs)


class MLP(nn.Module):
  """Flatten -> Dense(h, activation) for h in `hidden` -> Dense(num_outputs, output_activation)."""
  hidden: Sequence[int]
  num_outputs: int = 10
  activation: str = 'sigmoid'
  output_activation: str = 'sigmoid'
  init_constant: float | None = None  # report 002 studies constant initial weights
  # How XLA:CPU multiplies fastest; same parameters, same function. Alone: small layers
  # (report 000's 20 -> 10) as multiply-and-sum (_small_dot). Vmapped over variants that
  # share each input batch (sweeps): matmuls, the first one kernel-first, so the stacked
  # kernels feed one matmul as they lie instead of being transposed at every step (~1.4x
  # faster sweep epochs); multiply-and-sum runs several times slower there.
  vmapped: bool = False

  @nn.compact
  def __call__(self, x, *, train: bool = False, return_features: bool = False,
               first_matmul=None):
    """`first_matmul`: x @ the first kernel, computed by the caller (the deferred SGD step,
    classifiers/step.py); x then only gives the shapes."""
    del train  # no dropout or batch statistics
    x = x.reshape(x.shape[0], -1)
    for i, width in enumerate(self.hidden):
      x = ACTIVATIONS[self.activation](
          _dense(width, self.init_constant, self._dot(i, first_matmul))(x))
    if return_features:
      return x
    return OUTPUT_ACTIVATIONS[self.output_activation](_dense(
        self.num_outputs, self.init_constant, self._dot(len(self.hidden), first_matmul))(x))

  def _dot(self, layer: int, first_matmul=None):
    if layer == 0 and first_matmul is not None:
      return lambda *args, **kwargs: first_matmul
    if self.vmapped:
      return _kernel_first_dot if layer == 0 else None
    return _small_dot


class ConvNet(nn.Module):
  """Conv layers, each optionally pooled, then dense layers.

  `convs` holds (features, kernel, padding, pool_window, pool_stride) per conv layer, a
  pool_window of 0 meaning no pooling: LeNet's first layer is (6, 5, 2, 2, 2). The last
  hidden dense layer may take its own activation (report 002's LeNet uses tanh there).
  """
  convs: Sequence[Sequence[int]]
  dense: Sequence[int]
  num_outputs: int = 10
  activation: str = 'relu'
  last_hidden_activation: str = ''   # '' = same as `activation`
  output_activation: str = 'none'
  pool: str = 'max'
  dropout: float = 0.0               # before each dense layer after the first
  conv_dropout: float = 0.0          # after each pooled conv layer
  norm: str = 'none'                 # one of NORMS


  @nn.compact
  def __call__(self, x, *, train: bool = False, return_features: bool = False,
               conv_delta=None, return_conv: bool = False):
    """`return_conv` also returns the last conv layer's activations (before its pooling),
    to which `conv_delta` is added: Grad-CAM differentiates the outputs through it."""
    act = ACTIVATIONS[self.activation]
    for i, (features, kernel, padding, window, stride) in enumerate(self.convs):
      x = Conv(features, (kernel, kernel), padding=padding)(x)
      x = act(NORMS[self.norm]()(x) if NORMS[self.norm] else x)
      if i == len(self.convs) - 1:
        x = x if conv_delta is None else x + conv_delta
        conv = x
      if window:
        x = POOLS[self.pool](x, (window, window), (stride, stride))
        x = self._drop(x, train, self.conv_dropout)
    x = x.reshape(x.shape[0], -1)
    for i, width in enumerate(self.dense):
      last = i == len(self.dense) - 1
      hidden_act = ACTIVATIONS[self.last_hidden_activation or self.activation] if last else act
      x = hidden_act(nn.Dense(width)(self._drop(x, train) if i else x))
    if not return_features:
      x = OUTPUT_ACTIVATIONS[self.output_activation](
          nn.Dense(self.num_outputs)(self._drop(x, train)))
    return (x, conv) if return_conv else x

  def _drop(self, x, train, rate=None):
    rate = self.dropout if rate is None else rate
    return nn.Dropout(rate, deterministic=not train)(x) if rate else x


def count_params(params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))


def init_params(model, rng, image_shape):
  """Parameters for `image_shape` (H, W, C); pure, so it can be jitted and vmapped."""
  return model.init({'params': rng}, jnp.zeros((1, *image_shape)))['params']
