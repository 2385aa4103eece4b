"""The VGG16 runs through launch.py's trainer functions, on converted random weights."""
import json
import os

import jax
import ml_collections
import numpy as np
import pytest
from PIL import Image

from common.validate import ConfigError
from configs import vgg16_predict as predict_config
from transfer import convert, vgg16, vgg16_predict


def test_imagenet_class_names_ship_with_the_code():
  names = vgg16_predict.imagenet_class_names()
  assert len(names) == len(set(names)) == 1000
  assert names[281] == 'tabby' and names[0] == 'tench'    # report 000: 281, tabby cat


@pytest.fixture
def photo(tmp_path):
  path = tmp_path / 'photo.png'
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)).save(path)
  return str(path)


def _config(**overrides) -> ml_collections.ConfigDict:
  config = predict_config.get_config()
  config.update(overrides)
  return config


def test_predict_top_k_and_feature_maps(torch_vgg16, photo, tmp_path, capsys):
  _, weights_dir = torch_vgg16
  summary = vgg16_predict.train_and_evaluate(
      _config(weights_dir=weights_dir, image=photo), str(tmp_path / 'run'))
  rows = summary['top_k']
  names = vgg16_predict.imagenet_class_names()
  assert len(rows) == 5 and all(r['name'] == names[r['class']] for r in rows)
  # the probabilities are the network's softmax on the center-cropped photo (torch weights)
  params, meta = convert.load(weights_dir)
  x = vgg16.preprocess(vgg16_predict.read_images([photo], _config(), meta), 'torch')
  probs = np.asarray(vgg16.VGG16().apply({'params': params}, x, ('predictions',))
                     ['predictions'][0])
  np.testing.assert_array_equal([r['class'] for r in rows], np.argsort(-probs)[:5])
  np.testing.assert_allclose([r['probability'] for r in rows], np.sort(probs)[::-1][:5],
                             rtol=1e-4)
  assert rows[0]['name'] in capsys.readouterr().out
  fmap = Image.open(tmp_path / 'run' / 'figures' / 'block1_conv1.png')
  assert fmap.size == (8 * 226 + 2, 8 * 226 + 2)
  assert json.load(open(tmp_path / 'run' / 'summary.json'))['top_k'] == rows


def test_predict_bad_inputs_name_the_key(tmp_path, photo):
  with pytest.raises(ConfigError, match="config.image = ''"):
    vgg16_predict.validate(_config())
  with pytest.raises(ConfigError, match=r"config.weights_dir = .*python -m transfer.convert"):
    vgg16_predict.train_and_evaluate(
        _config(image=photo, weights_dir=str(tmp_path / 'none')), str(tmp_path / 'run'))
  with pytest.raises(ConfigError, match="config.resize = 'crop'"):
    vgg16_predict.validate(_config(image=photo, resize='crop'))
