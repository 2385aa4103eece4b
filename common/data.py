"""Image classification datasets as whole uint8 arrays, from local files first, never hanging
offline.

Sources, in order: `config.dataset.dir` (raw files, or a TFDS data_dir), the system copy
(Debian's `dataset-fashion-mnist`), the user cache, a prepared TFDS dataset, and last a
download of the raw files with a short timeout. When none works the error says how to
provide the data.
"""
import dataclasses
import logging
import os

import jax.numpy as jnp
import numpy as np

from common import checks, data_files, writers

CACHE_DIR = os.path.join(os.path.expanduser('~'), '.cache', 'jax_classics', 'datasets')
DOWNLOAD_TIMEOUT_S = 10

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


class DataError(checks.ConfigError):
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
  if data_dir and not os.path.isdir(data_dir):  # a mistyped folder must not fall back quietly
    raise DataNotFoundError(f'config.dataset.dir = {data_dir!r}: no such folder (expected the '
                            f'folder holding the {name} files, or no dataset.dir).')
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
  idx_files = ', '.join(f + '[.gz]' for f in data_files.IDX_FILES.values())
  files = (f'the four IDX files ({idx_files})' if name in _IDX_URLS else
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
  read = data_files.read_idx_dir if name in _IDX_URLS else data_files.read_cifar
  try:
    arrays = read(directory)
  except ValueError as e:
    raise DataError(str(e)) from None
  if arrays is None:
    return None
  return ImageDataset(name=name, class_names=tuple(_CLASS_NAMES[name]), source=directory,
                      **arrays)


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
    urls = [_IDX_URLS[name] + f + '.gz' for f in data_files.IDX_FILES.values()]
  else:
    urls = [_CIFAR_URL]
  os.makedirs(directory, exist_ok=True)
  for url in urls:
    target = os.path.join(directory, url.rsplit('/', 1)[1])
    if os.path.exists(target):
      continue
    try:
      logging.info('Downloading %s', url)
      writers.download(url, target, DOWNLOAD_TIMEOUT_S)
    except OSError as e:
      logging.warning('Download of %s failed (%s).', url, e)
      return False
  return True
