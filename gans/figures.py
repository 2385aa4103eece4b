"""What a GAN run draws as it trains: sample grids from fixed noise, latent interpolation
strips, the loss and FID curves; a sweep's samples, losses and FID curves per variant."""
import functools
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from common import images, sweep as sweep_lib, writers
from gans import evaluation

SAMPLE_STREAM = 7  # fold_in tag of the grids' fixed noise, apart from the training keys


def sample_writer(gan, workdir, writer, is_main, *, seed: int, num_samples: int,
                  title: str, fid_title: str):
  """A hook writing samples/step_N.png from `num_samples` fixed latents (one row per class
  for conditional models), the latent interpolation strip, and the loss and FID curves
  (`title`, `fid_title`)."""
  cols = max(1, num_samples // gan.num_classes) if gan.num_classes else None
  z, labels, strip_z, strip_labels = _fixed_inputs(gan, seed, num_samples)

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
                        os.path.join(workdir, 'plots', 'losses.png'), title=title)
    images.plot_metrics([r for r in rows if 'fid' in r],
                        [('fid', 'fid_ema'), 'class_accuracy', 'inception_score'],
                        os.path.join(workdir, 'plots', 'fid.png'), title=fid_title)
  return hook


# The fixed inputs below are jitted: one compile per generator (cached across runs and
# requests of a process), where their ~20 small ops would compile one by one.

@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _fixed_inputs(gan, seed: int, n: int):
  """(z, labels, strip z, strip labels) of the sample writer: `n` latents from `seed`, for a
  conditional generator one row per class sharing their noise across columns."""
  key = jax.random.fold_in(jax.random.key(seed), SAMPLE_STREAM)
  z = gan.sample_latent(key, n)
  if gan.num_classes:
    cols = max(1, n // gan.num_classes)
    z = jnp.tile(z[:cols], (gan.num_classes, 1))
    labels = jnp.repeat(jnp.arange(gan.num_classes, dtype=jnp.int32), cols)
  else:
    labels = jnp.zeros((n,), jnp.int32)
  return z, labels, *interpolation_inputs(gan, jax.random.fold_in(key, 1))


INTERPOLATION_STEPS = 10


@functools.partial(jax.jit, static_argnames=('gan', 'rows'))
def interpolation_inputs(gan, key, rows: int = 6):
  """Straight lines between random latent pairs, one row each (same label along a row)."""
  k0, k1, ky = jax.random.split(key, 3)
  z0, z1 = gan.sample_latent(k0, rows), gan.sample_latent(k1, rows)
  t = jnp.linspace(0.0, 1.0, INTERPOLATION_STEPS)[None, :, None]
  z = ((1 - t) * z0[:, None] + t * z1[:, None]).reshape(-1, gan.latent_dim)
  labels = jnp.repeat(gan.sample_labels(ky, rows), INTERPOLATION_STEPS).astype(jnp.int32)
  return z, labels


# The GAN sweep's plots (gans/sweep.py), from its rows.

def _variant_title(row: dict) -> str:
  return f'{sweep_lib.value_label(row["value"])}\nseed {row["seed"]}'


def plot_samples(rows: list[dict], workdir: str, path: str) -> None:
  """Each variant's samples (the same fixed noise for all): a column per value, a row per
  seed."""
  values = list(dict.fromkeys(sweep_lib.value_key(r['value']) for r in rows))
  seeds = sorted({r['seed'] for r in rows})
  fig = images.new_figure((2.2 * len(values), 2.4 * len(seeds)))
  for row in rows:
    ax = fig.add_subplot(len(seeds), len(values), seeds.index(row['seed']) * len(values)
                         + values.index(sweep_lib.value_key(row['value'])) + 1)
    ax.imshow(np.asarray(Image.open(os.path.join(workdir, row['samples'])).convert('RGB')))
    ax.set_title(f'{_variant_title(row)}, FID {row.get("fid", math.nan):.1f}', fontsize=7)
    ax.axis('off')
  images.save_figure(fig, path, 'samples per variant')


def plot_losses(rows: list[dict], path: str) -> None:
  """D's and G's losses against the step, one panel per variant (report 001's curves)."""
  ncols = min(len(rows), 4)
  nrows = math.ceil(len(rows) / ncols)
  fig = images.new_figure((3.2 * ncols, 2.4 * nrows))
  for i, r in enumerate(rows):
    ax = fig.add_subplot(nrows, ncols, i + 1)
    steps, d_loss, g_loss = zip(*r['loss_curve'])
    ax.plot(steps, d_loss, label='D')
    ax.plot(steps, g_loss, label='G')
    ax.set_title(_variant_title(r), fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)
    if i == 0:
      ax.legend(fontsize=6)
  images.save_figure(fig, path, 'losses (mean of each logged chunk)')


def plot_fid_curves(rows: list[dict], axis: str, path: str) -> None:
  """FID against steps: a colour per value, a line style per seed."""
  fig = images.new_figure((5.5, 3.6))
  ax = fig.add_subplot(1, 1, 1)
  values = list(dict.fromkeys(sweep_lib.value_key(r['value']) for r in rows))
  seeds = sorted({r['seed'] for r in rows})
  for r in rows:
    if r['fid_curve']:
      steps, fids = zip(*r['fid_curve'])
      seed = seeds.index(r['seed'])
      ax.plot(steps, fids, marker='.', color=f'C{values.index(sweep_lib.value_key(r["value"])) % 10}',
              linestyle=('-', '--', ':', '-.')[seed % 4],
              label=sweep_lib.value_label(r['value']) if seed == 0 else None)
  ax.set_xlabel('step')
  ax.set_ylabel('FID')
  ax.set_yscale('log')
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, title=sweep_lib.axis_label(axis, [r['value'] for r in rows])
            + ' (line style: seed)',
            title_fontsize=7)
  images.save_figure(fig, path, 'FID during training')
