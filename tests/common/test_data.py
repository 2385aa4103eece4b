import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from common import data
from common.data_files import IDX_FILES


def test_idx_folder_loads_whole_splits(idx_dir):
  ds = data.load('fashion_mnist', str(idx_dir), download=False)
  assert ds.train_images.shape == (256, 28, 28, 1) and ds.train_images.dtype == np.uint8
  assert ds.test_images.shape == (64, 28, 28, 1)
  assert ds.train_labels.dtype == np.int32 and ds.train_labels.max() <= 9
  assert ds.source == str(idx_dir) and ds.num_classes == 10
  assert ds.class_names[9] == 'Ankle boot'


def test_truncated_idx_file_is_named(idx_dir):
  path = idx_dir / 'train-images-idx3-ubyte.gz'
  import gzip
  with gzip.open(path) as f:
    blob = f.read()
  with gzip.open(path, 'wb') as f:
    f.write(blob[:-100])
  with pytest.raises(ValueError, match='train-images-idx3-ubyte.gz is truncated'):
    data.load('mnist', str(idx_dir), download=False)


def test_missing_data_says_how_to_provide_it(tmp_path):
  with pytest.raises(data.DataNotFoundError) as e:
    data.load('mnist', str(tmp_path), download=False)
  message = str(e.value)
  assert str(tmp_path) in message
  assert '--config.dataset.dir' in message and 'train-images-idx3-ubyte' in message


def test_a_folder_that_does_not_exist_is_named_not_replaced(tmp_path):
  # fashion_mnist: a system copy may be installed, and must not be read instead
  missing = str(tmp_path / 'nonexistent')
  with pytest.raises(data.DataNotFoundError, match=f"dataset.dir = '{missing}': no such folder"):
    data.load('fashion_mnist', missing, download=False)


def test_unknown_dataset_lists_the_known_ones():
  with pytest.raises(ValueError, match="Unknown dataset 'svhn'.*fashion_mnist"):
    data.load('svhn')


def _cifar_batches(rng):
  batches = {}
  for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
    images = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, 4)
    batches[name] = (images, labels)
  return batches


@pytest.mark.parametrize('version', ['python', 'binary'])
def test_cifar_archive_is_read_in_hwc_layout(tmp_path, version):
  batches = _cifar_batches(np.random.default_rng(1))
  folder = 'cifar-10-batches-py' if version == 'python' else 'cifar-10-batches-bin'
  with tarfile.open(tmp_path / f'cifar-10-{version}.tar.gz', 'w:gz') as tar:
    for name, (images, labels) in batches.items():
      if version == 'python':
        blob = pickle.dumps({b'data': images.reshape(4, -1), b'labels': list(labels)})
      else:
        blob = np.concatenate([labels[:, None].astype(np.uint8), images.reshape(4, -1)],
                              axis=1).tobytes()
        name += '.bin'
      info = tarfile.TarInfo(f'{folder}/{name}')
      info.size = len(blob)
      tar.addfile(info, io.BytesIO(blob))
  ds = data.load('cifar10', str(tmp_path), download=False)
  assert ds.train_images.shape == (20, 32, 32, 3) and ds.test_images.shape == (4, 32, 32, 3)
  images, labels = batches['data_batch_2']
  np.testing.assert_array_equal(ds.train_images[4:8], images.transpose(0, 2, 3, 1))
  np.testing.assert_array_equal(ds.train_labels[4:8], labels)


def test_prepared_tfds_dataset_is_read_without_tensorflow(tmp_path):
  tfds = pytest.importorskip('tensorflow_datasets')
  os.makedirs(tmp_path / 'mnist')
  with tfds.testing.mock_data(num_examples=12):
    ds = data.load('mnist', str(tmp_path), download=False)
  assert ds.train_images.shape == (12, 28, 28, 1) and ds.train_images.dtype == np.uint8
  assert ds.source.startswith('tfds:')


def test_pixel_ranges_round_trip():
  x = np.array([0, 128, 255], np.uint8)
  for pixel_range, low in (('zero_one', 0.0), ('minus_one_one', -1.0)):
    f = np.asarray(data.to_float(x, pixel_range))
    assert f[0] == low and f[2] == 1.0
    np.testing.assert_allclose(np.asarray(data.to_unit(f, pixel_range)), x / 255.0, atol=1e-6)


def test_a_missing_dataset_downloads_into_the_cache_once(idx_dir, tmp_path, monkeypatch):
  """The download path, served from file:// URLs (the real ones need the internet): the four
  files land whole in the cache (no temporary files left) and the next load reads them
  there; a server that fails gives the error that says how to provide the data."""
  cache = tmp_path / 'cache'
  monkeypatch.setattr(data, 'CACHE_DIR', str(cache))
  monkeypatch.setattr(data, '_SYSTEM_DIRS', {})
  monkeypatch.setattr(data, '_tfds_dirs', lambda data_dir: [])
  monkeypatch.setitem(data._IDX_URLS, 'mnist', f'file://{idx_dir}/')  # pylint: disable=protected-access
  ds = data.load('mnist')
  assert ds.train_images.shape == (256, 28, 28, 1) and len(ds.test_labels) == 64
  assert sorted(os.listdir(cache / 'mnist')) == sorted(f + '.gz' for f in IDX_FILES.values())
  monkeypatch.setitem(data._IDX_URLS, 'mnist', f'file://{tmp_path}/gone/')  # pylint: disable=protected-access
  np.testing.assert_array_equal(data.load('mnist').train_images, ds.train_images)  # cached
  monkeypatch.setattr(data, 'CACHE_DIR', str(tmp_path / 'new_cache'))
  with pytest.raises(data.DataNotFoundError, match='a download of the raw files'):
    data.load('mnist')
  assert os.listdir(tmp_path / 'new_cache' / 'mnist') == []
