"""Readers of the raw dataset files: IDX (MNIST, Fashion-MNIST) and CIFAR-10 (python or binary
version, archive or extracted). Each returns the four arrays of common/data.py's ImageDataset,
None where the files are not there, and a ValueError naming the file where they are unusable."""
import gzip
import os
import pickle
import tarfile
import zlib

import numpy as np

IDX_FILES = {
    'train_images': 'train-images-idx3-ubyte', 'train_labels': 'train-labels-idx1-ubyte',
    'test_images': 't10k-images-idx3-ubyte', 'test_labels': 't10k-labels-idx1-ubyte',
}


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


def read_idx_dir(directory: str) -> dict | None:
  arrays = {}
  for key, filename in IDX_FILES.items():
    stream, path = _open_maybe_gz(os.path.join(directory, filename))
    if stream is None:
      return None
    try:
      with stream:
        arrays[key] = read_idx(stream, path)
    except (EOFError, OSError, zlib.error, ValueError) as e:
      raise ValueError(f'{path} is truncated or corrupt ({e}); get the file again (or delete '
                      f'it to use the next source).') from None
  for split in ('train', 'test'):
    images, labels = arrays[f'{split}_images'], arrays[f'{split}_labels']
    if len(images) != len(labels):
      raise ValueError(f'{directory}: {len(images)} {split} images but {len(labels)} labels: '
                      'the image and label files are of different datasets or one is '
                      'incomplete; get both again.')
    arrays[f'{split}_images'] = images[..., None]
    arrays[f'{split}_labels'] = labels.astype(np.int32)
  return arrays


def read_cifar(directory: str) -> dict | None:
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
        raise ValueError(f'{where}: unreadable CIFAR-10 batch ({e}); get it again.') from None
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
