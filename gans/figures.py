"""What a GAN run draws as it trains: sample grids from fixed noise, latent interpolation
strips, the loss and FID curves."""
import os

import jax
import jax.numpy as jnp
import numpy as np

from common import images, writers
from gans import evaluation

SAMPLE_STREAM = 7  # fold_in tag of the grids' fixed noise, apart from the training keys


def sample_writer(config, gan, ds, workdir, writer, is_main):
  """A hook writing samples/step_N.png from fixed noise (one row per class for conditional
  models), the latent interpolation strip and the loss curves."""
  n = config.eval.num_samples
  key = jax.random.fold_in(jax.random.key(config.seed), SAMPLE_STREAM)
  z = gan.sample_latent(key, n)
  if gan.num_classes:  # row r shows class r; columns share their noise
    cols = max(1, n // gan.num_classes)
    z = jnp.tile(z[:cols], (gan.num_classes, 1))
    labels = jnp.repeat(jnp.arange(gan.num_classes, dtype=jnp.int32), cols)
  else:
    cols, labels = None, jnp.zeros((n,), jnp.int32)
  strip_z, strip_labels = interpolation_inputs(gan, jax.random.fold_in(key, 1))

  def hook(step, state):
    samples = np.asarray(evaluation.generate(gan, state.g_params, state.g_batch_stats, z,
                                           labels))
    if not is_main:
      return
    grid = images.grid(samples, ncols=cols)
    images.save_png(os.path.join(workdir, 'samples', f'step_{step:07d}.png'), grid, scale=2)
    writer.write_image('samples', step, grid)
    strip = np.asarray(evaluation.generate(gan, state.g_params, state.g_batch_stats, strip_z,
                                         strip_labels))
    images.save_png(os.path.join(workdir, 'samples', 'interpolation.png'),
                    images.grid(strip, ncols=INTERPOLATION_STEPS), scale=2)
    rows = writers.read_metrics(workdir)
    images.plot_metrics(rows, [('d_loss', 'g_loss'), ('d_real', 'd_fake'),
                               'wasserstein_distance', 'gradient_penalty'],
                        os.path.join(workdir, 'plots', 'losses.png'),
                        title=f'{config.model.arch} GAN ({config.loss.name}) on {ds.name}')
    images.plot_metrics([r for r in rows if 'fid' in r],
                        [('fid', 'fid_ema'), 'class_accuracy', 'inception_score'],
                        os.path.join(workdir, 'plots', 'fid.png'),
                        title=f'FID ({config.eval.fid_samples} samples) on {ds.name}')
  return hook


INTERPOLATION_STEPS = 10


def interpolation_inputs(gan, key, rows: int = 6):
  """Straight lines between random latent pairs, one row each (same label along a row)."""
  k0, k1, ky = jax.random.split(key, 3)
  z0, z1 = gan.sample_latent(k0, rows), gan.sample_latent(k1, rows)
  t = jnp.linspace(0.0, 1.0, INTERPOLATION_STEPS)[None, :, None]
  z = ((1 - t) * z0[:, None] + t * z1[:, None]).reshape(-1, gan.latent_dim)
  labels = jnp.repeat(gan.sample_labels(ky, rows), INTERPOLATION_STEPS).astype(jnp.int32)
  return z, labels
