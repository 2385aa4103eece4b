"""The GAN trainer on tiny data: every config, what a run writes, the scores, resume, NaN
stop, signals, bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common import batches, checks, loop, writers
from configs import cdcgan, cgan_mlp, dcgan, gan_mlp, lsgan, wgan_gp as wgan_gp_config
import classifiers.saved
from gans import build, gan as gan_lib, saved, train
from gans.tools import export, report, score
from tests.conftest import config_on, config_walk, subprocess_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOSSES = ('d_loss', 'g_loss', 'gradient_penalty', 'wasserstein_distance')


def _config(data_dir, num_steps, module=wgan_gp_config, arg='quick', classifier_dir='',
            **overrides):
  small = dict(train__num_steps=num_steps, train__log_every=2, train__checkpoint_every=4,
               eval__sample_every=4, eval__classifier_dir=classifier_dir)
  return config_on(module, data_dir, arg, **{**small, **overrides})


def _losses(workdir):
  return [(r['step'], *(r[k] for k in LOSSES)) for r in writers.read_metrics(workdir)]


def test_run_writes_its_files_and_resume_reproduces_the_losses(idx_dir, tmp_path):
  full, split = str(tmp_path / 'full'), str(tmp_path / 'split')
  schedule = dict(optim__decay='linear', optim__decay_steps=8)  # the same in both halves
  summary = train.train_and_evaluate(_config(idx_dir, 8, **schedule), full)
  train.train_and_evaluate(_config(idx_dir, 4, **schedule), split)
  resumed = train.train_and_evaluate(_config(idx_dir, 8, **schedule), split)

  assert resumed['resumed_from_step'] == 4 and resumed['steps'] == 8
  first = writers.read_json(os.path.join(full, 'summary.json'))  # (the uninterrupted run)
  assert resumed['total_train_seconds'] > resumed['train_seconds'] > 0
  assert first['total_train_seconds'] == first['train_seconds']
  assert _losses(split) == _losses(full)  # bit-identical on CPU
  assert [r[0] for r in _losses(full)] == [2, 4, 6, 8]
  with open(os.path.join(full, 'summary.json')) as f:
    saved = json.load(f)
  for key in ('steps', 'train_seconds', *LOSSES):
    assert key in saved
  assert saved['steps'] == summary['steps'] == 8 and saved['num_devices'] == 8
  assert os.path.exists(os.path.join(full, 'samples', 'step_0000008.png'))
  assert os.path.exists(os.path.join(full, 'plots', 'losses.png'))
  assert os.listdir(os.path.join(full, 'tensorboard'))
  assert sorted(os.listdir(os.path.join(full, 'checkpoints'))) == ['4', '8']


def test_first_logged_d_loss_is_the_bce_of_the_first_batch(idx_dir, tmp_path):
  """The logged number is the loss of the batch the step drew: the batch and noise are
  redrawn here from the seed's key streams and the loss is written out as BCE."""
  config = _config(idx_dir, 1, module=gan_mlp, train__log_every=1,
                   train__checkpoint_every=1, eval__sample_every=1)
  train.train_and_evaluate(config, str(tmp_path))
  logged = writers.read_metrics(str(tmp_path))[0]['d_loss']

  ds = build.load_data(config)
  gan = build.build_gan(config, ds.image_shape, ds.num_classes)
  n, batch = len(ds.train_images), config.train.batch_size
  rng = jax.random.key(config.seed)
  # under jit: op by op, each op of the networks would compile on its own
  state = jax.jit(lambda k: gan_lib.create_state(gan, k, image_shape=ds.image_shape,
                                                 num_examples=n, batch_size=batch))(rng)
  _, data_key, step_key = jax.random.split(rng, 3)            # init, data order, step noise
  k_z = jax.random.split(jax.random.fold_in(jax.random.fold_in(step_key, 0), 0), 3)[0]
  _, idx = batches.next_indices(state.data_order, data_key, 0, num_examples=n,
                                batch_size=batch)
  real = ds.train_images[np.asarray(idx)] / 127.5 - 1.0
  no_labels = jnp.zeros((batch,), jnp.int32)
  fake = jax.jit(lambda z: gan.generator.apply({'params': state.g_params}, z, no_labels,
                                               train=True))(
      jax.random.normal(k_z, (batch, config.model.latent_dim)))
  d = jax.jit(lambda x: gan.discriminator.apply({'params': state.d_params}, x, no_labels,
                                                train=True))
  # -log D(real) - log(1 - D(fake)), D = sigmoid(logit)
  expected = (np.mean(np.log1p(np.exp(-np.float64(d(real)))))
              + np.mean(np.log1p(np.exp(np.float64(d(fake))))))
  np.testing.assert_allclose(logged, expected, rtol=1e-5)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(idx_dir, tmp_path):
  workdir = str(tmp_path)
  decay = dict(optim__decay_steps=12)  # the first and last runs: one compiled step
  train.train_and_evaluate(_config(idx_dir, 4, **decay), workdir)
  exploding = _config(idx_dir, 12, optim__d_learning_rate=1e30, optim__g_learning_rate=1e30)
  with pytest.raises(loop.NonFiniteError, match='Last good checkpoint: 4'):
    train.train_and_evaluate(exploding, workdir)
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['4']
  resumed = train.train_and_evaluate(_config(idx_dir, 6, **decay), workdir)
  assert resumed['resumed_from_step'] == 4


def _dense(n_in, n_out):
  return n_in * n_out + n_out


# Generator parameter counts of the quick variants (28x28x1; MLP widths 32, 64; conv width
# 8), by hand from the papers' layer lists: a wrong width, layer or label input fails them.
_MLP = _dense(32, 64) + _dense(64, 784)
_DCGAN = 2 * 1568 + _dense(4 * 4 * 32, 16) + 2 * 16 + _dense(4 * 4 * 16, 1)  # BN, 2 conv-T


@pytest.mark.parametrize('module,arg,generator_params', [
    (gan_mlp, 'quick', _dense(100, 32) + _MLP),
    (gan_mlp, 'maxout,quick', _dense(100, 32) + _MLP),
    (gan_mlp, 'smooth,quick', _dense(128, 32) + 2 * 32 + 2 * 64 + _MLP),  # noise 128, BN
    (cgan_mlp, 'quick', _dense(110, 32) + _MLP),                          # + one-hot label
    (dcgan, 'quick', _dense(100, 8 * 7 * 7) + 2 * _dense(4 * 4 * 8, 8) + _dense(7 * 7 * 8, 1)),
    (dcgan, 'standard,quick', _dense(100, 1568) + _DCGAN),                # 7x7x32 first
    (lsgan, 'quick', _dense(100, 1568) + _DCGAN),
    (cdcgan, 'quick', _dense(110, 1568) + _DCGAN),
    (wgan_gp_config, 'gulrajani,quick',  # 4x4x32, then 5x5 conv-T to 16, 8, 1
     _dense(128, 512) + _dense(25 * 32, 16) + _dense(25 * 16, 8) + _dense(25 * 8, 1))])
def test_every_variant_trains_and_writes_its_files(idx_dir, tmp_path, module, arg,
                                                   generator_params):
  workdir = str(tmp_path)
  # one device (several: test_gan_step, tests/common/test_distributed.py); one critic update
  # per step (gulrajani's 5, unrolled, take twice the compile time; n_critic: test_gan_step)
  config = _config(idx_dir, 4, module, arg, train__num_devices=1, loss__n_critic=1)
  summary = train.train_and_evaluate(config, workdir)
  assert summary['steps'] == 4 and summary['generator_params'] == generator_params
  # the whole run's rate, not the last logged chunk's
  assert summary['steps_per_second'] == pytest.approx(4 / summary['train_seconds'])
  for key in ('d_loss', 'g_loss', 'd_real', 'd_fake'):
    assert key in summary
  assert os.path.exists(os.path.join(workdir, 'samples', 'step_0000004.png'))
  assert os.path.exists(os.path.join(workdir, 'samples', 'interpolation.png'))


@pytest.mark.parametrize('module,size,channels', [(gan_mlp, 20, 1), (dcgan, 32, 3)])
def test_an_image_folder_trains(tmp_path, module, size, channels):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  for name in ('grains', 'pores'):  # report 002 trained on its own microstructure images
    (tmp_path / 'data' / name).mkdir(parents=True)
    for i in range(12):
      Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(
          tmp_path / 'data' / name / f'{i}.png')
  config = _config(tmp_path / 'data', 4, module, dataset__name='image_folder',
                   dataset__image_size=size, dataset__channels=channels)
  summary = train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert summary['steps'] == 4 and summary['dataset'] == 'image_folder'
  grid = np.asarray(Image.open(tmp_path / 'run' / 'samples' / 'step_0000004.png'))
  assert grid.ndim == (2 if channels == 1 else 3)
  config.dataset.dir = str(tmp_path / 'missing')
  with pytest.raises(checks.ConfigError, match='missing: no such folder'):
    train.train_and_evaluate(config, str(tmp_path / 'run2'))


def test_scores_best_checkpoint_and_resume_with_a_classifier(tiny_classifier, tmp_path):
  data_dir, classifier_dir = tiny_classifier
  workdir = str(tmp_path)
  config = _config(data_dir, 8, cdcgan, classifier_dir=classifier_dir)
  writers.write_config(config, workdir)  # as launch.py does
  with config_walk(config) as walk:
    summary = train.train_and_evaluate(config, workdir)
  # below the trainer only its builders read the config (data first, then the rest at
  # once); the functions below them take values
  assert walk == ['gans/build.py', 'gans/train.py', 'gans/build.py', 'gans/train.py'], walk
  for key in ('fid', 'kid', 'kid_std', 'inception_score', 'class_accuracy', 'fid_ema',
              'kid_ema', 'class_accuracy_ema', 'fid_best', 'best_step'):
    assert key in summary, key
  assert summary['num_samples'] == config.eval.final_samples
  assert 0 <= summary['class_accuracy'] <= 1 and summary['fid'] > 0
  rows = [r for r in writers.read_metrics(workdir) if 'fid' in r]
  assert [r['step'] for r in rows] == [4, 8] and all('fid_ema' in r for r in rows)
  best = writers.read_json(os.path.join(workdir, 'best', 'best.json'))
  assert best['fid'] == min(r['fid'] for r in rows) and best['step'] == summary['best_step']
  assert os.listdir(os.path.join(workdir, 'best', 'checkpoints')) == [str(best['step'])]
  assert os.path.exists(os.path.join(workdir, 'plots', 'fid.png'))
  # a longer rerun resumes, keeps comparing against the saved best and scores again
  resumed = train.train_and_evaluate(
      _config(data_dir, 12, cdcgan, classifier_dir=classifier_dir), workdir)
  assert resumed['resumed_from_step'] == 8 and 'fid' in resumed
  best = writers.read_json(os.path.join(workdir, 'best', 'best.json'))
  assert best['fid'] <= min(r['fid'] for r in rows)

  table_row = report.row(workdir)
  assert f"{resumed['fid']:.1f}" in table_row and f"{resumed['class_accuracy']:.3f}" in table_row

  # any checkpoint scores again to the same numbers (gans.tools.score), and exports
  # (gans.tools.export)
  classifier = classifiers.saved.load(classifier_dir)
  again = score.score(saved.load(workdir, 'best'), classifier, config.eval.final_samples)
  assert again['step'] == best['step'] == resumed['best_step']
  assert again['fid'] == pytest.approx(resumed['fid_best'], rel=1e-5)
  ema = score.score(saved.load(workdir), classifier, config.eval.final_samples, ema=True)
  assert ema['kid'] == pytest.approx(resumed['kid_ema'], rel=1e-5)
  out = str(tmp_path / 'export')
  summary = export.export(saved.load(workdir), classifier, 200, 0.0, out)
  with np.load(os.path.join(out, 'samples.npz')) as f:
    images, labels = f['images'], f['labels']
  assert images.shape == (summary['kept'], 28, 28, 1) and images.dtype == np.uint8
  assert sum(summary['per_class'].values()) == summary['kept'] == len(labels) > 0
  assert os.path.exists(os.path.join(out, 'contact_sheet.png'))
  agree = np.mean(np.argmax(classifier.logits(images / 255.0), -1) == labels)
  assert agree > 0.9  # kept labels are the classifier's (uint8 rounding may flip a few)
  strict = export.export(saved.load(workdir), classifier, 200, 0.999, str(tmp_path / 'e2'))
  assert strict['kept'] <= summary['kept']
  with pytest.raises(ValueError, match='threshold'):
    export.export(saved.load(workdir), classifier, 10, 1.5, out)


def test_a_classifier_of_another_dataset_is_refused(tiny_classifier, tmp_path):
  data_dir, classifier_dir = tiny_classifier
  config = _config(data_dir, 4, classifier_dir=classifier_dir)
  config.dataset.name = 'mnist'
  with pytest.raises(checks.ConfigError, match="holds a classifier of 'fashion_mnist'"):
    train.train_and_evaluate(config, str(tmp_path))
  config = _config(data_dir, 4, classifier_dir=str(tmp_path / 'nothing'))
  with pytest.raises(checks.ConfigError, match='eval.classifier_dir'):
    train.train_and_evaluate(config, str(tmp_path))


def _tree_bytes(root):
  """Every file under root with its bytes (what 'nothing in the workdir changed' means)."""
  out = {}
  for folder, _, files in os.walk(root):
    for name in files:
      path = os.path.join(folder, name)
      with open(path, 'rb') as f:
        out[os.path.relpath(path, root)] = f.read()
  return out


def _launch(workdir, data_dir, *flags):
  env = subprocess_env(PYTHONUNBUFFERED='1')
  return subprocess.Popen(
      [sys.executable, 'launch.py', '--config=configs/wgan_gp.py:quick',
       f'--workdir={workdir}', f'--config.dataset.dir={data_dir}',
       '--config.dataset.download=False', '--config.eval.classifier_dir=', *flags],
      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _saved_steps(ckpts):
  return [int(s) for s in os.listdir(ckpts) if s.isdigit()] if os.path.isdir(ckpts) else [0]


def _wait_for(predicate, proc, timeout=180):
  start = time.time()
  while not predicate():
    assert proc.poll() is None, proc.stdout.read()
    assert time.time() - start < timeout
    time.sleep(0.2)


def test_a_workdir_held_refused_to_another_model_saved_on_sigterm_resumed_after_sigkill(
    idx_dir, tmp_path):
  workdir = str(tmp_path / 'run')
  ckpts = os.path.join(workdir, 'checkpoints')
  flags = ('--config.train.num_steps=400', '--config.train.checkpoint_every=20',
           '--config.train.log_every=10', '--config.eval.sample_every=200')
  proc = _launch(workdir, idx_dir, *flags)
  _wait_for(lambda: writers.read_metrics(workdir), proc)
  second = _launch(workdir, idx_dir, *flags)  # while the first is live
  out, _ = second.communicate(timeout=120)
  assert second.returncode == 2, out
  assert f'is in use by a live run (pid {proc.pid}' in out and 'Traceback' not in out
  proc.send_signal(signal.SIGTERM)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 0, out
  assert 'Received SIGTERM' in out
  stopped = max(_saved_steps(ckpts))
  assert stopped >= 10 and json.load(open(os.path.join(workdir, 'summary.json')))[
      'steps'] == stopped
  assert os.path.exists(os.path.join(workdir, 'config.json'))

  before = _tree_bytes(workdir)  # a rerun with another model changes nothing
  refused = _launch(workdir, idx_dir, *flags, '--config.model.generator_width=16')
  out, _ = refused.communicate(timeout=300)
  assert refused.returncode == 2, out
  assert 'model.generator_width' in out and 'new --workdir' in out
  assert 'Traceback' not in out and 'Event loop is closed' not in out, out
  assert _tree_bytes(workdir) == before

  proc = _launch(workdir, idx_dir, *flags)
  _wait_for(lambda: max(_saved_steps(ckpts)) >= stopped + 20, proc)
  proc.kill()
  proc.communicate()
  last_saved = max(_saved_steps(ckpts))

  proc = _launch(workdir, idx_dir, *flags[1:], f'--config.train.num_steps={last_saved + 20}')
  out, _ = proc.communicate(timeout=300)
  assert proc.returncode == 0, out
  assert f'Resumed from {ckpts}/{last_saved}' in out
  steps = [r['step'] for r in writers.read_metrics(workdir)]
  assert steps == sorted(set(steps)) and steps[-1] == last_saved + 20


@pytest.mark.parametrize('flag,message', [
    ('--config.optim.g_learning_rate=-0.1', 'config.optim.g_learning_rate = -0.1'),
    ('--config.loss.n_critic=0', 'config.loss.n_critic = 0'),
    ('--config.model.critic_batchnorm=True', 'config.loss.gp_weight = 10.0'),
    ('--config.loss.name=relativistic', "config.loss.name = 'relativistic'"),
    ('--config.loss.minimax_after_steps=5', 'config.loss.minimax_after_steps = 5'),
    ('--config.dataset.name=svhn', "config.dataset.name = 'svhn'"),
    ('--config.train.bacth_size=8', 'bacth_size'),
    ('--config.train.batch_size=eight', 'batch_size'),
])
def test_bad_input_stops_before_training(tmp_path, flag, message):
  proc = _launch(str(tmp_path), tmp_path, flag)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 2
  assert message in out and 'Traceback' not in out
  assert not os.path.exists(os.path.join(tmp_path, 'checkpoints'))
