"""benchmarks/op_profile.py: the ops of a compiled program found in a profiler trace and
summed by kind, and the report's arithmetic."""
import re
import time

from absl import flags
import jax
import jax.numpy as jnp
import pytest

from benchmarks import op_profile

MATMULS, CONVS, MOVES, REDUCTIONS = (label for label, _ in op_profile.KINDS)


def test_op_names_map_to_their_kinds():
  assert op_profile.kind('ynn_fusion.4') == MATMULS
  assert op_profile.kind('dot_general.0') == MATMULS
  assert op_profile.kind('conv_general_dilated.8') == CONVS
  assert op_profile.kind('convert_element_type.3') == op_profile.ELEMENTWISE  # not a conv
  assert op_profile.kind('copy_bitcast_fusion.12') == MOVES
  assert op_profile.kind('concatenate.47') == MOVES
  assert op_profile.kind('reduce_fusion.1') == REDUCTIONS
  assert op_profile.kind('multiply_add_fusion.54') == op_profile.ELEMENTWISE


def test_spans_are_summed_per_call_in_seconds_and_loops_are_not_counted_twice():
  span = lambda op, us: {'ph': 'X', 'dur': us, 'args': {'hlo_op': op}}
  events = [span('dot_general.1', 1500), span('dot_general.1', 1500), span('copy.2', 300),
            span('while.5', 9000),                            # holds the two ops above
            {'ph': 'X', 'dur': 7000, 'name': 'ThunkExecutor::Execute'},  # the runtime's
            {'ph': 'M', 'name': 'thread_name', 'args': {'name': 'python'}}]
  ops = op_profile.summed(events, calls=3)
  assert ops == {MATMULS: {'dot_general.1': pytest.approx(0.001)},   # 3000, 300 µs / 3 calls
                 MOVES: {'copy.2': pytest.approx(0.0001)}}


def test_a_programs_ops_are_found_in_the_trace_and_a_loop_counts_once():
  program = jax.jit(lambda a: jax.lax.fori_loop(0, 50, lambda i, x: jnp.tanh(x @ a), a))
  a = jnp.eye(256) * 0.5
  hlo = program.lower(a).compile().as_text()
  program(a).block_until_ready()

  took = []

  def run():
    t0 = time.perf_counter()
    for _ in range(3):
      out = program(a)
    out.block_until_ready()
    took.append(time.perf_counter() - t0)

  ops, wall = op_profile.op_times(run, calls=3)
  # a call's share of the run (the run is timed inside the profiled span, so at least that;
  # the upper bound leaves room for a busy machine and fails without the division)
  assert took[0] / 3 <= wall < took[0] / 2
  assert ops and all(t > 0 for names in ops.values() for t in names.values())
  assert len(ops[MATMULS]) == 1  # the loop body's one matmul
  names = [name for names in ops.values() for name in names]
  for name in names:  # instructions of this program, not the runtime's spans
    assert re.search(rf'(^|[\s%]){re.escape(name)} = ', hlo, re.M), (name, hlo)
  assert not any(name.startswith('while') for name in names)  # its body's ops are counted


def test_report_gives_shares_and_how_much_of_the_cores_time_ops_took():
  lines = op_profile.report({'a (x, y)': {'x': 0.0005, 'y': 0.0025}, 'b': {'z': 0.001}},
                            0.004, cores=2, costliest=2)
  assert lines[0].split() == ['3.0', 'ms', '75.0', '%', '2', 'ops', 'a', '(x,', 'y)']
  assert lines[1].split() == ['1.0', 'ms', '25.0', '%', '1', 'ops', 'b']
  assert lines[2].endswith('2 cores x 4.0 ms wall = 8.0 ms: the ops took 50 % of it')
  assert lines[3] == 'the 2 costliest ops: y 2.5 ms (a), z 1.0 ms (b)'
  assert op_profile.report({}, 0.004, cores=2) == ['no ops in the trace']


def test_the_benchmarks_imported_together_define_each_flag_once():
  # accelerator_check imports benchmarks.classifier_epoch and benchmarks.wgan_gp_step, which
  # both profile: a flag defined twice fails this import; the one --profile is op_profile's
  from benchmarks import accelerator_check  # pylint: disable=g-import-not-at-top,unused-import
  assert flags.FLAGS.find_module_defining_flag('profile') == 'benchmarks.op_profile'
