"""Classification losses and metrics: pure functions of model outputs [N, K] and int labels [N].

A single-output model (K = 1) is a binary classifier whose output is P(label = 1).
"""
import jax
import jax.numpy as jnp
import optax


def softmax_cross_entropy(logits, labels):
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def nll(log_probs, labels):
  """PyTorch's NLLLoss: -mean(output[label]). Only a loss on log-probabilities (log_softmax
  output); on raw outputs it is unbounded below, the failure report 002 measured (11 %)."""
  return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=1))


def mse(outputs, labels):
  """Mean squared error against one-hot targets (Keras' 'mse' on categorical labels), or
  against the 0/1 label for a single output."""
  return jnp.mean(jnp.square(outputs - _targets(outputs, labels)))


def binary_cross_entropy(probs, labels, eps: float = 1e-7):
  """For a single sigmoid output, as torch.nn.BCELoss / Keras (which clip probabilities)."""
  p = jnp.clip(probs[:, 0], eps, 1.0 - eps)
  y = labels.astype(p.dtype)
  return -jnp.mean(y * jnp.log(p) + (1.0 - y) * jnp.log1p(-p))


LOSSES = {'softmax_cross_entropy': softmax_cross_entropy, 'nll': nll, 'mse': mse,
          'binary_cross_entropy': binary_cross_entropy}


def predictions(outputs):
  """Predicted classes: argmax, or output > 0.5 for a single-output model."""
  if outputs.shape[-1] == 1:
    return (outputs[:, 0] > 0.5).astype(jnp.int32)
  return jnp.argmax(outputs, axis=-1).astype(jnp.int32)


def squared_errors(outputs, labels):
  """Per-example squared error behind report 002's RMSE: the output probability against the
  0/1 label for a binary model; the predicted class index against the true one otherwise."""
  if outputs.shape[-1] == 1:
    return jnp.square(outputs[:, 0] - labels)
  return jnp.square((predictions(outputs) - labels).astype(jnp.float32))


def _targets(outputs, labels):
  if outputs.shape[-1] == 1:
    return labels[:, None].astype(outputs.dtype)
  return jax.nn.one_hot(labels, outputs.shape[-1], dtype=outputs.dtype)


def confusion_matrix(labels, predicted, num_classes: int):
  """[true, predicted] counts."""
  return jnp.zeros((num_classes, num_classes), jnp.int32).at[labels, predicted].add(1)
