"""Runs one experiment: python launch.py --config=configs/X.py[:arg] --workdir=DIR [--config.a.b=v].

Rerunning the same command continues from the workdir's latest checkpoint.
"""
import importlib
import logging as logging_std
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

# config.trainer -> the module whose train_and_evaluate(config, workdir) runs it.
TRAINERS = {
    'classifier': 'classifiers.train',
    'classifier_sweep': 'classifiers.sweep',
    'gan': 'gans.train',
    'wgan_gp': 'gans.train',  # runs saved before the GAN family shared one trainer
    'saliency': 'transfer.probe_saliency',
    'attack': 'transfer.probe_attack',
    'class_viz': 'transfer.probe_class_viz',
    'vgg16_predict': 'transfer.vgg16_predict',
    'transfer_fmnist': 'transfer.transfer_fmnist',
    'vgg16_head': 'transfer.vgg16_transfer',
    'vgg16_svm': 'transfer.vgg16_transfer',
}

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file (.py[:arg]).',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None,
                               'Output folder (default: runs/<config file name>[_<arg>]).')
_XLA_CACHE = flags.DEFINE_string(
    'compilation_cache', os.path.join(os.path.expanduser('~'), '.cache', 'jax_classics', 'xla'),
    'Folder for compiled programs, so a resumed or repeated run skips compilation ("" = off).')
_MULTIHOST = flags.DEFINE_bool('multihost', False,
                               'Call jax.distributed.initialize() first (TPU pods, multi-node GPU).')
flags.mark_flags_as_required(['config'])


def default_workdir(config_arg: str) -> str:
  path, _, arg = config_arg.partition(':')
  name = os.path.splitext(os.path.basename(path))[0]
  return os.path.join('runs', name + (f'_{arg}' if arg else ''))


class _QuietLibraries(logging_std.Filter):
  """Keeps Orbax's per-save INFO chatter out of the console; its warnings still show."""

  def filter(self, record):
    return record.levelno >= logging_std.WARNING or '/orbax/' not in record.pathname


def main(argv):
  logging.get_absl_handler().addFilter(_QuietLibraries())
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = _CONFIG.value
  if config.trainer not in TRAINERS:
    raise app.UsageError(f'config.trainer = {config.trainer!r}: expected one of '
                         f'{", ".join(sorted(TRAINERS))}.')
  trainer = importlib.import_module(TRAINERS[config.trainer])
  from common import writers  # pylint: disable=g-import-not-at-top
  from common.validate import ConfigError  # pylint: disable=g-import-not-at-top
  try:
    trainer.validate(config)
  except ConfigError as e:
    logging.error('%s', e)
    sys.exit(2)

  from common import host  # pylint: disable=g-import-not-at-top
  if config.get('cpu_threads', 0):
    cores = host.limit_cpu_threads(config.cpu_threads)  # before JAX's backend starts
    logging.info('config.cpu_threads = %d: the process runs on %d CPU core(s).',
                 config.cpu_threads, cores)

  import jax  # pylint: disable=g-import-not-at-top
  if _XLA_CACHE.value and 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
    jax.config.update('jax_compilation_cache_dir', _XLA_CACHE.value)
    # Evaluation programs compile in ~0.5 s: worth keeping for an MLP run of ~10 s.
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.25)
  if _MULTIHOST.value:
    jax.distributed.initialize()
  workdir = _WORKDIR.value or default_workdir(flags.FLAGS['config'].serialize().split('=', 1)[1])
  os.makedirs(workdir, exist_ok=True)
  if jax.process_index() == 0:
    writers.write_config(config, workdir)
  logging.info('Workdir: %s', os.path.abspath(workdir))
  try:
    trainer.train_and_evaluate(config, workdir)
  except ConfigError as e:
    logging.error('%s', e)
    sys.exit(2)


if __name__ == '__main__':
  app.run(main)
