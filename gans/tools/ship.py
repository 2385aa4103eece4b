"""Ships a conditional GAN run as the generator `python -m gans.app` serves when no --workdir
is given (gans/shipped.py).

  python -m gans.tools.ship --workdir=runs/acgan [--which=last] [--num_samples=10000]

Rounds the run's generator EMA (its weights, when the run keeps no EMA) to 16 bits, scores
the rounded generator as training does at its end (FID, KID, class accuracy per class, on
the shipped classifier against the test set), writes gans/<dataset>_generator.msgpack with
the run's config, those scores and its FID curve, and prints the line to record in
gans/shipped.SHIPPED.
"""
import dataclasses
import json
import math
import os

from absl import app, flags, logging

from classifiers import shipped as shipped_classifiers
from common import shipped_file
from gans import build, saved, shipped
from gans.tools import score


def ship(workdir: str, which: str = 'last', num_samples: int = 10000,
         file: str = '') -> tuple[str, str, str, dict]:
  """(dataset, file written, its sha256, the scores of the 16-bit generator) for the run in
  `workdir`."""
  run = saved.load(workdir, which)
  dataset = run.config.dataset.name
  if not run.gan.num_classes:
    raise ValueError(f'{workdir} is an unconditional GAN: the page asks the generator for '
                     'classes; ship a conditional run (model.conditional=True).')
  if not shipped_classifiers.available(dataset):
    raise ValueError(f'{workdir} generates {dataset!r}: no classifier ships to score it '
                     f'(only for {", ".join(shipped_classifiers.SHIPPED)}).')
  ema = bool(run.state.get('ema_params'))
  try:
    params = shipped_file.rounded(run.state['ema_params' if ema else 'g_params'])
    batch_stats = shipped_file.rounded(run.state.get('g_batch_stats', {}))
  except ValueError as e:
    raise ValueError(f'{workdir}: the generator has {e}; it cannot ship.') from None
  rounded = dataclasses.replace(run, state={'g_params': params, 'g_batch_stats': batch_stats})
  classifier = build.classifier_for(run.config, shipped_classifiers.NAME)
  scores = score.score(rounded, classifier, num_samples)
  scores = {'weights': 'ema' if ema else 'generator',
            **{k: v for k, v in scores.items() if k not in ('ema', 'features')}}
  with open(os.path.join(workdir, 'config.json')) as f:
    config = json.load(f)
  # a fresh clone has the shipped classifier and no local data folder
  config['eval']['classifier_dir'], config['dataset']['dir'] = shipped_classifiers.NAME, ''
  config_json = json.dumps(config, sort_keys=True)
  file = file or shipped.path(dataset)
  digest = shipped.write(file, {
      'config': config_json, 'image_shape': list(run.gan.generator.image_shape),
      'step': run.step, 'params': params, 'batch_stats': batch_stats, 'scores': scores,
      'fid_curve': run.fid_curve()})
  return dataset, file, digest, scores


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  dataset, file, digest, scores = ship(_WORKDIR.value, _WHICH.value, _NUM.value)
  per_class = scores['class_accuracy_per_class']
  lowest = min(a for a in per_class if not math.isnan(a))
  print(f'{file}: {os.path.getsize(file):,} bytes, sha256 {digest}')
  print(f"FID {scores['fid']:.1f}, KID {scores['kid']:.2f}, class accuracy "
        f"{scores['class_accuracy']:.4f}, per class {per_class} (lowest {lowest:.4f}), "
        f"{scores['num_samples']} samples of step {scores['step']}")
  print(f"Record it in gans/shipped.py's SHIPPED: '{dataset}': '{digest}',")


if __name__ == '__main__':
  _WORKDIR = flags.DEFINE_string('workdir', None, 'A conditional GAN run folder.')
  _WHICH = flags.DEFINE_enum('which', 'last', saved.WHICH, 'Last checkpoint or best FID.')
  _NUM = flags.DEFINE_integer('num_samples', 10000, 'Generated images scored (against the '
                              'test set).')
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
