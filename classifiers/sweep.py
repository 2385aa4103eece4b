"""One-axis hyperparameter studies: `train_and_evaluate(config, workdir)` for sweep configs.

A sweep config is a classifier config plus a `sweep` section naming the axis (a dotted
config key), its values and the seeds per value. Variants that share shapes (the learning
rate, the seed, a constant initial weight) train together in one compiled program,
`jax.vmap` over stacked states; other axes run one value after another, each value's
seeds still vmapped. Writes results.md and results.csv (value, seeds, test accuracy and
RMSE as mean +- std, seconds), plots/sweep.png, and summary.json. Rerunning the command
resumes: finished groups are kept, an interrupted one continues from its checkpoint.
"""
import dataclasses
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from common import (checkpoint, checks, distributed, loop, mesh as mesh_lib, sweep as sweep_lib,
                    writers)
from classifiers import build, evaluation, models, step as step_lib

VMAPPABLE = ('optim.learning_rate', 'seed', 'model.init_constant')
# Variants share the step counter: batching it would turn the epoch-boundary lax.cond of
# the data order into a select that reshuffles the whole training set at every step.
# States are stacked [seed, value]: the seeds (outer axis) differ in init, data order and
# dropout; the values of one seed (inner axis) share them, so their first layer sees one
# unbatched input batch and its matmuls merge into one (batched tiny matmuls do not).
# The vmap axes of the state's fields: over seeds (outer) and over one seed's values (inner).
SEED_AXES = step_lib.ClassifierState(step=None, rng=0, params=0, opt_state=0, data_order=0)
VALUE_AXES = step_lib.ClassifierState(step=None, rng=None, params=0, opt_state=0, data_order=None)
SEED_AXIS, VALUE_AXIS = 'seeds', 'values'  # the variant axes of the mesh (mesh.variant_mesh)


def variants_setup(setup):
  """The setup a stacked group trains with: MLPs laid out for vmap (models.MLP.vmapped)."""
  if isinstance(setup.model, models.MLP):
    return dataclasses.replace(setup, model=setup.model.clone(vmapped=True))
  return setup


def vmapped_steps(setup, num_steps: int):
  """train_steps over states stacked [seed, value]; metrics come back [seed, value]. On a
  variant mesh (setup.mesh has 'seeds' and 'values' axes) each variant runs on its own
  devices, its batch split over the 'data' axis."""
  one = functools.partial(step_lib.train_steps, setup=setup, num_steps=num_steps)
  spread = SEED_AXIS in setup.mesh.axis_names
  inner = jax.vmap(one, in_axes=(VALUE_AXES, None, None), out_axes=(VALUE_AXES, 0),
                   spmd_axis_name=VALUE_AXIS if spread else None)
  return jax.vmap(inner, in_axes=(SEED_AXES, None, None), out_axes=(SEED_AXES, 0),
                  spmd_axis_name=SEED_AXIS if spread else None)


def flat_params(state):
  """Parameters [seed, value, ...] as [variant, ...] (variant = seed * num_values + value)."""
  return jax.tree.map(lambda p: p.reshape((-1, *p.shape[2:])), state.params)


def validate(config) -> None:
  keys = sweep_lib.axis_keys(config.sweep.axis)
  checks.require(len(keys) == 1 or not set(keys) & set(VMAPPABLE), 'sweep.axis',
                 config.sweep.axis, f'one key, or several none of which is one of {VMAPPABLE} '
                 '(those train together and are swept alone)')
  sweep_lib.validate(config, build.validate)


def vmapped(config) -> bool:
  """Whether all values train in one program (init_constant None means Flax's init)."""
  return sweep_lib.vmapped(config, VMAPPABLE)


def vmapped_values(axis: str, values: list) -> bool:
  """Whether the values of one seed train stacked (the learning rate, the constant initial
  weight); any other axis runs a value at a time."""
  return axis in ('optim.learning_rate', 'model.init_constant') and sweep_lib.numbers(values)


def stacked_axes(config, axis: str, values: list, seeds: list) -> tuple[list, list]:
  """(the seed of each row, the value of each column) of the [seed, value] stack: a seed
  sweep's values are seeds too; only vmapped values share a seed's row (else one column)."""
  if axis == 'seed':
    return [int(val) + s for val in values for s in seeds], [0.0]
  return ([config.seed + s for s in seeds],
          values if vmapped_values(axis, values) else [0.0])


def stacked_state(setup, config, axis: str, values: list, seeds: list, num_examples: int):
  """States stacked [seed, value], and each variant's value and seed in flattened order.

  Only the learning rate and the constant initial weight vary within a seed; a sweep over
  any other axis calls this once per value (the value already in `setup`). On a variant
  mesh the state is made where mesh.stacked_shardings puts it.
  """
  varies = vmapped_values(axis, values)
  seed_list, inner = stacked_axes(config, axis, values, seeds)
  keys = jax.vmap(jax.random.key)(jnp.asarray(seed_list, jnp.uint32))

  def vary(base, value):
    if not varies:
      return base
    if axis == 'optim.learning_rate':
      return step_lib.set_learning_rate(base, value)
    if axis == 'model.init_constant':
      params = jax.tree.map(lambda p: jnp.full_like(p, value), base.params)
      return base.replace(params=params, opt_state=setup.optimizer.init(params))
    return base

  def per_seed(key):
    base = step_lib.create_state(setup, key, num_examples)
    return jax.vmap(functools.partial(vary, base), out_axes=VALUE_AXES)(
        jnp.asarray(inner, jnp.float32))

  make = jax.vmap(per_seed, out_axes=SEED_AXES)
  shardings = (mesh_lib.stacked_shardings(jax.eval_shape(make, keys), setup.mesh,
                                          {SEED_AXIS: SEED_AXES, VALUE_AXIS: VALUE_AXES})
               if SEED_AXIS in setup.mesh.axis_names else None)
  state = jax.jit(make, out_shardings=shardings)(keys)
  if axis == 'seed':
    variant_values = [val for val in values for _ in seeds]
  elif varies:
    variant_values = [val for _ in seed_list for val in values]
  else:
    variant_values = [values[0]] * len(seed_list)
  variant_seeds = [seed for seed in seed_list for _ in inner]
  return state, variant_values, variant_seeds


def train_and_evaluate(config, workdir: str) -> dict:
  axis = config.sweep.axis

  rows = sweep_lib.train_groups(config, workdir, VMAPPABLE,
                                lambda group_config: (build.load_data(group_config),),
                                _train_group)
  table = aggregate(rows, config.sweep.axis_values)
  if table and distributed.is_main():  # empty when the first group was stopped; one writer
    write_tables(workdir, axis, table)
    sweep_lib.plot(table, axis, [('test_accuracy', 'test accuracy')], 'test accuracy',
                   os.path.join(workdir, 'plots', 'sweep.png'))
  return sweep_lib.write_summary(workdir, config, VMAPPABLE, rows, table)


def _train_group(config, ds, axis, values, num_seeds, groupdir) -> list[dict]:
  seed_rows, value_columns = stacked_axes(config, axis, values, list(range(num_seeds)))
  num_examples = len(ds.train_images)
  mesh = mesh_lib.training_mesh(config.train.num_devices, config.train.batch_size, num_examples,
                                **{SEED_AXIS: len(seed_rows), VALUE_AXIS: len(value_columns)})
  setup = variants_setup(build.build_setup(config, ds, mesh))
  steps_per_epoch = num_examples // config.train.batch_size
  k = build.steps_per_call(config, steps_per_epoch)
  state, variant_values, variant_seeds = stacked_state(
      setup, config, axis, values, list(range(num_seeds)), num_examples)
  ckpt, state, first_step = checkpoint.resume(groupdir, state, config.train.keep_checkpoints)
  train_data = mesh_lib.put_replicated((ds.train_images, ds.train_labels), mesh)

  def steps(state, images, labels, num_steps):
    state, metrics = vmapped_steps(setup, num_steps)(state, images, labels)
    metrics = {key: m.reshape(-1) for key, m in metrics.items()}
    return state, {f'{key}/{i}': m[i] for key, m in metrics.items() for i in range(len(m))}

  compiled = jax.jit(steps, static_argnames='num_steps', donate_argnums=0)
  tester = evaluation.Evaluator(setup, ds.test_images, ds.test_labels,
                                config.eval.batch_size, stacked=True, mesh=mesh)

  def evaluate(step, state):
    per_variant = tester.metrics(flat_params(state))
    return {'epoch': step / steps_per_epoch,
            **{f'{key}/{i}': val[i] for key, val in per_variant.items()
               for i in range(len(val))}}

  earlier = loop.earlier_seconds(groupdir, first_step)
  writer = writers.MetricWriter(groupdir, resume_step=first_step,
                                enabled=distributed.is_main())
  try:
    state, step, _, seconds = loop.run(
        state=state, step_fn=lambda s, d, n: compiled(s, *d, num_steps=n), data=train_data,
        first_step=first_step, num_steps=config.train.num_epochs * steps_per_epoch,
        chunk=steps_per_epoch, log_every=steps_per_epoch,
        checkpoint_every=config.train.checkpoint_every_epochs * steps_per_epoch,
        writer=writer, checkpointer=ckpt, steps_per_call=loop.call_sizes(k, steps_per_epoch),
        evaluate=evaluate, stop_on_non_finite=False, seconds_before=earlier)
  finally:
    ckpt.close()
    writer.close()
  if step < config.train.num_epochs * steps_per_epoch:
    return None
  seconds += earlier
  final = tester.metrics(flat_params(state))
  return [{'value': val, 'seed': seed, 'seconds': seconds, 'group_size': len(variant_values),
           **{key: final[key][i] for key in final}}
          for i, (val, seed) in enumerate(zip(variant_values, variant_seeds))]


def aggregate(rows: list[dict], values) -> list[dict]:
  """Mean and std over seeds per value, in the config's order; NaN marks a diverged run."""
  table = []
  for value in values:
    mine = [r for r in rows if sweep_lib.value_key(r['value']) == sweep_lib.value_key(value)]
    if not mine:
      continue
    acc = np.array([r['test_accuracy'] for r in mine], np.float64)
    rmse = np.array([r['test_rmse'] for r in mine], np.float64)
    table.append({'value': value, 'seeds': len(mine),
                  'test_accuracy_mean': float(np.mean(acc)),
                  'test_accuracy_std': float(np.std(acc)),
                  'test_rmse_mean': float(np.mean(rmse)), 'test_rmse_std': float(np.std(rmse)),
                  'seconds': float(mine[0]['seconds']), 'trained_with': mine[0]['group_size']})
  return table


def write_tables(workdir: str, axis: str, table: list[dict]) -> None:
  sweep_lib.write_tables(
      workdir, table,
      [axis, 'seeds', 'test accuracy', 'test RMSE', 'seconds (variants trained together)'],
      lambda r: [f'{r["test_accuracy_mean"]:.4f} ± {r["test_accuracy_std"]:.4f}',
                 f'{r["test_rmse_mean"]:.3f} ± {r["test_rmse_std"]:.3f}',
                 f'{r["seconds"]:.1f} ({r["trained_with"]})'])

