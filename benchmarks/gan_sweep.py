"""8 variants of the MLP GAN (configs/gan_mlp.py; 4 learning rates x 2 seeds) trained
together with jax.vmap (gans/sweep.py) against the same 8 trained one after another.

  python -m benchmarks.gan_sweep [--steps=500 --config=configs/gan_mlp.py]

Both sides run the compiled steps of the trainers (train.steps_per_call steps per call) on
Fashion-MNIST; compilation is timed apart. Prints the time of each side and the ratio.
"""
import functools
import time

import benchmarks
from absl import flags
import jax
from ml_collections import config_flags
import numpy as np

from common import mesh as mesh_lib, sweep as sweep_lib
from configs import sweep_common
from gans import build, gan as gan_lib, sweep

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/gan_mlp.py', 'a GAN config')
_STEPS = flags.DEFINE_integer('steps', 500, 'train steps per variant (both sides)')
AXIS = 'optim.g_learning_rate,optim.d_learning_rate'
RATES = (1e-4, 2e-4, 4e-4, 8e-4)


def timed_steps(step_fn, state, data, calls):
  state, metrics = step_fn(state, data)  # the first call, apart (allocations)
  jax.block_until_ready(metrics)
  t0 = time.perf_counter()
  for _ in range(calls):
    state, metrics = step_fn(state, data)
  jax.block_until_ready(metrics)
  return time.perf_counter() - t0


def main(argv):
  del argv
  config = _CONFIG.value
  with config.unlocked():  # with_value drops the section again
    config.sweep = sweep_common.sweep(AXIS, RATES, seeds=2)
  ds = build.load_data(config)
  mesh = mesh_lib.data_mesh(1)
  data = (mesh_lib.put_replicated(ds.train_images, mesh),
          mesh_lib.put_replicated(ds.train_labels.astype(np.int32), mesh))
  k = config.train.steps_per_call
  calls = _STEPS.value // k
  static = dict(mesh=mesh, batch_size=config.train.batch_size, steps_per_call=k)

  gan = build.build_gan(config, ds.image_shape, ds.num_classes, hyperparams_in_state=True)
  state, values, seeds = sweep.stacked_state(gan, config, AXIS, list(RATES), 2,
                                             ds.image_shape, len(ds.train_images))
  t0 = time.perf_counter()
  step = gan_lib.compile_step(state, data, step_fn=sweep.vmapped_step, gan=gan, **static)
  compile_together = time.perf_counter() - t0
  together = timed_steps(step, state, data, calls)

  in_turn, compile_in_turn = 0.0, 0.0
  for value, seed in zip(values, seeds):
    one = sweep_lib.with_value(config, AXIS, value)
    one.seed = seed
    gan = build.build_gan(one, ds.image_shape, ds.num_classes)
    state = jax.jit(functools.partial(  # jitted, as gans/train.py does: EMA gets its own buffers
        gan_lib.create_state, gan, image_shape=ds.image_shape,
        num_examples=len(ds.train_images), batch_size=config.train.batch_size))(
            jax.random.key(seed))
    t0 = time.perf_counter()
    step = gan_lib.compile_step(state, data, gan=gan, **static)
    compile_in_turn += time.perf_counter() - t0
    in_turn += timed_steps(step, state, data, calls)

  print(f'{len(values)} MLP GAN variants ({AXIS} in {RATES} x 2 seeds), {calls * k} steps '
        f'each, batch {config.train.batch_size}, {k} steps per call:')
  print(f'  vmapped together: {together:.1f} s (compile {compile_together:.1f} s)')
  print(f'  one after another: {in_turn:.1f} s (compile {compile_in_turn:.1f} s in all)')
  print(f'  together is {in_turn / together:.2f}x faster '
        f'({(in_turn + compile_in_turn) / (together + compile_together):.2f}x with compilation)')


if __name__ == '__main__':
  benchmarks.run(main)
