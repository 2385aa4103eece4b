"""Every GAN of the family: `train_and_evaluate(config, workdir)` as launch.py calls it.

The config picks the networks (`model.arch`: dcgan, keras_dcgan, mlp; `model.conditional`)
and the loss (`loss.*`); gans/build.py turns it into parts, gans/gan.py runs the one train
step. During training the generator is scored every `eval.fid_every` steps on the feature
network (gans/scoring.py: FID on `eval.fid_samples`, class accuracy for conditional models),
the best-FID state is kept in `best/`, and at the end G, its EMA and the best state are
scored on `eval.final_samples`; gans/figures.py draws the grids and curves.
"""
import functools
import logging
import os
import time

import jax
import numpy as np

from common import checkpoint, distributed, loop, mesh as mesh_lib, writers
from gans import build, figures, gan as gan_lib, scoring

CONSOLE_KEYS = ('d_loss', 'g_loss', 'd_real', 'd_fake')
validate = build.validate  # launch.py checks a config before anything starts


def train_and_evaluate(config, workdir: str) -> dict:
  ds = build.load_data(config)
  num_examples = len(ds.train_images)
  mesh = mesh_lib.training_mesh(config.train.num_devices, config.train.batch_size, num_examples)
  gan = build.build_gan(config, ds.image_shape, ds.num_classes)
  evaluator = build.build_evaluator(config, ds)
  chunk, call = build.step_sizes(config)
  logging.info('Data: %s from %s, %d training images of %s; %d device(s).', ds.name,
               ds.source, num_examples, ds.image_shape, mesh.devices.size)

  init = functools.partial(  # jitted: Flax init op by op takes seconds on CPU
      gan_lib.create_state, gan, image_shape=ds.image_shape, num_examples=num_examples,
      batch_size=config.train.batch_size)
  state = jax.jit(init, out_shardings=mesh_lib.replicated(mesh))(jax.random.key(config.seed))
  ckpt, state, first_step = checkpoint.resume(workdir, state, config.train.keep_checkpoints)
  train_data = (mesh_lib.put_replicated(ds.train_images, mesh),
                mesh_lib.put_replicated(ds.train_labels.astype(np.int32), mesh))

  t0 = time.perf_counter()
  step_fn = gan_lib.compile_step(state, train_data, gan=gan, mesh=mesh,
                                 batch_size=config.train.batch_size, steps_per_call=call)
  compile_seconds = time.perf_counter() - t0
  logging.info('Compiled the train step in %.1f s.', compile_seconds)

  is_main = distributed.is_main()
  writer = writers.MetricWriter(workdir, resume_step=first_step, enabled=is_main)
  hooks = (loop.Every(config.eval.sample_every,
                      figures.sample_writer(
                          gan, workdir, writer, is_main, seed=config.seed,
                          num_samples=config.eval.num_samples,
                          title=f'{config.model.arch} GAN ({gan.loss_description()}) on {ds.name}',
                          fid_title=f'FID ({config.eval.fid_samples} samples) on {ds.name}')),)
  best = fid_fn = None
  if evaluator is not None:
    best = checkpoint.BestKeeper(workdir, 'fid', is_main)
    fid_fn = scoring.fid_tracker(gan, evaluator, best, seed=config.seed,
                                 num_samples=config.eval.fid_samples,
                                 every=config.eval.fid_every, num_steps=config.train.num_steps)
  earlier = loop.earlier_seconds(workdir, first_step)
  try:
    state, step, last, seconds = loop.run(
        state=state, step_fn=step_fn, data=train_data, first_step=first_step,
        num_steps=config.train.num_steps, chunk=chunk,
        log_every=config.train.log_every,
        checkpoint_every=config.train.checkpoint_every, writer=writer, checkpointer=ckpt,
        hooks=hooks, console_keys=CONSOLE_KEYS,
        steps_per_call=call, evaluate=fid_fn, seconds_before=earlier)
  finally:
    ckpt.close()
    if best is not None:
      best.close()
    writer.close()

  summary = {
      **last,  # the last logged row; the whole run's figures below take precedence
      'steps': step, 'generator_updates': step * config.loss.n_generator,
      'resumed_from_step': first_step, 'train_seconds': seconds,
      'total_train_seconds': seconds + earlier,
      'compile_seconds': compile_seconds,
      'steps_per_second': (step - first_step) / seconds if seconds else 0.0,
      'num_devices': int(mesh.devices.size), 'dataset': ds.name,
      'generator_params': _count(state.g_params),
      'discriminator_params': _count(state.d_params)}
  if evaluator is not None and step >= config.train.num_steps:
    t0 = time.perf_counter()
    summary.update(scoring.final_scores(gan, evaluator, state, best, seed=config.seed,
                                        num_samples=config.eval.final_samples))
    summary['eval_seconds'] = time.perf_counter() - t0
    logging.info('Final scores: %s', {k: summary[k] for k in summary
                                      if k.startswith(('fid', 'kid', 'class_acc'))})
  if is_main:
    writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary


def _count(params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))
