"""A finished (or running) GAN run read back from its workdir: config, networks, weights.

  run = saved.load('runs/cdcgan', which='best')   # 'last' (default) or 'best'
  images = run.generate(z, labels)                 # in [0, 1]; `ema=True` for the EMA
"""
import dataclasses
import json
import os

import ml_collections

from common import checkpoint, data
from gans import build, evaluation

WHICH = ('last', 'best')


@dataclasses.dataclass(frozen=True)
class SavedRun:
  config: ml_collections.ConfigDict
  gan: object
  dataset: data.ImageDataset
  state: dict          # the saved train state as nested dicts
  step: int

  def generate(self, z, labels, ema: bool = False):
    params = self.state['ema_params'] if ema else self.state['g_params']
    return evaluation.generate(self.gan, params, self.state.get('g_batch_stats', {}), z, labels)


def load(workdir: str, which: str = 'last', ema: bool = False) -> SavedRun:
  """The newest checkpoint of the run (`which='best'`: its best-FID state)."""
  if which not in WHICH:
    raise ValueError(f'which = {which!r}: expected one of {", ".join(WHICH)}.')
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise FileNotFoundError(f'No GAN run in {workdir!r}: {config_path} does not exist.')
  with open(config_path) as f:
    try:
      resolved = json.load(f)
    except json.JSONDecodeError as e:
      raise ValueError(f'{config_path} is not valid JSON ({e}); it is the run\'s config, '
                       'as launch.py wrote it.') from None
  if not isinstance(resolved, dict) or not isinstance(resolved.get('model'), dict):
    raise ValueError(f'{config_path} holds no run config (a JSON object with a "model" '
                     'section, as launch.py writes it).')
  config = ml_collections.ConfigDict(resolved)
  if config.get('trainer') != 'gan' or 'arch' not in config.model:
    raise ValueError(f'{config_path} is not a run of gans/train.py (trainer '
                     f'{config.get("trainer")!r}); rerun it with a configs/ GAN config.')
  ds = build.load_data(config)
  gan = build.build_gan(config, ds.image_shape, ds.num_classes)
  folder = os.path.join(workdir, 'best') if which == 'best' else workdir
  state, step = checkpoint.read_latest(folder)
  if state is None:
    raise FileNotFoundError(f'No readable checkpoint in {folder}/checkpoints.')
  if ema and not state.get('ema_params'):
    raise ValueError(f'{workdir} has no generator EMA (model.ema_decay was 0).')
  return SavedRun(config, gan, ds, state, step)
