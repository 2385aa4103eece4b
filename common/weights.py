"""Converted weights on disk: a folder with `params.msgpack` (a tree of arrays) and
`meta.json` (where they came from). transfer/convert.py writes VGG16's, gans/inception.py the
FID InceptionV3's."""
import json
import os

import flax.serialization

PARAMS, META = 'params.msgpack', 'meta.json'


def save(tree, output_dir: str, meta: dict) -> dict:
  os.makedirs(output_dir, exist_ok=True)
  with open(os.path.join(output_dir, PARAMS), 'wb') as f:
    f.write(flax.serialization.msgpack_serialize(tree))
  with open(os.path.join(output_dir, META), 'w') as f:
    json.dump(meta, f, indent=2)
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
