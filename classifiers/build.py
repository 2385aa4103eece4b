"""A classifier run's config turned into its parts, checked first: the model, the data, the
step's setup, the initial state and the compiled call sizes. The trainer, the sweep and the
loaders of trained classifiers share these; nothing here trains."""
import functools

import jax

from common import checks, data, mesh as mesh_lib
from classifiers import losses, models as models_lib, optimizers
from classifiers import step as step_lib

MODELS = ('mlp', 'convnet')


def validate(config) -> None:
  checks.one_of(config, 'dataset.name', data.DATASETS)
  checks.one_of(config, 'dataset.pixel_range', data.PIXEL_RANGES)
  checks.one_of(config, 'model.name', MODELS)
  checks.non_negative(config, 'model.num_outputs')
  activations = models_lib.ACTIVATIONS
  checks.one_of(config, 'model.activation', activations)
  checks.one_of(config, 'model.output_activation', models_lib.OUTPUT_ACTIVATIONS)
  if config.model.name == 'convnet':
    checks.one_of(config, 'model.pool', models_lib.POOLS)
    checks.one_of(config, 'model.last_hidden_activation', ('', *activations))
    checks.in_range(config, 'model.dropout', 0.0, 1.0)
    checks.in_range(config, 'model.conv_dropout', 0.0, 1.0)
    checks.one_of(config, 'model.norm', models_lib.NORMS)
    for i, spec in enumerate(config.model.convs):
      checks.require(len(spec) == 5 and all(isinstance(n, int) and n >= 0 for n in spec) and
                     spec[0] > 0 and spec[1] > 0, f'model.convs[{i}]', spec,
                     '(features, kernel, padding, pool_window, pool_stride) as integers >= 0, '
                     'features and kernel > 0, pool_window 0 for no pooling')
  checks.one_of(config, 'loss.name', losses.LOSSES)
  checks.one_of(config, 'optim.name', optimizers.NAMES)
  checks.one_of(config, 'optim.schedule', optimizers.SCHEDULES)
  checks.positive(config, 'optim.learning_rate')
  for key in ('train.num_epochs', 'train.batch_size', 'train.checkpoint_every_epochs',
              'train.keep_checkpoints', 'eval.batch_size'):
    checks.positive(config, key, integer=True)
  checks.non_negative(config, 'train.steps_per_call')
  checks.one_of(config, 'train.augment', step_lib.AUGMENTATIONS)
  checks.one_of(config, 'train.adversarial', step_lib.ADVERSARIAL)
  if config.train.adversarial != 'none':
    checks.require(config.loss.name == 'softmax_cross_entropy', 'loss.name', config.loss.name,
                   "'softmax_cross_entropy' with train.adversarial (the attacks follow its "
                   'gradient)')
    checks.positive(config, 'train.adversarial_eps')
    checks.positive(config, 'train.adversarial_steps', integer=True)
    checks.in_range(config, 'train.adversarial_weight', 0.0, 1.0)
  checks.non_negative(config, 'train.num_devices')
  checks.require(isinstance(config.cpu_threads, int) and config.cpu_threads >= 0, 'cpu_threads',
                 config.cpu_threads, 'an integer >= 0 (0: every core)')


def build_model(config, num_classes: int):
  m = config.model
  num_outputs = m.num_outputs or num_classes
  checks.require(num_outputs == num_classes or (num_outputs == 1 and num_classes == 2),
                 'model.num_outputs', m.num_outputs,
                 f'0 (one per class), {num_classes}, or 1 for a two-class problem')
  if m.name == 'mlp':
    return models_lib.MLP(tuple(m.hidden), num_outputs, m.activation, m.output_activation,
                          m.init_constant)
  return models_lib.ConvNet(
      tuple(tuple(c) for c in m.convs), tuple(m.dense), num_outputs, m.activation,
      m.last_hidden_activation, m.output_activation, m.pool, m.dropout, m.conv_dropout,
      m.norm)


def load_data(config) -> data.ImageDataset:
  ds = data.load(config.dataset.name, config.dataset.dir, config.dataset.download)
  try:
    return data.restrict_classes(ds, config.dataset.classes)
  except ValueError as e:
    raise checks.ConfigError(str(e)) from None


def build_setup(config, ds: data.ImageDataset, mesh) -> step_lib.Setup:
  model = build_model(config, ds.num_classes)
  steps_per_epoch = len(ds.train_images) // config.train.batch_size
  return step_lib.Setup(
      model=model,
      optimizer=optimizers.build(config.optim.name, config.optim.learning_rate,
                                 config.optim.momentum, config.optim.schedule,
                                 config.train.num_epochs * steps_per_epoch),
      loss=config.loss.name, pixel_range=config.dataset.pixel_range,
      batch_size=config.train.batch_size, image_shape=ds.image_shape, mesh=mesh,
      augment=config.train.augment,
      adversarial=config.train.adversarial, adversarial_eps=config.train.adversarial_eps,
      adversarial_steps=config.train.adversarial_steps,
      adversarial_weight=config.train.adversarial_weight,
      deferred_first_layer=_deferred_first_layer(config, model))


def _deferred_first_layer(config, model) -> bool:
  """Whether the first layer's SGD updates may wait for the end of a block of steps
  (step.train_steps): plain SGD (stateless, linear in the gradient) on an MLP whose input
  is the batch itself (no augmentation or adversarial examples)."""
  return (isinstance(model, models_lib.MLP) and config.optim.name == 'sgd'
          and config.train.augment == 'none' and config.train.adversarial == 'none')


def steps_per_call(config, steps_per_epoch: int) -> int:
  """0 = auto: a whole epoch per compiled call (a rolled lax.scan; conv nets too, whose
  convolutions differentiate as matmuls on CPU: common/conv.py)."""
  k = config.train.steps_per_call or steps_per_epoch
  return min(k, steps_per_epoch)


def initial_state(setup: step_lib.Setup, seed: int, num_examples: int):
  init = functools.partial(step_lib.create_state, setup, num_examples=num_examples)
  return jax.jit(init, out_shardings=mesh_lib.replicated(setup.mesh))(jax.random.key(seed))
