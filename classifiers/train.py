"""Classifier training: `train_and_evaluate(config, workdir)` as launch.py calls it.

One row per epoch in metrics.jsonl: the epoch's mean train loss and accuracy, then the
test loss, accuracy and RMSE. At the end: summary.json, plots/ (curves, confusion matrix)
and figures/test_predictions.png. The parts come from classifiers/build.py.
"""
import functools
import logging
import os

import jax

from common import checkpoint, distributed, loop, mesh as mesh_lib, writers
from classifiers import build, evaluation, figures, models as models_lib
from classifiers import step as step_lib

CONSOLE_KEYS = ('train_loss', 'train_accuracy', 'test_loss', 'test_accuracy', 'test_rmse')
validate = build.validate  # launch.py checks a config before anything starts


def train_and_evaluate(config, workdir: str) -> dict:
  ds = build.load_data(config)
  num_examples = len(ds.train_images)
  mesh = mesh_lib.training_mesh(config.train.num_devices, config.train.batch_size, num_examples)
  setup = build.build_setup(config, ds, mesh)
  steps_per_epoch = num_examples // config.train.batch_size
  k = build.steps_per_call(config, steps_per_epoch)
  logging.info('Data: %s from %s, %d training images of %s, %d classes; %d device(s).',
               ds.name, ds.source, num_examples, ds.image_shape, ds.num_classes,
               mesh.devices.size)

  state = build.initial_state(setup, config.seed, num_examples)
  ckpt, state, first_step = checkpoint.resume(workdir, state, config.train.keep_checkpoints)
  train_data = mesh_lib.put_replicated((ds.train_images, ds.train_labels), mesh)
  compiled = jax.jit(functools.partial(step_lib.train_steps, setup=setup),
                     static_argnames='num_steps', donate_argnums=0)
  tester = evaluation.Evaluator(setup, ds.test_images, ds.test_labels,
                                config.eval.batch_size)

  def evaluate(step, state):
    return {'epoch': step / steps_per_epoch, **tester.metrics(state.params)}

  earlier = loop.earlier_seconds(workdir, first_step)
  is_main = distributed.is_main()
  writer = writers.MetricWriter(workdir, resume_step=first_step, enabled=is_main)
  num_steps = config.train.num_epochs * steps_per_epoch
  try:
    state, step, last, seconds = loop.run(
        state=state, step_fn=lambda s, d, n: compiled(s, *d, num_steps=n), data=train_data,
        first_step=first_step, num_steps=num_steps, chunk=steps_per_epoch,
        log_every=steps_per_epoch,
        checkpoint_every=config.train.checkpoint_every_epochs * steps_per_epoch,
        writer=writer, checkpointer=ckpt, console_keys=CONSOLE_KEYS,
        steps_per_call=loop.call_sizes(k, steps_per_epoch),
        evaluate=evaluate, seconds_before=earlier)
  finally:
    ckpt.close()
    writer.close()

  final, predicted = tester.metrics(state.params, with_predictions=True)
  summary = {
      'steps': step, 'epochs': step / steps_per_epoch, 'resumed_from_step': first_step,
      'train_seconds': seconds, 'total_train_seconds': seconds + earlier,
      'params': models_lib.count_params(state.params),
      'dataset': ds.name, 'classes': list(ds.class_names), 'num_devices': int(mesh.devices.size),
      'train_loss': last.get('train_loss'), 'train_accuracy': last.get('train_accuracy'),
      **final}
  if is_main:
    writers.write_json(os.path.join(workdir, 'summary.json'), summary)
    figures.write_run_figures(workdir, ds, predicted, title=f'{config.model.name} on {ds.name}')
  logging.info('Test accuracy %.4f, loss %.4f, RMSE %.4f after %d epochs (%.1f s).',
               final['test_accuracy'], final['test_loss'], final['test_rmse'],
               step // steps_per_epoch, seconds)
  return summary
