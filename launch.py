"""Runs one experiment: python launch.py --config=configs/X.py[:arg] --workdir=DIR [--config.a.b=v].

Rerunning the same command continues from the workdir's latest checkpoint. A user's mistake
(an unknown key, a bad value, missing or broken data, a workdir another run holds or whose
checkpoints another model wrote) ends with one line naming it and exit code 2, before
anything compiles and without changing the workdir.
"""
import importlib
import importlib.util
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
    'gan_sweep': 'gans.sweep',
    'saliency': 'probes.saliency_run',
    'attack': 'probes.attack_run',
    'class_viz': 'probes.class_viz_run',
    'vgg16_predict': 'transfer.vgg16_predict',
    'transfer_fmnist': 'transfer.transfer_fmnist',
    'vgg16_head': 'transfer.vgg16_head',
    'vgg16_svm': 'transfer.vgg16_svm',
}
# Probe runs (a few hundred images through one network, on one device): in a multi-process
# job process 0 runs them and writes, the others wait.
ONE_DEVICE_TRAINERS = ('saliency', 'attack', 'class_viz', 'vgg16_predict')

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file (.py[:arg]).',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None,
                               'Output folder (default: runs/<config file name>[_<arg>]).')
_XLA_CACHE = flags.DEFINE_string(
    'compilation_cache', os.path.join(os.path.expanduser('~'), '.cache', 'jax_classics', 'xla'),
    'Folder for compiled programs, so a resumed or repeated run skips compilation ("" = off).')
_MULTIHOST = flags.DEFINE_bool(
    'multihost', False, 'One process of a multi-process job on a cluster JAX detects (Cloud '
    'TPU pod slice, SLURM, Open MPI): jax.distributed.initialize() finds the rest.')
_COORDINATOR = flags.DEFINE_string(
    'coordinator_address', None, 'One process of a multi-process job: process 0\'s HOST:PORT '
    '(default: $JAX_COORDINATOR_ADDRESS).')
_NUM_PROCESSES = flags.DEFINE_integer(
    'num_processes', None, 'Processes in the job (default: $JAX_NUM_PROCESSES).')
_PROCESS_ID = flags.DEFINE_integer(
    'process_id', None, 'The index of this process, 0 to num_processes - 1 (default: '
    '$JAX_PROCESS_ID).')
_FAILURE_TIMEOUT = flags.DEFINE_integer(
    'failure_timeout', 60, 'Seconds after which the processes of a job stop when one of them '
    'is lost.')
_LOCAL_PROCESSES = flags.DEFINE_integer(
    'local_processes', 0, 'Start this many processes of this command on this machine, as one '
    'job (to try a multi-process run; common/local_job.py).')
_LOCAL_DEVICES = flags.DEFINE_integer(
    'local_devices', 0, 'With --local_processes on CPU: fake devices per process.')
flags.mark_flags_as_required(['config'])


def default_workdir(config_arg: str) -> str:
  path, _, arg = config_arg.partition(':')
  name = os.path.splitext(os.path.basename(path))[0]
  return os.path.join('runs', name + (f'_{arg}' if arg else ''))


class _QuietLibraries(logging_std.Filter):
  """Keeps Orbax's per-save INFO chatter out of the console; its warnings still show."""

  def filter(self, record):
    return '/orbax/' not in record.pathname or record.levelno >= logging_std.WARNING


def _fail(message: str, in_job: bool = False):
  if in_job:  # every process of the job stops alike, at once
    from common import distributed  # pylint: disable=g-import-not-at-top
    distributed.exit_now(f'launch.py: {message}', 2, every_process=True)
  sys.stderr.write(f'launch.py: {message}\n')
  sys.exit(2)


def _parse_flags(argv):
  """absl's parsing, with one line instead of a traceback for a bad config file or key."""
  spec = _config_spec(argv)
  if spec is not None and not os.path.isfile(spec.partition(':')[0]):
    _fail(f'--config={spec}: no such config file (expected configs/NAME.py[:arg]).')
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    _fail(_explain_bad_config(argv, e) if 'config file' in str(e) else
          str(e).splitlines()[0])
  except (AttributeError, KeyError, ValueError, TypeError) as e:
    _fail(_explain_bad_config(argv, e))


def _config_spec(argv) -> str | None:
  for i, a in enumerate(argv):
    if a.startswith('--config='):
      return a.split('=', 1)[1]
    if a == '--config' and i + 1 < len(argv):
      return argv[i + 1]
  return None


def _explain_bad_config(argv, error: Exception) -> str:
  """Which --config=FILE or --config.a.b override failed, and what would be accepted."""
  from common import checks  # pylint: disable=g-import-not-at-top
  spec = _config_spec(argv) or ''
  path, _, arg = spec.partition(':')
  module_spec = importlib.util.spec_from_file_location('_config_file', path)
  module = importlib.util.module_from_spec(module_spec)
  try:
    module_spec.loader.exec_module(module)
    config = module.get_config(arg or None)
  except Exception as e:  # pylint: disable=broad-except  (the file's own message)
    return f'--config={spec}: {e}'
  for a in argv:
    if a.startswith('--config.'):
      problem = checks.unknown_key(config, a[len('--config.'):].split('=', 1)[0])
      if problem:
        return f'{a}: {problem}'
  return f'{type(error).__name__}: {str(error).splitlines()[0] if str(error) else error!r}'


def main(argv):
  logging.get_absl_handler().addFilter(_QuietLibraries())
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  config = _CONFIG.value
  if config.trainer not in TRAINERS:
    raise app.UsageError(f'config.trainer = {config.trainer!r}: expected one of '
                         f'{", ".join(sorted(TRAINERS))}.')
  trainer = importlib.import_module(TRAINERS[config.trainer])
  from common.checks import ConfigError  # pylint: disable=g-import-not-at-top
  try:
    trainer.validate(config)
  except ConfigError as e:
    _fail(str(e))

  from common import distributed, local_job  # pylint: disable=g-import-not-at-top
  if _LOCAL_PROCESSES.value:
    sys.exit(local_job.run(local_job.main_argv(), _LOCAL_PROCESSES.value, _LOCAL_DEVICES.value,
                           _FAILURE_TIMEOUT.value))
  cluster = distributed.from_environment(distributed.Cluster(
      _MULTIHOST.value, _COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
      _FAILURE_TIMEOUT.value))
  if problem := cluster.problem():
    _fail(problem)

  from common import host  # pylint: disable=g-import-not-at-top
  host.keep_freed_memory()
  if config.get('cpu_threads', 0):
    cores = host.limit_cpu_threads(config.cpu_threads)  # before JAX's backend starts
    logging.info('config.cpu_threads = %d: the process runs on %d CPU core(s).',
                 config.cpu_threads, cores)

  import jax  # pylint: disable=g-import-not-at-top
  if _XLA_CACHE.value and 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
    jax.config.update('jax_compilation_cache_dir', _XLA_CACHE.value)
    # Evaluation programs compile in ~0.5 s: worth keeping for an MLP run of ~10 s.
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.25)
  finish = lambda: None
  if cluster.enabled:
    finish = distributed.initialize(cluster)
    if not distributed.is_main():  # one console per job: process 0's
      logging.set_verbosity(logging.WARNING)
  workdir = _WORKDIR.value or default_workdir(flags.FLAGS['config'].serialize().split('=', 1)[1])
  os.makedirs(workdir, exist_ok=True)
  logging.info('Workdir: %s', os.path.abspath(workdir))
  try:
    with distributed.hold_for_job(workdir):
      run = lambda: _run(trainer, config, workdir, write=distributed.is_main())
      if config.trainer in ONE_DEVICE_TRAINERS:
        distributed.run_on_main(run)
      else:
        run()
      finish()
  except ConfigError as e:
    _fail(str(e), in_job=cluster.enabled)
  except Exception as e:  # pylint: disable=broad-except
    if not cluster.enabled:
      raise
    distributed.abandon(e)


def _run(trainer, config, workdir: str, write: bool) -> None:
  """The trainer in `workdir`; config.json is put back as it was if the run cannot
  continue the workdir's checkpoints."""
  from common import checkpoint, writers  # pylint: disable=g-import-not-at-top
  config_path = os.path.join(workdir, 'config.json')
  previous = open(config_path, 'rb').read() if os.path.exists(config_path) else None
  changed = writers.write_config(config, workdir) if write else []
  try:
    trainer.train_and_evaluate(config, workdir)
  except checkpoint.MismatchError as e:
    if write and previous is None:
      os.remove(config_path)
    elif write:
      writers.write_bytes(config_path, previous)
    keys = ', '.join(changed) if changed else 'no key (the saved config.json is missing)'
    from common.checks import ConfigError  # pylint: disable=g-import-not-at-top
    raise ConfigError(
        f'{workdir} holds a run this config cannot continue: the config differs from its '
        f'config.json in {keys}, and its checkpoint {e.step} has another shape '
        f'({e.differences[0]}). Nothing in {workdir} was changed; pass a new --workdir '
        'to train this config, or the saved values to continue that run.') from None


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
