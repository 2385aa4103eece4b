"""VGG16 transfer on image folders: configs/vgg16_head.py (report 000: frozen base + new head,
optionally fine-tuning the top blocks) and configs/vgg16_svm.py (report 001: features at
several layers + linear SVMs)."""
import csv
import functools
import os

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from common import checks, image_folder, images as images_lib, writers
from transfer import convert, finetune, vgg16

SPATIAL_POOLS = ('mean', 'max', 'none')


def validate(config) -> None:
  d = config.dataset
  if d.tfds_name:
    checks.require(not d.train_dir and not d.test_dir, 'dataset.tfds_name', d.tfds_name,
                   "'' when data.train_dir / data.test_dir name image folders (one source)")
    checks.non_negative(config, 'dataset.max_examples')
  else:
    checks.require(isinstance(d.train_dir, str) and os.path.isdir(d.train_dir), 'dataset.train_dir',
                   d.train_dir, 'a folder with one subfolder of images per class (or set '
                   'data.tfds_name, e.g. cats_vs_dogs)')
    checks.require(d.test_dir == '' or os.path.isdir(d.test_dir), 'dataset.test_dir', d.test_dir,
                   "a folder with the same class subfolders, or '' to hold out data.test_fraction")
  if not d.test_dir:
    checks.require(0 < d.test_fraction < 1, 'dataset.test_fraction', d.test_fraction,
                   'a fraction in (0, 1) of each class held out for testing')
  checks.require(isinstance(d.image_size, int) and d.image_size >= 32, 'dataset.image_size',
                 d.image_size, 'an integer >= 32 (five 2x2 poolings; 224 for the fc layers)')
  checks.one_of(config, 'dataset.resize', ('auto', *image_folder.RESIZES))
  checks.one_of(config, 'model.dtype', vgg16.DTYPES)
  checks.positive(config, 'eval.batch_size', integer=True)
  if config.trainer == 'vgg16_head':
    m = config.model
    finetune.check_layer(config, 'model.feature_layer', m.feature_layer, include_top=False)
    checks.require(0 <= m.trainable_blocks <= len(vgg16.BLOCKS), 'model.trainable_blocks',
                   m.trainable_blocks,
                   f'0..{len(vgg16.BLOCKS)} (VGG16 blocks fine-tuned from the top)')
    for key in ('train.steps', 'train.batch_size'):
      checks.positive(config, key, integer=True)
    for key in ('optim.learning_rate', 'optim.finetune_learning_rate'):
      checks.positive(config, key)
  else:
    s = config.svm
    checks.require(len(s.layers) > 0, 'svm.layers', s.layers, 'at least one layer name')
    for layer in s.layers:
      finetune.check_layer(config, 'svm.layers', layer, include_top=True)
    checks.require(len(s.c) > 0 and all(c > 0 for c in s.c), 'svm.c', s.c, 'positive numbers')
    checks.one_of(config, 'svm.spatial_pool', SPATIAL_POOLS)


def load_data(config, meta):
  """(train images, train labels, test images, test labels, class names), uint8 RGB."""
  d = config.dataset
  resize = convert.resize_mode(d.resize, meta)
  def read(key):
    try:
      if key == 'tfds_name':
        return image_folder.read_tfds(d.tfds_name, d.tfds_dir, d.image_size, resize,
                                      max_examples=d.max_examples)
      return image_folder.read_folder(d[key], size=d.image_size, resize=resize)
    except (FileNotFoundError, ValueError) as e:
      raise checks.ConfigError(f'config.dataset.{key} = {d[key]!r}: {e}') from None

  train_x, train_y, classes = read('tfds_name' if d.tfds_name else 'train_dir')
  if d.test_dir:
    test_x, test_y, test_classes = read('test_dir')
    checks.require(test_classes == classes, 'dataset.test_dir', d.test_dir,
                   f'the class subfolders of data.train_dir ({", ".join(classes)}); it has '
                   f'{", ".join(test_classes)}')
    return train_x, train_y, test_x, test_y, classes
  rng = np.random.default_rng(config.seed)
  test = np.zeros(len(train_y), bool)
  for c in range(len(classes)):   # the same fraction of every class held out
    idx = rng.permutation(np.flatnonzero(train_y == c))
    test[idx[:max(1, round(d.test_fraction * len(idx)))]] = True
  return train_x[~test], train_y[~test], train_x[test], train_y[test], classes


def train_and_evaluate(config, workdir: str) -> dict:
  params, meta = convert.load_weights(config)
  train_x, train_y, test_x, test_y, classes = load_data(config, meta)
  logging.info('%d train / %d test images, %d classes: %s', len(train_y), len(test_y),
               len(classes), ', '.join(classes))
  run = _head if config.trainer == 'vgg16_head' else _svm
  summary = run(config, workdir, params, meta, (train_x, train_y, test_x, test_y), classes)
  summary.update({'weights_dir': config.model.weights_dir, 'source': meta['source'],
                  'classes': list(classes), 'num_train': len(train_y),
                  'num_test': len(test_y)})
  writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary


def _head(config, workdir, params, meta, splits, classes):
  m, t, o = config.model, config.train, config.optim
  train_x, train_y, test_x, test_y = splits
  base = finetune.base_of(params)
  net = finetune.BaseAndHead(vgg16.BLOCKS, vgg16.canonical(m.feature_layer, False),
                             len(classes), tuple(m.head_hidden),
                             vgg16.DTYPES[m.dtype],
                             vgg16.PREPROCESS[meta['preprocessing']])
  bs = config.eval.batch_size
  first_trainable = len(vgg16.BLOCKS) - m.trainable_blocks + 1
  if m.trainable_blocks == 0:
    train_f = finetune.outputs(net.features, train_x, bs, base)   # the frozen base, once
    head = {'head': net.init_head(jax.random.key(config.seed), train_f.shape[1:])}
    (head, losses), seconds = finetune.timed(
        finetune.fit, net.head, head, {}, train_f, train_y, steps=t.steps,
        batch_size=t.batch_size, learning_rate=o.learning_rate, seed=config.seed)
    logits = finetune.outputs(net.head, finetune.outputs(net.features, test_x, bs, base), bs,
                              head)
    trained, frozen = head, base
  else:
    feature_shape = jax.eval_shape(net.features, base, test_x[:1]).shape[1:]
    trainable, frozen = finetune.partition(
        {**base, 'head': net.init_head(jax.random.key(config.seed), feature_shape)},
        lambda name: finetune.block_of(name) >= first_trainable)
    rates = tuple((name, o.learning_rate if name == 'head' else o.finetune_learning_rate)
                  for name in sorted(trainable))
    (trained, losses), seconds = finetune.timed(
        finetune.fit, net, trainable, frozen, train_x, train_y, steps=t.steps,
        batch_size=t.batch_size, learning_rate=rates, seed=config.seed)
    logits = finetune.outputs(net, test_x, bs, {**trained, **frozen})
  acc = finetune.accuracy(logits, test_y)
  logging.info('Test accuracy %.4f (%d steps, %.1f s)', acc, t.steps, seconds)
  images_lib.plot_metrics([{'step': i + 1, 'train_loss': float(l)} for i, l in enumerate(losses)],
                          ['train_loss'], os.path.join(workdir, 'plots', 'loss.png'),
                          'head training loss')
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write(f'| feature layer | trainable blocks | steps | test accuracy |\n|---|---|---|---|\n'
            f'| {m.feature_layer} | {m.trainable_blocks} | {t.steps} | {acc:.4f} |\n')
  return {'test_accuracy': acc, 'train_seconds': seconds,
          'trainable_params': int(sum(a.size for a in jax.tree.leaves(trained))),
          'frozen_layers': sorted(frozen)}


def layer_features(config, workdir, params, meta, images, layer, split):
  """Features of `images` at `layer` (spatially pooled per config.svm.spatial_pool), cached in
  workdir/features/<layer>_<split>.npz so a rerun skips the network."""
  path = os.path.join(workdir, 'features', f'{layer}_{split}.npz')
  if os.path.isfile(path):
    with np.load(path) as f:
      if len(f['features']) == len(images):
        return f['features']
  canonical = vgg16.canonical(layer)
  if canonical not in vgg16.layers(include_top=False) and not meta['include_top']:
    raise checks.ConfigError(f'config.svm.layers: {layer!r} is in the top (fc1/fc2) but '
                             f'{config.model.weights_dir} has no top; convert the full weights '
                             'file.')
  fn = _feature_fn(layer, canonical not in vgg16.layers(include_top=False), config.model.dtype,
                   config.svm.spatial_pool, meta['preprocessing'])
  feats = finetune.outputs(fn, images, config.eval.batch_size, params)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  np.savez(path + '.tmp.npz', features=feats)
  os.replace(path + '.tmp.npz', path)
  return feats


@functools.lru_cache(maxsize=32)
def _feature_fn(layer, include_top, dtype, pool, preprocessing):
  """fn(params, images) -> [N, D] features at `layer`: one function (so one compiled
  program) for the train and test images, with the weights an argument, not a constant
  folded into the program."""
  model = vgg16.VGG16(include_top=include_top, dtype=vgg16.DTYPES[dtype])

  def fn(params, x):
    out = model.apply({'params': params}, vgg16.PREPROCESS[preprocessing](x),
                      (layer,))[layer].astype(jnp.float32)
    if out.ndim == 4 and pool != 'none':
      out = out.mean(axis=(1, 2)) if pool == 'mean' else out.max(axis=(1, 2))
    return out.reshape(out.shape[0], -1)
  return fn


def _svm(config, workdir, params, meta, splits, classes):
  del classes
  s = config.svm
  train_x, train_y, test_x, test_y = splits
  rows, best = [], []
  for layer in s.layers:
    train_f = layer_features(config, workdir, params, meta, train_x, layer, 'train')
    test_f = layer_features(config, workdir, params, meta, test_x, layer, 'test')
    sweep = finetune.svm_sweep(train_f, train_y, test_f, test_y, s.c, config.seed)
    rows += [{'layer': layer, 'dims': int(train_f.shape[1]), **r} for r in sweep]
    chosen = finetune.best_by_cv(sweep)
    best.append({'layer': layer, 'C': chosen['C'], 'test_accuracy': chosen['test_accuracy']})
    logging.info('%s (%d dims): C=%g by CV, test accuracy %.4f', layer, train_f.shape[1],
                 chosen['C'], chosen['test_accuracy'])
  with open(os.path.join(workdir, 'results.csv'), 'w', newline='') as f:
    out = csv.DictWriter(f, fieldnames=list(rows[0]))
    out.writeheader()
    out.writerows(rows)
  lines = ['| layer | dims | ' + ' | '.join(f'C={c:g}' for c in s.c) + ' | C by CV | test '
           'accuracy at that C |', '|---|---|' + '---|' * (len(s.c) + 2)]
  for b in best:
    accs = [r for r in rows if r['layer'] == b['layer']]
    lines.append(f'| {b["layer"]} | {accs[0]["dims"]} | ' +
                 ' | '.join(f'{r["test_accuracy"]:.4f}' for r in accs) +
                 f' | {b["C"]:g} | {b["test_accuracy"]:.4f} |')
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  fig = images_lib.new_figure((5.5, 3.6))
  ax = fig.add_subplot(1, 1, 1)
  for layer in s.layers:
    r = [x for x in rows if x['layer'] == layer]
    ax.plot([x['C'] for x in r], [x['test_accuracy'] for x in r], 'o-', label=layer)
  ax.set_xscale('log')
  ax.set_xlabel('SVM C')
  ax.set_ylabel('test accuracy')
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  images_lib.save_figure(fig, os.path.join(workdir, 'plots', 'accuracy_vs_c.png'),
                         'linear SVM on VGG16 features')
  return {'table': rows, 'best': best}
