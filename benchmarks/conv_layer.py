"""Stride-1 convolution layers, forward plus both gradients: common/conv.py's im2col
('patches') and Winograd's 3x3 tiles against XLA's convolution and its autodiff, side by side
in this process, with the FLOP rate of each (the direct convolution's FLOPs) and the ceiling a
large matmul sets on the same cores.

  python -m benchmarks.conv_layer [--batch=128]

The shapes are those of the conv models here (report 000's CNN, the evaluation classifier,
LeNet, the transfer net's VGG-style blocks). Timed as one call each; inside a rolled loop
(a trainer's epoch) XLA's convolutions run several times slower still (jax#12868), the
patches' matmuls do not.
"""
import time

import benchmarks
from absl import flags
import jax
import jax.numpy as jnp

from common import conv

_BATCH = flags.DEFINE_integer('batch', 128, 'images per call')
SHAPES = (  # (height, in, out, kernel, padding)
    (28, 1, 32, 3, 'SAME'), (28, 4, 16, 3, 'SAME'), (28, 16, 16, 3, 'SAME'),
    (28, 32, 64, 3, 'SAME'), (32, 32, 32, 3, 'SAME'), (14, 16, 32, 3, 'SAME'),
    (14, 64, 64, 3, 'SAME'), (14, 6, 16, 5, 'VALID'), (7, 64, 64, 3, 'SAME'),
    (7, 128, 128, 3, 'SAME'), (13, 16, 32, 3, 'VALID'), (5, 32, 64, 3, 'VALID'),
)


def _seconds(fn, *args, repeats: int = 3) -> float:
  fn = jax.jit(fn)
  jax.block_until_ready(fn(*args))
  best = float('inf')
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    best = min(best, time.perf_counter() - t0)
  return best


def main(argv):
  del argv
  n = _BATCH.value
  a = jnp.ones((2048, 2048))
  ceiling = 2 * 2048**3 / _seconds(lambda a: a @ a, a) / 1e9
  print(f'large matmul: {ceiling:.0f} GFLOP/s')
  print('H   in  out k  padding | seconds: xla, patches, winograd | patches, winograd vs xla '
        '| GFLOP/s xla, patches, winograd')
  for h, cin, cout, k, padding in SHAPES:
    x = jax.random.normal(jax.random.key(0), (n, h, h, cin))
    kernel = jax.random.normal(jax.random.key(1), (k, k, cin, cout))
    out = h if padding == 'SAME' else h - k + 1
    flops = 3 * 2 * n * out * out * k * k * cin * cout   # forward, input and kernel gradient
    seconds = {}
    for impl in ('xla', 'patches', 'winograd') if k == 3 else ('xla', 'patches'):
      step = lambda x, w, impl=impl: jax.grad(
          lambda x, w: jnp.sum(conv.conv(x, w, padding, impl) ** 2), (0, 1))(x, w)
      seconds[impl] = _seconds(step, x, kernel)
    times = ', '.join(f'{t:.4f}' for t in seconds.values())
    ratios = ', '.join(f'{seconds["xla"] / t:.2f}x' for i, t in seconds.items() if i != 'xla')
    rates = ', '.join(f'{flops / t / 1e9:.0f}' for t in seconds.values())
    print(f'{h:<3d} {cin:<3d} {cout:<4d}{k}  {padding:7s} | {times} | {ratios} | {rates}')
  print(f'(auto on CPU: winograd for 3x3 kernels of {conv.WINOGRAD_MIN_IN} input channels or '
        f'more and outputs of at least {conv.WINOGRAD_MIN_OUT}x{conv.WINOGRAD_MIN_OUT}, the '
        'patches for the others; chosen from timings in a rolled loop, which this one call is '
        'not)')


if __name__ == '__main__':
  benchmarks.run(main)
