"""Report 001's VGG16 transfer (configs/vgg16_svm.py): features at several layers of the
network, each with linear SVMs over a range of C, on an image folder."""
import csv
import functools
import os

from absl import logging
import jax.numpy as jnp
import numpy as np

from common import checks, distributed, images as images_lib, writers
from transfer import finetune, vgg16, vgg16_transfer

SPATIAL_POOLS = ('mean', 'max', 'none')


def validate(config) -> None:
  vgg16_transfer.validate_data(config)
  s = config.svm
  checks.require(len(s.layers) > 0, 'svm.layers', s.layers, 'at least one layer name')
  for layer in s.layers:
    finetune.check_layer(config, 'svm.layers', layer, include_top=True)
  checks.require(len(s.c) > 0 and all(c > 0 for c in s.c), 'svm.c', s.c, 'positive numbers')
  checks.one_of(config, 'svm.spatial_pool', SPATIAL_POOLS)


def train_and_evaluate(config, workdir: str) -> dict:
  return vgg16_transfer.run(config, workdir, _fit)


def layer_features(config, workdir, params, meta, images, layer, split):
  """Features of `images` at `layer` (spatially pooled per config.svm.spatial_pool), cached in
  workdir/features/<layer>_<split>.npz so a rerun skips the network."""
  path = os.path.join(workdir, 'features', f'{layer}_{split}.npz')
  if distributed.process_0_finds(path):
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
  if distributed.is_main():  # one writer per multi-process job; every process reads it
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with writers.whole_file(path) as f:
      np.savez(f, features=feats)
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


def _fit(config, workdir, params, meta, splits, classes):
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
  if distributed.is_main():  # one writer per multi-process job
    _write_results(workdir, rows, best, s)
  return {'table': rows, 'best': best}


def _write_results(workdir, rows, best, s):
  """results.csv (every layer and C), results.md and plots/accuracy_vs_c.png."""
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
