"""Process-level settings that must come before JAX starts its CPU backend."""
import os


def limit_cpu_threads(num_threads: int) -> int:
  """Pins this process to its first `num_threads` allowed cores (0: leave all).

  XLA:CPU sizes its thread pool from the process's CPU affinity when the backend starts, so
  this must run before the first computation. Models whose kernels take microseconds (report
  000's batch-4 MLP: ~18 kernels a step) lose more to handing work between threads than
  they gain; on one core its epoch runs about twice as fast (benchmarks/classifier_epoch.py).
  Threads started later (XLA's, PyTorch's) inherit the affinity; only Linux has it.
  Returns the number of cores the process may use (0 where that is unknown).
  """
  if not hasattr(os, 'sched_setaffinity'):
    return 0
  cores = sorted(os.sched_getaffinity(0))
  if 0 < num_threads < len(cores):
    os.sched_setaffinity(0, cores[:num_threads])
  return len(os.sched_getaffinity(0))


def keep_freed_memory(largest: int = 1 << 30) -> bool:
  """Lets glibc keep freed blocks of up to `largest` bytes for reuse instead of handing them
  back to the kernel; returns whether it could (glibc only).

  By default glibc maps every block over 32 MB afresh and unmaps it when freed, so each
  compiled call that makes a large temporary (a conv layer's patches: 58 MB for 128 14x14
  maps of 64 channels) pays the page faults of touching new memory again: writing those
  patches took 31 ms a call, 9.4 ms with this (a copy of them at memory speed: 7.5 ms).
  The process keeps the memory it reached. A process-wide setting, so the entry points that
  run experiments call it (launch.py, benchmarks.run), not an import of the library.
  """
  import ctypes  # pylint: disable=g-import-not-at-top
  try:
    libc = ctypes.CDLL('libc.so.6')
  except OSError:
    return False
  m_trim_threshold, m_mmap_threshold = -1, -3
  return bool(libc.mallopt(m_mmap_threshold, largest) and
              libc.mallopt(m_trim_threshold, largest))
