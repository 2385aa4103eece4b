"""One-axis hyperparameter studies: `train_and_evaluate(config, workdir)` for sweep configs.

A sweep config is a classifier config plus a `sweep` section naming the axis (a dotted
config key), its values and the seeds per value. Variants that share shapes (the learning
rate, the seed, a constant initial weight) train together in one compiled program,
`jax.vmap` over stacked states; other axes run one value after another, each value's
seeds still vmapped. Writes results.md and results.csv (value, seeds, test accuracy and
RMSE as mean +- std, seconds), plots/sweep.png, and summary.json. Rerunning the command
resumes: finished groups are kept, an interrupted one continues from its checkpoint.
"""
import copy
import csv
import dataclasses
import functools
import json
import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from common import checkpoint, checks, images, loop, mesh as mesh_lib, writers
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


def variants_setup(setup):
  """The setup a stacked group trains with: MLPs laid out for vmap (models.MLP.vmapped)."""
  if isinstance(setup.model, models.MLP):
    return dataclasses.replace(setup, model=setup.model.clone(vmapped=True))
  return setup


def vmapped_steps(setup, num_steps: int):
  """train_steps over states stacked [seed, value]; metrics come back [seed, value]."""
  one = functools.partial(step_lib.train_steps, setup=setup, num_steps=num_steps)
  inner = jax.vmap(one, in_axes=(VALUE_AXES, None, None), out_axes=(VALUE_AXES, 0))
  return jax.vmap(inner, in_axes=(SEED_AXES, None, None), out_axes=(SEED_AXES, 0))


def flat_params(state):
  """Parameters [seed, value, ...] as [variant, ...] (variant = seed * num_values + value)."""
  return jax.tree.map(lambda p: p.reshape((-1, *p.shape[2:])), state.params)


def validate(config) -> None:
  checks.require(bool(config.sweep.axis_values), 'sweep.axis_values', config.sweep.axis_values,
                 'a non-empty tuple of values for the axis')
  checks.positive(config, 'sweep.seeds', integer=True)
  try:
    current = checks.get(config, config.sweep.axis)
  except (KeyError, AttributeError):
    current = KeyError
  checks.require(current is not KeyError and not isinstance(current, dict), 'sweep.axis',
                 config.sweep.axis, 'the dotted name of a config value, e.g. optim.learning_rate')
  for value in config.sweep.axis_values:
    variant = _with(config, config.sweep.axis, value)
    build.validate(variant)


def _key(value) -> str:
  """Compares values across a JSON round trip (a tuple comes back as a list)."""
  return json.dumps(value)


def _with(config, dotted: str, value):
  """A copy of `config` (without its sweep section) with one value changed."""
  out = copy.deepcopy(config)
  with out.unlocked():
    del out['sweep']
    node = out
    *parents, last = dotted.split('.')
    for part in parents:
      node = node[part]
    node[last] = value
  return out


def _numbers(values) -> bool:
  return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values)


def vmapped(config) -> bool:
  """Whether all values train in one program (init_constant None means Flax's init)."""
  return bool(config.sweep.vmap and config.sweep.axis in VMAPPABLE and
              _numbers(config.sweep.axis_values))


def groups(config) -> list[tuple[list, object]]:
  """[(values trained together, config they share)]: all values at once when vmappable."""
  axis, values = config.sweep.axis, list(config.sweep.axis_values)
  if vmapped(config):
    return [(values, _with(config, axis, values[0]))]
  return [([value], _with(config, axis, value)) for value in values]


def stacked_state(setup, config, axis: str, values: list, seeds: list, num_examples: int):
  """States stacked [seed, value], and each variant's value and seed in flattened order.

  Only the learning rate and the constant initial weight vary within a seed; a sweep over
  any other axis calls this once per value (the value already in `setup`).
  """
  varies = axis in ('optim.learning_rate', 'model.init_constant') and _numbers(values)
  if axis == 'seed':  # the values are the seeds
    seed_list = [int(val) + s for val in values for s in seeds]
  else:
    seed_list = [config.seed + s for s in seeds]
  inner = values if varies else [0.0]
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

  state = jax.jit(jax.vmap(per_seed, out_axes=SEED_AXES))(keys)
  if axis == 'seed':
    variant_values = [val for val in values for _ in seeds]
  elif varies:
    variant_values = [val for _ in seed_list for val in values]
  else:
    variant_values = [values[0]] * len(seed_list)
  variant_seeds = [seed for seed in seed_list for _ in inner]
  return state, variant_values, variant_seeds


def train_and_evaluate(config, workdir: str) -> dict:
  validate(config)
  axis = config.sweep.axis
  results_path = os.path.join(workdir, 'results.json')
  rows = writers.read_json(results_path, default=[])
  done = {_key(r['value']) for r in rows}
  t_sweep = time.perf_counter()
  ds = mesh = None
  for gi, (values, group_config) in enumerate(groups(config)):
    if all(_key(val) in done for val in values):
      continue
    if ds is None:
      mesh = mesh_lib.data_mesh(group_config.train.num_devices or None)
      ds = build.load_data(group_config)
    logging.info('Sweep %s: training %s (x%d seeds) together.', axis, values,
                 config.sweep.seeds)
    rows += _train_group(group_config, ds, mesh, axis, values, config.sweep.seeds,
                         os.path.join(workdir, 'groups', str(gi)))
    writers.write_json(results_path, rows)
  table = aggregate(rows, config.sweep.axis_values)
  write_tables(workdir, axis, table)
  plot(table, axis, os.path.join(workdir, 'plots', 'sweep.png'))
  summary = {'axis': axis, 'values': list(config.sweep.axis_values), 'seeds': config.sweep.seeds,
             'vmapped': vmapped(config), 'rows': rows,
             'table': table, 'seconds': time.perf_counter() - t_sweep}
  writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary


def _train_group(config, ds, mesh, axis, values, num_seeds, groupdir) -> list[dict]:
  mesh_lib.check_batch_divides(config.train.batch_size, mesh)
  setup = variants_setup(build.build_setup(config, ds, mesh))
  num_examples = len(ds.train_images)
  steps_per_epoch = num_examples // config.train.batch_size
  k = build.steps_per_call(config, setup, steps_per_epoch)
  state, variant_values, variant_seeds = stacked_state(
      setup, config, axis, values, list(range(num_seeds)), num_examples)
  ckpt = checkpoint.Checkpointer(groupdir, config.train.keep_checkpoints)
  state = ckpt.restore_or_keep(state)
  first_step = int(state.step)
  train_data = mesh_lib.put_replicated((ds.train_images, ds.train_labels), mesh)

  def steps(state, images, labels, num_steps):
    state, metrics = vmapped_steps(setup, num_steps)(state, images, labels)
    metrics = {key: m.reshape(-1) for key, m in metrics.items()}
    return state, {f'{key}/{i}': m[i] for key, m in metrics.items() for i in range(len(m))}

  compiled = jax.jit(steps, static_argnames='num_steps', donate_argnums=0)
  tester = evaluation.Evaluator(setup, ds.test_images, ds.test_labels,
                                config.eval.batch_size, stacked=True)

  def evaluate(step, state):
    per_variant = tester.metrics(flat_params(state))
    return {'epoch': step / steps_per_epoch,
            **{f'{key}/{i}': val[i] for key, val in per_variant.items()
               for i in range(len(val))}}

  writer = writers.MetricWriter(groupdir, resume_step=first_step)
  try:
    state, _, _, seconds = loop.run(
        state=state, step_fn=lambda s, d, n: compiled(s, *d, num_steps=n), data=train_data,
        first_step=first_step, num_steps=config.train.num_epochs * steps_per_epoch,
        chunk=steps_per_epoch, log_every=steps_per_epoch,
        checkpoint_every=config.train.checkpoint_every_epochs * steps_per_epoch,
        writer=writer, checkpointer=ckpt, steps_per_call=build.call_sizes(k, steps_per_epoch),
        evaluate=evaluate, stop_on_non_finite=False)
  finally:
    ckpt.close()
    writer.close()
  final = tester.metrics(flat_params(state))
  return [{'value': val, 'seed': seed, 'seconds': seconds, 'group_size': len(variant_values),
           **{key: final[key][i] for key in final}}
          for i, (val, seed) in enumerate(zip(variant_values, variant_seeds))]


def aggregate(rows: list[dict], values) -> list[dict]:
  """Mean and std over seeds per value, in the config's order; NaN marks a diverged run."""
  table = []
  for value in values:
    mine = [r for r in rows if _key(r['value']) == _key(value)]
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
  with open(os.path.join(workdir, 'results.csv'), 'w', newline='') as f:
    out = csv.DictWriter(f, fieldnames=list(table[0]))
    out.writeheader()
    out.writerows(table)
  lines = [f'| {axis} | seeds | test accuracy | test RMSE | seconds (variants trained together) |',
           '|---|---|---|---|---|']
  for r in table:
    lines.append(f'| {r["value"]} | {r["seeds"]} | {r["test_accuracy_mean"]:.4f} ± '
                 f'{r["test_accuracy_std"]:.4f} | {r["test_rmse_mean"]:.3f} ± '
                 f'{r["test_rmse_std"]:.3f} | {r["seconds"]:.1f} ({r["trained_with"]}) |')
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')


def plot(table: list[dict], axis: str, path: str) -> None:
  fig = images.new_figure((5, 3.4))
  ax = fig.add_subplot(1, 1, 1)
  values = [r['value'] for r in table]
  numeric = _numbers(values)
  xs = values if numeric else list(range(len(values)))
  ax.errorbar(xs, [r['test_accuracy_mean'] for r in table],
              yerr=[r['test_accuracy_std'] for r in table], marker='o', capsize=3)
  if numeric and min(values) > 0 and max(values) / min(values) >= 100:
    ax.set_xscale('log')
  if not numeric:
    ax.set_xticks(xs, [str(x) for x in values], rotation=30, ha='right')
  ax.set_xlabel(axis)
  ax.set_ylabel('test accuracy')
  ax.grid(alpha=0.3)
  images.save_figure(fig, path, f'test accuracy vs {axis}')
