"""The VGG16 runs through launch.py's trainer functions, on converted random weights."""
import importlib
import json
import os
import subprocess
import sys

import jax
import ml_collections
import numpy as np
import pytest
from PIL import Image

from common.checks import ConfigError
from configs import vgg16_predict as predict_config
from tests.conftest import ROOT
from transfer import convert, vgg16, vgg16_head, vgg16_predict, vgg16_svm


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


def _config(weights_dir='', **dataset) -> ml_collections.ConfigDict:
  config = predict_config.get_config()
  config.dataset.update(dataset)
  if weights_dir:
    config.model.weights_dir = weights_dir
  return config


def test_predict_top_k_and_feature_maps(torch_vgg16_dir, photo, tmp_path, capsys):
  weights_dir = torch_vgg16_dir
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
  with pytest.raises(ConfigError, match="config.dataset.image = ''"):
    vgg16_predict.validate(_config())
  with pytest.raises(ConfigError, match=r"config.model.weights_dir = .*python -m transfer.convert"):
    vgg16_predict.train_and_evaluate(
        _config(image=photo, weights_dir=str(tmp_path / 'none')), str(tmp_path / 'run'))
  with pytest.raises(ConfigError, match="config.dataset.resize = 'crop'"):
    vgg16_predict.validate(_config(image=photo, resize='crop'))


@pytest.fixture(scope='module')
def notop_dir(tmp_path_factory):
  """Random VGG16 base weights saved as a conversion would (Keras 'caffe' preprocessing)."""
  path = str(tmp_path_factory.mktemp('vgg16_notop'))
  convert.save(jax.tree.map(np.asarray, vgg16.init_params(jax.random.key(0), include_top=False,
                                                           image_size=32)), path, 'keras')
  return path


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
  """Two classes of 40x40 photos: reddish and bluish noise, 12 each; one grayscale file."""
  root = tmp_path_factory.mktemp('images')
  rng = np.random.default_rng(0)
  for name, color in (('blue', (40, 60, 200)), ('red', (200, 50, 40))):
    os.makedirs(root / name)
    for i in range(12):
      img = np.clip(rng.normal(color, 40, (40, 40, 3)), 0, 255).astype(np.uint8)
      Image.fromarray(img).save(root / name / f'{i}.png')
  Image.fromarray(np.full((40, 40), 90, np.uint8)).save(root / 'blue' / 'gray.png')
  return str(root)


def _transfer_config(name, weights_dir, folder, **sections):
  config = importlib.import_module(f'configs.{name}').get_config('quick')
  config.model.weights_dir, config.dataset.train_dir = weights_dir, folder
  config.dataset.image_size, config.dataset.test_fraction = 32, 0.4
  config.eval.batch_size = 8
  for section, values in sections.items():
    config[section].update(values)
  return config


@pytest.mark.parametrize('trainable_blocks', [0, 1])
def test_vgg16_head_learns_the_folder(notop_dir, folder, tmp_path, trainable_blocks):
  config = _transfer_config('vgg16_head', notop_dir, folder,
                            train={'steps': 15, 'batch_size': 8},
                            optim={'learning_rate': 3e-3},
                            model={'trainable_blocks': trainable_blocks})
  summary = vgg16_head.train_and_evaluate(config, str(tmp_path))
  assert summary['classes'] == ['blue', 'red']
  assert summary['num_train'] + summary['num_test'] == 25
  assert summary['num_test'] == 10                # 40% of each class held out
  assert summary['test_accuracy'] >= 0.9
  frozen = summary['frozen_layers']
  assert ('block5_conv1' in frozen) == (trainable_blocks == 0)
  assert 'block4_conv3' in frozen and len(frozen) == 13 - 3 * trainable_blocks
  assert os.path.isfile(tmp_path / 'plots' / 'loss.png')


def test_vgg16_svm_table_and_feature_cache(notop_dir, folder, tmp_path):
  config = _transfer_config('vgg16_svm', notop_dir, folder,
                            svm={'layers': ('relu2', 'pool5'), 'c': (0.1, 1.0)})
  summary = vgg16_svm.train_and_evaluate(config, str(tmp_path))
  assert [(r['layer'], r['C']) for r in summary['table']] == [
      ('relu2', 0.1), ('relu2', 1.0), ('pool5', 0.1), ('pool5', 1.0)]
  assert summary['table'][0]['dims'] == 64 and summary['table'][2]['dims'] == 512
  assert all(b['test_accuracy'] >= 0.9 for b in summary['best'])
  cached = tmp_path / 'features' / 'relu2_train.npz'
  stamp = os.path.getmtime(cached)
  again = vgg16_svm.train_and_evaluate(config, str(tmp_path))   # features from the cache
  strip = lambda rows: [{k: x for k, x in r.items() if k != 'seconds'} for r in rows]
  assert os.path.getmtime(cached) == stamp and strip(again['table']) == strip(summary['table'])

  # The command a user types, as a job of 2 processes (each batch of 8 split over their 2
  # devices), twice: the features of one process, so its table; cached by process 0 and read
  # back by both on the rerun; summary.json written once.
  job = tmp_path / 'job'
  command = [sys.executable, 'launch.py', '--config=configs/vgg16_svm.py:quick',
             f'--config.model.weights_dir={notop_dir}', f'--config.dataset.train_dir={folder}',
             '--config.dataset.image_size=32', '--config.dataset.test_fraction=0.4',
             '--config.eval.batch_size=8', "--config.svm.layers=('relu2', 'pool5')",
             '--config.svm.c=(0.1, 1.0)', f'--workdir={job}', '--local_processes=2',
             '--local_devices=1']
  stamps = []
  for _ in range(2):
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    stamps.append({f: os.path.getmtime(job / 'features' / f) for f in os.listdir(job / 'features')})
  assert stamps[1] == stamps[0] and sorted(stamps[0]) == sorted(os.listdir(tmp_path / 'features'))
  for name in stamps[0]:
    np.testing.assert_allclose(np.load(job / 'features' / name)['features'],
                               np.load(tmp_path / 'features' / name)['features'],
                               rtol=1e-5, atol=1e-5)
  job_summary = json.load(open(job / 'summary.json'))
  assert (summary['num_devices'], job_summary['num_devices']) == (1, 2)
  assert strip(job_summary['table']) == strip(summary['table'])
  config.svm.layers = ('fc1',)
  with pytest.raises(ConfigError, match="'fc1' is in the top.*no top"):
    vgg16_svm.train_and_evaluate(config, str(tmp_path / 'fc'))


def test_vgg16_transfer_bad_config_names_the_key(notop_dir, folder, tmp_path):
  config = _transfer_config('vgg16_head', notop_dir, folder, model={'feature_layer': 'fc1'})
  with pytest.raises(ConfigError, match="config.model.feature_layer = 'fc1'"):
    vgg16_head.validate(config)
  config = _transfer_config('vgg16_head', notop_dir, str(tmp_path / 'none'))
  with pytest.raises(ConfigError, match='config.dataset.train_dir'):
    vgg16_head.validate(config)
  os.makedirs(tmp_path / 'test' / 'cat')
  Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / 'test' / 'cat' / 'a.png')
  config = _transfer_config('vgg16_svm', notop_dir, folder)
  config.dataset.test_dir = str(tmp_path / 'test')
  with pytest.raises(ConfigError, match=r'config.dataset.test_dir = .*\(blue, red\); it has cat'):
    vgg16_svm.train_and_evaluate(config, str(tmp_path / 'run'))


def test_vgg16_svm_reads_tfds_cats_vs_dogs(notop_dir, tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  config = _transfer_config('vgg16_svm', notop_dir, '', svm={'layers': ('pool5',),
                                                             'c': (1.0,)})
  config.dataset.tfds_name, config.dataset.max_examples = 'cats_vs_dogs', 10
  with tfds.testing.mock_data(num_examples=14):  # random images of random sizes
    summary = vgg16_svm.train_and_evaluate(config, str(tmp_path / 'run'))
  assert summary['classes'] == ['cat', 'dog']
  assert summary['num_train'] + summary['num_test'] == 10
  config.dataset.tfds_dir = str(tmp_path / 'empty')  # nothing prepared: a clear error, at once
  with pytest.raises(ConfigError, match=r"config.dataset.tfds_name = 'cats_vs_dogs'.*not prepared"):
    vgg16_svm.train_and_evaluate(config, str(tmp_path / 'run2'))
  config.dataset.train_dir = str(tmp_path)
  with pytest.raises(ConfigError, match='config.dataset.tfds_name'):
    vgg16_svm.validate(config)
