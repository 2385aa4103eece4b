"""Generated images as a dataset (reports 002 and 004): generate N images, keep those the
evaluation classifier labels with confidence >= t (for a conditional GAN, only when that
label is the one asked for), and write them as an NPZ (uint8 `images` [n, H, W, C],
int32 `labels`) with a PNG contact sheet and a JSON of the counts.

  python -m gans.tools.export --workdir=runs/cdcgan --num_images=10000 --threshold=0.9 \
      [--which=best] [--ema] [--classifier_dir=runs/eval_classifier] [--output=DIR]

Writes to <workdir>/export/ unless --output says otherwise.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from common import images as images_lib, writers
from gans import build, evaluation, saved

SHEET_PER_CLASS = 10


def export(run: saved.SavedRun, classifier, num_images: int, threshold: float, output: str,
           *, ema: bool = False, seed: int = 0) -> dict:
  if not 0.0 <= threshold <= 1.0:
    raise ValueError(f'threshold = {threshold}: expected a probability in [0, 1].')
  gan = run.gan
  key_z, key_y = jax.random.split(jax.random.key(seed))
  z = gan.sample_latent(key_z, num_images)
  asked = gan.sample_labels(key_y, num_images).astype(jnp.int32)
  samples = run.generate(z, asked, ema=ema)
  evaluator = evaluation.Evaluator(classifier, None)
  _, logits = evaluator.features_and_logits(samples)
  probs = jax.nn.softmax(logits)
  confidence, predicted = np.asarray(probs.max(-1)), np.asarray(probs.argmax(-1))
  keep = confidence >= threshold
  if gan.num_classes:
    keep &= predicted == np.asarray(asked)
  kept = np.round(np.asarray(samples)[keep] * 255).astype(np.uint8)
  labels = predicted[keep].astype(np.int32)
  os.makedirs(output, exist_ok=True)
  np.savez_compressed(os.path.join(output, 'samples.npz'), images=kept, labels=labels)
  names = classifier.class_names
  counts = {names[c]: int(np.sum(labels == c)) for c in range(len(names))}
  sheet = [kept[labels == c][:SHEET_PER_CLASS] for c in range(len(names))]
  rows = [np.concatenate([s, np.zeros((SHEET_PER_CLASS - len(s), *kept.shape[1:]), np.uint8)])
          for s in sheet]
  if kept.size:
    images_lib.save_png(os.path.join(output, 'contact_sheet.png'),
                        images_lib.grid(np.concatenate(rows) / 255.0, ncols=SHEET_PER_CLASS),
                        scale=2)
  summary = {'generated': num_images, 'kept': int(keep.sum()),
             'kept_fraction': float(keep.mean()), 'threshold': threshold,
             'conditional': bool(gan.num_classes), 'checkpoint_step': run.step, 'ema': ema,
             'per_class': counts}
  writers.write_json(os.path.join(output, 'export.json'), summary)
  return summary


def _define_flags():
  """Command-line flags, defined only when run as a program (modules stay importable
  together)."""
  global _WORKDIR, _NUM, _THRESHOLD, _WHICH, _EMA, _CLASSIFIER, _OUTPUT
  _WORKDIR = flags.DEFINE_string('workdir', None, 'A GAN run folder.')
  _NUM = flags.DEFINE_integer('num_images', 10000, 'Images to generate.')
  _THRESHOLD = flags.DEFINE_float('threshold', 0.9, 'Keep images classified with at least this '
                                  'probability.')
  _WHICH = flags.DEFINE_enum('which', 'last', saved.WHICH, 'Last checkpoint or best FID.')
  _EMA = flags.DEFINE_bool('ema', False, "Use the generator's EMA weights.")
  _CLASSIFIER = flags.DEFINE_string('classifier_dir', '', 'Default: the run\'s '
                                    'eval.classifier_dir, else the shipped network.')
  _OUTPUT = flags.DEFINE_string('output', '', 'Default: <workdir>/export.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  run = saved.load(_WORKDIR.value, _WHICH.value, _EMA.value)
  classifier = build.classifier_for(run.config, _CLASSIFIER.value)
  summary = export(run, classifier, _NUM.value, _THRESHOLD.value,
                   _OUTPUT.value or os.path.join(_WORKDIR.value, 'export'), ema=_EMA.value)
  print(summary)


if __name__ == '__main__':
  _define_flags()
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
