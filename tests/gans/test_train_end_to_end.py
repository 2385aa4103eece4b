"""The WGAN-GP trainer on tiny data: what it writes, resume, NaN stop, signals, bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from common import loop, writers
from configs import wgan_gp as wgan_gp_config
from gans import train

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOSSES = ('critic_loss', 'generator_loss', 'gradient_penalty', 'wasserstein_distance')


def _config(data_dir, num_steps, **overrides):
  config = wgan_gp_config.get_config('quick')
  config.dataset.dir = str(data_dir)
  config.dataset.download = False
  config.train.num_steps = num_steps
  config.train.log_every = 2
  config.train.checkpoint_every = 4
  config.eval.sample_every = 4
  for key, value in overrides.items():
    section, name = key.split('__')
    config[section][name] = value
  return config


def _losses(workdir):
  return [(r['step'], *(r[k] for k in LOSSES)) for r in writers.read_metrics(workdir)]


def test_run_writes_its_files_and_resume_reproduces_the_losses(idx_dir, tmp_path):
  full, split = str(tmp_path / 'full'), str(tmp_path / 'split')
  summary = train.train_and_evaluate(_config(idx_dir, 8), full)
  train.train_and_evaluate(_config(idx_dir, 4), split)
  resumed = train.train_and_evaluate(_config(idx_dir, 8), split)

  assert resumed['resumed_from_step'] == 4 and resumed['steps'] == 8
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


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(idx_dir, tmp_path):
  workdir = str(tmp_path)
  train.train_and_evaluate(_config(idx_dir, 4), workdir)
  exploding = _config(idx_dir, 12, optim__d_learning_rate=1e30, optim__g_learning_rate=1e30)
  with pytest.raises(loop.NonFiniteError, match='Last good checkpoint: 4'):
    train.train_and_evaluate(exploding, workdir)
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['4']
  resumed = train.train_and_evaluate(_config(idx_dir, 6), workdir)
  assert resumed['resumed_from_step'] == 4


def _launch(workdir, data_dir, *flags):
  env = dict(os.environ, XLA_FLAGS='', PYTHONUNBUFFERED='1')
  return subprocess.Popen(
      [sys.executable, 'launch.py', '--config=configs/wgan_gp.py:quick',
       f'--workdir={workdir}', f'--config.dataset.dir={data_dir}',
       '--config.dataset.download=False', *flags],
      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _saved_steps(ckpts):
  return [int(s) for s in os.listdir(ckpts) if s.isdigit()] if os.path.isdir(ckpts) else [0]


def _wait_for(predicate, proc, timeout=180):
  start = time.time()
  while not predicate():
    assert proc.poll() is None, proc.stdout.read()
    assert time.time() - start < timeout
    time.sleep(0.2)


def test_sigterm_saves_and_sigkill_resumes_from_last_checkpoint(idx_dir, tmp_path):
  workdir = str(tmp_path / 'run')
  ckpts = os.path.join(workdir, 'checkpoints')
  flags = ('--config.train.num_steps=400', '--config.train.checkpoint_every=20',
           '--config.train.log_every=10', '--config.eval.sample_every=200')
  proc = _launch(workdir, idx_dir, *flags)
  _wait_for(lambda: writers.read_metrics(workdir), proc)
  proc.send_signal(signal.SIGTERM)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 0, out
  assert 'Received SIGTERM' in out
  stopped = max(_saved_steps(ckpts))
  assert stopped >= 10 and json.load(open(os.path.join(workdir, 'summary.json')))[
      'steps'] == stopped
  assert os.path.exists(os.path.join(workdir, 'config.json'))

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
    ('--config.dataset.name=svhn', "config.dataset.name = 'svhn'"),
    ('--config.train.bacth_size=8', 'bacth_size'),
    ('--config.train.batch_size=eight', 'batch_size'),
])
def test_bad_input_stops_before_training(tmp_path, flag, message):
  proc = _launch(str(tmp_path), tmp_path, flag)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode != 0
  assert message in out
  assert not os.path.exists(os.path.join(tmp_path, 'checkpoints'))
