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
