"""Every GAN of the family: `train_and_evaluate(config, workdir)` as launch.py calls it.

The config picks the networks (`model.arch`: dcgan, keras_dcgan, mlp; `model.conditional`)
and the loss (`loss.*`); gans/gan.py runs the one train step. During training the
generator is scored every `eval.fid_every` steps with the evaluation classifier (FID on
`eval.fid_samples`, class accuracy for conditional models), the best-FID state is kept in
`best/`, and at the end G, its EMA and the best state are scored on `eval.final_samples`.
"""
import functools
import json
import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from classifiers import pretrained, shipped
from common import checkpoint, data, images, loop, mesh as mesh_lib, validate as v, writers
from configs import gan_common
from gans import evaluate, gan as gan_lib, inception, losses, models

CONSOLE_KEYS = ('d_loss', 'g_loss', 'd_real', 'd_fake')
SAMPLE_STREAM = 7  # fold_in tags of fixed noise, apart from the training keys
EVAL_STREAM = 8
FINAL_STREAM = 9


def validate(config) -> None:
  v.one_of(config, 'dataset.name', data.DATASETS + (data.IMAGE_FOLDER,))
  v.positive(config, 'dataset.image_size', integer=True)
  v.one_of(config, 'dataset.channels', (1, 3))
  v.one_of(config, 'dataset.pixel_range', data.PIXEL_RANGES)
  v.one_of(config, 'model.arch', gan_common.ARCHS)
  v.one_of(config, 'model.latent', gan_lib.LATENTS)
  v.one_of(config, 'loss.name', losses.LOSSES)
  for key in ('model.latent_dim', 'loss.n_critic', 'loss.n_generator', 'train.num_steps',
              'train.batch_size', 'train.steps_per_call', 'train.log_every',
              'train.checkpoint_every', 'train.keep_checkpoints', 'eval.sample_every',
              'eval.num_samples', 'eval.fid_every', 'eval.fid_samples', 'eval.final_samples',
              'eval.kid_subsets', 'eval.kid_subset_size'):
    v.positive(config, key, integer=True)
  for key in ('optim.g_learning_rate', 'optim.d_learning_rate'):
    v.positive(config, key)
  for key in ('loss.gp_weight', 'loss.clip', 'loss.minimax_after_steps', 'train.num_devices'):
    v.non_negative(config, key)
  for key in ('optim.b1', 'optim.b2', 'model.ema_decay'):
    v.in_range(config, key, 0.0, 1.0)
  for key in ('loss.real_label', 'loss.fake_label'):
    value = config.loss[key.split('.')[1]]
    v.check(len(value) == 2 and value[0] <= value[1], key, value,
            'a pair (low, high) with low <= high')
  v.check(not config.eval.inception_dir or config.eval.classifier_dir,
          'eval.inception_dir', config.eval.inception_dir,
          "'' while eval.classifier_dir is '' (scoring needs the classifier too: class "
          "accuracy, Inception-style score)")
  v.check(not config.loss.minimax_after_steps or config.loss.name == 'non_saturating',
          'loss.minimax_after_steps', config.loss.minimax_after_steps,
          "0 unless loss.name = 'non_saturating' (the switch goes from it to minimax)")
  batchnorm_d = config.model.arch == 'dcgan' and config.model.batchnorm
  v.check(not (config.loss.gp_weight and batchnorm_d), 'loss.gp_weight', config.loss.gp_weight,
          '0 with model.batchnorm = True: the gradient penalty is per example, BatchNorm '
          'mixes the examples of a batch (set model.batchnorm=False)')
  if config.model.arch == 'mlp':
    for key in ('model.generator_activation', 'model.discriminator_activation'):
      v.one_of(config, key, tuple(models.ACTIVATIONS))
    v.in_range(config, 'model.dropout', 0.0, 1.0)
    v.non_negative(config, 'model.maxout_pieces')
  else:
    for key in ('model.generator_width', 'model.critic_width'):
      v.positive(config, key, integer=True)


def scored(config) -> bool:
  """Whether FID, KID and the other scores run: a classifier is named, or one ships for the
  dataset (eval.classifier_dir = 'shipped', the default)."""
  directory = config.eval.classifier_dir
  return bool(directory) and (directory != shipped.NAME or
                              shipped.available(config.dataset.name))


def chunk_size(config) -> int:
  """Steps between host visits: the gcd of num_steps and every interval of the run."""
  return loop.chunk_size(config.train.num_steps, config.train.log_every,
                         config.train.checkpoint_every, config.eval.sample_every,
                         *([config.eval.fid_every] if scored(config) else []))


def call_size(config) -> int:
  """Steps per compiled call: train.steps_per_call, or the largest divisor of the chunk
  below it (so that the user's intervals never clash with it)."""
  return loop.largest_divisor(chunk_size(config), config.train.steps_per_call)


def build_gan(config, image_shape, num_classes: int) -> gan_lib.GAN:
  """The static half of the run from the config."""
  arch, m = config.model.arch, config.model
  out = 'tanh' if config.dataset.pixel_range == 'minus_one_one' else 'sigmoid'
  classes = num_classes if m.conditional else 0
  if arch in ('dcgan', 'keras_dcgan') and (image_shape[0] != image_shape[1]
                                            or models.num_upsamples(image_shape[0]) < 2):
    raise v.ConfigError(f'config.dataset.name = {config.dataset.name!r} has images of shape '
                        f'{image_shape}: the conv GANs need square images whose side is '
                        f'divisible by 4 (28, 32, 64...); model.arch=mlp takes any shape.')
  if arch == 'dcgan':
    generator = models.Generator(tuple(image_shape), m.generator_width, out, m.batchnorm,
                                 num_classes=classes)
    discriminator = models.Critic(m.critic_width, m.batchnorm, num_classes=classes)
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
  adam = lambda lr: optax.adam(lr, b1=config.optim.b1, b2=config.optim.b2)
  loss = config.loss
  return gan_lib.GAN(
      generator=generator, discriminator=discriminator,
      g_opt=adam(config.optim.g_learning_rate), d_opt=adam(config.optim.d_learning_rate),
      latent_dim=m.latent_dim, latent=m.latent, num_classes=classes, loss=loss.name,
      minimax_after=loss.minimax_after_steps, n_critic=loss.n_critic,
      n_generator=loss.n_generator, gp_weight=loss.gp_weight, clip=loss.clip,
      real_target=tuple(loss.real_label), fake_target=tuple(loss.fake_label),
      ema_decay=m.ema_decay, pixel_range=config.dataset.pixel_range)


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
    raise v.ConfigError(f'config.eval.inception_dir = {inception_dir!r}: {e} Or set it to \'\' '
                        'for the evaluation classifier\'s features.') from e
  logging.info('FID and KID on InceptionV3 pool3 features (%s).', inception_dir)
  return inception.FeatureNetwork(variables)


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
    clf = pretrained.load(directory, ds.name)
  except (FileNotFoundError, ValueError) as e:
    raise v.ConfigError(f'config.eval.classifier_dir = {directory!r}: {e} Or set '
                        f"--config.eval.classifier_dir='' to train without FID.") from e
  shape = tuple(jax.eval_shape(clf.features, jnp.zeros((1, *ds.image_shape))).shape)
  if clf.dataset != ds.name or len(clf.class_names) != ds.num_classes:
    raise v.ConfigError(f'config.eval.classifier_dir = {directory!r} holds a classifier of '
                        f'{clf.dataset!r} ({len(clf.class_names)} classes), but the GAN '
                        f'trains on {ds.name!r}: train one on it (configs/eval_classifier.py '
                        f'--config.dataset.name={ds.name}) or set the key to \'\'.')
  logging.info('Evaluation classifier: %s (step %d), %d features.', clf.source, clf.step,
               shape[-1])
  return clf


def train_and_evaluate(config, workdir: str) -> dict:
  validate(config)
  mesh = mesh_lib.data_mesh(config.train.num_devices or None)
  mesh_lib.check_batch_divides(config.train.batch_size, mesh)
  ds = load_data(config)
  num_examples = len(ds.train_images)
  v.check(config.train.batch_size <= num_examples, 'train.batch_size',
          config.train.batch_size, f'at most the {num_examples} training examples')
  gan = build_gan(config, ds.image_shape, ds.num_classes)
  classifier = load_classifier(config, ds)
  feature_network = load_feature_network(config.eval.inception_dir)
  logging.info('Data: %s from %s, %d training images of %s; %d device(s).', ds.name,
               ds.source, num_examples, ds.image_shape, mesh.devices.size)

  init = functools.partial(  # jitted: Flax init op by op takes seconds on CPU
      gan_lib.create_state, gan, image_shape=ds.image_shape, num_examples=num_examples,
      batch_size=config.train.batch_size)
  state = jax.jit(init, out_shardings=mesh_lib.replicated(mesh))(jax.random.key(config.seed))
  ckpt = checkpoint.Checkpointer(workdir, config.train.keep_checkpoints)
  state = ckpt.restore_or_keep(state)
  first_step = int(state.step)
  train_data = (mesh_lib.put_replicated(ds.train_images, mesh),
                mesh_lib.put_replicated(ds.train_labels.astype(np.int32), mesh))

  t0 = time.perf_counter()
  step_fn = gan_lib.compile_step(state, train_data, gan=gan, mesh=mesh,
                                 batch_size=config.train.batch_size,
                                 steps_per_call=call_size(config))
  compile_seconds = time.perf_counter() - t0
  logging.info('Compiled the train step in %.1f s.', compile_seconds)

  is_main = jax.process_index() == 0
  writer = writers.MetricWriter(workdir, resume_step=first_step, enabled=is_main)
  hooks = (loop.Every(config.eval.sample_every,
                      _sample_writer(config, gan, ds, workdir, writer, is_main)),)
  evaluator = best = fid_fn = None
  if classifier is not None:
    evaluator = evaluate.Evaluator(classifier, ds.test_images,
                                   kid_subsets=config.eval.kid_subsets,
                                   kid_subset_size=config.eval.kid_subset_size, seed=config.seed,
                                   feature_network=feature_network)
    best = _BestKeeper(workdir, is_main)
    fid_fn = _fid_tracker(config, gan, evaluator, best)
  chunk = chunk_size(config)
  try:
    state, step, last, seconds = loop.run(
        state=state, step_fn=step_fn, data=train_data, first_step=first_step,
        num_steps=config.train.num_steps, chunk=chunk, log_every=config.train.log_every,
        checkpoint_every=config.train.checkpoint_every, writer=writer, checkpointer=ckpt,
        hooks=hooks, console_keys=CONSOLE_KEYS,
        steps_per_call=call_size(config), evaluate=fid_fn)
  finally:
    ckpt.close()
    if best is not None:
      best.close()
    writer.close()

  summary = {
      'steps': step, 'generator_updates': step * config.loss.n_generator,
      'resumed_from_step': first_step, 'train_seconds': seconds,
      'total_train_seconds': seconds + _earlier_seconds(workdir, first_step),
      'compile_seconds': compile_seconds,
      'steps_per_second': (step - first_step) / seconds if seconds else 0.0,
      'num_devices': int(mesh.devices.size), 'dataset': ds.name,
      'generator_params': _count(state.g_params),
      'discriminator_params': _count(state.d_params), **last}
  if evaluator is not None and step >= config.train.num_steps:
    t0 = time.perf_counter()
    summary.update(final_scores(config, gan, evaluator, state, best))
    summary['eval_seconds'] = time.perf_counter() - t0
    logging.info('Final scores: %s', {k: summary[k] for k in summary
                                      if k.startswith(('fid', 'kid', 'class_acc'))})
  if is_main:
    writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary


def _earlier_seconds(workdir: str, first_step: int) -> float:
  """Training time of the invocations before a resume, from their summary.json (when it
  ended where this one starts; otherwise unknown and counted as 0)."""
  before = writers.read_json(os.path.join(workdir, 'summary.json'), {})
  if not first_step or before.get('steps') != first_step:
    return 0.0
  return before.get('total_train_seconds', before.get('train_seconds', 0.0))


def _count(params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))


def eval_inputs(gan, seed: int, stream: int, n: int):
  """Fixed noise and labels (classes in turn) for scoring: the same at every evaluation."""
  z = gan.sample_latent(jax.random.fold_in(jax.random.key(seed), stream), n)
  return z, jnp.arange(n, dtype=jnp.int32) % max(gan.num_classes, 1)


def score_generator(gan, evaluator, g_params, g_batch_stats, z, labels, kid: bool) -> dict:
  samples = evaluate.generate(gan, g_params, g_batch_stats, z, labels)
  return evaluator.score(samples, labels if gan.num_classes else None, kid=kid)


def final_scores(config, gan, evaluator, state, best) -> dict:
  """G, its EMA and the best-FID state on eval.final_samples against the test set."""
  z, labels = eval_inputs(gan, config.seed, FINAL_STREAM, config.eval.final_samples)
  out = score_generator(gan, evaluator, state.g_params, state.g_batch_stats, z, labels, True)
  if gan.ema_decay:
    ema = score_generator(gan, evaluator, state.ema_params, state.g_batch_stats, z, labels,
                          True)
    out.update({f'{k}_ema': val for k, val in ema.items()
                if k not in ('num_samples', 'features')})
  saved = best.restore() if best is not None else None
  if saved is not None:
    at_best = score_generator(gan, evaluator, saved['g_params'], saved['g_batch_stats'], z,
                              labels, True)
    out.update({f'{k}_best': val for k, val in at_best.items()
                if k not in ('num_samples', 'features')})
    out['best_step'] = best.step
  return out


class _BestKeeper:
  """The best-FID train state in workdir/best/ (one checkpoint) and its score in
  best/best.json, so a resumed run keeps comparing against it."""

  def __init__(self, workdir: str, is_main: bool):
    self.directory = os.path.join(workdir, 'best')
    self._json = os.path.join(self.directory, 'best.json')
    self._ckpt = checkpoint.Checkpointer(self.directory, 1)
    self._is_main = is_main
    self.fid, self.step = float('inf'), None
    if os.path.exists(self._json):
      with open(self._json) as f:
        saved = json.load(f)
      self.fid, self.step = saved['fid'], saved['step']

  def offer(self, step: int, fid: float, state, num_samples: int) -> bool:
    if not fid < self.fid:
      return False
    self.fid, self.step = fid, step
    self._ckpt.save(step, state)
    self._ckpt.wait()
    if self._is_main:
      writers.write_json(self._json, {'step': step, 'fid': fid, 'num_samples': num_samples})
    return True

  def restore(self):
    """The saved best state as nested dicts (None if there is none)."""
    saved, _ = self._ckpt.restore_latest()
    return saved

  def close(self):
    self._ckpt.close()


def _fid_tracker(config, gan, evaluator, best):
  """`evaluate(step, state)` for the loop: every eval.fid_every steps (and at the end), FID,
  class accuracy and Inception-style score of G, and FID of its EMA, on fixed noise; a new
  best FID saves the state to best/. Its scores join that step's logged row."""
  z, labels = eval_inputs(gan, config.seed, EVAL_STREAM, config.eval.fid_samples)

  def evaluate_fn(step, state):
    if step % config.eval.fid_every and step < config.train.num_steps:
      return {}
    scores = score_generator(gan, evaluator, state.g_params, state.g_batch_stats, z, labels,
                             kid=False)
    row = {k: scores[k] for k in ('fid', 'inception_score', 'class_accuracy',
                                  'classes_present') if k in scores}
    if gan.ema_decay:
      row['fid_ema'] = score_generator(gan, evaluator, state.ema_params, state.g_batch_stats,
                                       z, labels, kid=False)['fid']
    if best.offer(step, scores['fid'], state, config.eval.fid_samples):
      logging.info('Step %d: FID %.3f, the best so far (kept in %s).', step, scores['fid'],
                   best.directory)
    else:
      logging.info('Step %d: FID %.3f (best %.3f at step %d).', step, scores['fid'],
                   best.fid, best.step)
    return row
  return evaluate_fn


def _sample_writer(config, gan, ds, workdir, writer, is_main):
  """A hook writing samples/step_N.png from fixed noise (one row per class for conditional
  models), the latent interpolation strip and the loss curves."""
  n = config.eval.num_samples
  key = jax.random.fold_in(jax.random.key(config.seed), SAMPLE_STREAM)
  z = gan.sample_latent(key, n)
  if gan.num_classes:  # row r shows class r; columns share their noise
    cols = max(1, n // gan.num_classes)
    z = jnp.tile(z[:cols], (gan.num_classes, 1))
    labels = jnp.repeat(jnp.arange(gan.num_classes, dtype=jnp.int32), cols)
  else:
    cols, labels = None, jnp.zeros((n,), jnp.int32)
  strip_z, strip_labels = interpolation_inputs(gan, jax.random.fold_in(key, 1))

  def hook(step, state):
    samples = np.asarray(evaluate.generate(gan, state.g_params, state.g_batch_stats, z,
                                           labels))
    if not is_main:
      return
    grid = images.grid(samples, ncols=cols)
    images.save_png(os.path.join(workdir, 'samples', f'step_{step:07d}.png'), grid, scale=2)
    writer.write_image('samples', step, grid)
    strip = np.asarray(evaluate.generate(gan, state.g_params, state.g_batch_stats, strip_z,
                                         strip_labels))
    images.save_png(os.path.join(workdir, 'samples', 'interpolation.png'),
                    images.grid(strip, ncols=INTERPOLATION_STEPS), scale=2)
    rows = writers.read_metrics(workdir)
    images.plot_metrics(rows, [('d_loss', 'g_loss'), ('d_real', 'd_fake'),
                               'wasserstein_distance', 'gradient_penalty'],
                        os.path.join(workdir, 'plots', 'losses.png'),
                        title=f'{config.model.arch} GAN ({config.loss.name}) on {ds.name}')
    images.plot_metrics([r for r in rows if 'fid' in r],
                        [('fid', 'fid_ema'), 'class_accuracy', 'inception_score'],
                        os.path.join(workdir, 'plots', 'fid.png'),
                        title=f'FID ({config.eval.fid_samples} samples) on {ds.name}')
  return hook


INTERPOLATION_STEPS = 10


def interpolation_inputs(gan, key, rows: int = 6):
  """Straight lines between random latent pairs, one row each (same label along a row)."""
  k0, k1, ky = jax.random.split(key, 3)
  z0, z1 = gan.sample_latent(k0, rows), gan.sample_latent(k1, rows)
  t = jnp.linspace(0.0, 1.0, INTERPOLATION_STEPS)[None, :, None]
  z = ((1 - t) * z0[:, None] + t * z1[:, None]).reshape(-1, gan.latent_dim)
  labels = jnp.repeat(gan.sample_labels(ky, rows), INTERPOLATION_STEPS).astype(jnp.int32)
  return z, labels
