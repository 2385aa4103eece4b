"""Test-set evaluation in fixed-size batches (one compiled program; the last batch is padded)."""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from common import mesh as mesh_lib
from classifiers import step as step_lib


class Evaluator:
  """Loss, accuracy and RMSE of parameters on a whole split.

  With `stacked=True` the parameters carry a leading variant axis (a vmapped sweep) and
  every metric is an array with one value per variant. With a `mesh` (a sweep's variants
  spread over devices and processes) the sums come back whole on every process.
  """

  def __init__(self, setup: step_lib.Setup, images, labels, batch_size: int,
               stacked: bool = False, mesh=None):
    self.num_examples = len(images)
    batch_size = min(batch_size, self.num_examples)
    pad = -self.num_examples % batch_size
    self._images = np.concatenate([images, np.zeros((pad, *images.shape[1:]), images.dtype)])
    self._labels = np.concatenate([labels, np.zeros((pad,), labels.dtype)])
    self._mask = np.arange(len(self._labels)) < self.num_examples
    self._batch_size = batch_size
    fn = functools.partial(step_lib.eval_batch, setup=setup)
    if stacked:
      fn = jax.vmap(fn, in_axes=(0, None, None, None))
    self._eval = jax.jit(fn, out_shardings=None if mesh is None else mesh_lib.replicated(mesh))

  def metrics(self, params, with_predictions: bool = False):
    totals, predicted = None, []
    for start in range(0, len(self._labels), self._batch_size):
      sl = slice(start, start + self._batch_size)
      sums, pred = self._eval(params, self._images[sl], self._labels[sl], self._mask[sl])
      totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
      predicted.append(pred)
    totals = jax.device_get(jax.tree.map(mesh_lib.local_copy, totals))
    n = totals['count']
    result = {'test_loss': totals['loss'] / n, 'test_accuracy': totals['correct'] / n,
              'test_rmse': np.sqrt(totals['squared_error'] / n)}
    result = {k: val.tolist() if np.ndim(val) else float(val) for k, val in result.items()}
    if not with_predictions:
      return result
    predicted = jax.device_get([mesh_lib.local_copy(p) for p in predicted])
    predicted = np.concatenate(predicted, axis=-1)[..., :self.num_examples]
    return result, predicted
