"""limit_cpu_threads pins a fresh process before JAX starts; 0 leaves every core."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = ('import os, sys; from common import host; host.limit_cpu_threads(int(sys.argv[1])); '
         'import jax, jax.numpy as jnp; assert float(jnp.ones(3).sum()) == 3.0; '
         'print(len(os.sched_getaffinity(0)))')


def _cores_after(num_threads: int) -> int:
  out = subprocess.run([sys.executable, '-c', PROBE, str(num_threads)], cwd=ROOT, check=True,
                       capture_output=True, text=True, env=dict(os.environ, XLA_FLAGS=''))
  return int(out.stdout.split()[-1])


def test_one_thread_pins_one_core_and_zero_leaves_all():
  available = len(os.sched_getaffinity(0))
  assert _cores_after(1) == 1
  assert _cores_after(0) == available
  assert _cores_after(available + 5) == available
