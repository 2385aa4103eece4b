"""Image classification datasets as whole uint8 arrays, from local files first, never hanging offline.

Sources, in order: `config.dataset.dir` (raw files, or a TFDS data_dir), the system copy
(Debian's `dataset-fashion-mnist`), the user cache, a prepared TFDS dataset, and last a
download of the raw files with a short timeout. When none works the error says how to
provide the data.
"""
import dataclasses
import gzip
import logging
import os
import pickle
import socket
import tarfile
import urllib.request
import zlib

import jax.numpy as jnp
import numpy as np

from common import validate

CACHE_DIR = os.path.join(os.path.expanduser('~'), '.cache', 'jax_classics', 'datasets')
DOWNLOAD_TIMEOUT_S = 10

_IDX_FILES = {
    'train_images': 'train-images-idx3-ubyte', 'train_labels': 'train-labels-idx1-ubyte',
    'test_images': 't10k-images-idx3-ubyte', 'test_labels': 't10k-labels-idx1-ubyte',
}
_IDX_URLS = {
    'mnist': 'https://storage.googleapis.com/cvdf-datasets/mnist/',
    'fashion_mnist': 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
}
_CIFAR_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
_SYSTEM_DIRS = {'fashion_mnist': ['/usr/share/datasets/fashion-mnist'],
                'mnist': ['/usr/share/datasets/mnist']}
_CLASS_NAMES = {
    'mnist': [str(i) for i in range(10)],
    'fashion_mnist': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
                      'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    'cifar10': ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
                'ship', 'truck'],
}
DATASETS = tuple(_CLASS_NAMES)
PIXEL_RANGES = ('zero_one', 'minus_one_one')


class DataError(validate.ConfigError):
  """Data that cannot be used as given (a truncated file, mismatched splits); the message
  names the file and how to get it again."""


class DataNotFoundError(DataError, FileNotFoundError):
  pass


@dataclasses.dataclass(frozen=True)
class ImageDataset:
  """Whole splits as uint8 images [N, H, W, C] and int32 labels [N]."""
  name: str
  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  class_names: tuple[str, ...]
  source: str

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return tuple(self.train_images.shape[1:])

  @property
  def num_classes(self) -> int:
    return len(self.class_names)


def to_float(images, pixel_range: str):
  """uint8 pixels to float32 in [0, 1] or [-1, 1] (done on device, inside the step)."""
  x = jnp.asarray(images, jnp.float32) / 255.0
  return x * 2.0 - 1.0 if pixel_range == 'minus_one_one' else x


def bounds(pixel_range: str) -> tuple[float, float]:
  """The range `to_float` maps pixels to: where attacks and visualizations clip."""
  return (-1.0, 1.0) if pixel_range == 'minus_one_one' else (0.0, 1.0)


def to_unit(images, pixel_range: str):
  """Inverse of `to_float` up to quantisation: float images back to [0, 1] for display."""
  x = (images + 1.0) / 2.0 if pixel_range == 'minus_one_one' else images
  return jnp.clip(x, 0.0, 1.0)


def load(name: str, data_dir: str = '', download: bool = True) -> ImageDataset:
  """Loads `name` whole; see the module docstring for where it looks."""
  if name not in DATASETS:
    raise ValueError(f'Unknown dataset {name!r}: expected one of {", ".join(DATASETS)}.')
  tried = []
  dirs = ([data_dir] if data_dir else []) + _SYSTEM_DIRS.get(name, []) + [
      os.path.join(CACHE_DIR, name)]
  for directory in dirs:
    found = _read_raw(name, directory)
    tried.append(f'raw files in {directory}')
    if found is not None:
      return found
  for tfds_dir in _tfds_dirs(data_dir):
    tried.append(f'a prepared TFDS dataset in {tfds_dir}')
    found = _read_tfds(name, tfds_dir)
    if found is not None:
      return found
  if data_dir:
    raise DataNotFoundError(_how_to_provide(name, tried))
  if download:
    tried.append('a download of the raw files')
    if _download_raw(name, os.path.join(CACHE_DIR, name)):
      return _read_raw(name, os.path.join(CACHE_DIR, name))
  raise DataNotFoundError(_how_to_provide(name, tried))


IMAGE_FOLDER = 'image_folder'


def load_folder(directory: str, image_size: int, channels: int) -> ImageDataset:
  """A dataset from a folder of images (one subfolder per class, or a single folder),
  resized to image_size x image_size with 1 or 3 channels. There is no split: the test
  split is the training set (GAN metrics compare samples with the folder itself)."""
  from common import image_folder  # pylint: disable=g-import-not-at-top  (needs pillow)
  if not directory:
    raise DataNotFoundError('dataset.name = image_folder needs --config.dataset.dir=FOLDER '
                            '(one subfolder of images per class, or a folder of images).')
  try:
    images, labels, names = image_folder.read_folder(directory, image_size, channels)
  except (ValueError, FileNotFoundError) as e:
    raise DataError(f'config.dataset.dir: {e}') from None
  return ImageDataset(IMAGE_FOLDER, images, labels, images, labels, names, directory)


def class_names(name: str) -> tuple[str, ...]:
  return tuple(_CLASS_NAMES[name])


def restrict_classes(ds: ImageDataset, classes) -> ImageDataset:
  """Keeps the examples of `classes` (original label values), relabelled 0..len(classes)-1
  in that order: classes=(3, 8) makes a binary problem with 3 -> 0 and 8 -> 1."""
  classes = tuple(int(c) for c in classes)
  if not classes:
    return ds
  bad = [c for c in classes if not 0 <= c < ds.num_classes]
  if bad or len(set(classes)) != len(classes):
    raise ValueError(f'config.dataset.classes = {classes}: expected distinct labels in '
                     f'0..{ds.num_classes - 1} of {ds.name} ({", ".join(ds.class_names)}).')
  lookup = np.full(ds.num_classes, -1, np.int32)
  lookup[list(classes)] = np.arange(len(classes))

  def keep(images, labels):
    new = lookup[labels]
    return images[new >= 0], new[new >= 0]

  train_images, train_labels = keep(ds.train_images, ds.train_labels)
  test_images, test_labels = keep(ds.test_images, ds.test_labels)
  return dataclasses.replace(
      ds, train_images=train_images, train_labels=train_labels, test_images=test_images,
      test_labels=test_labels, class_names=tuple(ds.class_names[c] for c in classes))


def _how_to_provide(name: str, tried: list[str]) -> str:
  files = ('the four IDX files (' + ', '.join(f + '[.gz]' for f in _IDX_FILES.values()) + ')'
           if name in _IDX_URLS else
           'cifar-10-python.tar.gz or cifar-10-binary.tar.gz (or either one extracted)')
  hint = ('\n  - on Debian/Ubuntu: sudo apt-get install -y dataset-fashion-mnist'
          if name == 'fashion_mnist' else '')
  return (f'No data for dataset {name!r}. Looked for: ' + '; '.join(tried) + '.\n'
          f'Provide it in one of these ways:\n'
          f'  - put {files} in a folder and pass --config.dataset.dir=FOLDER{hint}\n'
          f'  - put them in {os.path.join(CACHE_DIR, name)}\n'
          f'  - prepare it with TFDS on a machine with internet and pass its data_dir as '
          f'--config.dataset.dir')


# ---- raw files -------------------------------------------------------------------------

def _read_raw(name: str, directory: str) -> ImageDataset | None:
  if not os.path.isdir(directory):
    return None
  arrays = _read_idx_dir(directory) if name in _IDX_URLS else _read_cifar(directory)
  if arrays is None:
    return None
  return ImageDataset(name=name, class_names=tuple(_CLASS_NAMES[name]), source=directory,
                      **arrays)


def _open_maybe_gz(path: str):
  for candidate, opener in ((path, open), (path + '.gz', gzip.open)):
    if os.path.exists(candidate):
      return opener(candidate, 'rb'), candidate
  return None, None


def read_idx(stream, path: str = '<stream>') -> np.ndarray:
  """Parses one IDX file (the MNIST format): magic, dims, then uint8 data."""
  data = stream.read()
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
    raise ValueError(f'{path} is not an IDX file of unsigned bytes.')
  ndim = data[3]
  dims = np.frombuffer(data, '>u4', count=ndim, offset=4).astype(int)
  offset = 4 + 4 * ndim
  if len(data) - offset != int(np.prod(dims)):
    raise ValueError(f'{path} is truncated: header says {tuple(dims)}, '
                     f'got {len(data) - offset} bytes of data.')
  return np.frombuffer(data, np.uint8, offset=offset).reshape(dims)


def _read_idx_dir(directory: str) -> dict | None:
  arrays = {}
  for key, filename in _IDX_FILES.items():
    stream, path = _open_maybe_gz(os.path.join(directory, filename))
    if stream is None:
      return None
    try:
      with stream:
        arrays[key] = read_idx(stream, path)
    except (EOFError, OSError, zlib.error, ValueError) as e:
      raise DataError(f'{path} is truncated or corrupt ({e}); get the file again (or delete '
                      f'it to use the next source).') from None
  for split in ('train', 'test'):
    images, labels = arrays[f'{split}_images'], arrays[f'{split}_labels']
    if len(images) != len(labels):
      raise DataError(f'{directory}: {len(images)} {split} images but {len(labels)} labels: '
                      'the image and label files are of different datasets or one is '
                      'incomplete; get both again.')
    arrays[f'{split}_images'] = images[..., None]
    arrays[f'{split}_labels'] = labels.astype(np.int32)
  return arrays


def _read_cifar(directory: str) -> dict | None:
  """CIFAR-10 python or binary version: archive or extracted folder."""
  for archive in ('cifar-10-python.tar.gz', 'cifar-10-binary.tar.gz'):
    path = os.path.join(directory, archive)
    if os.path.exists(path):
      with tarfile.open(path) as tar:
        members = {os.path.basename(m.name): m for m in tar.getmembers() if m.isfile()}
        return _parse_cifar(lambda f: tar.extractfile(members[f]).read()
                            if f in members else None, path)
  for sub in ('cifar-10-batches-py', 'cifar-10-batches-bin', '.'):
    folder = os.path.join(directory, sub)
    def read(f, folder=folder):
      p = os.path.join(folder, f)
      return open(p, 'rb').read() if os.path.exists(p) else None
    arrays = _parse_cifar(read, folder)
    if arrays is not None:
      return arrays
  return None


def _parse_cifar(read, where: str) -> dict | None:
  train = [f'data_batch_{i}' for i in range(1, 6)]
  for suffix, parse in (('', _parse_cifar_pickle), ('.bin', _parse_cifar_bin)):
    blobs = [read(f + suffix) for f in train + ['test_batch']]
    if all(b is not None for b in blobs):
      try:
        parts = [parse(b) for b in blobs]
      except Exception as e:  # pylint: disable=broad-except
        raise DataError(f'{where}: unreadable CIFAR-10 batch ({e}); get it again.') from None
      return dict(train_images=np.concatenate([p[0] for p in parts[:5]]),
                  train_labels=np.concatenate([p[1] for p in parts[:5]]),
                  test_images=parts[5][0], test_labels=parts[5][1])
  return None


def _parse_cifar_pickle(blob: bytes):
  d = pickle.loads(blob, encoding='bytes')
  images = np.asarray(d[b'data'], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
  return images, np.asarray(d[b'labels'], np.int32)


def _parse_cifar_bin(blob: bytes):
  records = np.frombuffer(blob, np.uint8).reshape(-1, 1 + 3072)
  images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
  return np.ascontiguousarray(images), records[:, 0].astype(np.int32)


# ---- TFDS ------------------------------------------------------------------------------

def _tfds_dirs(data_dir: str) -> list[str]:
  dirs = [data_dir] if data_dir else []
  dirs.append(os.environ.get('TFDS_DATA_DIR',
                             os.path.join(os.path.expanduser('~'), 'tensorflow_datasets')))
  return [d for d in dirs if os.path.isdir(d)]


def _read_tfds(name: str, data_dir: str) -> ImageDataset | None:
  """Reads an already prepared TFDS dataset (array_record); never builds or downloads."""
  if not os.path.isdir(os.path.join(data_dir, name)):
    return None
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (slow import)
  splits = {}
  for split in ('train', 'test'):
    source = tfds.data_source(name, split=split, data_dir=data_dir,
                              download=False, try_gcs=False)
    records = [source[i] for i in range(len(source))]
    splits[f'{split}_images'] = np.stack([np.asarray(r['image'], np.uint8) for r in records])
    splits[f'{split}_labels'] = np.asarray([r['label'] for r in records], np.int32)
  return ImageDataset(name=name, class_names=tuple(_CLASS_NAMES[name]),
                      source=f'tfds:{data_dir}', **splits)


# ---- download --------------------------------------------------------------------------

def _download_raw(name: str, directory: str) -> bool:
  """One quick attempt per file; False (with a log line) as soon as the network fails."""
  if name in _IDX_URLS:
    urls = [_IDX_URLS[name] + f + '.gz' for f in _IDX_FILES.values()]
  else:
    urls = [_CIFAR_URL]
  os.makedirs(directory, exist_ok=True)
  for url in urls:
    target = os.path.join(directory, url.rsplit('/', 1)[1])
    if os.path.exists(target):
      continue
    try:
      logging.info('Downloading %s', url)
      with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        blob = response.read()
    except (OSError, socket.timeout) as e:
      logging.warning('Download of %s failed (%s).', url, e)
      return False
    with open(target + '.part', 'wb') as f:
      f.write(blob)
    os.replace(target + '.part', target)
  return True
