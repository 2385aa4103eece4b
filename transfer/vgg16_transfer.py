"""VGG16 transfer on image folders, the parts its two trainers share: the data checks, the
images (folders or TFDS, a held-out fraction per class) and the run around a fit
(transfer/vgg16_head.py, report 000: frozen base + new head, optionally fine-tuning the top
blocks; transfer/vgg16_svm.py, report 001: features at several layers + linear SVMs)."""
import os

from absl import logging
import numpy as np

from common import checks, distributed, image_folder, mesh as mesh_lib, writers
from transfer import convert, vgg16


def validate_data(config) -> None:
  """The checks of the data and weights keys both trainers have."""
  d = config.dataset
  if d.tfds_name:
    checks.require(not d.train_dir and not d.test_dir, 'dataset.tfds_name', d.tfds_name,
                   "'' when data.train_dir / data.test_dir name image folders (one source)")
    checks.non_negative(config, 'dataset.max_examples')
  else:
    checks.require(isinstance(d.train_dir, str) and os.path.isdir(d.train_dir), 'dataset.train_dir',
                   d.train_dir, 'a folder with one subfolder of images per class (or set '
                   'data.tfds_name, e.g. cats_vs_dogs)')
    checks.require(d.test_dir == '' or os.path.isdir(d.test_dir), 'dataset.test_dir', d.test_dir,
                   "a folder with the same class subfolders, or '' to hold out data.test_fraction")
  if not d.test_dir:
    checks.require(0 < d.test_fraction < 1, 'dataset.test_fraction', d.test_fraction,
                   'a fraction in (0, 1) of each class held out for testing')
  checks.require(isinstance(d.image_size, int) and d.image_size >= 32, 'dataset.image_size',
                 d.image_size, 'an integer >= 32 (five 2x2 poolings; 224 for the fc layers)')
  checks.one_of(config, 'dataset.resize', ('auto', *image_folder.RESIZES))
  checks.one_of(config, 'model.dtype', vgg16.DTYPES)
  checks.positive(config, 'eval.batch_size', integer=True)


def load_data(config, meta):
  """(train images, train labels, test images, test labels, class names), uint8 RGB."""
  d = config.dataset
  resize = convert.resize_mode(d.resize, meta)
  def read(key):
    try:
      if key == 'tfds_name':
        return image_folder.read_tfds(d.tfds_name, d.tfds_dir, d.image_size, resize,
                                      max_examples=d.max_examples)
      return image_folder.read_folder(d[key], size=d.image_size, resize=resize)
    except (FileNotFoundError, ValueError) as e:
      raise checks.ConfigError(f'config.dataset.{key} = {d[key]!r}: {e}') from None

  train_x, train_y, classes = read('tfds_name' if d.tfds_name else 'train_dir')
  if d.test_dir:
    test_x, test_y, test_classes = read('test_dir')
    checks.require(test_classes == classes, 'dataset.test_dir', d.test_dir,
                   f'the class subfolders of data.train_dir ({", ".join(classes)}); it has '
                   f'{", ".join(test_classes)}')
    return train_x, train_y, test_x, test_y, classes
  rng = np.random.default_rng(config.seed)
  test = np.zeros(len(train_y), bool)
  for c in range(len(classes)):   # the same fraction of every class held out
    idx = rng.permutation(np.flatnonzero(train_y == c))
    test[idx[:max(1, round(d.test_fraction * len(idx)))]] = True
  return train_x[~test], train_y[~test], train_x[test], train_y[test], classes


def run(config, workdir: str, fit) -> dict:
  """Loads the weights and the images, then `fit(config, workdir, params, meta, splits,
  classes)`; its summary, with the data's, goes to summary.json."""
  params, meta = convert.load_weights(config)
  train_x, train_y, test_x, test_y, classes = load_data(config, meta)
  logging.info('%d train / %d test images, %d classes: %s', len(train_y), len(test_y),
               len(classes), ', '.join(classes))
  summary = fit(config, workdir, params, meta, (train_x, train_y, test_x, test_y), classes)
  summary.update({'weights_dir': config.model.weights_dir, 'source': meta['source'],
                  'classes': list(classes), 'num_train': len(train_y),
                  'num_test': len(test_y), 'num_devices': mesh_lib.job_mesh().size})
  if distributed.is_main():  # one writer per multi-process job
    writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary
