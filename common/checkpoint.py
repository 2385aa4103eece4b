"""One small wrapper over Orbax's CheckpointManager: keep the last K, restore the newest readable."""
import dataclasses
import logging
import os

import jax
import numpy as np
import orbax.checkpoint as ocp


class Checkpointer:
  """Saves whole train states under `workdir/checkpoints/<step>`."""

  def __init__(self, workdir: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(os.path.join(workdir, 'checkpoints'))
    self.fresh_fields = ()  # state fields the last restore could not find (older layout)
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

  def restore_latest(self, abstract_state=None, fallback=None):
    """Newest readable checkpoint as (state, step), or (None, None) if there is none.

    Without `abstract_state` the tree comes back as saved, as nested dicts of arrays
    (for readers that need only part of it, such as a classifier's parameters).
    `fallback(step)` is tried on a step that does not restore as `abstract_state`.

    An unreadable checkpoint (interrupted copy, corrupt file) is skipped with a warning and
    the one before it is tried, so one bad save never costs the whole run.
    """
    for step in reversed(self.steps()):
      try:
        state = self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
        return state, step
      except Exception as e:  # pylint: disable=broad-except  (any failure: try an older one)
        state = fallback(step) if fallback else None
        if state is not None:
          return state, step
        logging.warning('Checkpoint %s/%d is unreadable (%s: %s); trying an older one.',
                        self.directory, step, type(e).__name__, str(e).splitlines()[0][:200])
    return None, None

  def restore_or_keep(self, state):
    """The newest readable checkpoint shaped like `state` (a fresh one), else `state`."""
    restored, step = self.restore_latest(
        abstract_like(state), fallback=lambda step: self._restore_older_layout(state, step))
    if restored is None:
      return state
    logging.info('Resumed from %s/%d.', self.directory, step)
    return restored

  def _restore_older_layout(self, state, step: int):
    """Checkpoint `step` if it was saved before fields were added to the state dataclass
    (a WGAN-GP run from before the GAN family shared its state): its fields are restored,
    the new ones keep their fresh values and are listed in `fresh_fields`. None if the
    saved tree is not such a subset."""
    try:
      saved = self._manager.restore(step, args=ocp.args.StandardRestore())
    except Exception:  # pylint: disable=broad-except  (unreadable: the caller warns)
      return None
    if not (dataclasses.is_dataclass(state) and isinstance(saved, dict)):
      return None
    fresh = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    if not set(saved) < set(fresh):
      return None
    merged = {}
    for name in saved:
      leaves, (fresh_leaves, treedef) = jax.tree.leaves(saved[name]), jax.tree.flatten(
          fresh[name])
      if len(leaves) != len(fresh_leaves) or any(
          np.shape(a) != np.shape(b) for a, b in zip(leaves, fresh_leaves)):
        return None
      merged[name] = treedef.unflatten([
          jax.device_put(jax.numpy.asarray(a).astype(b.dtype), b.sharding)
          if not jax.dtypes.issubdtype(b.dtype, jax.dtypes.prng_key)
          else jax.device_put(a, b.sharding) for a, b in zip(leaves, fresh_leaves)])
    self.fresh_fields = tuple(sorted(set(fresh) - set(saved)))
    logging.warning('Checkpoint %s/%d has an older layout: restored %s; %s start fresh.',
                    self.directory, step, ', '.join(sorted(saved)), ', '.join(self.fresh_fields))
    return state.replace(**merged)

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
