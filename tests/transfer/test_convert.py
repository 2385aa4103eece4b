"""VGG16 weights converted from PyTorch (torchvision's state_dict) and Keras (the legacy HDF5
layout of the downloadable files) give the source framework's outputs in Flax; a download
lands whole or not at all."""
import io
import os
import pathlib
import re
import urllib.request

os.environ.setdefault('KERAS_BACKEND', 'jax')   # before keras is imported

import h5py
import jax
import keras
import numpy as np
import pytest
import torch

from tests.torch_reference import TorchVGG16
from common import weights
from transfer import convert, vgg16

# torchvision's features index whose output is block3_conv2's ReLU (conv, ReLU per conv;
# a MaxPool after each block): 2 blocks of 5 modules, then conv 10, ReLU 11, conv 12, ReLU 13
_TORCH_BLOCK3_CONV2 = 14


def _close(ours, ref, tol=1e-4):
  """Max abs difference relative to the output's scale."""
  ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
  scale = np.abs(ref).max()
  assert scale > 0
  assert np.abs(ours - ref).max() <= tol * scale, (np.abs(ours - ref).max(), scale)


@pytest.fixture(scope='module')
def images():
  """Two random RGB 'photos' on 0-255, NHWC."""
  return np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)


def test_torch_conversion_matches_pytorch(torch_vgg16_dir, images):
  net, weights_dir = TorchVGG16(), torch_vgg16_dir  # (seeded: the net the fixture converted)
  params, meta = convert.load(weights_dir)
  assert meta == {'source': 'torch', 'preprocessing': 'torch', 'include_top': True,
                  'num_classes': 1000, 'params': vgg16.PARAMS_WITH_TOP}

  x = vgg16.preprocess(images, meta['preprocessing'])
  ours = jax.jit(lambda p, x: vgg16.VGG16().apply({'params': p}, x,
                                                  ('block3_conv2', 'logits')))(params, x)
  with torch.no_grad():
    x_torch = torch.tensor(np.asarray(x).transpose(0, 3, 1, 2))
    mid = net.features[:_TORCH_BLOCK3_CONV2](x_torch).numpy().transpose(0, 2, 3, 1)
    logits = net(x_torch).numpy()
  _close(ours['block3_conv2'], mid)
  _close(ours['logits'], logits)
  assert np.abs(logits).max() > 1e-2   # the outputs are not degenerate


def test_torch_state_dict_without_classifier_is_the_base():
  state = {k: v.numpy() for k, v in TorchVGG16().state_dict().items()
           if k.startswith('features.')}
  params = convert.from_torch_state_dict(state)
  assert 'fc1' not in params
  assert sum(a.size for a in jax.tree.leaves(params)) == vgg16.PARAMS_WITHOUT_TOP


def test_torch_bad_keys_name_what_is_expected():
  state = {k: v.numpy() for k, v in TorchVGG16().state_dict().items()}
  del state['features.10.bias']
  with pytest.raises(weights.ConversionError, match=r'no features\.10\.weight / features\.10'):
    convert.from_torch_state_dict(state, 'x.pth')
  state = {k: v.numpy() for k, v in TorchVGG16(num_classes=10).state_dict().items()}
  state['features.0.weight'] = state['features.0.weight'][:32]
  with pytest.raises(weights.ConversionError, match=r'block1_conv1\.kernel has shape'):
    convert.from_torch_state_dict(state, 'x.pth')


def _write_legacy_h5(model, path):
  """The layout of Keras' downloadable vgg16_weights_tf_dim_ordering_tf_kernels*.h5."""
  with h5py.File(path, 'w') as f:
    f.attrs['layer_names'] = [layer.name.encode() for layer in model.layers]
    f.attrs['backend'] = b'tensorflow'
    f.attrs['keras_version'] = b'2.0.8'
    for layer in model.layers:
      group = f.create_group(layer.name)
      names = [f'{layer.name}/{w.name}:0' for w in layer.weights]
      group.attrs['weight_names'] = [n.encode() for n in names]
      for name, value in zip(names, layer.weights):  # (get_weights copies: ~2 s more)
        group.create_dataset(name, data=np.asarray(value))


def _keras_vgg16(include_top, **kwargs):
  keras.utils.set_random_seed(0)
  model = keras.applications.VGG16(weights=None, include_top=include_top, **kwargs)
  rng = np.random.default_rng(1)
  for layer in model.layers:    # Keras initialises biases to zero: make them count
    if layer.weights:           # (the bias alone: reading the kernels back took ~3 s)
      layer.bias.assign(rng.normal(0, 0.1, layer.bias.shape).astype(np.float32))
  return model


def test_keras_conversion_matches_keras(tmp_path, images):
  model = _keras_vgg16(include_top=True)
  assert model.count_params() == vgg16.PARAMS_WITH_TOP
  _write_legacy_h5(model, tmp_path / 'vgg16.h5')
  convert.convert('keras', str(tmp_path / 'vgg16.h5'), str(tmp_path / 'flax'))
  params, meta = convert.load(str(tmp_path / 'flax'))
  assert meta['preprocessing'] == 'caffe' and meta['include_top']

  x = vgg16.preprocess(images, meta['preprocessing'])
  np.testing.assert_allclose(x, keras.applications.vgg16.preprocess_input(images.copy()),
                             atol=1e-4)
  ours = jax.jit(lambda p, x: vgg16.VGG16().apply(
      {'params': p}, x, ('block3_conv2', 'logits', 'predictions')))(params, x)
  mid = keras.Model(model.inputs, model.get_layer('block3_conv2').output)([np.asarray(x)])
  probs = model(np.asarray(x))
  model.get_layer('predictions').activation = keras.activations.linear
  logits = model(np.asarray(x))
  _close(ours['block3_conv2'], mid)
  _close(ours['logits'], logits)
  _close(ours['predictions'], probs)


def test_keras_notop_file_gives_the_base(tmp_path):
  model = _keras_vgg16(include_top=False, input_shape=(32, 32, 3))
  _write_legacy_h5(model, tmp_path / 'vgg16_notop.h5')
  params = convert.from_keras_h5(str(tmp_path / 'vgg16_notop.h5'))
  assert sum(a.size for a in jax.tree.leaves(params)) == vgg16.PARAMS_WITHOUT_TOP
  x = np.random.default_rng(2).normal(0, 50, (2, 32, 32, 3)).astype(np.float32)
  ours = vgg16.VGG16(include_top=False).apply({'params': params}, x, ('pool5',))['pool5']
  _close(ours, model(x))


def test_not_a_weights_file_is_a_clear_error(tmp_path):
  with h5py.File(tmp_path / 'other.h5', 'w') as f:
    f.create_dataset('x', data=np.zeros(3))
  with pytest.raises(weights.ConversionError, match="other.h5: no `layer_names`"):
    convert.from_keras_h5(str(tmp_path / 'other.h5'))
  with pytest.raises(weights.ConversionError, match="--source='caffe'"):
    convert.convert('caffe', str(tmp_path / 'other.h5'), str(tmp_path / 'out'))
  with pytest.raises(FileNotFoundError, match='python -m transfer.convert'):
    convert.load(str(tmp_path / 'nothing'))


def test_download_lands_whole_or_not_at_all(tmp_path, monkeypatch):
  """convert.download from file:// URLs (the real ones need the internet): the file lands
  under its own name; a failed download names the URL and leaves nothing behind."""
  (tmp_path / 'server').mkdir()
  (tmp_path / 'server' / 'vgg16.pth').write_bytes(b'\x01' * (3 << 20))  # 3 chunks
  monkeypatch.setitem(convert.URLS, 'torch', f'file://{tmp_path}/server/vgg16.pth')
  path = convert.download('torch', str(tmp_path / 'cache'))
  assert pathlib.Path(path).read_bytes() == b'\x01' * (3 << 20)
  assert os.listdir(tmp_path / 'cache') == ['vgg16.pth']

  class CutOff(io.BytesIO):   # the connection drops after the first chunk
    def read(self, size=-1):
      if self.tell():
        raise ConnectionResetError('connection reset by peer')
      return super().read(size)
  monkeypatch.setattr(urllib.request, 'urlopen',
                      lambda url, timeout: CutOff(b'\x02' * (2 << 20)))
  with pytest.raises(weights.ConversionError,
                     match=f'could not download {re.escape(convert.URLS["keras"])} .*reset by peer'):
    convert.download('keras', str(tmp_path / 'cache'))
  assert os.listdir(tmp_path / 'cache') == ['vgg16.pth']
