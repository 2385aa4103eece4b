"""Loads a trained classifier from its workdir: the evaluation classifier other parts use.

  clf = pretrained.load('runs/eval_classifier')
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
from classifiers import models, train

TRAIN_COMMAND = 'python launch.py --config=configs/eval_classifier.py'


@dataclasses.dataclass(frozen=True)
class Classifier:
  model: object
  params: dict
  config: ml_collections.ConfigDict
  class_names: tuple[str, ...]
  step: int

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


def load(workdir: str) -> Classifier:
  """The newest checkpoint of a classifier run; a clear error if there is none."""
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise FileNotFoundError(
        f'No classifier in {workdir!r}: {config_path} does not exist. Train one with '
        f'`{TRAIN_COMMAND} --workdir={workdir}`, or point the config key to a run folder.')
  with open(config_path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  if config.get('trainer') != 'classifier':
    raise ValueError(f'{config_path} is a {config.get("trainer")!r} run, not a classifier.')
  names = data.class_names(config.dataset.name)
  if config.dataset.classes:
    names = tuple(names[c] for c in config.dataset.classes)
  model = train.build_model(config, len(names))
  ckpt = checkpoint.Checkpointer(workdir)
  try:
    saved, step = ckpt.restore_latest()
  finally:
    ckpt.close()
  if saved is None:
    raise FileNotFoundError(f'No readable checkpoint in {ckpt.directory}: finish (or resume) '
                            f'the run with `{TRAIN_COMMAND} --workdir={workdir}`.')
  return Classifier(model=model, params=saved['params'], config=config, class_names=names,
                    step=step)
