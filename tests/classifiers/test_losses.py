"""Losses and metrics against hand-computed values and PyTorch's own losses."""
import chex
import jax.numpy as jnp
import numpy as np
import torch

from classifiers import losses

LOGITS = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
LABELS = jnp.array([0, 1])


def test_cross_entropy_and_nll_match_pytorch():
  expected = torch.nn.functional.cross_entropy(torch.tensor(np.asarray(LOGITS)),
                                               torch.tensor(np.asarray(LABELS)).long()).item()
  chex.assert_trees_all_close(losses.softmax_cross_entropy(LOGITS, LABELS), expected, rtol=1e-6)
  log_probs = LOGITS - jnp.log(jnp.sum(jnp.exp(LOGITS), axis=1, keepdims=True))
  chex.assert_trees_all_close(losses.nll(log_probs, LABELS), expected, rtol=1e-6)
  # On raw outputs NLL is just -mean(output[label]): unbounded below (report 002's 11 %).
  chex.assert_trees_all_close(losses.nll(LOGITS, LABELS), -(2.0 + 0.2) / 2)


def test_mse_on_one_hot_and_on_a_single_output():
  outputs = jnp.array([[0.9, 0.2, 0.1], [0.3, 0.4, 0.5]])
  hand = ((0.1**2 + 0.2**2 + 0.1**2) + (0.3**2 + 0.6**2 + 0.5**2)) / 6
  chex.assert_trees_all_close(losses.mse(outputs, LABELS), hand, rtol=1e-6)
  probs = jnp.array([[0.8], [0.3]])
  chex.assert_trees_all_close(losses.mse(probs, jnp.array([1, 0])), (0.2**2 + 0.3**2) / 2,
                              rtol=1e-6)


def test_binary_cross_entropy_matches_pytorch():
  probs, labels = jnp.array([[0.8], [0.3], [0.5]]), jnp.array([1, 0, 1])
  expected = torch.nn.functional.binary_cross_entropy(
      torch.tensor([0.8, 0.3, 0.5]), torch.tensor([1.0, 0.0, 1.0])).item()
  chex.assert_trees_all_close(losses.binary_cross_entropy(probs, labels), expected, rtol=1e-6)


def test_predictions_rmse_and_confusion():
  np.testing.assert_array_equal(losses.predictions(LOGITS), [0, 2])
  np.testing.assert_array_equal(losses.predictions(jnp.array([[0.7], [0.2]])), [1, 0])
  # report 002's RMSE: class indices for a multi-class model, probabilities for a binary one
  np.testing.assert_allclose(losses.squared_errors(LOGITS, LABELS), [0.0, 1.0])
  np.testing.assert_allclose(losses.squared_errors(jnp.array([[0.7], [0.2]]),
                                                   jnp.array([1, 1])), [0.09, 0.64], rtol=1e-6)
  matrix = losses.confusion_matrix(jnp.array([0, 1, 1, 2]), jnp.array([0, 2, 1, 2]), 3)
  np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
