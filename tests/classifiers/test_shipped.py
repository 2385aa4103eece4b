"""The Fashion-MNIST feature network shipped with the code: its file matches the recorded
sha256, it is small, and its 16-bit weights reach the recorded test accuracy (>= 0.93) on
the real test set."""
import dataclasses
import os

import jax
import numpy as np
import pytest

from classifiers import saved, shipped
from classifiers.tools import ship
from common import shipped_file, writers
from tests.conftest import changed_copy


def test_the_shipped_file_is_small_and_checked():
  entry = shipped.SHIPPED['fashion_mnist']
  assert os.path.getsize(shipped.path('fashion_mnist')) <= 2 * 1024 * 1024
  assert shipped_file.sha256(shipped.path('fashion_mnist')) == entry.sha256


def test_the_shipped_network_reaches_its_recorded_accuracy():
  clf = saved.load(shipped.NAME)
  assert clf.source == shipped.NAME and clf.dataset == 'fashion_mnist'
  assert clf.features(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 256)
  accuracy = ship.accuracy(clf)
  assert accuracy == pytest.approx(shipped.SHIPPED['fashion_mnist'].test_accuracy, abs=1e-4)
  assert accuracy >= 0.93


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
  copy = changed_copy(shipped.path('fashion_mnist'), tmp_path, 1000)
  monkeypatch.setattr(shipped, 'path', lambda dataset: copy)
  with pytest.raises(ValueError, match='corrupt or was changed'):
    saved.load(shipped.NAME)


def test_no_network_ships_for_other_datasets():
  assert not shipped.available('cifar10')
  with pytest.raises(FileNotFoundError, match="No feature network ships for dataset 'cifar10'"):
    saved.load(shipped.NAME, 'cifar10')


def test_ship_round_trips_a_classifier_run(tiny_classifier, tmp_path, monkeypatch):
  """classifiers.tools.ship writes what shipped.read gives back: the run's config, its step and
  its parameters rounded to 16 bits."""
  _, classifier_dir = tiny_classifier
  target = str(tmp_path / 'shipped.msgpack')
  monkeypatch.setattr(shipped, 'path', lambda dataset: target)
  file, digest, accuracy = ship.ship(classifier_dir)
  monkeypatch.setitem(shipped.SHIPPED, 'fashion_mnist',
                      dataclasses.replace(shipped.SHIPPED['fashion_mnist'], sha256=digest))
  run, loaded = saved.load(classifier_dir), saved.load(shipped.NAME)
  trained = writers.read_json(os.path.join(classifier_dir, 'summary.json'))['test_accuracy']
  assert file == target and loaded.step == run.step
  assert abs(accuracy - trained) <= 2 / 64  # 16-bit rounding flips at most a test image or two
  assert loaded.config.model.to_dict() == run.config.model.to_dict()
  jax.tree.map(np.testing.assert_array_equal, shipped_file.rounded(run.params), loaded.params)
