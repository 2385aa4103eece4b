"""Which machine gave a figure: its processor, cores and float32 matmul rate.

  python -m benchmarks.machine

Prints one line, e.g. `AMD EPYC, 2 cores: 2048x2048 float32 matmul 87 GFLOP/s (JAX),
91 GFLOP/s (NumPy)`. The rate is the best of several products of two 2048x2048 matrices:
large enough that the cores, not the call overhead, set it, which is how the hardware
reaches its ceiling (a 1024² product or a single timing reads low). Every speed figure in
the README and docs quotes it beside the time, since absolute times differ 3-4x between the
machines this project runs on.
"""
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np


def _best_seconds(fn, repeat: int) -> float:
  fn()  # compile and warm up
  best = float('inf')
  for _ in range(repeat):
    t0 = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - t0)
  return best


MATMUL_SIZE = 2048  # large enough that the cores, not the call overhead, set the rate


def matmul_gflops(n: int = MATMUL_SIZE, repeat: int = 5) -> float:
  """JAX's float32 rate on an n x n product on the default device, best of `repeat`."""
  a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
  product = jax.jit(lambda a: a @ a)
  return 2 * n ** 3 / _best_seconds(lambda: product(a).block_until_ready(), repeat) / 1e9


def numpy_matmul_gflops(n: int = MATMUL_SIZE, repeat: int = 5) -> float:
  a = np.random.default_rng(0).standard_normal((n, n), np.float32)
  return 2 * n ** 3 / _best_seconds(lambda: a @ a, repeat) / 1e9


def processor() -> str:
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def describe() -> str:
  device = jax.devices()[0]
  where = (f'{processor()}, {os.cpu_count()} cores' if device.platform == 'cpu'
           else f'{device.device_kind} ({device.platform})')
  line = (f'{where}: {MATMUL_SIZE}x{MATMUL_SIZE} float32 matmul {matmul_gflops():.0f} GFLOP/s '
          '(JAX)')
  if device.platform == 'cpu':
    line += f', {numpy_matmul_gflops():.0f} GFLOP/s (NumPy)'
  return line


def main(argv):
  del argv
  print(describe())


if __name__ == '__main__':
  from benchmarks import run  # pylint: disable=g-import-not-at-top
  run(main)
