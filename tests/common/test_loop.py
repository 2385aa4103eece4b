import time

import jax.numpy as jnp
import pytest

from common import loop


class _Recorder:
  def __init__(self):
    self.rows, self.saved, self.directory = [], [], '/nowhere'

  def write_scalars(self, step, scalars):
    self.rows.append((step, scalars))

  def save(self, step, state):
    self.saved.append(step)

  def steps(self):
    return self.saved

  def wait(self):
    pass


def _run(step_fn, num_steps=12, **kw):
  rec = _Recorder()
  args = dict(state=jnp.float32(0), step_fn=step_fn, data=None, first_step=0,
              num_steps=num_steps, chunk=2, log_every=4, checkpoint_every=6, writer=rec,
              checkpointer=rec)
  args.update(kw)
  return loop.run(**args), rec


def test_logs_means_saves_and_hooks_on_schedule():
  hooked = []
  (state, step, last, _), rec = _run(lambda s, d: (s + 1, {'loss': s}),
                                     hooks=(loop.Every(4, lambda st, s: hooked.append(st)),))
  assert step == 12 and float(state) == 12
  assert [r[0] for r in rec.rows] == [4, 8, 12]
  assert rec.rows[0][1]['loss'] == 2.5  # mean of the chunk's steps 2 and 3
  assert rec.saved == [6, 12] and hooked == [4, 8, 12]
  assert last['loss'] == 10.5 and last['steps_per_second'] > 0


def test_train_seconds_leave_out_evaluation_and_add_the_earlier_invocations():
  def slow_step(s, d):
    time.sleep(0.01)
    return s + 1, {'loss': s}

  def slow_evaluation(step, state):
    time.sleep(0.2)
    return {}

  started = time.perf_counter()
  (_, _, last, seconds), rec = _run(slow_step, evaluate=slow_evaluation, seconds_before=100.0)
  wall = time.perf_counter() - started
  assert 12 * 0.01 <= seconds < wall - 6 * 0.2  # six evaluations, one per chunk, left out
  times = [row['total_train_seconds'] for _, row in rec.rows]
  assert times == sorted(times) and times[-1] == last['total_train_seconds'] == 100.0 + seconds


def test_non_finite_loss_stops_before_saving():
  step_fn = lambda s, d: (s + 1, {'loss': jnp.where(s >= 7, jnp.nan, s)})
  with pytest.raises(loop.NonFiniteError, match='Non-finite loss between steps 6 and 8.*'
                     'Last good checkpoint: 6'):
    _run(step_fn)


def test_chunk_divides_every_interval():
  assert loop.chunk_size(1500, 50, 250, 250) == 50
  assert loop.chunk_size(20, 5, 10, 10) == 5


def test_calls_of_several_sizes_end_on_boundaries_and_weight_the_means():
  sizes = []

  def step_fn(s, d, n):  # n steps; the loss is the step number they start from
    sizes.append(n)
    return s + n, {'loss': s}

  evaluated = []
  (state, step, _, _), rec = _run(step_fn, num_steps=14, chunk=7, log_every=7,
                                  checkpoint_every=7, steps_per_call=loop.call_sizes(3, 7),
                                  evaluate=lambda st, s: evaluated.append(st) or {'acc': 1.0})
  assert sizes == [3, 3, 1, 3, 3, 1] and step == 14 and float(state) == 14
  assert [r[0] for r in rec.rows] == [7, 14] and evaluated == [7, 14]
  assert rec.rows[0][1]['loss'] == pytest.approx((3 * 0 + 3 * 3 + 1 * 6) / 7)
  assert rec.rows[0][1]['acc'] == 1.0 and rec.saved == [7, 14]
