"""Scores any checkpoint of a GAN run with the evaluation classifier, as training does at
its end: FID, KID, Inception-style score, class accuracy (conditional models).

  python -m gans.tools.score --workdir=runs/dcgan [--which=best] [--ema] [--num_samples=10000]
      [--inception_dir=weights/fid_inception]   # FID/KID on InceptionV3 pool3 features
"""
import json

from absl import app, flags, logging

from gans import build, saved, scoring


def score(run: saved.SavedRun, classifier, num_samples: int, ema: bool = False,
          inception_dir: str | None = '') -> dict:
  """The scores of the run's generator; `inception_dir` None: the run's own (build_evaluator)."""
  c = run.config
  evaluator = build.build_evaluator(c, run.dataset or build.load_data(c), classifier,
                                    inception_dir)
  z, labels = scoring.eval_inputs(run.gan, c.seed, scoring.FINAL_STREAM, num_samples)
  params = run.state['ema_params'] if ema else run.state['g_params']
  out = scoring.score_generator(run.gan, evaluator, params,
                                run.state.get('g_batch_stats', {}), z, labels, kid=True)
  return {'step': run.step, 'ema': ema, **out}


def _define_flags():
  """Command-line flags, defined only when run as a program (modules stay importable
  together)."""
  global _WORKDIR, _WHICH, _EMA, _NUM, _CLASSIFIER, _INCEPTION
  _WORKDIR = flags.DEFINE_string('workdir', None, 'A GAN run folder.')
  _WHICH = flags.DEFINE_enum('which', 'last', saved.WHICH, 'Last checkpoint or best FID.')
  _EMA = flags.DEFINE_bool('ema', False, "Score the generator's EMA weights.")
  _NUM = flags.DEFINE_integer('num_samples', 10000, 'Generated images (against the test set).')
  _CLASSIFIER = flags.DEFINE_string('classifier_dir', '', "Default: the run's "
                                    'eval.classifier_dir, else the shipped network.')
  _INCEPTION = flags.DEFINE_string('inception_dir', None, 'FID InceptionV3 weights for FID and '
                                   "KID ('': the classifier's features). Default: the run's.")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  run = saved.load(_WORKDIR.value, _WHICH.value, _EMA.value)
  classifier = build.classifier_for(run.config, _CLASSIFIER.value)
  print(json.dumps(score(run, classifier, _NUM.value, _EMA.value, _INCEPTION.value), indent=1))


if __name__ == '__main__':
  _define_flags()
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
