"""Report 000's VGG16 transfer (configs/vgg16_head.py): the frozen base with a new head,
optionally fine-tuning the top `model.trainable_blocks` blocks, on an image folder."""
import os

from absl import logging
import jax

from common import checks, distributed, images as images_lib
from transfer import finetune, vgg16, vgg16_transfer


def validate(config) -> None:
  vgg16_transfer.validate_data(config)
  m = config.model
  finetune.check_layer(config, 'model.feature_layer', m.feature_layer, include_top=False)
  checks.require(0 <= m.trainable_blocks <= len(vgg16.BLOCKS), 'model.trainable_blocks',
                 m.trainable_blocks,
                 f'0..{len(vgg16.BLOCKS)} (VGG16 blocks fine-tuned from the top)')
  for key in ('train.steps', 'train.batch_size'):
    checks.positive(config, key, integer=True)
  for key in ('optim.learning_rate', 'optim.finetune_learning_rate'):
    checks.positive(config, key)


def train_and_evaluate(config, workdir: str) -> dict:
  return vgg16_transfer.run(config, workdir, _fit)


def _fit(config, workdir, params, meta, splits, classes):
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
  if distributed.is_main():  # one writer per multi-process job
    images_lib.plot_metrics([{'step': i + 1, 'train_loss': float(l)}
                             for i, l in enumerate(losses)], ['train_loss'],
                            os.path.join(workdir, 'plots', 'loss.png'), 'head training loss')
    with open(os.path.join(workdir, 'results.md'), 'w') as f:
      f.write(f'| feature layer | trainable blocks | steps | test accuracy |\n|---|---|---|---|\n'
              f'| {m.feature_layer} | {m.trainable_blocks} | {t.steps} | {acc:.4f} |\n')
  return {'test_accuracy': acc, 'train_seconds': seconds,
          'trainable_params': int(sum(a.size for a in jax.tree.leaves(trained))),
          'frozen_layers': sorted(frozen)}
