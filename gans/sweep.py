"""One-axis GAN studies: `train_and_evaluate(config, workdir)` for GAN sweep configs (trainer
'gan_sweep').

A sweep config is a GAN config plus a `sweep` section (configs/sweep_common.py). Variants that
differ only in the seed, the Adam rates or b1 (VMAPPABLE) train together: their states are
stacked on a leading axis and one compiled step runs them all with `jax.vmap`. The step
counter is shared, so the epoch boundaries' lax.cond stays a cond. Other axes (widths, the
batch size, label smoothing, the D:G ratio, the loss) run one value after another, each
value's seeds still vmapped. Each variant keeps its own EMA and FID curve on the feature
network and is scored at the end like a single run (FID, KID, class accuracy when
conditional, for G and its EMA). A variant whose generator turns non-finite is recorded as
diverged (NaN scores) while the others go on.

Writes results.md / results.csv (value, seeds, FID and KID mean +- std over the seeds that
did not diverge, class accuracy, diverged count, seconds), plots/sweep.png (final FID
against the axis), plots/fid_curves.png (each variant's FID against the step),
plots/losses.png (D's and G's losses, a panel per variant), figures/samples.png (each
variant's samples side by side) and summary.json. Rerunning the
command resumes: finished groups are kept, an interrupted one continues from its checkpoint.
"""
import functools
import math
import os

import jax
import jax.numpy as jnp
import numpy as np

from common import (checkpoint, distributed, images, loop, mesh as mesh_lib, sweep as sweep_lib,
                    writers)
from gans import build, evaluation, figures, gan as gan_lib, scoring

VMAPPABLE = ('seed', *build.HYPERPARAMS)
# Every field is stacked on axis 0 but the step counter, which all variants share.
STATE_AXES = gan_lib.GANState(step=None, rng=0, g_params=0, d_params=0, g_opt_state=0,
                              d_opt_state=0, data_order=0, g_batch_stats=0, d_batch_stats=0,
                              ema_params=0)
SCORES = ('fid', 'kid', 'fid_ema', 'kid_ema', 'class_accuracy')
SAMPLES_PER_VARIANT = 16


def validate(config) -> None:
  sweep_lib.validate(config, build.validate)


def vmapped_step(state, data_arrays, **static):
  """gan.train_step over stacked states; metrics come back as '{name}/{variant}' scalars.
  On a mesh with a 'variants' axis (mesh.variant_mesh) each variant runs on its own devices
  and its batch is split over the 'data' axis."""
  one = functools.partial(gan_lib.train_step, **static)
  spread = mesh_lib.VARIANT_AXIS in static['mesh'].axis_names
  state, metrics = jax.vmap(one, in_axes=(STATE_AXES, None), out_axes=(STATE_AXES, 0),
                            spmd_axis_name=mesh_lib.VARIANT_AXIS if spread else None)(
      state, data_arrays)
  return state, {f'{key}/{i}': m[i] for key, m in metrics.items() for i in range(len(m))}


def variant(state: gan_lib.GANState, i: int) -> gan_lib.GANState:
  """Variant i's own state out of the stacked one."""
  return jax.tree.map(lambda x: x[i], state.replace(step=None)).replace(step=state.step)


def finite(tree) -> bool:
  return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(tree))


def stacked_state(gan, config, axis: str, values: list, num_seeds: int, image_shape,
                  num_examples: int, mesh=None):
  """States stacked over variants (seed-major: variant = seed * len(values) + value), and
  each variant's value and seed. A sweep over the seed takes its values as base seeds. With a
  variant `mesh`, the state is made where mesh.stacked_shardings puts it."""
  keys = sweep_lib.axis_keys(axis)
  if keys == ['seed']:
    seeds = [int(value) + s for value in values for s in range(num_seeds)]
    variant_values = [value for value in values for _ in range(num_seeds)]
  else:
    seeds = [config.seed + s for s in range(num_seeds) for _ in values]
    variant_values = [value for _ in range(num_seeds) for value in values]
  in_state = [key for key in keys if key in build.HYPERPARAMS]
  numeric = {name: jnp.asarray([sweep_lib.key_values(axis, v)[name] for v in variant_values],
                               jnp.float32) for name in in_state}

  def one(key, values):
    state = gan_lib.create_state(gan, key, image_shape=image_shape, num_examples=num_examples,
                                 batch_size=config.train.batch_size)
    for name, value in values.items():
      state = build.set_hyperparams(state, name, value)
    return state

  rngs = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
  make = jax.vmap(one, out_axes=STATE_AXES)
  shardings = None if mesh is None else mesh_lib.stacked_shardings(
      jax.eval_shape(make, rngs, numeric), mesh, {mesh_lib.VARIANT_AXIS: STATE_AXES})
  state = jax.jit(make, out_shardings=shardings)(rngs, numeric)
  return state, variant_values, seeds


def train_and_evaluate(config, workdir: str) -> dict:
  axis = config.sweep.axis

  def prepare(group_config):
    ds = build.load_data(group_config)

    # built by the first group once its mesh is checked, so that a config error comes
    # before any compile (the classifier's features too), as in train.py
    @functools.cache
    def evaluator():
      return build.build_evaluator(group_config, ds)
    return ds, evaluator

  rows = sweep_lib.train_groups(config, workdir, VMAPPABLE, prepare, _train_group)
  table = aggregate(rows, config.sweep.axis_values)
  if table and distributed.is_main():  # empty when the first group was stopped; one writer
    write_tables(workdir, axis, table)
    if any('fid_mean' in r for r in table):
      sweep_lib.plot(table, axis, [('fid', 'G'), ('fid_ema', 'EMA')], 'final FID',
                     os.path.join(workdir, 'plots', 'sweep.png'))
      figures.plot_fid_curves(rows, axis, os.path.join(workdir, 'plots', 'fid_curves.png'))
    if all(r.get('loss_curve') for r in rows):
      figures.plot_losses(rows, os.path.join(workdir, 'plots', 'losses.png'))
    figures.plot_samples(rows, workdir, os.path.join(workdir, 'figures', 'samples.png'))
  return sweep_lib.write_summary(workdir, config, VMAPPABLE, rows, table)


def _train_group(config, ds, make_evaluator, axis, values, num_seeds, groupdir) -> list[dict]:
  in_state = any(key in build.HYPERPARAMS for key in sweep_lib.axis_keys(axis))
  gan = build.build_gan(config, ds.image_shape, ds.num_classes, hyperparams_in_state=in_state)
  chunk, call = build.step_sizes(config)
  mesh = mesh_lib.training_mesh(config.train.num_devices, config.train.batch_size,
                                len(ds.train_images), variants=len(values) * num_seeds)
  evaluator = make_evaluator()
  state, variant_values, variant_seeds = stacked_state(
      gan, config, axis, values, num_seeds, ds.image_shape, len(ds.train_images), mesh)
  # one variant, whole on every device (and process) of the mesh: what scoring reads
  gather = jax.jit(variant, static_argnums=1, out_shardings=mesh_lib.replicated(mesh))
  ckpt, state, first_step = checkpoint.resume(groupdir, state, config.train.keep_checkpoints)
  train_data = (mesh_lib.put_replicated(ds.train_images, mesh),
                mesh_lib.put_replicated(ds.train_labels.astype(np.int32), mesh))
  step_fn = gan_lib.compile_step(state, train_data, step_fn=vmapped_step, gan=gan, mesh=mesh,
                                 batch_size=config.train.batch_size, steps_per_call=call)
  n = len(variant_values)
  evaluate = None
  if evaluator is not None:
    z, labels = scoring.eval_inputs(gan, config.seed, scoring.EVAL_STREAM,
                                    config.eval.fid_samples)

    def evaluate(step, state):
      if step % config.eval.fid_every and step < config.train.num_steps:
        return {}
      row = {}
      for i in range(n):
        one = gather(state, i)
        for tag, params in (('fid', one.g_params), ('fid_ema', one.ema_params)):
          if tag == 'fid_ema' and not gan.ema_decay:
            continue
          row[f'{tag}/{i}'] = (scoring.score_generator(
              gan, evaluator, params, one.g_batch_stats, z, labels, kid=False)['fid']
                               if finite(params) else math.nan)
      return row

  earlier = loop.earlier_seconds(groupdir, first_step)
  is_main = distributed.is_main()
  writer = writers.MetricWriter(groupdir, resume_step=first_step, enabled=is_main)
  try:
    state, step, _, seconds = loop.run(
        state=state, step_fn=step_fn, data=train_data, first_step=first_step,
        num_steps=config.train.num_steps, chunk=chunk,
        log_every=config.train.log_every, checkpoint_every=config.train.checkpoint_every,
        writer=writer, checkpointer=ckpt, steps_per_call=call,
        evaluate=evaluate, stop_on_non_finite=False, seconds_before=earlier)
  finally:
    ckpt.close()
    writer.close()
  if step < config.train.num_steps:
    return None
  seconds += earlier
  curves = writers.read_metrics(groupdir)
  z, labels = scoring.eval_inputs(gan, config.seed, scoring.EVAL_STREAM, SAMPLES_PER_VARIANT)
  out = []
  for i, (value, seed) in enumerate(zip(variant_values, variant_seeds)):
    one = gather(state, i)
    samples = os.path.join(groupdir, 'samples', f'variant_{i}.png')
    grid = images.grid(np.nan_to_num(np.asarray(evaluation.generate(
        gan, one.g_params, one.g_batch_stats, z, labels))), ncols=4)
    if is_main:
      images.save_png(samples, grid)
    row = {'value': value, 'seed': seed, 'seconds': seconds, 'group_size': n,
           'steps': int(state.step), 'diverged': not finite(one.g_params),
           'samples': os.path.relpath(samples, os.path.dirname(os.path.dirname(groupdir))),
           'fid_curve': [[r['step'], r[f'fid/{i}']] for r in curves if f'fid/{i}' in r],
           'loss_curve': [[r['step'], r[f'd_loss/{i}'], r[f'g_loss/{i}']] for r in curves
                          if f'd_loss/{i}' in r]}
    if evaluator is not None:
      scores = ({} if row['diverged'] else
                scoring.final_scores(gan, evaluator, one, None, seed=config.seed,
                                     num_samples=config.eval.final_samples))
      row.update({key: float(scores.get(key, math.nan)) for key in SCORES
                  if key != 'class_accuracy' or gan.num_classes})
    out.append(row)
  return out


def aggregate(rows: list[dict], values) -> list[dict]:
  """Per value, in the config's order: mean and std of each score over the seeds that did
  not diverge (NaN when all did), how many diverged, and the time of its group."""
  table = []
  for value in values:
    mine = [r for r in rows if sweep_lib.value_key(r['value']) == sweep_lib.value_key(value)]
    if not mine:
      continue
    entry = {'value': value, 'seeds': len(mine),
             'diverged': sum(bool(r['diverged']) for r in mine)}
    for key in SCORES:
      if key in mine[0]:
        scores = np.array([r[key] for r in mine], np.float64)
        scores = scores[np.isfinite(scores)]
        entry[f'{key}_mean'] = float(np.mean(scores)) if len(scores) else math.nan
        entry[f'{key}_std'] = float(np.std(scores)) if len(scores) else math.nan
    entry.update(seconds=float(mine[0]['seconds']), trained_with=mine[0]['group_size'])
    table.append(entry)
  return table


def write_tables(workdir: str, axis: str, table: list[dict]) -> None:
  columns = [(key, name) for key, name in (
      ('fid', 'FID'), ('fid_ema', 'FID (EMA)'), ('kid', 'KID'), ('kid_ema', 'KID (EMA)'),
      ('class_accuracy', 'class accuracy')) if f'{key}_mean' in table[0]]

  def cells(r):
    digits = {key: 4 if 'kid' in key or 'acc' in key else 1 for key, _ in columns}
    return [f'{r[f"{key}_mean"]:.{digits[key]}f} ± {r[f"{key}_std"]:.{digits[key]}f}'
            for key, _ in columns] + [str(r['diverged']),
                                      f'{r["seconds"]:.1f} ({r["trained_with"]})']

  sweep_lib.write_tables(
      workdir, table, [axis, 'seeds'] + [name for _, name in columns] +
      ['diverged', 'seconds (variants trained together)'], cells)
