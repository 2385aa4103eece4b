"""Ships a classifier run as the feature network of its dataset (classifiers/shipped.py).

  python -m classifiers.tools.ship --workdir=runs/eval_classifier

Rounds the run's newest parameters to 16 bits, measures the rounded network's test accuracy,
writes classifiers/<dataset>_classifier.msgpack and prints the sha256 and accuracy to record
in shipped.SHIPPED.
"""
import dataclasses
import json
import os

from absl import app, flags
import numpy as np

from classifiers import build, saved, shipped
from common import batching, data, shipped_file


def accuracy(clf: saved.Classifier, batch_size: int = 1000) -> float:
  """Test accuracy of `clf` on its dataset's whole test split."""
  ds = build.load_data(clf.config)
  logits = batching.in_batches(lambda x: clf.logits(data.to_float(x, clf.pixel_range)),
                               (ds.test_images,), batch_size)
  return float(np.mean(np.argmax(logits, -1) == ds.test_labels))


def ship(workdir: str) -> tuple[str, str, float]:
  """(file, sha256, test accuracy of the 16-bit network) for the run in `workdir`."""
  clf = saved.load(workdir)
  if not shipped.available(clf.dataset):
    raise ValueError(f'{workdir} is a {clf.dataset!r} classifier; shipped.SHIPPED has no '
                     f'entry for that dataset: add one first.')
  file = shipped.path(clf.dataset)
  with open(os.path.join(workdir, 'config.json')) as f:
    config_json = json.dumps(json.load(f), sort_keys=True)
  try:
    rounded = dataclasses.replace(clf, params=shipped_file.rounded(clf.params))
  except ValueError as e:
    raise ValueError(f'{workdir}: the network has {e}; it cannot ship.') from None
  digest = shipped.write(file, config_json, clf.params, clf.step)
  return file, digest, accuracy(rounded)


def main(argv):
  del argv
  file, digest, acc = ship(_WORKDIR.value)
  print(f'{file}: {os.path.getsize(file):,} bytes, sha256 {digest}, test accuracy {acc:.4f}')
  print('Record them in classifiers/shipped.py: '
        f"ShippedFile('{os.path.basename(file)}', '{digest}', {acc:.4f})")


if __name__ == '__main__':
  _WORKDIR = flags.DEFINE_string('workdir', 'runs/eval_classifier', 'a classifier run')
  app.run(main)
