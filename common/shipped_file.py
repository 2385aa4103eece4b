"""Files of weights shipped with the code (the Fashion-MNIST classifier, the demo generator):
a msgpack tree whose arrays are stored in 16 bits, checked against a recorded sha256 before
it is read. classifiers/shipped.py and gans/shipped.py keep the tables of what ships."""
import hashlib
import os

import flax.serialization
import jax
import numpy as np

from common import writers

STORAGE_DTYPE = np.float16


def sha256(file: str) -> str:
  with open(file, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def rounded(params):
  """The parameters as a shipped file holds them (what its scores are measured on);
  ValueError for weights a shipped file cannot hold."""
  with np.errstate(over='ignore'):  # an overflow is refused below
    out = jax.tree.map(lambda x: np.asarray(np.asarray(x, STORAGE_DTYPE), np.float32), params)
  if not all(np.isfinite(x).all() for x in jax.tree.leaves(out)):
    raise ValueError('weights past 16 bits (inf or nan once rounded)')
  return out


def write(file: str, tree: dict, arrays: tuple[str, ...]) -> str:
  """Writes `tree` with its `arrays` entries (trees of arrays) in 16 bits; returns the sha256."""
  tree = {k: jax.tree.map(lambda x: np.asarray(x, STORAGE_DTYPE), v) if k in arrays else v
          for k, v in tree.items()}
  data = flax.serialization.msgpack_serialize(tree)
  writers.write_bytes(file, data)
  return hashlib.sha256(data).hexdigest()


def read(file: str, expected_sha256: str, arrays: tuple[str, ...]) -> dict:
  """The tree in `file`, its `arrays` entries as float32 device arrays, after checking the
  file against `expected_sha256`."""
  if not os.path.isfile(file):
    raise FileNotFoundError(f'{file} is missing: restore it with `git checkout -- {file}`.')
  found = sha256(file)
  if found != expected_sha256:
    raise ValueError(f'{file} has sha256 {found}, not the recorded {expected_sha256}: the file '
                     f'is corrupt or was changed; restore it with `git checkout -- {file}`.')
  with open(file, 'rb') as f:
    tree = flax.serialization.msgpack_restore(f.read())
  for k in arrays:
    tree[k] = jax.tree.map(lambda x: jax.device_put(np.asarray(x, np.float32)), tree[k])
  return tree
