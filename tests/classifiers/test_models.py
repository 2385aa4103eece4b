"""Classifier modules: the reports' parameter counts and shapes, and outputs equal to PyTorch's."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from classifiers import build, models
from tests import torch_reference
from configs import cnn, eval_classifier, lenet, mlp


def _params(model, shape=(28, 28, 1)):
  return jax.eval_shape(lambda: models.init_params(model, jax.random.key(0), shape))


def _model(config):
  return build.build_model(config, 10)


def test_report_parameter_counts():
  assert models.count_params(_params(_model(mlp.get_config()))) == 15_910
  assert models.count_params(_params(_model(cnn.get_config('no_pool')))) == 16_151_306
  # LeNet and the report's variants: the first dense layer's inputs as the report lists.
  for arg, flat in ((None, 400), ('no_pool', 9216), ('wide', 1568), ('single_conv', 3920)):
    params = _params(_model(lenet.get_config(arg)))
    assert params['Dense_0']['kernel'].shape == (flat, 120), arg
  assert models.count_params(_params(_model(lenet.get_config()))) == 61_706


@pytest.mark.parametrize('config', [mlp.get_config(), cnn.get_config(), lenet.get_config('wide'),
                                    eval_classifier.get_config()],
                         ids=['mlp', 'cnn', 'lenet_wide', 'eval_classifier'])
def test_output_and_feature_shapes(config):
  model = _model(config)
  x = jax.random.uniform(jax.random.key(1), (3, 28, 28, 1))
  params = jax.jit(lambda: models.init_params(model, jax.random.key(0), (28, 28, 1)))()
  out = model.apply({'params': params}, x)
  chex.assert_shape(out, (3, 10))
  chex.assert_tree_all_finite(out)
  width = (config.model.hidden if config.model.name == 'mlp' else config.model.dense)[-1]
  chex.assert_shape(model.apply({'params': params}, x, return_features=True), (3, width))


def test_constant_initial_weights_and_binary_output():
  model = models.MLP((5,), num_outputs=1, init_constant=0.25)
  params = models.init_params(model, jax.random.key(0), (28, 28, 1))
  for leaf in jax.tree.leaves(params):
    np.testing.assert_array_equal(leaf, 0.25)
  out = model.apply({'params': params}, jnp.ones((2, 28, 28, 1)))
  chex.assert_shape(out, (2, 1))
  # every hidden unit is sigmoid(0.25 * 785); the output is sigmoid(0.25 * (5 h + 1))
  h = 1 / (1 + np.exp(-0.25 * 785))
  np.testing.assert_allclose(out, 1 / (1 + np.exp(-0.25 * (5 * h + 1))), rtol=1e-6)


@pytest.mark.parametrize('config', [lenet.get_config(), lenet.get_config('wide'),
                                    lenet.get_config('single_conv'), eval_classifier.get_config()],
                         ids=['lenet', 'wide', 'single_conv', 'eval_classifier'])
def test_convnets_match_pytorch(config):
  model = _model(config)
  params = jax.jit(lambda: models.init_params(model, jax.random.key(0), (28, 28, 1)))()
  x = np.random.default_rng(0).random((4, 28, 28, 1), np.float32)
  ours = np.asarray(model.apply({'params': params}, x))
  with torch.no_grad():
    theirs = torch_reference.TorchConvNet(model, params, 1)(
        torch_reference.nhwc_to_torch(x)).numpy()
  np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
