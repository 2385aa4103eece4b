"""One small wrapper over Orbax's CheckpointManager: keep the last K, restore the newest readable.

A checkpoint whose tree (names, shapes, dtypes) differs from the state the config builds is
not skipped as unreadable: restoring stops with `MismatchError` before anything is read, so a
rerun with another model never trains over the run it cannot continue.
"""
import logging
import os

import jax
import orbax.checkpoint as ocp

from common import checks, writers


class _ExpectedNotices(logging.Filter):
  """Drops Orbax's warnings that a folder opened for reading (read_latest) is read-only, as
  every command that reads another run's weights does, and that the array handler is
  replaced (below)."""

  def filter(self, record):
    return not record.getMessage().startswith(('Given directory is read only',
                                               'Type handler registry type'))


logging.getLogger('absl').addFilter(_ExpectedNotices())

# Orbax splits each replicated array among its replicas, each writing a part (replica-parallel
# saving, on by default off GPUs): for a small array that is an eager slice per device, each
# compiled on a process's first save (1.5-3 s for a GAN on 4-8 CPU devices). Arrays that
# would give a replica under 1 MiB are written whole by one replica instead.
_ARRAYS = ocp.type_handlers.get_type_handler(jax.Array)
ocp.type_handlers.register_type_handler(jax.Array, ocp.type_handlers.ArrayHandler(
    array_metadata_store=_ARRAYS._array_metadata_store,  # pylint: disable=protected-access
    min_slice_bytes_for_replica_parallel=1 << 20), override=True)


class MismatchError(checks.ConfigError):
  """The workdir's checkpoints hold a state of another shape than the config builds."""

  def __init__(self, directory: str, step: int, differences: list[str]):
    self.directory, self.step, self.differences = directory, step, differences
    shown = '; '.join(differences[:4]) + ('; ...' if len(differences) > 4 else '')
    super().__init__(f'Checkpoint {directory}/{step} does not fit the state this config '
                     f'builds ({len(differences)} differences: {shown}).')


class Checkpointer:
  """Saves whole train states under `workdir/checkpoints/<step>`."""

  def __init__(self, workdir: str, max_to_keep: int = 3, read_only: bool = False):
    self.directory = os.path.abspath(os.path.join(workdir, 'checkpoints'))
    self._read_only = read_only
    alone = ocp.options.MultiprocessingOptions(primary_host=jax.process_index(),
                                               active_processes={jax.process_index()})
    self._manager = ocp.CheckpointManager(
        self.directory, item_handlers=ocp.StandardCheckpointHandler(),
        options=ocp.CheckpointManagerOptions(
            create=not read_only, read_only=read_only,
            **({'multiprocessing_options': alone, 'max_to_keep': None,
                'save_interval_steps': 0} if read_only else {'max_to_keep': max_to_keep})))

  def steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state) -> None:
    """Starts an asynchronous save; arrays are copied to host before this returns."""
    if step in self._manager.all_steps():
      return
    self._manager.save(step, args=ocp.args.StandardSave(state))

  def restore_latest(self, abstract_state=None):
    """Newest readable checkpoint as (state, step), or (None, None) if there is none.

    Without `abstract_state` the tree comes back as saved, as nested dicts of arrays
    (for readers that need only part of it, such as a classifier's parameters). With it,
    a checkpoint of another tree raises MismatchError.

    An unreadable checkpoint (interrupted copy, corrupt file) is skipped with a warning and
    the one before it is tried, so one bad save never costs the whole run.
    """
    for step in reversed(self.steps()):
      try:
        saved = self._manager.item_metadata(step)
      except Exception as e:  # pylint: disable=broad-except  (any failure: try an older one)
        self._warn_unreadable(step, e)
        continue
      if abstract_state is not None and saved is not None:
        differences = tree_differences(saved.tree, abstract_state)
        if differences:
          raise MismatchError(self.directory, step, differences)
      if abstract_state is None and self._read_only and saved is not None:
        abstract_state = jax.tree.map(_on_this_process, saved.tree)
      try:
        state = self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
        return state, step
      except Exception as e:  # pylint: disable=broad-except
        self._warn_unreadable(step, e)
    return None, None

  def _warn_unreadable(self, step: int, e: Exception) -> None:
    logging.warning('Checkpoint %s/%d is unreadable (%s: %s); trying an older one.',
                    self.directory, step, type(e).__name__, str(e).splitlines()[0][:200]
                    if str(e) else '')

  def restore_or_keep(self, state):
    """The newest readable checkpoint shaped like `state` (a fresh one), else `state`."""
    restored, step = self.restore_latest(abstract_like(state))
    if restored is None:
      return state
    logging.info('Resumed from %s/%d.', self.directory, step)
    return restored

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def resume(workdir: str, state, max_to_keep: int):
  """A run's Checkpointer, the state it starts from (its newest checkpoint shaped like
  `state`, else `state` itself) and that state's step."""
  ckpt = Checkpointer(workdir, max_to_keep)
  state = ckpt.restore_or_keep(state)
  return ckpt, state, int(state.step)


def read_latest(workdir: str):
  """Another run's newest readable checkpoint, as saved (nested dicts of arrays on this
  process's first device), and its step, or (None, None): the weights a probe or a score
  reads. Each process of a job reads alone, without waiting for the others (a probe runs on
  process 0 only)."""
  ckpt = Checkpointer(workdir, read_only=True)
  try:
    return ckpt.restore_latest()
  finally:
    ckpt.close()


def _on_this_process(leaf):
  """A saved array's skeleton placed on this process's first device (the saved sharding may
  name devices of another job)."""
  return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype,
                              sharding=jax.sharding.SingleDeviceSharding(jax.local_devices()[0]))


def abstract_like(state):
  """The shape/dtype/sharding skeleton Orbax restores into."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
      if isinstance(x, jax.Array) else x, state)


def _leaves(tree) -> dict[str, tuple]:
  """{'a.b.0': shape} of a state, a state dict or Orbax's metadata tree (a typed PRNG key
  as the raw data it is saved as)."""
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    name = '.'.join(str(getattr(k, 'key', getattr(k, 'idx', getattr(k, 'name', k))))
                    for k in path)
    shape, dtype = tuple(getattr(leaf, 'shape', ())), getattr(leaf, 'dtype', None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
      shape = jax.eval_shape(jax.random.key_data, jax.ShapeDtypeStruct(shape, dtype)).shape
    out[name] = tuple(shape)
  return out


def tree_differences(saved, expected) -> list[str]:
  """What differs between a saved tree and the expected one: missing or extra leaves,
  other shapes."""
  a, b = _leaves(saved), _leaves(expected)
  out = [f'{k} is saved but not built' for k in sorted(set(a) - set(b))]
  out += [f'{k} is built but not saved' for k in sorted(set(b) - set(a))]
  out += [f'{k}: saved shape {a[k]}, built {b[k]}' for k in sorted(set(a) & set(b))
          if a[k] != b[k]]
  return out


class BestKeeper:
  """The best train state by one metric (lower is better: FID) in workdir/best/ (one
  checkpoint) and its score in best/best.json, so a resumed run keeps comparing against it."""

  def __init__(self, workdir: str, metric: str, is_main: bool = True):
    self.directory = os.path.join(workdir, 'best')
    self.metric = metric
    self._json = os.path.join(self.directory, 'best.json')
    self._ckpt = Checkpointer(self.directory, 1)
    self._is_main = is_main
    saved = writers.read_json(self._json, {})
    self.value, self.step = saved.get(metric, float('inf')), saved.get('step')

  def offer(self, step: int, value: float, state, **info) -> bool:
    """Keeps `state` if `value` beats the best so far; `info` joins best.json."""
    if not value < self.value:
      return False
    self.value, self.step = value, step
    self._ckpt.save(step, state)
    self._ckpt.wait()
    if self._is_main:
      writers.write_json(self._json, {'step': step, self.metric: value, **info})
    return True

  def restore(self):
    """The saved best state as nested dicts (None if there is none)."""
    saved, _ = self._ckpt.restore_latest()
    return saved

  def close(self):
    self._ckpt.close()
