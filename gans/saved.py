"""A finished (or running) GAN run read back from its workdir, or the generator shipped with
the code: config, networks, weights, and the scores it was given.

  run = saved.load('runs/cdcgan', which='best')   # 'last' (default) or 'best'
  run = saved.load_shipped()                       # gans/shipped.py's Fashion-MNIST generator
  images = run.generate(z, labels)                 # in [0, 1]; `ema=True` for the EMA
"""
import dataclasses
import json
import os

import ml_collections

from common import checkpoint, data, writers
from gans import build, evaluation, shipped

WHICH = ('last', 'best')


@dataclasses.dataclass(frozen=True)
class SavedRun:
  config: ml_collections.ConfigDict
  gan: object
  class_names: tuple[str, ...]
  state: dict          # the saved train state as nested dicts
  step: int
  scores: dict         # the final scores (summary.json); {} before the run has ended
  workdir: str | None  # None: the generator shipped with the code
  dataset: data.ImageDataset | None = None  # a run's data, loaded with it
  recorded_fid_curve: dict | None = None    # the shipped generator's (a run's is read live)

  @property
  def shipped(self) -> bool:
    return self.workdir is None

  def generate(self, z, labels, ema: bool = False):
    params = self.state['ema_params'] if ema else self.state['g_params']
    return evaluation.generate(self.gan, params, self.state.get('g_batch_stats', {}), z, labels)

  def fid_curve(self) -> dict:
    """{'step', 'fid', 'fid_ema'} lists of the FIDs logged during training, so far."""
    if self.shipped:
      return self.recorded_fid_curve
    rows = [r for r in writers.read_metrics(self.workdir) if 'fid' in r]
    return {'step': [r['step'] for r in rows], 'fid': [r['fid'] for r in rows],
            'fid_ema': [r.get('fid_ema') for r in rows]}


def _config_of(resolved, where: str) -> ml_collections.ConfigDict:
  if not isinstance(resolved, dict) or not isinstance(resolved.get('model'), dict):
    raise ValueError(f'{where} holds no run config (a JSON object with a "model" '
                     'section, as launch.py writes it).')
  config = ml_collections.ConfigDict(resolved)
  if config.get('trainer') != 'gan' or 'arch' not in config.model:
    raise ValueError(f'{where} is not a run of gans/train.py (trainer '
                     f'{config.get("trainer")!r}); rerun it with a configs/ GAN config.')
  try:
    build.validate(config)
  except (AttributeError, KeyError) as e:  # a key this code reads is not in the file
    raise ValueError(f'{where} was written by an older version of the code ({e}); rerun '
                     'the run with this one.') from None
  return config


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
  config = _config_of(resolved, config_path)
  ds = build.load_data(config)
  gan = build.build_gan(config, ds.image_shape, ds.num_classes)
  folder = os.path.join(workdir, 'best') if which == 'best' else workdir
  state, step = checkpoint.read_latest(folder)
  if state is None:
    raise FileNotFoundError(f'No readable checkpoint in {folder}/checkpoints.')
  if ema and not state.get('ema_params'):
    raise ValueError(f'{workdir} has no generator EMA (model.ema_decay was 0).')
  summary_path = os.path.join(workdir, 'summary.json')
  summary = writers.read_json(summary_path) if os.path.exists(summary_path) else {}
  # the end's scores (KID is scored only there), of the step they were scored at; a run
  # stopped early or unscored has none
  scores = {**summary, 'step': summary['steps']} if 'kid' in summary else {}
  return SavedRun(config, gan, ds.class_names, state, step, scores, workdir, ds)


def load_shipped(dataset: str = 'fashion_mnist') -> SavedRun:
  """The generator shipped for `dataset` (gans/shipped.py): no data or run needed."""
  tree = shipped.read(dataset)
  config = _config_of(json.loads(tree['config']), shipped.path(dataset))
  names = data.class_names(config.dataset.name)
  gan = build.build_gan(config, tuple(tree['image_shape']), len(names))
  state = {'g_params': tree['params'], 'g_batch_stats': tree['batch_stats']}
  return SavedRun(config, gan, names, state, int(tree['step']), tree['scores'], None,
                  recorded_fid_curve=tree['fid_curve'])
