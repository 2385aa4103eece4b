"""A function over fixed-size batches of arrays (one compile for any length)."""
import functools

import jax
import numpy as np

from common import mesh as mesh_lib


def in_batches(fn, arrays, batch_size: int, mesh=None):
  """fn over fixed-size batches (the last one padded by repetition, so one compile), with
  the outputs' leading axes concatenated and cut back to the inputs' length. With a `mesh`
  (host arrays alike on every process), each batch is split over it where it splits evenly
  (mesh.batch_or_replicated), and fn's outputs must be replicated (out_shardings)."""
  n = len(arrays[0])
  batch_size = min(batch_size, n)
  place = ((lambda x: x) if mesh is None else
           functools.partial(mesh_lib.put, sharding=mesh_lib.batch_or_replicated(mesh, batch_size)))
  outs = []
  for start in range(0, n, batch_size):
    idx = np.minimum(np.arange(start, start + batch_size), n - 1)
    out = fn(*(place(a[idx]) for a in arrays))
    outs.append(out if mesh is None else mesh_lib.wait_in_cpu_job(out, mesh))
  return jax.tree.map(
      lambda *xs: np.concatenate([np.asarray(mesh_lib.local_copy(x)) for x in xs])[:n], *outs)


def in_keyed_batches(fn, arrays, batch_size: int, key):
  """`in_batches` for fn(*batch, key): each batch gets its own key (its first example's of
  `key` split per example, so the keys do not depend on the batch size's padding)."""
  keys = np.asarray(jax.random.key_data(jax.random.split(key, len(arrays[0]))))
  return in_batches(lambda *batch: fn(*batch[:-1], jax.random.wrap_key_data(batch[-1][0])),
                    (*arrays, keys), batch_size)
