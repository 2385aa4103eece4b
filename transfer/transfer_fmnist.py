"""Offline transfer experiment (configs/transfer_fmnist.py): pretrain on some Fashion-MNIST
classes, transfer to the others with few labels; head, SVM, fine-tuning vs from scratch."""
import csv
import os

from absl import logging
import jax
import numpy as np

from common import checks, data, distributed, images as images_lib, mesh as mesh_lib, weights
from common import writers
from transfer import finetune

METHODS = ('head', 'svm', 'finetune', 'scratch')
PRETRAINED_DIR = 'pretrained'  # common/weights.py's folder: params.msgpack, meta.json


def validate(config) -> None:
  d, m = config.dataset, config.model
  checks.one_of(config, 'dataset.name', data.DATASETS)
  for key in ('source_classes', 'target_classes'):
    classes = checks.get(config, f'dataset.{key}')
    checks.require(len(classes) >= 2 and len(set(classes)) == len(classes), f'dataset.{key}',
                   classes, 'at least two distinct class labels')
  checks.require(not set(d.source_classes) & set(d.target_classes), 'dataset.target_classes',
                 d.target_classes,
                 f'classes disjoint from dataset.source_classes {d.source_classes}')
  checks.require(len(m.blocks) > 0 and all(len(b) == 2 and b[0] > 0 and b[1] > 0 for b in m.blocks),
                 'model.blocks', m.blocks, '(width, number of 3x3 convs) per block, both > 0')
  finetune.check_layer(config, 'model.feature_layer', m.feature_layer, include_top=False,
                       blocks=_blocks(config))
  for key in ('train.pretrain_steps', 'train.pretrain_batch_size', 'train.steps',
              'train.batch_size', 'eval.batch_size'):
    checks.positive(config, key, integer=True)
  for key in ('optim.pretrain_learning_rate', 'optim.learning_rate',
              'optim.finetune_learning_rate'):
    checks.positive(config, key)
  checks.require(len(d.labels_per_class) > 0 and all(isinstance(n, int) and n > 0
                                                     for n in d.labels_per_class),
                 'dataset.labels_per_class', d.labels_per_class, 'positive integers')
  checks.require(len(config.svm.c) > 0 and all(c > 0 for c in config.svm.c), 'svm.c',
                 config.svm.c, 'positive numbers')
  checks.require(len(d.label_seeds) > 0, 'dataset.label_seeds', d.label_seeds,
                 'at least one seed')
  checks.require(0 <= m.finetune_frozen_blocks <= len(m.blocks), 'model.finetune_frozen_blocks',
                 m.finetune_frozen_blocks, f'0..{len(m.blocks)} (the number of blocks)')


def _blocks(config):
  return tuple(tuple(b) for b in config.model.blocks)


def _splits(config):
  ds = data.load(config.dataset.name, config.dataset.dir, config.dataset.download)
  try:
    return (data.restrict_classes(ds, config.dataset.source_classes),
            data.restrict_classes(ds, config.dataset.target_classes))
  except ValueError as e:
    raise checks.ConfigError(str(e)) from None


def pretrain(config, source, workdir):
  """The base (and its pretraining head), trained on the source classes; reused from the
  workdir when a previous run saved it."""
  net = _net(config, source.num_classes, config.model.pretrain_hidden)
  path = os.path.join(workdir, PRETRAINED_DIR)
  if distributed.process_0_finds(os.path.join(path, weights.PARAMS)):
    params, _ = weights.load(path, '')
    logging.info('Pretrained base restored from %s', path)
    seconds = None
  else:
    t = config.train
    params = net.init(jax.random.key(config.seed), source.image_shape)
    (params, losses), seconds = finetune.timed(
        finetune.fit, net, params, {}, source.train_images, source.train_labels,
        steps=t.pretrain_steps, batch_size=t.pretrain_batch_size,
        learning_rate=config.optim.pretrain_learning_rate, seed=config.seed)
    if distributed.is_main():
      weights.save(jax.tree.map(mesh_lib.local_copy, params), path,
                   {'steps': t.pretrain_steps, 'seconds': seconds,
                    'classes': list(source.class_names)})
    logging.info('Pretrained %d steps in %.1f s, final loss %.4f', t.pretrain_steps, seconds,
                 float(losses[-1]))
  acc = _accuracy(net, params, source.test_images, source.test_labels, config)
  base = finetune.base_of(params)
  return base, {'test_accuracy': acc, 'seconds': seconds, 'steps': config.train.pretrain_steps,
                'classes': list(source.class_names)}


def _net(config, num_classes, hidden):
  return finetune.BaseAndHead(_blocks(config), config.model.feature_layer, num_classes,
                              tuple(hidden), prepare=finetune.to_unit_float)


def _accuracy(net, params, images, labels, config):
  return finetune.accuracy(finetune.outputs(net, images, config.eval.batch_size, params), labels)


def transfer_once(config, base, target, test_features, n, seed):
  """The four methods on `n` labels per target class drawn with `seed`: {method: row}."""
  t, o = config.train, config.optim
  net = _net(config, target.num_classes, config.model.head_hidden)
  idx = finetune.few_labels(target.train_labels, n, seed)
  x, y = target.train_images[idx], target.train_labels[idx]
  fit = dict(steps=t.steps, batch_size=t.batch_size, seed=seed)
  key_head, key_scratch = jax.random.split(jax.random.key(seed + 1))
  rows = {}

  features = finetune.outputs(net.features, x, config.eval.batch_size, base)
  head = {'head': net.init_head(key_head, features.shape[1:])}
  (head, _), sec = finetune.timed(finetune.fit, net.head, head, {}, features, y,
                                  learning_rate=o.learning_rate, **fit)
  logits = finetune.outputs(net.head, test_features, config.eval.batch_size, head)
  rows['head'] = {'test_accuracy': finetune.accuracy(logits, target.test_labels), 'seconds': sec}

  svm_rows, sec = finetune.timed(finetune.svm_sweep, features, y, test_features,
                                 target.test_labels, config.svm.c, seed)
  chosen = finetune.best_by_cv(svm_rows)
  rows['svm'] = {'test_accuracy': chosen['test_accuracy'], 'seconds': sec, 'C': chosen['C'],
                 'sweep': svm_rows}

  trainable, frozen = finetune.partition(
      {**base, 'head': net.init_head(key_head, features.shape[1:])},
      lambda name: finetune.block_of(name) > config.model.finetune_frozen_blocks)
  (tuned, _), sec = finetune.timed(finetune.fit, net, trainable, frozen, x, y,
                                   learning_rate=o.finetune_learning_rate, **fit)
  rows['finetune'] = {'test_accuracy': _accuracy(net, {**tuned, **frozen}, target.test_images,
                                                 target.test_labels, config), 'seconds': sec,
                      'frozen_layers': sorted(frozen)}

  scratch = net.init(key_scratch, target.image_shape)
  (scratch, _), sec = finetune.timed(finetune.fit, net, scratch, {}, x, y,
                                     learning_rate=o.learning_rate, **fit)
  rows['scratch'] = {'test_accuracy': _accuracy(net, scratch, target.test_images,
                                                target.test_labels, config), 'seconds': sec}
  return rows


def train_and_evaluate(config, workdir: str) -> dict:
  source, target = _splits(config)
  os.makedirs(workdir, exist_ok=True)
  base, pretrain_info = pretrain(config, source, workdir)
  logging.info('Pretrained base: %.4f on the source classes\' test images',
               pretrain_info['test_accuracy'])
  net = _net(config, target.num_classes, config.model.head_hidden)
  test_features = finetune.outputs(net.features, target.test_images, config.eval.batch_size,
                                   base)

  table, svm_table = [], []
  for n in config.dataset.labels_per_class:
    runs = [transfer_once(config, base, target, test_features, n, seed)
            for seed in config.dataset.label_seeds]
    for method in METHODS:
      accs = [r[method]['test_accuracy'] for r in runs]
      table.append({'labels_per_class': n, 'method': method,
                    'test_accuracy': float(np.mean(accs)), 'std': float(np.std(accs)),
                    'seconds': float(np.mean([r[method]['seconds'] for r in runs]))})
      logging.info('%4d labels/class  %-8s %.4f', n, method, table[-1]['test_accuracy'])
    svm_table += [{'labels_per_class': n, 'seed': seed, **row}
                  for seed, r in zip(config.dataset.label_seeds, runs) for row in r['svm']['sweep']]

  summary = {'pretrain': pretrain_info, 'target_classes': list(target.class_names),
             'num_test_images': len(target.test_labels), 'table': table,
             'num_devices': mesh_lib.job_mesh().size}
  if distributed.is_main():  # one writer per multi-process job
    writers.write_json(os.path.join(workdir, 'summary.json'), summary)
    _write_tables(workdir, table, svm_table, config.dataset.labels_per_class)
    _plot(workdir, table, config.dataset.labels_per_class)
  return summary


def _write_tables(workdir, table, svm_table, counts):
  for name, rows in (('results.csv', table), ('svm.csv', svm_table)):
    with open(os.path.join(workdir, name), 'w', newline='') as f:
      out = csv.DictWriter(f, fieldnames=list(rows[0]))
      out.writeheader()
      out.writerows(rows)
  cell = {(r['labels_per_class'], r['method']): r for r in table}
  lines = ['| labels per class | ' + ' | '.join(METHODS) + ' |',
           '|---|' + '---|' * len(METHODS)]
  for n in counts:
    lines.append(f'| {n} | ' + ' | '.join(
        f'{cell[n, m]["test_accuracy"]:.4f}' + (f' ± {cell[n, m]["std"]:.4f}'
                                                 if cell[n, m]['std'] else '')
        for m in METHODS) + ' |')
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')


def _plot(workdir, table, counts):
  fig = images_lib.new_figure((5.5, 3.6))
  ax = fig.add_subplot(1, 1, 1)
  for method in METHODS:
    rows = [r for r in table if r['method'] == method]
    ax.errorbar([r['labels_per_class'] for r in rows], [r['test_accuracy'] for r in rows],
                yerr=[r['std'] for r in rows], marker='o', capsize=3, label=method)
  ax.set_xscale('log')
  ax.set_xticks(list(counts), [str(n) for n in counts])
  ax.set_xlabel('labels per target class')
  ax.set_ylabel('target test accuracy')
  ax.grid(alpha=0.3)
  ax.legend()
  images_lib.save_figure(fig, os.path.join(workdir, 'plots', 'accuracy_vs_labels.png'),
                         'transfer to new classes with few labels')
