"""A function over fixed-size batches of arrays (one compile for any length)."""
import jax
import numpy as np


def in_batches(fn, arrays, batch_size: int):
  """fn over fixed-size batches (the last one padded by repetition, so one compile), with
  the outputs' leading axes concatenated and cut back to the inputs' length."""
  n = len(arrays[0])
  batch_size = min(batch_size, n)
  outs = []
  for start in range(0, n, batch_size):
    idx = np.minimum(np.arange(start, start + batch_size), n - 1)
    outs.append(fn(*(a[idx] for a in arrays)))
  return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs])[:n], *outs)


def in_keyed_batches(fn, arrays, batch_size: int, key):
  """`in_batches` for fn(*batch, key): each batch gets its own key (its first example's of
  `key` split per example, so the keys do not depend on the batch size's padding)."""
  keys = np.asarray(jax.random.key_data(jax.random.split(key, len(arrays[0]))))
  return in_batches(lambda *batch: fn(*batch[:-1], jax.random.wrap_key_data(batch[-1][0])),
                    (*arrays, keys), batch_size)
