"""VGG16 prediction run (configs/vgg16_predict.py): top-k ImageNet classes of one image and
its first-layer feature maps."""
import os

from absl import logging
import jax
import numpy as np

from common import checks, image_folder, images as images_lib, writers
from transfer import convert, vgg16

CLASS_NAMES_FILE = os.path.join(os.path.dirname(__file__), 'imagenet_classes.txt')


def imagenet_class_names() -> list[str]:
  """The 1,000 ImageNet-1k class names in the standard index order (from torchvision)."""
  with open(CLASS_NAMES_FILE) as f:
    return [line.rstrip('\n') for line in f]


def validate(config) -> None:
  d = config.dataset
  checks.require(isinstance(d.image, str) and os.path.isfile(d.image), 'dataset.image', d.image,
                 'the path of an image file (--config.dataset.image=photo.jpg)')
  checks.one_of(config, 'dataset.resize', ('auto', *image_folder.RESIZES))
  checks.one_of(config, 'model.dtype', vgg16.DTYPES)
  checks.positive(config, 'dataset.image_size', integer=True)
  checks.positive(config, 'eval.top_k', integer=True)


def read_images(paths, config, meta):
  resize = convert.resize_mode(config.dataset.resize, meta)
  return np.stack([image_folder.read_image(p, config.dataset.image_size, resize) for p in paths])


def train_and_evaluate(config, workdir: str) -> dict:
  params, meta = convert.load_weights(config)
  weights_dir, top_k = config.model.weights_dir, config.eval.top_k
  checks.require(meta['include_top'], 'model.weights_dir', weights_dir,
                 'weights with the top (fc1, fc2, predictions), not a _notop file')
  names = imagenet_class_names()
  checks.require(meta['num_classes'] == len(names), 'model.weights_dir', weights_dir,
                 f'a 1000-class ImageNet top (this one has {meta["num_classes"]} classes)')
  checks.require(top_k <= len(names), 'eval.top_k', top_k, f'at most {len(names)}')
  image = read_images([config.dataset.image], config, meta)
  x = vgg16.preprocess(image, meta['preprocessing'])
  model = vgg16.VGG16(dtype=vgg16.DTYPES[config.model.dtype])
  out = jax.jit(lambda p, x: model.apply({'params': p}, x, ('block1_conv1', 'predictions')))(
      params, x)
  probs = np.asarray(out['predictions'][0], np.float64)
  top = np.argsort(-probs)[:top_k]
  rows = [{'class': int(i), 'name': names[i], 'probability': float(probs[i])} for i in top]
  for r in rows:
    print(f'{r["class"]:4d} {r["name"]:30s} {r["probability"]:.4f}')
  _save_feature_maps(np.asarray(out['block1_conv1'][0], np.float32),
                     os.path.join(workdir, 'figures', 'block1_conv1.png'))
  summary = {'image': config.dataset.image, 'weights_dir': weights_dir,
             'source': meta['source'], 'top_k': rows}
  writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  logging.info('Top-%d of %s: %s', top_k, config.dataset.image,
               ', '.join(f'{r["name"]} {r["probability"]:.3f}' for r in rows))
  return summary


def _save_feature_maps(maps, path):
  """[H, W, 64] activations -> an 8x8 grid, each map scaled to its own maximum."""
  maps = np.moveaxis(maps, -1, 0)[..., None]
  maps = maps / np.maximum(maps.max(axis=(1, 2, 3), keepdims=True), 1e-12)
  images_lib.save_png(path, images_lib.grid(maps, ncols=8))
