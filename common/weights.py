"""Converted weights on disk: a folder with `params.msgpack` (a tree of arrays) and
`meta.json` (where they came from). transfer/convert.py writes VGG16's, gans/inception.py the
FID InceptionV3's; both read PyTorch files with `read_torch_file`."""
import json
import os

import flax.serialization
import numpy as np

from common import writers

PARAMS, META = 'params.msgpack', 'meta.json'


class ConversionError(ValueError):
  """A weights file that is not the network's: the message names the file and what is wrong."""


def read_torch_file(path: str) -> dict[str, np.ndarray]:
  """A PyTorch .pth state_dict (or a checkpoint holding one under 'state_dict') as arrays."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ConversionError(f'{path}: reading a .pth file needs PyTorch (pip install torch).') from e
  state = torch.load(path, map_location='cpu', weights_only=True)
  state = state.get('state_dict', state)
  return {k: v.numpy() for k, v in state.items()}


def save(tree, output_dir: str, meta: dict) -> dict:
  os.makedirs(output_dir, exist_ok=True)
  path = os.path.join(output_dir, PARAMS)
  writers.write_bytes(path, flax.serialization.msgpack_serialize(tree))
  writers.write_json(os.path.join(output_dir, META), meta)
  return meta


def load(weights_dir: str, how_to_make: str):
  """(tree, meta) of a folder written by `save`; `how_to_make` ends the error when a file is
  missing (the command that writes the folder)."""
  files = [os.path.join(weights_dir, name) for name in (PARAMS, META)]
  for path in files:
    if not os.path.isfile(path):
      raise FileNotFoundError(f'{path} not found: {how_to_make}')
  with open(files[0], 'rb') as f:
    tree = flax.serialization.msgpack_restore(f.read())
  with open(files[1]) as f:
    return tree, json.load(f)
