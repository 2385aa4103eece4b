"""benchmarks/op_profile.py: the ops of a compiled program found in a profiler trace and
summed by kind, and the report's arithmetic."""
import jax
import jax.numpy as jnp

from benchmarks import op_profile


def test_op_names_map_to_their_kinds():
  matmuls, convs, moves, reductions = (label for label, _ in op_profile.KINDS)
  assert op_profile.kind('ynn_fusion.4') == matmuls
  assert op_profile.kind('dot.2') == matmuls
  assert op_profile.kind('conv_general_dilated.8') == convs
  assert op_profile.kind('copy_bitcast_fusion.12') == moves
  assert op_profile.kind('concatenate.47') == moves
  assert op_profile.kind('reduce_fusion.1') == reductions
  assert op_profile.kind('multiply_add_fusion.54') == op_profile.ELEMENTWISE


def test_a_programs_ops_are_found_in_the_trace_and_nothing_else():
  program = jax.jit(lambda a: jnp.tanh(a @ a).T + 1)
  a = jnp.ones((128, 128))
  hlo = program.lower(a).compile().as_text()
  program(a).block_until_ready()

  def run():
    for _ in range(3):
      out = program(a)
    out.block_until_ready()

  seconds, ops = op_profile.op_times(run, calls=3)
  assert set(seconds) == set(ops) and all(s > 0 for s in seconds.values())
  assert len(ops[op_profile.KINDS[0][0]]) == 1  # the one matmul
  names = [name for names in ops.values() for name in names]
  assert all(f'{name} = ' in hlo for name in names), (names, hlo)  # the runtime's spans are not


def test_report_gives_shares_and_how_full_the_cores_were():
  lines = op_profile.report({'a': 0.003, 'b': 0.001}, {'a': ['x', 'y'], 'b': ['z']}, 0.004,
                            cores=2)
  assert lines[0].split() == ['3.0', 'ms', '75.0', '%', '2', 'ops', 'a']
  assert lines[1].split() == ['1.0', 'ms', '25.0', '%', '1', 'ops', 'b']
  assert lines[2].endswith('2 cores x 4.0 ms wall = 8.0 ms: the ops filled 50 % of it')
