"""One small wrapper over Orbax's CheckpointManager: keep the last K, restore the newest readable."""
import logging
import os

import jax
import orbax.checkpoint as ocp


class Checkpointer:
  """Saves whole train states under `workdir/checkpoints/<step>`."""

  def __init__(self, workdir: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(os.path.join(workdir, 'checkpoints'))
    self._manager = ocp.CheckpointManager(
        self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep,
                                                            create=True))

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
    (for readers that need only part of it, such as a classifier's parameters).

    An unreadable checkpoint (interrupted copy, corrupt file) is skipped with a warning and
    the one before it is tried, so one bad save never costs the whole run.
    """
    for step in reversed(self.steps()):
      try:
        state = self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
        return state, step
      except Exception as e:  # pylint: disable=broad-except  (any failure: try an older one)
        logging.warning('Checkpoint %s/%d is unreadable (%s: %s); trying an older one.',
                        self.directory, step, type(e).__name__, str(e).splitlines()[0][:200])
    return None, None

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


def abstract_like(state):
  """The shape/dtype/sharding skeleton Orbax restores into."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
      if isinstance(x, jax.Array) else x, state)
