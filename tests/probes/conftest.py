"""A small random conv net (the evaluation classifier's layer types: conv, GroupNorm, ReLU,
max pooling, dense) shared by the probe tests, with its PyTorch copy for references."""
import functools

import jax
import numpy as np
import pytest

from classifiers import models


class Net:
  def __init__(self, norm='group', seed=0):
    self.model = models.ConvNet(convs=((8, 3, 1, 2, 2), (16, 3, 1, 2, 2)), dense=(32,),
                                norm=norm)
    params = jax.jit(functools.partial(models.init_params, self.model),
                     static_argnums=1)(jax.random.key(seed), (28, 28, 1))
    # random biases: with Flax's zero biases a ReLU net is positively homogeneous, which
    # would make integrated gradients exact for any rule
    self.params = jax.tree_util.tree_map_with_path(
        lambda path, p: p + 0.1 * jax.random.normal(jax.random.key(len(str(path))), p.shape)
        if 'bias' in str(path) else p, params)
    rng = np.random.default_rng(seed)
    self.images = rng.random((6, 28, 28, 1), np.float32)
    self.labels = rng.integers(0, 10, 6).astype(np.int32)

  def apply_fn(self, params, images):
    return self.model.apply({'params': params}, images)

  def conv_apply_fn(self, params, images, delta=None):
    return self.model.apply({'params': params}, images, conv_delta=delta, return_conv=True)

  def torch(self):
    from tests import torch_reference  # pylint: disable=g-import-not-at-top
    return torch_reference.TorchConvNet(self.model, self.params, 1).eval()


@pytest.fixture(scope='module')
def net():
  return Net()


@pytest.fixture(scope='module')
def plain_net():
  """Without normalisation: GroupNorm makes f(alpha x) jump near alpha = 0, which no
  quadrature of integrated gradients with a black baseline can follow."""
  return Net(norm='none')
