"""Convert VGG16 weights from Keras (.h5) or torchvision (.pth) to this code's Flax tree.

  python -m transfer.convert --source=keras --input=vgg16_weights_tf_dim_ordering_tf_kernels.h5 \
      --output=weights/vgg16_keras
  python -m transfer.convert --source=torch --input=vgg16-397923af.pth --output=weights/vgg16_torch

Without --input the standard file is downloaded (machines with internet; a 20 s connection
timeout, never a hang). The output folder holds `params.msgpack` and `meta.json` (source,
preprocessing, include_top, num_classes); `load(dir)` gives them back.

Layouts: Keras' legacy HDF5 weights (root attribute `layer_names`, each layer's group listing
its `weight_names`) are HWIO kernels and a channels-last flatten, as here. torchvision's
state_dict holds OIHW conv kernels, [out, in] linear weights and a channels-first flatten
before fc1 (`classifier.0`), so fc1's rows are permuted from (C, H, W) to (H, W, C) order.
"""
import json
import os

from absl import app, flags
import jax
import numpy as np

from common import checks, weights, writers
from transfer import vgg16

URLS = {
    'keras': 'https://storage.googleapis.com/tensorflow/keras-applications/vgg16/'
             'vgg16_weights_tf_dim_ordering_tf_kernels.h5',
    'torch': 'https://download.pytorch.org/models/vgg16-397923af.pth',
}
SOURCES = tuple(URLS)
PREPROCESSING = {'keras': 'caffe', 'torch': 'torch'}
# how each source's own pipeline resizes: Keras' load_img squashes, torchvision crops
RESIZE = {'keras': 'squash', 'torch': 'center_crop'}
_DENSE = ('fc1', 'fc2', 'predictions')


def from_keras_h5(path: str) -> dict:
  """Flax params from a Keras VGG16 weights file (legacy HDF5 layout, with or without top)."""
  import h5py  # pylint: disable=g-import-not-at-top
  with h5py.File(path, 'r') as f:
    root = f['model_weights'] if 'model_weights' in f else f   # a whole saved model, or weights
    if 'layer_names' not in root.attrs:
      raise weights.ConversionError(f'{path}: no `layer_names` attribute; expected Keras\' legacy HDF5 '
                            'weights (vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5).')
    params = {}
    for layer in map(_text, root.attrs['layer_names']):
      names = [_text(w) for w in root[layer].attrs.get('weight_names', [])]
      if not names:
        continue
      if layer not in (*vgg16.CONV_LAYERS, *_DENSE) or len(names) != 2:
        raise weights.ConversionError(f'{path}: layer {layer!r} with weights {names} is not a VGG16 '
                              'layer; expected block1_conv1..block5_conv3, fc1, fc2, predictions.')
      kernel, bias = (np.asarray(root[layer][w]) for w in names)
      params[layer] = {'kernel': kernel, 'bias': bias}
  return _checked(params, path)


def from_torch_state_dict(state_dict: dict, path: str = 'state_dict') -> dict:
  """Flax params from torchvision's VGG16 state_dict (numpy arrays or tensors)."""
  arrays = {k: np.asarray(v) for k, v in state_dict.items()}
  params, index = {}, 0
  for b, (_, num_convs) in enumerate(vgg16.BLOCKS, 1):
    for i in range(1, num_convs + 1):      # features: conv, ReLU per conv; MaxPool per block
      w, bias = _take(arrays, f'features.{index}', path)
      params[f'block{b}_conv{i}'] = {'kernel': w.transpose(2, 3, 1, 0), 'bias': bias}
      index += 2
    index += 1
  if 'classifier.0.weight' in arrays:
    w, bias = _take(arrays, 'classifier.0', path)
    channels = vgg16.BLOCKS[-1][0]
    side = int(round((w.shape[1] / channels) ** 0.5))
    w = w.reshape(w.shape[0], channels, side, side).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
    params['fc1'] = {'kernel': w.T, 'bias': bias}
    for name, key in (('fc2', 'classifier.3'), ('predictions', 'classifier.6')):
      w, bias = _take(arrays, key, path)
      params[name] = {'kernel': w.T, 'bias': bias}
  return _checked(params, path)


def load_torch_file(path: str) -> dict:
  return from_torch_state_dict(weights.read_torch_file(path), path)


def _take(arrays, prefix, path):
  try:
    return arrays[f'{prefix}.weight'], arrays[f'{prefix}.bias']
  except KeyError:
    raise weights.ConversionError(f'{path}: no {prefix}.weight / {prefix}.bias; expected torchvision\'s '
                          'VGG16 keys (features.N.*, classifier.{0,3,6}.*).') from None


def _checked(params, path):
  """Every layer present with the shapes of VGG16 (top optional), as float32."""
  include_top = 'fc1' in params
  num_classes = params['predictions']['bias'].shape[0] if include_top else 1000
  expected = vgg16.param_shapes(include_top, num_classes)
  missing = sorted(set(expected) - set(params))
  if missing:
    raise weights.ConversionError(f'{path}: missing VGG16 layers {missing}.')
  for layer, leaves in expected.items():
    for leaf, shape in leaves.items():
      got = params[layer][leaf].shape
      if got != shape.shape:
        raise weights.ConversionError(f'{path}: {layer}.{leaf} has shape {got}; VGG16 needs '
                              f'{shape.shape}.')
  return jax.tree.map(lambda a: np.asarray(a, np.float32),
                      {layer: params[layer] for layer in expected})


def save(params, output_dir: str, source: str) -> dict:
  include_top = 'fc1' in params
  return weights.save(params, output_dir, {
      'source': source, 'preprocessing': PREPROCESSING[source], 'include_top': include_top,
      'num_classes': int(params['predictions']['bias'].shape[0]) if include_top else None,
      'params': int(sum(a.size for a in jax.tree.leaves(params)))})


def load(weights_dir: str):
  """(params, meta) of a folder written by `save`."""
  return weights.load(weights_dir, 'convert VGG16 weights first (python -m transfer.convert '
                      f'--source=keras|torch --input=FILE --output={weights_dir}).')


def load_weights(config):
  """(params, meta) of config.model.weights_dir; a ConfigError naming the key if it is not
  there."""
  weights_dir = config.model.weights_dir
  try:
    return load(weights_dir)
  except FileNotFoundError as e:
    raise checks.ConfigError(f'config.model.weights_dir = {weights_dir!r}: {e}') from None


def resize_mode(setting: str, meta) -> str:
  """A config's resize ('auto' follows the weights' source) -> an image_folder resize."""
  return RESIZE[meta['source']] if setting == 'auto' else setting


def convert(source: str, input_path: str, output_dir: str) -> dict:
  if source not in SOURCES:
    raise weights.ConversionError(f'--source={source!r}: expected one of {", ".join(SOURCES)}.')
  if not os.path.isfile(input_path):
    raise weights.ConversionError(f'--input={input_path!r}: no such file.')
  params = from_keras_h5(input_path) if source == 'keras' else load_torch_file(input_path)
  return save(params, output_dir, source)


def download(source: str, cache_dir: str) -> str:
  url = URLS[source]
  path = os.path.join(cache_dir, os.path.basename(url))
  if not os.path.isfile(path):
    os.makedirs(cache_dir, exist_ok=True)
    try:
      writers.download(url, path, timeout_s=20)
    except OSError as e:
      raise weights.ConversionError(f'could not download {url} ({e}); download it elsewhere and pass '
                            '--input=FILE.') from e
  return path


def _text(s):
  return s.decode() if isinstance(s, bytes) else str(s)


def main(argv):
  del argv
  f = flags.FLAGS
  if not f.source or not f.output:
    raise app.UsageError('--source={keras,torch} and --output=DIR are required.')
  try:
    path = f.input or download(f.source, f.cache_dir)
    meta = convert(f.source, path, f.output)
  except (weights.ConversionError, OSError) as e:
    raise app.UsageError(str(e)) from e
  print(f'{path} -> {f.output}: {json.dumps(meta)}')


if __name__ == '__main__':
  flags.DEFINE_enum('source', None, list(SOURCES), 'Where the weights come from.')
  flags.DEFINE_string('input', None, 'The weights file (default: download it).')
  flags.DEFINE_string('output', None, 'Folder for params.msgpack and meta.json.')
  flags.DEFINE_string('cache_dir', os.path.expanduser('~/.cache/jax_classics'),
                      'Where a downloaded file is kept.')
  app.run(main)
