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
  python -m classifiers.tools.ship --workdir=runs/eval_classifier
"""
import dataclasses
import json
import os

from common import shipped_file

NAME = 'shipped'  # the value of eval.classifier_dir that selects these networks


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


def read(dataset: str) -> tuple[dict, dict, int]:
  """(the run's resolved config, float32 parameters, step) of the network shipped for
  `dataset`, after checking the file against its recorded sha256."""
  if not available(dataset):
    raise FileNotFoundError(f'No feature network ships for dataset {dataset!r} (only for '
                            f'{", ".join(SHIPPED)}).')
  saved = shipped_file.read(path(dataset), SHIPPED[dataset].sha256, ('params',))
  return json.loads(saved['config']), saved['params'], int(saved['step'])


def write(file: str, config_json: str, params, step: int) -> str:
  """Stores a classifier's parameters in 16 bits with its config; returns the sha256."""
  return shipped_file.write(file, {'config': config_json, 'step': step, 'params': params},
                            ('params',))
