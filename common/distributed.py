"""Several processes, one job: JAX's own distributed runtime, started the way launch.py is told.

On a cluster JAX recognises (Cloud TPU pod slices, SLURM, Open MPI, Kubernetes) nothing needs
saying but `--multihost`; elsewhere the coordinator's address, the number of processes and
this process's index come from launch.py's flags or the environment (JAX_COORDINATOR_ADDRESS,
JAX_NUM_PROCESSES, JAX_PROCESS_ID). Every process runs the same program (JAX's
multi-controller model): the mesh spans the devices of all of them.
"""
import contextlib
import dataclasses
import itertools
import logging
import os
import sys
import threading
import time

import jax
from jax.experimental import multihost_utils

from common import checks, workdir as workdir_lib


@dataclasses.dataclass(frozen=True)
class Cluster:
  """How this process joins its job; all None with `auto` off: a single-process run."""
  auto: bool = False                      # let JAX detect the cluster (TPU, SLURM, MPI)
  coordinator_address: str | None = None  # host:port of process 0's coordinator
  num_processes: int | None = None
  process_id: int | None = None
  failure_timeout: int = 60               # seconds before the others give up on a lost process

  @property
  def enabled(self) -> bool:
    return self.auto or any(v is not None for v in (self.coordinator_address,
                                                    self.num_processes, self.process_id))

  def problem(self) -> str | None:
    """What is wrong with the settings, in one line (None if nothing)."""
    if not self.enabled or self.auto:
      return None
    missing = [name for name, value in (('coordinator_address', self.coordinator_address),
                                        ('num_processes', self.num_processes),
                                        ('process_id', self.process_id)) if value is None]
    if missing:
      return (f'--{missing[0]} is missing: a multi-process run outside a cluster JAX detects '
              'needs --coordinator_address=HOST:PORT, --num_processes=N and --process_id=I '
              '(or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID); on Cloud '
              'TPU, SLURM or Open MPI, --multihost alone.')
    if self.num_processes < 1 or not 0 <= self.process_id < self.num_processes:
      return (f'--process_id={self.process_id} with --num_processes={self.num_processes}: '
              f'expected 0 <= process_id < num_processes.')
    if self.failure_timeout < 1:
      return f'--failure_timeout={self.failure_timeout}: expected a positive number of seconds.'
    return None


def from_environment(cluster: Cluster) -> Cluster:
  """`cluster` with the unset values filled from JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES
  and JAX_PROCESS_ID."""
  env = os.environ

  def number(name):
    value = env.get(name)
    return int(value) if value not in (None, '') else None

  return dataclasses.replace(
      cluster,
      coordinator_address=cluster.coordinator_address or env.get('JAX_COORDINATOR_ADDRESS'),
      num_processes=(cluster.num_processes if cluster.num_processes is not None
                     else number('JAX_NUM_PROCESSES')),
      process_id=(cluster.process_id if cluster.process_id is not None
                  else number('JAX_PROCESS_ID')))


def initialize(cluster: Cluster):
  """Joins the job (before anything touches a device). A process that is lost (killed,
  crashed, its host gone) is noticed by the others within `failure_timeout` seconds.
  Returns `finish()`, which every process calls once its work is done: it waits for the
  others there, so no process leaving first is taken for a lost one."""
  # CPU processes exchange arrays through gloo (XLA:CPU has no collectives across processes
  # otherwise); GPUs and TPUs use their own interconnect and ignore this setting.
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  kwargs = {} if cluster.auto else dict(coordinator_address=cluster.coordinator_address,
                                        num_processes=cluster.num_processes,
                                        process_id=cluster.process_id)
  # The job goes on when a process is lost (instead of the runtime aborting every process
  # with a stack trace), and _watch ends it with one line.
  jax.config.update('jax_enable_recoverability', True)
  jax.distributed.initialize(**kwargs, initialization_timeout=max(cluster.failure_timeout, 60),
                             heartbeat_timeout_seconds=cluster.failure_timeout,
                             shutdown_timeout_seconds=cluster.failure_timeout)
  logging.info('Process %d of %d; %d local and %d global devices.', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())
  watched = _watch(cluster.failure_timeout)

  def finish():
    multihost_utils.sync_global_devices('finished')
    # Said before leaving: another process's watch may still poll after this one has gone.
    try:
      _client().key_value_set(f'{_FINISHED_KEY}/{jax.process_index()}', '')
    except jax.errors.JaxRuntimeError:  # (only a hint to the others: the job is done)
      pass
    watched.set()
    # Leave in order: the others disconnect first, process 0 (which hosts the coordinator)
    # last, once it sees them gone; otherwise a late process's goodbye finds no coordinator
    # and the runtime aborts it.
    if not is_main():
      jax.distributed.shutdown()
      return
    client = _client()
    deadline = time.monotonic() + cluster.failure_timeout
    while (time.monotonic() < deadline and
           len(client.get_live_nodes(list(range(jax.process_count())))) > 1):
      time.sleep(0.1)
    jax.distributed.shutdown()

  return finish


def _watch(failure_timeout: int) -> threading.Event:
  """Ends this process with one line once the runtime reports another process of the job
  lost (it stops hearing a process's heartbeats after `failure_timeout` seconds); without
  this the runtime would abort with a C++ stack trace, or a collective wait for ever."""
  done = threading.Event()

  def watch():
    while not done.wait(min(1.0, failure_timeout / 4)):
      lost = lost_processes()
      if lost and not done.is_set():  # (finishing meanwhile, this process left the job itself)
        _exit_with(f'process {", ".join(map(str, lost))} of the job stopped answering')

  threading.Thread(target=watch, name='lost-process-watch', daemon=True).start()
  return done


def _exit_with(who: str) -> None:
  exit_now(f'launch.py: process {jax.process_index()}: {who}; rerun the same command on '
           'every process to resume from the last checkpoint.', 1)


def exit_now(line: str, code: int, every_process: bool = False) -> None:
  """Ends this process of a job with `line` on stderr, in one write (the processes share a
  console), skipping the runtime's shutdown barrier: it would wait for processes that are
  gone or leaving too, and for process 0's coordinator. `every_process`: every process of
  the job ends so (a refusal they all reach), and process 0 leaves after the others have
  written their line, since its leaving aborts any process still connected."""
  sys.stderr.write(line + '\n')
  sys.stderr.flush()
  sys.stdout.flush()
  if every_process:
    _leave_after_the_others()
  os._exit(code)  # pylint: disable=protected-access


_LEFT_KEY = 'jax_classics/left'


def _leave_after_the_others(timeout_ms: int = 10_000) -> None:
  client = _client()
  if client is None:
    return
  if not is_main():
    try:
      client.key_value_set(f'{_LEFT_KEY}/{jax.process_index()}', '')
    except jax.errors.JaxRuntimeError:  # process 0 left already
      pass
    return
  for i in range(1, jax.process_count()):
    try:
      client.blocking_key_value_get(f'{_LEFT_KEY}/{i}', timeout_ms)
    except jax.errors.JaxRuntimeError:  # gone without a word: nothing left to wait for
      return


def is_main() -> bool:
  """The process that writes logs, metrics, images and summaries (there is one per job)."""
  return jax.process_index() == 0


_MESSAGE_KEY = 'jax_classics/message'
_messages = itertools.count()  # every process shares its messages in the same order


def share_message(message: str | None) -> str | None:
  """Process 0's `message` (None: nothing to say) on every process of the job, through the
  runtime's key-value store (no device work); the others wait for it for as long as process
  0 takes (the lost-process watch ends the wait if process 0 dies)."""
  if jax.process_count() == 1:
    return message
  key, client = f'{_MESSAGE_KEY}/{next(_messages)}', _client()
  if is_main():
    client.key_value_set(key, '' if message is None else '>' + message)
    return message
  while True:
    try:
      value = client.blocking_key_value_get(key, 60_000)
      return value[1:] if value else None
    except jax.errors.JaxRuntimeError as e:
      if 'DEADLINE_EXCEEDED' not in str(e):
        raise


def process_0_finds(path: str) -> bool:
  """Whether process 0 finds the file `path` (a cache in the workdir), on every process, so
  that all of them take the same branch; a process told yes that does not find it is in a
  workdir that is not shared, a ConfigError."""
  found = os.path.isfile(path)
  if jax.process_count() == 1:
    return found
  if share_message('found' if found else None) is None:
    return False
  if not found:
    raise checks.ConfigError(
        f'{path}: process 0 finds it, process {jax.process_index()} does not: the workdir '
        'must be one folder every process of the job reaches (a shared file system, a gs:// '
        'bucket).')
  return True


@contextlib.contextmanager
def hold_for_job(workdir: str):
  """workdir.hold for the whole job: process 0 takes the workdir's lock and every process
  learns whether it got it, so a second job is refused by all its processes alike."""
  with contextlib.ExitStack() as stack:
    refusal = None
    if is_main():
      try:
        stack.enter_context(workdir_lib.hold(workdir))
      except workdir_lib.BusyError as e:
        refusal = str(e)
    refusal = share_message(refusal)
    if refusal is not None:
      raise workdir_lib.BusyError(refusal)
    yield


def run_on_main(fn) -> None:
  """`fn()` on process 0 alone while the others wait for it: work that runs on one device
  (the probe runs), whose outputs process 0 writes. A ConfigError there ends every process
  with the same line; any other failure ends process 0, and the others see it lost."""
  if not is_main():
    if (message := share_message(None)) is not None:
      raise checks.ConfigError(message)
    return
  try:
    fn()
  except checks.ConfigError as e:
    share_message(str(e))
    raise
  share_message(None)


def _client():
  """JAX's runtime client of this process (None outside a multi-process job): the public API
  has no call for which processes are alive."""
  from jax._src import distributed as jax_distributed  # pylint: disable=g-import-not-at-top
  return jax_distributed.global_state.client


_FINISHED_KEY = 'jax_classics/finished'


def lost_processes() -> list[int]:
  """The processes of the job the coordinator no longer hears from, leaving unfinished
  ([0] when the coordinator itself is gone; empty outside a job)."""
  client = _client()
  if client is None:
    return []
  try:
    gone = set(range(jax.process_count())) - set(
        client.get_live_nodes(list(range(jax.process_count()))))
    if gone:
      gone -= {int(key.rsplit('/', 1)[1]) for key, _ in client.key_value_dir_get(_FINISHED_KEY)}
  except Exception:  # pylint: disable=broad-except  (the coordinator itself may be gone)
    return [0] if jax.process_index() != 0 else []
  return sorted(gone)


def abandon(error: BaseException) -> None:
  """Ends this process of a job that cannot go on (another process was lost, or this one
  failed) with one line, at once: waiting for the others at the runtime's shutdown barrier
  would hang for as long as its timeout. The last saved checkpoint stays the resume point."""
  lost = lost_processes()
  first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ''
  _exit_with((f'process {", ".join(map(str, lost))} of the job stopped answering' if lost
              else 'the job stopped') + f' ({type(error).__name__}: {first})')
