"""limit_cpu_threads pins a fresh process before JAX starts; 0 leaves every core.
keep_freed_memory makes glibc serve large blocks from its heap (kept for reuse) instead of
mapping each afresh."""
import os
import subprocess
import sys

import pytest

from tests.conftest import MACHINE_CORES, on_every_core

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = ('import os, sys; from common import host; host.limit_cpu_threads(int(sys.argv[1])); '
         'import jax, jax.numpy as jnp; assert float(jnp.ones(3).sum()) == 3.0; '
         'print(len(os.sched_getaffinity(0)))')


def _cores_after(num_threads: int) -> int:
  out = subprocess.run(on_every_core(['-c', PROBE, str(num_threads)]), cwd=ROOT, check=True,
                       capture_output=True, text=True, env=dict(os.environ, XLA_FLAGS=''))
  return int(out.stdout.split()[-1])


def test_each_test_worker_runs_on_its_share_of_the_cores():
  workers, cores = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1')), len(MACHINE_CORES)
  if not 1 < workers <= cores:  # (tests/conftest.py pins only then)
    workers = 1
  assert len(os.sched_getaffinity(0)) in {cores // workers, -(-cores // workers)}, workers


def test_one_thread_pins_one_core_and_zero_leaves_all():
  available = len(MACHINE_CORES)
  assert _cores_after(1) == 1
  assert _cores_after(0) == available
  assert _cores_after(available + 5) == available


# Where glibc serves a 64 MB block: 'heap' (kept for reuse when freed) or 'mapped' (unmapped
# when freed, so touching the next one page-faults again); mallinfo2 tells them apart.
MALLOC_PROBE = """
import ctypes, sys
class Info(ctypes.Structure):
  _fields_ = [(name, ctypes.c_size_t) for name in
              'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost'.split()]
libc = ctypes.CDLL('libc.so.6')
libc.mallinfo2.restype, libc.malloc.restype = Info, ctypes.c_void_p
if sys.argv[1] == 'kept':
  from common import host
  assert host.keep_freed_memory()
before = libc.mallinfo2().hblkhd
block = libc.malloc(64 << 20)
print('mapped' if libc.mallinfo2().hblkhd - before >= 64 << 20 else 'heap')
"""


def _served_from(mode: str) -> str:
  out = subprocess.run([sys.executable, '-c', MALLOC_PROBE, mode], cwd=ROOT, check=True,
                       capture_output=True, text=True)
  return out.stdout.split()[-1]


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc only')
def test_keep_freed_memory_serves_large_blocks_from_the_heap():
  assert _served_from('default') == 'mapped'   # glibc's default: the probe can fail
  assert _served_from('kept') == 'heap'
