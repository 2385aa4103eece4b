"""The feature networks shipped with the code: one file per dataset, beside this module.

Fashion-MNIST: the evaluation classifier of configs/eval_classifier.py (Conv32-pool-Conv64-
Conv64-pool, 3x3 same convs, ReLU -> Dense256 -> dropout 0.4 -> 10; Adam 1e-3 with cosine
decay, batch 128, 15 epochs, random left-right flips), stored in 16 bits. It is the default
feature network of the GAN scores (FID and KID on its 256 penultimate activations,
Inception-style score, class accuracy) and the default model of the saliency, attack and
class-visualization runs (`eval.classifier_dir = 'shipped'`). Fixed weights make a
Fashion-MNIST FID the same number on every machine, as InceptionV3 does for ImageNet-scale
FIDs. Its test accuracy, measured on the 16-bit weights, is `ShippedFile.test_accuracy`.

Retrain and ship it again (then paste the printed sha256 and accuracy below):

  python launch.py --config=configs/eval_classifier.py --workdir=runs/eval_classifier
  python -m classifiers.ship --workdir=runs/eval_classifier
"""
import dataclasses
import hashlib
import json
import os

import flax.serialization
import jax
import numpy as np

NAME = 'shipped'  # the value of eval.classifier_dir that selects these networks
STORAGE_DTYPE = np.float16


@dataclasses.dataclass(frozen=True)
class ShippedFile:
  file: str
  sha256: str
  test_accuracy: float


SHIPPED = {
    'fashion_mnist': ShippedFile(
        'fashion_mnist_classifier.msgpack',
        'cfac4b655b9e09b863dcd7c5b6938770b6b1b6cfd519d328b43bc1f5876b2276', 0.9345),
}


def available(dataset: str) -> bool:
  return dataset in SHIPPED


def path(dataset: str) -> str:
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), SHIPPED[dataset].file)


def sha256(file: str) -> str:
  with open(file, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def read(dataset: str) -> tuple[dict, dict, int]:
  """(the run's resolved config, float32 parameters, step) of the network shipped for
  `dataset`, after checking the file against its recorded sha256."""
  if not available(dataset):
    raise FileNotFoundError(f'No feature network ships for dataset {dataset!r} (only for '
                            f'{", ".join(SHIPPED)}).')
  file, expected = path(dataset), SHIPPED[dataset].sha256
  if not os.path.isfile(file):
    raise FileNotFoundError(f'{file} is missing: restore it with `git checkout -- {file}`.')
  found = sha256(file)
  if found != expected:
    raise ValueError(f'{file} has sha256 {found}, not the recorded {expected}: the file is '
                     f'corrupt or was changed; restore it with `git checkout -- {file}`.')
  with open(file, 'rb') as f:
    saved = flax.serialization.msgpack_restore(f.read())
  params = jax.tree.map(lambda x: jax.device_put(np.asarray(x, np.float32)), saved['params'])
  return json.loads(saved['config']), params, int(saved['step'])


def write(file: str, config_json: str, params, step: int) -> str:
  """Stores a classifier's parameters in 16 bits with its config; returns the sha256."""
  tree = {'config': config_json, 'step': step,
          'params': jax.tree.map(lambda x: np.asarray(x, STORAGE_DTYPE), params)}
  with open(file, 'wb') as f:
    f.write(flax.serialization.msgpack_serialize(tree))
  return sha256(file)


def rounded(params):
  """The parameters as the shipped file holds them (what its accuracy is measured on)."""
  return jax.tree.map(lambda x: np.asarray(np.asarray(x, STORAGE_DTYPE), np.float32), params)
