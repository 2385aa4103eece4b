"""What the one-axis studies of classifiers (classifiers/sweep.py) and GANs (gans/sweep.py)
share: the variant configs that a config's `sweep` section (configs/sweep_common.py) names,
the groups of them trained together, and the plot of a score against the axis.

`sweep.axis` is a dotted config key, or several joined by commas. Several keys take the same
value (`optim.g_learning_rate,optim.d_learning_rate` at 2e-4: both rates at once), or one
each when the value is a tuple with one entry per key (`(2e-4, 6e-4)`: G's rate, D's rate;
`train.batch_size,optim.g_learning_rate` at `(16, 1e-4)`: a grid written as a list).
"""
import copy
import csv
import json
import logging
import os
import textwrap

from common import checks, distributed, images, writers


def axis_keys(axis: str) -> list[str]:
  return [key.strip() for key in axis.split(',')]


def axis_label(axis: str, values) -> str:
  """'optim.g_learning_rate,optim.d_learning_rate' -> 'g_learning_rate = d_learning_rate'
  (one value for both), or '(g_learning_rate, d_learning_rate)' where `values` give each key
  its own entry."""
  keys = axis_keys(axis)
  names = [key.split('.')[-1] for key in keys]
  split = [_splits(keys, value) for value in values]
  tupled, joined = f'({", ".join(names)})', ' = '.join(names)
  if split and all(split):
    return tupled
  return f'{joined}, or {tupled}' if any(split) else joined


def _splits(keys: list[str], value) -> bool:
  """Whether `value` gives each of several keys its own entry."""
  return len(keys) > 1 and isinstance(value, (tuple, list)) and len(value) == len(keys)


def value_key(value) -> str:
  """Compares values across a JSON round trip (a tuple comes back as a list)."""
  return json.dumps(value)


def value_label(value, width: int = 26) -> str:
  """`value` as the config wrote it, whether or not it went through JSON (lists back to
  tuples), wrapped at `width` so long tuple values fit a small panel's title."""
  def as_written(v):
    return tuple(as_written(x) for x in v) if isinstance(v, (list, tuple)) else v
  return textwrap.fill(str(as_written(value)), width)


def key_values(axis: str, value) -> dict:
  """{key: its value}: `value` split over the axis' keys when it has one entry per key (and
  there are several), else `value` for each."""
  keys = axis_keys(axis)
  if _splits(keys, value):
    return dict(zip(keys, value))
  return {key: value for key in keys}


def with_value(config, axis: str, value):
  """A copy of `config` (without its sweep section) with the axis' keys set to `value`."""
  out = copy.deepcopy(config)
  with out.unlocked():
    del out['sweep']
    for dotted, value in key_values(axis, value).items():
      node = out
      *parents, last = dotted.split('.')
      for part in parents:
        node = node[part]
      node[last] = value
  return out


def numbers(values) -> bool:
  return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values)


def validate(config, validate_variant) -> None:
  """The sweep section, then every variant's config through `validate_variant`."""
  checks.require(bool(config.sweep.axis_values), 'sweep.axis_values', config.sweep.axis_values,
                 'a non-empty tuple of values for the axis')
  checks.positive(config, 'sweep.seeds', integer=True)
  for key in axis_keys(config.sweep.axis):
    try:
      current = checks.get(config, key)
    except (KeyError, AttributeError):
      current = KeyError
    checks.require(current is not KeyError and not isinstance(current, dict), 'sweep.axis',
                   config.sweep.axis, 'the dotted name of a config value, e.g. '
                   'optim.learning_rate, or several joined by commas')
  for value in config.sweep.axis_values:
    validate_variant(with_value(config, config.sweep.axis, value))


def vmapped(config, vmappable) -> bool:
  """Whether all values train in one program: every axis key is in `vmappable`."""
  axis = config.sweep.axis
  return bool(config.sweep.vmap and all(
      numbers(key_values(axis, value).values()) for value in config.sweep.axis_values) and
              all(key in vmappable for key in axis_keys(axis)))


def groups(config, vmappable) -> list[tuple[list, object]]:
  """[(values trained together, config they share)]: all values at once when vmapped."""
  axis, values = config.sweep.axis, list(config.sweep.axis_values)
  if vmapped(config, vmappable):
    return [(values, with_value(config, axis, values[0]))]
  return [([value], with_value(config, axis, value)) for value in values]


def train_groups(config, workdir: str, vmappable, prepare, train_group) -> list[dict]:
  """Every variant's row: those of workdir/results.json, then `train_group(group_config,
  *prepared, axis, values, num_seeds, groupdir) -> rows` for each group not done yet, its
  rows saved as it ends (so a rerun resumes at the first unfinished group); a group that
  returns None was stopped before its last step, and the sweep stops there.
  `prepare(group_config)` -> a tuple (the data, and the scorers or what builds them) runs
  once, and only when something is left to train."""
  results_path = os.path.join(workdir, 'results.json')
  rows = writers.read_json(results_path, default=[])
  done = {value_key(r['value']) for r in rows}
  prepared = []
  for gi, (values, group_config) in enumerate(groups(config, vmappable)):
    if all(value_key(val) in done for val in values):
      continue
    if not prepared:
      prepared.append(prepare(group_config))
    logging.info('Sweep %s: training %s (x%d seeds) together.', config.sweep.axis, values,
                 config.sweep.seeds)
    new = train_group(group_config, *prepared[0], config.sweep.axis, values,
                      config.sweep.seeds, os.path.join(workdir, 'groups', str(gi)))
    if new is None:  # stopped by a signal, its checkpoint saved: the rerun continues it
      logging.warning('Sweep stopped in group %d; rerun the command to continue it.', gi)
      break
    rows += new
    if distributed.is_main():  # one writer per multi-process job
      writers.write_json(results_path, rows)
  return rows


def write_tables(workdir: str, table: list[dict], header: list[str], cells) -> None:
  """results.csv (every column of `table`) and results.md (`header`, then `cells(row)` for
  each row, both after the value and seeds columns)."""
  with open(os.path.join(workdir, 'results.csv'), 'w', newline='') as f:
    out = csv.DictWriter(f, fieldnames=list(table[0]))
    out.writeheader()
    out.writerows(table)
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join([str(r['value']), str(r['seeds'])] + cells(r)) + ' |'
            for r in table]
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')


def write_summary(workdir: str, config, vmappable, rows: list[dict], table: list[dict]) -> dict:
  """summary.json: the table, every variant's row and the training time of all groups (each
  group's rows carry its time and size), whichever invocations trained them."""
  summary = {'axis': config.sweep.axis, 'values': list(config.sweep.axis_values),
             'seeds': config.sweep.seeds, 'vmapped': vmapped(config, vmappable), 'rows': rows,
             'table': table,
             'train_seconds': sum(r['seconds'] / r['group_size'] for r in rows)}
  if distributed.is_main():
    writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary


def plot(table: list[dict], axis: str, series: list[tuple[str, str]], ylabel: str,
         path: str) -> None:
  """Scores against the axis: `series` of (table column prefix, legend label), each plotted
  as its `_mean` with `_std` error bars."""
  fig = images.new_figure((5, 3.4))
  ax = fig.add_subplot(1, 1, 1)
  values = [r['value'] for r in table]
  numeric = numbers(values)
  xs = values if numeric else list(range(len(values)))
  for column, label in series:
    ax.errorbar(xs, [r[f'{column}_mean'] for r in table],
                yerr=[r[f'{column}_std'] for r in table], marker='o', capsize=3, label=label)
  if numeric and min(values) > 0 and max(values) / min(values) >= 10:
    ax.set_xscale('log')
    ax.set_xticks(xs, [f'{x:g}' for x in values], minor=False)
    ax.set_xticks([], minor=True)
  if not numeric:
    ax.set_xticks(xs, [value_label(x) for x in values], rotation=30, ha='right')
  if len(series) > 1:
    ax.legend()
  ax.set_xlabel(axis_label(axis, values))
  ax.set_ylabel(ylabel)
  ax.grid(alpha=0.3)
  images.save_figure(fig, path, f'{ylabel} vs {axis_label(axis, values)}')
