"""The main job as 1, 2 and 4 local processes at one global batch: what the processes' talk
costs.

  python -m benchmarks.multiprocess [--steps=60 --processes=1,2,4 --devices=8]

Each run is `launch.py --config=configs/wgan_gp.py` (batch 64 over a mesh of `--devices` CPU
devices, the same global batch and mesh every time) for `--steps` steps without scoring;
one process has all the devices, N processes `devices / N` each (`--local_processes`),
exchanging the gradients through gloo. Prints each run's training steps/s (from its
summary.json, compilation excluded) and its ratio to the one-process run. On one machine
the processes share its cores, so the ratio is the overhead of the multi-process runtime and
its collectives, not a scaling figure.
"""
import os
import subprocess
import sys
import tempfile

from absl import flags

from benchmarks import machine
from common import writers

_STEPS = flags.DEFINE_integer('steps', 60, 'Generator steps per run.')
_PROCESSES = flags.DEFINE_list('processes', ['1', '2', '4'], 'Process counts to run.')
_DEVICES = flags.DEFINE_integer('devices', 8, 'CPU devices of the job, split over processes.')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def steps_per_second(processes: int, devices: int, steps: int, workdir: str) -> float:
  command = [sys.executable, os.path.join(ROOT, 'launch.py'),
             f'--config={os.path.join(ROOT, "configs", "wgan_gp.py")}', f'--workdir={workdir}',
             f'--config.train.num_steps={steps}', '--config.eval.classifier_dir=',
             f'--config.train.log_every={steps // 3}', f'--config.train.checkpoint_every={steps}',
             f'--config.eval.sample_every={steps}', '--compilation_cache=']
  env = dict(os.environ)
  if processes > 1:
    command += [f'--local_processes={processes}', f'--local_devices={devices // processes}']
  else:
    env['XLA_FLAGS'] = f'--xla_force_host_platform_device_count={devices}'
  subprocess.run(command, env=env, check=True, capture_output=True)
  return writers.read_json(os.path.join(workdir, 'summary.json'))['steps_per_second']


def main(argv):
  del argv
  print(machine.describe())
  rates = {}
  with tempfile.TemporaryDirectory() as tmp:
    for n in map(int, _PROCESSES.value):
      rates[n] = steps_per_second(n, _DEVICES.value, _STEPS.value, os.path.join(tmp, str(n)))
      ratio = f'{rates[n] / rates[1]:.2f}x one process' if 1 in rates else ''
      print(f'{n} process(es) x {_DEVICES.value // n} devices: {rates[n]:.2f} steps/s {ratio}',
            flush=True)


if __name__ == '__main__':
  from benchmarks import run  # pylint: disable=g-import-not-at-top
  run(main)
