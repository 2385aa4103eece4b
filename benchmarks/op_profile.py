"""Where a compiled step's time goes: the device ops of a `jax.profiler` trace, their times
summed by kind, and the costliest ops by name.

  python -m benchmarks.wgan_gp_step --profile
  python -m benchmarks.classifier_epoch --only=lenet,eval,transfer --profile

XLA names each op of a compiled program after what it computes (`ynn_fusion.4`,
`copy_bitcast_fusion.12`, `conv_general_dilated.8`, `multiply_add_fusion.54`); the kind is
read from that name, so a fusion counts under its leading instruction (a tanh fused into a
transpose reads as data movement). Ops that run at once on several threads add up, so
beside the wall time on n cores the sum also shows how much of the cores' time went to ops.
"""
import collections
import glob
import gzip
import json
import os
import tempfile
import time

from absl import flags
import jax

# One flag for the benchmarks that profile (benchmarks.accelerator_check imports two of them)
PROFILE = flags.DEFINE_bool('profile', False, "also print where each JAX step's time goes: its "
                            'ops under jax.profiler, summed by kind (benchmarks/op_profile.py)')

# The first matching prefix names the kind; what matches none (elementwise fusions, unfused
# broadcasts and selects) is elementwise work.
KINDS = (
    ('matmuls (YNNPACK/XNNPACK fusions, dots)', ('ynn_fusion', 'xnn_fusion', 'dot')),
    ("XLA's convolutions", ('conv_general', 'convolution')),
    ('data movement (copies, concatenations, slices, pads, transposes)',
     ('copy', 'concatenate', 'slice', 'dynamic', 'pad', 'transpose', 'bitcast', 'gather',
      'scatter')),
    ('reductions', ('reduce',)),
)
ELEMENTWISE = 'elementwise (activations, optimizer, losses, penalty)'
# Control flow: a loop's or branch's span holds its body's ops, which are counted themselves.
CONTROL_FLOW = ('while', 'conditional', 'call')


def kind(op_name: str) -> str:
  """The kind of the compiled program's op named `op_name`."""
  for label, prefixes in KINDS:
    if op_name.startswith(prefixes):
      return label
  return ELEMENTWISE


def summed(events: list[dict], calls: int) -> dict:
  """{kind: {op name: seconds per call}} over a trace's events: the ops' spans carry their
  name as `hlo_op` (the runtime's own spans do not), durations in microseconds."""
  ops = collections.defaultdict(collections.Counter)
  for event in events:
    op = event.get('args', {}).get('hlo_op')
    if event.get('ph') == 'X' and op and not op.startswith(CONTROL_FLOW):
      ops[kind(op)][op] += event['dur'] / 1e6 / calls
  return {label: dict(names) for label, names in ops.items()}


def op_times(run, calls: int) -> tuple[dict, float]:
  """Runs `run()` (`calls` calls of one program, blocking until their work is done) under the
  profiler: `summed`'s ops and the wall seconds per call of that run."""
  with tempfile.TemporaryDirectory() as folder:
    with jax.profiler.trace(folder):
      t0 = time.perf_counter()
      run()
      wall = (time.perf_counter() - t0) / calls
    [path] = glob.glob(os.path.join(folder, '**', '*.trace.json.gz'), recursive=True)
    with gzip.open(path) as f:
      events = json.load(f)['traceEvents']
  return summed(events, calls), wall


def report(ops: dict, wall_seconds: float, cores: int, costliest: int = 5) -> list[str]:
  """Lines: each kind's milliseconds per call, its share and op count, how much of the cores'
  time over the wall time the ops took, then the `costliest` ops by name."""
  seconds = {k: sum(names.values()) for k, names in ops.items()}
  total = sum(seconds.values())
  if not total:
    return ['no ops in the trace']
  lines = [f'{seconds[k] * 1e3:7.1f} ms  {100 * seconds[k] / total:4.1f} %  '
           f'{len(ops[k]):5d} ops  {k}' for k in sorted(seconds, key=seconds.get, reverse=True)]
  lines.append(f'{total * 1e3:7.1f} ms of ops a call; {cores} cores x {wall_seconds * 1e3:.1f} ms '
               f'wall = {cores * wall_seconds * 1e3:.1f} ms: the ops took '
               f'{100 * total / (cores * wall_seconds):.0f} % of it')
  by_op = sorted(((t, name, k) for k, names in ops.items() for name, t in names.items()),
                 reverse=True)[:costliest]
  lines.append(f'the {len(by_op)} costliest ops: ' + ', '.join(
      f'{name} {t * 1e3:.1f} ms ({k.split(" (")[0]})' for t, name, k in by_op))
  return lines


def print_profile(run, steps: int, what: str, indent: str = '  ') -> None:
  """Runs `run()` (`steps` steps) again under the profiler and prints where a step of `what`'s
  time goes."""
  ops, wall = op_times(run, steps)
  print(f"{indent}Where {what}'s time goes ({steps} steps under jax.profiler, "
        f'{wall * 1e3:.1f} ms a step there):')
  for line in report(ops, wall, len(os.sched_getaffinity(0))):
    print(f'{indent}  {line}')
