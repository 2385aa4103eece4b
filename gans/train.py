"""WGAN-GP training: `train_and_evaluate(config, workdir)` as launch.py calls it."""
import functools
import logging
import os
import time

import jax
import numpy as np
import optax

from common import checkpoint, data, images, loop, mesh as mesh_lib, validate as v, writers
from gans import models as gan_models, wgan_gp

LOSS_KEYS = ('critic_loss', 'generator_loss', 'wasserstein_distance', 'gradient_penalty')
SAMPLE_STREAM = 7  # fold_in tag of the fixed sampling noise, apart from the training keys


def validate(config) -> None:
  v.one_of(config, 'dataset.name', data.DATASETS)
  v.one_of(config, 'dataset.pixel_range', data.PIXEL_RANGES)
  for key in ('model.latent_dim', 'model.generator_width', 'model.critic_width',
              'loss.n_critic', 'train.num_steps', 'train.batch_size', 'train.log_every',
              'train.checkpoint_every', 'train.keep_checkpoints', 'eval.sample_every',
              'eval.num_samples'):
    v.positive(config, key, integer=True)
  for key in ('optim.g_learning_rate', 'optim.d_learning_rate'):
    v.positive(config, key)
  v.non_negative(config, 'loss.gp_weight')
  v.in_range(config, 'optim.b1', 0.0, 1.0)
  v.in_range(config, 'optim.b2', 0.0, 1.0)
  v.non_negative(config, 'train.num_devices')


def build_models(config, image_shape) -> wgan_gp.Models:
  height = image_shape[0]
  if gan_models.num_upsamples(height) == 0 or image_shape[0] != image_shape[1]:
    raise v.ConfigError(f'config.dataset.name = {config.dataset.name!r} has images of shape '
                        f'{image_shape}: the conv GAN needs square images whose side is '
                        f'divisible by 2 (28, 32, 64...).')
  adam = lambda lr: optax.adam(lr, b1=config.optim.b1, b2=config.optim.b2)
  return wgan_gp.Models(
      generator=gan_models.Generator(
          tuple(image_shape), config.model.generator_width,
          'tanh' if config.dataset.pixel_range == 'minus_one_one' else 'sigmoid'),
      critic=gan_models.Critic(config.model.critic_width),
      g_opt=adam(config.optim.g_learning_rate), d_opt=adam(config.optim.d_learning_rate))


def train_and_evaluate(config, workdir: str) -> dict:
  validate(config)
  mesh = mesh_lib.data_mesh(config.train.num_devices or None)
  mesh_lib.check_batch_divides(config.train.batch_size, mesh)
  ds = data.load(config.dataset.name, config.dataset.dir, config.dataset.download)
  num_examples = len(ds.train_images)
  v.check(config.train.batch_size <= num_examples, 'train.batch_size',
          config.train.batch_size, f'at most the {num_examples} training examples')
  models = build_models(config, ds.image_shape)
  logging.info('Data: %s from %s, %d training images of %s; %d device(s).', ds.name,
               ds.source, num_examples, ds.image_shape, mesh.devices.size)

  init = functools.partial(  # jitted: Flax init op by op takes seconds on CPU
      wgan_gp.create_state, models, latent_dim=config.model.latent_dim,
      image_shape=ds.image_shape, num_examples=num_examples,
      batch_size=config.train.batch_size)
  state = jax.jit(init, out_shardings=mesh_lib.replicated(mesh))(jax.random.key(config.seed))
  ckpt = checkpoint.Checkpointer(workdir, config.train.keep_checkpoints)
  state = ckpt.restore_or_keep(state)
  first_step = int(state.step)
  train_images = mesh_lib.put_replicated(ds.train_images, mesh)

  t0 = time.perf_counter()
  step_fn = wgan_gp.compile_step(
      state, train_images, models=models, mesh=mesh, n_critic=config.loss.n_critic,
      batch_size=config.train.batch_size, latent_dim=config.model.latent_dim,
      gp_weight=config.loss.gp_weight, pixel_range=config.dataset.pixel_range)
  compile_seconds = time.perf_counter() - t0
  logging.info('Compiled the train step in %.1f s.', compile_seconds)

  is_main = jax.process_index() == 0
  writer = writers.MetricWriter(workdir, resume_step=first_step, enabled=is_main)
  sample_hook = _sample_writer(config, models, workdir, writer, mesh, is_main)
  chunk = loop.chunk_size(config.train.num_steps, config.train.log_every,
                          config.train.checkpoint_every, config.eval.sample_every)
  try:
    state, step, last, seconds = loop.run(
        state=state, step_fn=step_fn, data=train_images, first_step=first_step,
        num_steps=config.train.num_steps, chunk=chunk, log_every=config.train.log_every,
        checkpoint_every=config.train.checkpoint_every, writer=writer, checkpointer=ckpt,
        hooks=(loop.Every(config.eval.sample_every, sample_hook),),
        console_keys=LOSS_KEYS)
  finally:
    ckpt.close()
    writer.close()

  summary = {
      'steps': step, 'resumed_from_step': first_step, 'train_seconds': seconds,
      'compile_seconds': compile_seconds,
      'steps_per_second': (step - first_step) / seconds if seconds else 0.0,
      'num_devices': int(mesh.devices.size), 'dataset': ds.name,
      'generator_params': _count(state.g_params), 'critic_params': _count(state.d_params),
      **last}
  if is_main:
    writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary


def _count(params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))


def _sample_writer(config, models, workdir, writer, mesh, is_main):
  """A hook writing samples/step_N.png from fixed noise, and the loss curves."""
  z = jax.random.normal(jax.random.fold_in(jax.random.key(config.seed), SAMPLE_STREAM),
                        (config.eval.num_samples, config.model.latent_dim))
  z = mesh_lib.put_replicated(z, mesh)

  @jax.jit
  def generate(g_params, z):
    fake = models.generator.apply({'params': g_params}, z)
    return data.to_unit(fake, config.dataset.pixel_range)

  def hook(step, state):
    samples = np.asarray(jax.device_get(generate(state.g_params, z)))
    if not is_main:
      return
    grid = images.grid(samples)
    images.save_png(os.path.join(workdir, 'samples', f'step_{step:07d}.png'), grid, scale=2)
    writer.write_image('samples', step, grid)
    images.plot_metrics(writers.read_metrics(workdir), list(LOSS_KEYS),
                        os.path.join(workdir, 'plots', 'losses.png'),
                        title=f'WGAN-GP on {config.dataset.name}')
  return hook
