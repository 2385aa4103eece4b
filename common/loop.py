"""The generic host loop: call a compiled step function, then log, check, save, hook.

A compiled call advances `steps_per_call` optimizer steps (a classifier's: a lax.scan over
an epoch; a conv GAN's: one step, XLA:CPU running its convolutions slowly inside loops).
Calls are enqueued asynchronously and the host reads the device once per chunk (a few
scalars).
"""
import contextlib
import dataclasses
import logging
import math
import os
import signal
import time
from collections.abc import Callable

import jax
import numpy as np

from common import writers


class NonFiniteError(FloatingPointError):
  pass


@dataclasses.dataclass(frozen=True)
class Every:
  """Call `fn(step, state)` every `interval` steps and once at the end."""
  interval: int
  fn: Callable


def chunk_size(num_steps: int, *intervals: int) -> int:
  """Steps per compiled call: divides every interval, so every event lands between calls."""
  return math.gcd(num_steps, *intervals)


def call_sizes(k: int, steps_per_epoch: int):
  """Steps of the call starting at `step`: k, or fewer where the epoch ends (so that every
  epoch ends on a call boundary; each size compiles once)."""
  return lambda step: min(k, steps_per_epoch - step % steps_per_epoch)


def earlier_seconds(workdir: str, first_step: int) -> float:
  """Training time the invocations before this one spent reaching `first_step` (where a
  resumed run starts): the total logged at that step, else that of a summary.json written
  there (a run stopped between log steps); 0 for a fresh run, or when neither is there."""
  if not first_step:
    return 0.0
  logged = [r['total_train_seconds'] for r in writers.read_metrics(workdir)
            if r['step'] == first_step and 'total_train_seconds' in r]
  if logged:
    return logged[-1]
  before = writers.read_json(os.path.join(workdir, 'summary.json'), {})
  return before.get('total_train_seconds', 0.0) if before.get('steps') == first_step else 0.0


def largest_divisor(n: int, at_most: int) -> int:
  """The largest divisor of n that is at most `at_most` (1 at least)."""
  return max(d for d in range(1, max(1, min(n, at_most)) + 1) if n % d == 0)


@contextlib.contextmanager
def stop_requests():
  """SIGTERM / first Ctrl-C set a flag (the loop saves, then exits); a second Ctrl-C aborts."""
  requested = []

  def handler(signum, frame):  # pylint: disable=unused-argument
    logging.warning('Received %s: saving a checkpoint, then stopping.',
                    signal.Signals(signum).name)
    requested.append(signum)
    signal.signal(signal.SIGINT, signal.default_int_handler)

  try:
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
  except ValueError:  # not the main thread: leave signals alone
    previous = {}
  try:
    yield requested
  finally:
    for s, h in previous.items():
      signal.signal(s, h)


def run(*, state, step_fn, data, first_step: int, num_steps: int, chunk: int,
        log_every: int, checkpoint_every: int, writer, checkpointer,
        hooks: tuple[Every, ...] = (), console_keys: tuple[str, ...] = (),
        steps_per_call: int | Callable[[int], int] = 1, evaluate: Callable | None = None,
        stop_on_non_finite: bool = True, seconds_before: float = 0.0):
  """Trains from `first_step` to `num_steps`.

  Returns (state, step reached, last logged metrics, seconds spent in training steps, which
  leave out `evaluate`, hooks and checkpoints). Each logged row's `total_train_seconds` is that
  time so far plus `seconds_before` (the invocations before a resume). `chunk` divides every
  interval and is a multiple of `steps_per_call`, or `steps_per_call(step)` gives the size
  of the call starting at `step` (and `step_fn(state, data, size)` takes it), so calls of
  several sizes can end exactly on chunk boundaries. Logged metrics are means over the last chunk
  (shorter only right after a resume from a stop-requested save between boundaries).
  A non-finite metric stops the run before anything is saved from it, so the last
  checkpoint stays the last good one (unless `stop_on_non_finite` is off: a sweep records
  its diverged variants instead). `evaluate(step, state) -> dict` runs at every chunk
  boundary; what it returns joins that step's row, which is then logged even off the log
  interval (so an evaluation interval need not be a multiple of it).
  """
  step = first_step
  last = {}
  t_chunk = time.perf_counter()
  training = 0.0
  with stop_requests() as stop:
    while step < num_steps:
      pending, sizes = [], []
      start = step
      while not pending or (step % chunk and not stop):  # to the next boundary, or a stop
        if callable(steps_per_call):
          size = steps_per_call(step)
          state, metrics = step_fn(state, data, size)
        else:
          size = steps_per_call
          state, metrics = step_fn(state, data)
        pending.append(metrics)
        sizes.append(size)
        step += size
        if len(pending) > 1:  # at most two calls in flight, so a stop lands within a step
          jax.block_until_ready(pending[-2])
      pending = jax.device_get(pending)
      metrics = {k: np.stack([np.asarray(m[k]) for m in pending]) for k in pending[0]}
      now = time.perf_counter()
      training += now - t_chunk
      bad = sorted(k for k, v in metrics.items() if not np.all(np.isfinite(v)))
      if bad and stop_on_non_finite:
        saved = checkpointer.steps()
        raise NonFiniteError(
            f'Non-finite {", ".join(bad)} between steps {start} and {step}; the run '
            f'stopped without saving. Last good checkpoint: '
            f'{saved[-1] if saved else "none"} in {checkpointer.directory}. '
            f'Try a lower learning rate or another seed.')
      finished = step >= num_steps or bool(stop)
      scores = evaluate(step, state) if evaluate is not None else {}
      if step % log_every == 0 or finished or scores:
        last = {k: float(np.average(v, axis=0, weights=sizes).mean())
                for k, v in metrics.items()}
        last['steps_per_second'] = (step - start) / (now - t_chunk)
        last['total_train_seconds'] = seconds_before + training
        last.update(scores)
        writer.write_scalars(step, last)
        _console(step, num_steps, first_step, training, last, console_keys)
      if step % checkpoint_every == 0 or finished:
        checkpointer.save(step, state)
      for hook in hooks:
        if step % hook.interval == 0 or finished:
          hook.fn(step, state)
      t_chunk = time.perf_counter()
      if stop:
        break
  checkpointer.wait()
  return state, step, last, training


def _console(step, num_steps, first_step, elapsed, metrics, keys):
  rate = (step - first_step) / max(elapsed, 1e-9)
  eta = (num_steps - step) / max(rate, 1e-9)
  shown = ' '.join(f'{k}={metrics[k]:.4f}' for k in keys if k in metrics)
  minutes, seconds = divmod(int(eta), 60)
  logging.info('[%d/%d] %s | %.2f steps/s | ETA %d:%02d:%02d', step, num_steps, shown, rate,
               minutes // 60, minutes % 60, seconds)
