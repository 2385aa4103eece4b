"""One command for a GPU or TPU machine, after installing the accelerator JAX (README):

  python -m benchmarks.accelerator_check [--main_steps=300] [--skip_tests]

1. the devices JAX sees, and their memory;
2. the tests that matter on an accelerator (the shared GAN step with its sharding test, the
   convolutions' XLA fallback against lax, batches and the host loop), with pytest;
3. the main job for `--main_steps` generator steps in a temporary workdir, scored on the
   shipped network (steps/s, FID);
4. the JAX side of the benchmarks: the WGAN-GP step (benchmarks/wgan_gp_step.py), report
   000's CNN step and the 64-variant vmapped sweep (benchmarks/classifier_epoch.py), with the
   peak device memory in use where the platform reports it.
It needs no PyTorch and no internet, and runs on a CPU too (slowly: a dry run).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import benchmarks
from absl import flags
import jax
import numpy as np

from benchmarks import classifier_epoch, wgan_gp_step
from configs import cnn as cnn_config

_MAIN_STEPS = flags.DEFINE_integer('main_steps', 300, 'generator steps of the main job')
_SKIP_TESTS = flags.DEFINE_bool('skip_tests', False, 'leave out the pytest subset')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = ('tests/gans/test_gan_step.py', 'tests/common/test_conv.py',
         'tests/common/test_batches.py', 'tests/common/test_loop.py')


def _memory() -> str:
  stats = jax.devices()[0].memory_stats() or {}
  if 'peak_bytes_in_use' not in stats:
    return 'not reported on this platform'
  return (f'peak {stats["peak_bytes_in_use"] / 2**30:.2f} GiB of '
          f'{stats.get("bytes_limit", 0) / 2**30:.1f} GiB')


def _main_job(workdir: str) -> dict:
  steps = _MAIN_STEPS.value
  cmd = [sys.executable, 'launch.py', '--config=configs/wgan_gp.py', f'--workdir={workdir}',
         f'--config.train.num_steps={steps}', f'--config.eval.fid_every={steps}',
         f'--config.eval.sample_every={steps}', f'--config.train.checkpoint_every={steps}']
  t0 = time.perf_counter()
  result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
  if result.returncode:
    print(result.stderr[-3000:])
    raise SystemExit(f'main job failed with exit code {result.returncode}')
  with open(os.path.join(workdir, 'summary.json')) as f:
    summary = json.load(f)
  summary['wall_seconds'] = time.perf_counter() - t0
  return summary


def main(argv):
  del argv
  print(f'1. JAX {jax.__version__}, backend {jax.default_backend()}: {jax.devices()}')
  if not _SKIP_TESTS.value:
    result = subprocess.run([sys.executable, '-m', 'pytest', *TESTS], cwd=ROOT, check=False,
                            capture_output=True, text=True)
    print(f'2. tests ({", ".join(TESTS)}): ' + (result.stdout.strip().splitlines() or ['?'])[-1])
  with tempfile.TemporaryDirectory() as workdir:
    s = _main_job(workdir)
  print(f'3. main job, {s["steps"]} generator steps: {s["steps_per_second"]:.2f} steps/s, '
        f'compile {s["compile_seconds"]:.1f} s, {s["wall_seconds"]:.0f} s in all; FID '
        f'{s["fid"]:.1f} on {s["num_samples"]} samples (the shipped network)')
  images = np.random.default_rng(0).integers(0, 256, (wgan_gp_step.N, 28, 28, 1), np.uint8)
  steps_per_s, compile_s, _ = wgan_gp_step.time_jax(images)
  print(f'4. WGAN-GP step (width {flags.FLAGS.width}, batch {flags.FLAGS.batch_size}): '
        f'{steps_per_s:.1f} steps/s (compile {compile_s:.1f} s)')
  ds = classifier_epoch.fake_dataset()
  n = 296
  step_s = classifier_epoch.jax_steps(cnn_config.get_config(), ds, n).step_s
  print(f'   CNN (report 000, batch 16): {step_s * 1e3:.2f} ms/step, an epoch '
        f'~{step_s * (classifier_epoch.N // 16):.1f} s')
  vmapped_s, sequential_s, gap = classifier_epoch.sweep_ratio(ds, seeds=8)
  print(f'   MLP sweep, 8 rates x 8 seeds x 1 epoch: vmapped {vmapped_s:.2f} s, one after another '
        f'{sequential_s:.2f} s ({sequential_s / vmapped_s:.2f}x; parameters within {gap:.1e})')
  print(f'   device memory: {_memory()}')


if __name__ == '__main__':
  benchmarks.run(main)
