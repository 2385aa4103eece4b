"""A GAN run's config turned into its parts, checked first: the networks and losses
(`build_gan`), the data, the feature networks that score it, and the loop's call sizes.
Trainers, saved-run readers and scorers share these; nothing here trains."""
import logging

import jax
import jax.numpy as jnp
import optax

from classifiers import saved, shipped
from common import checks, data, loop
from gans import evaluation, gan as gan_lib, inception, losses, models


DECAYS = ('constant', 'linear')


def validate(config) -> None:
  checks.one_of(config, 'dataset.name', data.DATASETS + (data.IMAGE_FOLDER,))
  checks.positive(config, 'dataset.image_size', integer=True)
  checks.one_of(config, 'dataset.channels', (1, 3))
  checks.one_of(config, 'dataset.pixel_range', data.PIXEL_RANGES)
  checks.one_of(config, 'model.arch', models.ARCHS)
  checks.one_of(config, 'model.latent', gan_lib.LATENTS)
  checks.one_of(config, 'loss.name', losses.LOSSES)
  checks.one_of(config, 'optim.decay', DECAYS)
  for key in ('model.latent_dim', 'loss.n_critic', 'loss.n_generator', 'train.num_steps',
              'train.batch_size', 'train.steps_per_call', 'train.log_every',
              'train.checkpoint_every', 'train.keep_checkpoints', 'eval.sample_every',
              'eval.num_samples', 'eval.fid_every', 'eval.fid_samples', 'eval.final_samples',
              'eval.kid_subsets', 'eval.kid_subset_size'):
    checks.positive(config, key, integer=True)
  for key in ('optim.g_learning_rate', 'optim.d_learning_rate'):
    checks.positive(config, key)
  for key in ('loss.gp_weight', 'loss.clip', 'loss.minimax_after_steps', 'train.num_devices',
              'optim.decay_steps'):
    checks.non_negative(config, key)
  for key in ('optim.b1', 'optim.b2', 'model.ema_decay'):
    checks.in_range(config, key, 0.0, 1.0)
  for key, default in (('loss.real_label', (1.0, 1.0)), ('loss.fake_label', (0.0, 0.0))):
    value = config.loss[key.split('.')[1]]
    checks.require(len(value) == 2 and value[0] <= value[1], key, value,
                   'a pair (low, high) with low <= high')
    checks.require(config.loss.name in losses.TARGETED or tuple(value) == default, key, value,
                   f'{default} with loss.name = {config.loss.name!r}, which has no targets '
                   f'to smooth (only {", ".join(losses.TARGETED)} have)')
  acgan = config.loss.acgan_weights
  checks.require(len(acgan) == 2 and min(acgan) >= 0 and (acgan[0] > 0 or acgan[1] == 0),
                 'loss.acgan_weights', acgan, 'a pair (d_weight, g_weight) of weights >= 0, '
                 'd_weight > 0 when g_weight is (else G follows a class head D never trains)')
  checks.require(not max(acgan) or (config.model.conditional and config.model.arch == 'dcgan'),
                 'loss.acgan_weights', acgan, '(0, 0) unless model.conditional = True and '
                 'model.arch = dcgan (the class head is on the DCGAN critic)')
  checks.require(not config.eval.inception_dir or config.eval.classifier_dir,
                 'eval.inception_dir', config.eval.inception_dir,
                 "'' while eval.classifier_dir is '' (scoring needs the classifier too: class "
                 "accuracy, Inception-style score)")
  checks.require(not config.loss.minimax_after_steps or config.loss.name == 'non_saturating',
                 'loss.minimax_after_steps', config.loss.minimax_after_steps,
                 "0 unless loss.name = 'non_saturating' (the switch goes from it to minimax)")
  batchnorm_d = config.model.arch == 'dcgan' and config.model.critic_batchnorm
  checks.require(not (config.loss.gp_weight and batchnorm_d), 'loss.gp_weight',
                 config.loss.gp_weight,
                 '0 with model.critic_batchnorm = True: the gradient penalty is per example, '
                 'BatchNorm mixes the examples of a batch (set model.critic_batchnorm=False)')
  if config.model.arch == 'mlp':
    for key in ('model.generator_activation', 'model.discriminator_activation'):
      checks.one_of(config, key, tuple(models.ACTIVATIONS))
    checks.in_range(config, 'model.dropout', 0.0, 1.0)
    checks.non_negative(config, 'model.maxout_pieces')
  else:
    for key in ('model.generator_width', 'model.critic_width'):
      checks.positive(config, key, integer=True)


def scored(config) -> bool:
  """Whether FID, KID and the other scores run: a classifier is named, or one ships for the
  dataset (eval.classifier_dir = 'shipped', the default)."""
  directory = config.eval.classifier_dir
  return bool(directory) and (directory != shipped.NAME or
                              shipped.available(config.dataset.name))


def step_sizes(config) -> tuple[int, int]:
  """(chunk, call): the steps between host visits, the gcd of num_steps and every interval
  of the run; and the steps per compiled call, train.steps_per_call or the largest divisor
  of the chunk below it (so that the user's intervals never clash with it)."""
  chunk = loop.chunk_size(config.train.num_steps, config.train.log_every,
                          config.train.checkpoint_every, config.eval.sample_every,
                          *([config.eval.fid_every] if scored(config) else []))
  return chunk, loop.largest_divisor(chunk, config.train.steps_per_call)


def build_gan(config, image_shape, num_classes: int, *,
              hyperparams_in_state: bool = False) -> gan_lib.GAN:
  """The static half of the run from the config. `hyperparams_in_state`: the Adam rates and
  b1 are kept in the optimizer states (set them with set_hyperparams), so that variants
  differing only in them can share one compiled step (gans/sweep.py)."""
  arch, m = config.model.arch, config.model
  out = 'tanh' if config.dataset.pixel_range == 'minus_one_one' else 'sigmoid'
  classes = num_classes if m.conditional else 0
  if arch == 'gulrajani' and tuple(image_shape[:2]) != (28, 28):
    raise checks.ConfigError(f'config.model.arch = gulrajani is the 28x28 network of '
                             f'gan_mnist.py; config.dataset.name = {config.dataset.name!r} has '
                             f'images of shape {image_shape} (model.arch=dcgan takes them).')
  if arch in ('dcgan', 'keras_dcgan') and (image_shape[0] != image_shape[1]
                                            or models.num_upsamples(image_shape[0]) < 2):
    raise checks.ConfigError(f'config.dataset.name = {config.dataset.name!r} has images of shape '
                             f'{image_shape}: the conv GANs need square images whose side is '
                             f'divisible by 4 (28, 32, 64...); model.arch=mlp takes any shape.')
  if arch == 'dcgan':
    generator = models.Generator(tuple(image_shape), m.generator_width, out,
                                 m.generator_batchnorm, num_classes=classes)
    acgan = max(config.loss.acgan_weights) > 0  # D classifies instead of taking the label
    discriminator = models.Critic(m.critic_width, m.critic_batchnorm,
                                  num_classes=0 if acgan else classes,
                                  aux_classes=classes if acgan else 0)
  elif arch == 'gulrajani':
    generator = models.GulrajaniGenerator(tuple(image_shape), m.generator_width, out,
                                          num_classes=classes)
    discriminator = models.GulrajaniCritic(m.critic_width, num_classes=classes)
  elif arch == 'keras_dcgan':
    generator = models.KerasDCGANGenerator(tuple(image_shape), m.generator_width, out,
                                           num_classes=classes)
    discriminator = models.KerasDCGANDiscriminator(m.critic_width, m.dropout,
                                                   num_classes=classes)
  else:
    generator = models.MLPGenerator(tuple(image_shape), tuple(m.generator_widths),
                                    m.generator_activation, m.generator_batchnorm,
                                    m.bn_momentum, out, num_classes=classes)
    discriminator = models.MLPDiscriminator(tuple(m.discriminator_widths),
                                            m.discriminator_activation, m.dropout,
                                            m.maxout_pieces, num_classes=classes)
  loss = config.loss

  def adam(rate, updates_per_step):
    steps = (config.optim.decay_steps or config.train.num_steps) * updates_per_step
    if hyperparams_in_state:
      opt = optax.inject_hyperparams(optax.adam)(learning_rate=rate, b1=config.optim.b1,
                                                 b2=config.optim.b2)
      if config.optim.decay == 'linear':  # as a factor: the rate in the state stays settable
        opt = optax.chain(opt, optax.scale_by_schedule(optax.linear_schedule(1.0, 0.0, steps)))
      return opt
    if config.optim.decay == 'linear':
      rate = optax.linear_schedule(rate, 0.0, steps)
    return optax.adam(rate, b1=config.optim.b1, b2=config.optim.b2)

  return gan_lib.GAN(
      generator=generator, discriminator=discriminator,
      g_opt=adam(config.optim.g_learning_rate, loss.n_generator),
      d_opt=adam(config.optim.d_learning_rate, loss.n_critic),
      latent_dim=m.latent_dim, latent=m.latent, num_classes=classes, loss=loss.name,
      minimax_after=loss.minimax_after_steps, n_critic=loss.n_critic,
      n_generator=loss.n_generator, gp_weight=loss.gp_weight, clip=loss.clip,
      real_target=tuple(loss.real_label), fake_target=tuple(loss.fake_label),
      acgan_weights=tuple(float(w) for w in loss.acgan_weights),
      ema_decay=m.ema_decay, pixel_range=config.dataset.pixel_range)


HYPERPARAMS = {  # config key -> (optimizer states it sets, hyperparameter name)
    'optim.g_learning_rate': (('g_opt_state',), 'learning_rate'),
    'optim.d_learning_rate': (('d_opt_state',), 'learning_rate'),
    'optim.b1': (('g_opt_state', 'd_opt_state'), 'b1'),
}


def set_hyperparams(state: gan_lib.GANState, key: str, value) -> gan_lib.GANState:
  """The state of a `hyperparams_in_state` GAN with the config key's value changed."""
  fields, name = HYPERPARAMS[key]
  value = jnp.asarray(value, jnp.float32)
  return state.replace(**{f: optax.tree.set(getattr(state, f), **{name: value})
                          for f in fields})


def load_data(config) -> data.ImageDataset:
  d = config.dataset
  if d.name == data.IMAGE_FOLDER:
    return data.load_folder(d.dir, d.image_size, d.channels)
  return data.load(d.name, d.dir, d.download)


def load_feature_network(inception_dir: str):
  """The FID InceptionV3 (gans/inception.py) converted into `inception_dir`; '' : None, FID
  and KID on the evaluation classifier's features."""
  if not inception_dir:
    return None
  try:
    variables = inception.load(inception_dir)
  except FileNotFoundError as e:
    raise checks.ConfigError(f'config.eval.inception_dir = {inception_dir!r}: {e} Or set it '
                             "to '' for the evaluation classifier's features.") from e
  logging.info('FID and KID on InceptionV3 pool3 features (%s).', inception_dir)
  return inception.FeatureNetwork(variables)


def classifier_for(config, classifier_dir: str = ''):
  """A saved run's feature network: `classifier_dir`, else the run's eval.classifier_dir,
  else the shipped one."""
  return saved.load(classifier_dir or config.eval.classifier_dir or shipped.NAME,
                    config.dataset.name)


def classifier_mismatch(classifier, dataset: str, num_classes: int) -> str:
  """'' when `classifier` was trained on `dataset` with its classes, else what differs."""
  if classifier.dataset == dataset and len(classifier.class_names) == num_classes:
    return ''
  return (f'a classifier of {classifier.dataset!r} ({len(classifier.class_names)} classes), '
          f'but the GAN generates {dataset!r} ({num_classes} classes)')


def load_classifier(config, ds):
  """The evaluation classifier named by eval.classifier_dir, checked against the data; None
  (with one warning when the default found no shipped network) for an unscored run."""
  directory = config.eval.classifier_dir
  if not scored(config):
    if directory:
      train_one = (f'python launch.py --config=configs/eval_classifier.py '
                   f'--config.dataset.name={ds.name} --workdir=runs/eval_classifier_{ds.name}'
                   f'` and add `--config.eval.classifier_dir=runs/eval_classifier_{ds.name}'
                   if ds.name in data.DATASETS else
                   '...` on the same images and add `--config.eval.classifier_dir=THAT_RUN')
      logging.warning('No feature network ships for %r: this run trains without FID, KID and '
                      'class accuracy. To score it, train a classifier (`%s`).', ds.name,
                      train_one)
    return None
  try:
    clf = saved.load(directory, ds.name)
  except (FileNotFoundError, ValueError) as e:
    raise checks.ConfigError(f'config.eval.classifier_dir = {directory!r}: {e} Or set '
                             f"--config.eval.classifier_dir='' to train without FID.") from e
  shape = tuple(jax.eval_shape(clf.features, jnp.zeros((1, *ds.image_shape))).shape)
  mismatch = classifier_mismatch(clf, ds.name, ds.num_classes)
  if mismatch:
    raise checks.ConfigError(f'config.eval.classifier_dir = {directory!r} holds {mismatch}: '
                             f'train one on it (configs/eval_classifier.py '
                             f'--config.dataset.name={ds.name}) or set the key to \'\'.')
  logging.info('Evaluation classifier: %s (step %d), %d features.', clf.source, clf.step,
               shape[-1])
  return clf


def build_evaluator(config, ds, classifier=None, inception_dir: str | None = None):
  """What scores a generator (FID, KID, class accuracy against the test images) with the
  classifier and feature network config.eval names (or these); None for an unscored run."""
  classifier = classifier or load_classifier(config, ds)
  if classifier is None:
    return None
  inception_dir = config.eval.inception_dir if inception_dir is None else inception_dir
  return evaluation.Evaluator(classifier, ds.test_images, kid_subsets=config.eval.kid_subsets,
                              kid_subset_size=config.eval.kid_subset_size, seed=config.seed,
                              feature_network=load_feature_network(inception_dir))
