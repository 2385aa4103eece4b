"""Loads a trained classifier: the shipped feature network, or a classifier run's workdir.

  clf = saved.load('shipped')                # the network shipped for Fashion-MNIST
  clf = saved.load('runs/eval_classifier')   # any classifier run
  logits = clf.logits(images)        # images: float, in clf.pixel_range, [N, H, W, C]
  feats = clf.features(images)       # penultimate activations (Frechet distance features)
  clf.apply_fn(clf.params, images)   # the pure function the probes differentiate
  clf.conv_apply_fn(clf.params, images, delta)  # (logits, last conv activations + delta)
"""
import dataclasses
import functools
import json
import os

import jax
import ml_collections

from common import checkpoint, data
from classifiers import build, models, shipped

TRAIN_COMMAND = 'python launch.py --config=configs/eval_classifier.py'


@dataclasses.dataclass(frozen=True)
class Classifier:
  model: object
  params: dict
  config: ml_collections.ConfigDict
  class_names: tuple[str, ...]
  step: int
  source: str  # 'shipped' or the workdir it was loaded from

  @property
  def pixel_range(self) -> str:
    return self.config.dataset.pixel_range

  @property
  def dataset(self) -> str:
    return self.config.dataset.name

  @property
  def input_bounds(self) -> tuple[float, float]:
    """The range of valid model inputs (attacks and visualizations clip to it)."""
    return data.bounds(self.pixel_range)

  def apply_fn(self, params, images):
    return self.model.apply({'params': params}, images)

  def conv_apply_fn(self, params, images, delta=None):
    """Logits and the last conv layer's activations, `delta` added to them (for Grad-CAM)."""
    if not isinstance(self.model, models.ConvNet):
      raise ValueError(f'Grad-CAM needs a conv net; this classifier is a '
                       f'{type(self.model).__name__}.')
    return self.model.apply({'params': params}, images, conv_delta=delta, return_conv=True)

  @functools.cached_property
  def _logits(self):
    return jax.jit(self.apply_fn)

  @functools.cached_property
  def _features(self):
    return jax.jit(lambda p, x: self.model.apply({'params': p}, x, return_features=True))

  def logits(self, images):
    return self._logits(self.params, images)

  def features(self, images):
    return self._features(self.params, images)


def load(source: str, dataset: str = 'fashion_mnist') -> Classifier:
  """`source` 'shipped': the network shipped for `dataset`; else the newest checkpoint of the
  classifier run in that workdir. A clear error if there is none."""
  if source == shipped.NAME:
    config_dict, params, step = shipped.read(dataset)
    config = ml_collections.ConfigDict(config_dict)
    return Classifier(model=build.build_model(config, len(_names(config))), params=params,
                      config=config, class_names=_names(config), step=step, source=source)
  return _load_run(source)


def _names(config) -> tuple[str, ...]:
  names = data.class_names(config.dataset.name)
  return tuple(names[c] for c in config.dataset.classes) if config.dataset.classes else names


def _load_run(workdir: str) -> Classifier:
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise FileNotFoundError(
        f'No classifier in {workdir!r}: {config_path} does not exist. Train one with '
        f'`{TRAIN_COMMAND} --workdir={workdir}`, or point the config key to a run folder '
        f'(or to {shipped.NAME!r}, the Fashion-MNIST network shipped with the code).')
  with open(config_path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  if config.get('trainer') != 'classifier':
    raise ValueError(f'{config_path} is a {config.get("trainer")!r} run, not a classifier.')
  names = _names(config)
  model = build.build_model(config, len(names))
  saved, step = checkpoint.read_latest(workdir)
  if saved is None:
    raise FileNotFoundError(f'No readable checkpoint in {workdir}/checkpoints: finish (or resume) '
                            f'the run with `{TRAIN_COMMAND} --workdir={workdir}`.')
  return Classifier(model=model, params=saved['params'], config=config, class_names=names,
                    step=step, source=workdir)
