"""Where a compiled step's time goes: the device ops of a `jax.profiler` trace, their times
summed by kind.

  python -m benchmarks.wgan_gp_step --profile

XLA names each op of a compiled program after what it computes (`ynn_fusion.4`,
`copy_bitcast_fusion.12`, `conv_general_dilated.8`, `multiply_add_fusion.54`); the kind is
read from that name, so a fusion counts under its leading instruction (a tanh fused into a
transpose reads as data movement). Ops that run at once on several threads add up, so
beside the step's wall time on n cores the sum also shows how busy the cores were.
"""
import collections
import glob
import gzip
import json
import os
import tempfile

import jax

# The first matching prefix names the kind; what matches none is elementwise work.
KINDS = (
    ('matmuls (YNNPACK/XNNPACK fusions, dots)', ('ynn_fusion', 'xnn_fusion', 'dot')),
    ("XLA's convolutions", ('conv',)),
    ('data movement (copies, concatenations, slices, pads, transposes)',
     ('copy', 'concatenate', 'slice', 'dynamic', 'pad', 'transpose', 'bitcast', 'gather',
      'scatter', 'broadcast_in_dim')),
    ('reductions', ('reduce',)),
)
ELEMENTWISE = 'elementwise fusions (activations, optimizer, losses, penalty)'


def kind(op_name: str) -> str:
  """The kind of the compiled program's op named `op_name`."""
  for label, prefixes in KINDS:
    if op_name.startswith(prefixes):
      return label
  return ELEMENTWISE


def op_times(run, calls: int) -> tuple[dict, dict]:
  """Runs `run()` (`calls` calls of one program, blocking until their work is done) under the
  profiler and returns ({kind: core seconds per call}, {kind: the names of its ops})."""
  with tempfile.TemporaryDirectory() as folder:
    with jax.profiler.trace(folder):
      run()
    [path] = glob.glob(os.path.join(folder, '**', '*.trace.json.gz'), recursive=True)
    with gzip.open(path) as f:
      events = json.load(f)['traceEvents']
  seconds, ops = collections.Counter(), collections.defaultdict(set)
  for event in events:  # the ops' spans carry their name as hlo_op; the runtime's do not
    if event.get('ph') == 'X' and (op := event.get('args', {}).get('hlo_op')):
      seconds[kind(op)] += event['dur'] / 1e6 / calls  # microseconds in the trace
      ops[kind(op)].add(op)
  return dict(seconds), {label: sorted(names) for label, names in ops.items()}


def report(seconds: dict, ops: dict, wall_seconds: float, cores: int) -> list[str]:
  """Lines: each kind's core milliseconds per call, its share and op count, then how much of
  the cores' time over the wall time the ops filled."""
  total = sum(seconds.values())
  lines = [f'{seconds[k] * 1e3:7.1f} ms  {100 * seconds[k] / total:4.1f} %  '
           f'{len(ops[k]):5d} ops  {k}' for k in sorted(seconds, key=seconds.get, reverse=True)]
  lines.append(f'{total * 1e3:7.1f} ms of ops a call; {cores} cores x {wall_seconds * 1e3:.1f} ms '
               f'wall = {cores * wall_seconds * 1e3:.1f} ms: the ops filled '
               f'{100 * total / (cores * wall_seconds):.0f} % of it')
  return lines
