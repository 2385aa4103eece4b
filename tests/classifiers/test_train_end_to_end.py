"""The classifier trainer and the sweep on tiny data: files, resume, devices, loading, bad input."""
import json
import os
import subprocess

import chex
import jax
import numpy as np
import pytest

from classifiers import build, saved, sweep, train
from common import checks, data, mesh as mesh_lib, writers
from configs import binary_mlp, eval_classifier, lenet, mlp, sweep_mlp_lr
from tests.conftest import config_on, on_every_core, subprocess_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _rows(workdir):
  return [{k: r[k] for k in ('step', 'epoch', 'train_loss', 'test_accuracy')}
          for r in writers.read_metrics(workdir)]


def test_mlp_run_writes_its_files_and_resume_reproduces_it(idx_dir, tmp_path):
  full, split = str(tmp_path / 'full'), str(tmp_path / 'split')
  summary = train.train_and_evaluate(config_on(mlp, idx_dir, train__num_epochs=3), full)
  train.train_and_evaluate(config_on(mlp, idx_dir, train__num_epochs=2), split)
  resumed = train.train_and_evaluate(config_on(mlp, idx_dir, train__num_epochs=3), split)

  assert resumed['resumed_from_step'] == 2 * 16 and resumed['epochs'] == 3
  # the whole run's training time: this invocation's and the one before it
  first_half = writers.read_metrics(split)[1]['total_train_seconds']
  assert resumed['total_train_seconds'] == pytest.approx(first_half + resumed['train_seconds'])
  assert summary['total_train_seconds'] == summary['train_seconds']
  assert _rows(split) == _rows(full)  # one row per epoch, bit-identical after the resume
  assert [r['epoch'] for r in _rows(full)] == [1, 2, 3]
  with open(os.path.join(full, 'summary.json')) as f:
    saved = json.load(f)
  assert saved['params'] == 15_910
  for key in ('test_accuracy', 'test_loss', 'test_rmse', 'train_seconds'):
    assert saved[key] == summary[key]
  for path in ('plots/curves.png', 'plots/confusion_matrix.png', 'figures/test_predictions.png'):
    assert os.path.exists(os.path.join(full, path)), path


def test_conv_net_learns_on_eight_devices_and_loads_back(idx_dir, tmp_path):
  assert jax.device_count() == 8
  # The test blobs' class is their position: no flips here.
  config = config_on(eval_classifier, idx_dir, train__num_devices=0, train__num_epochs=4,
                  train__batch_size=32, train__augment='none')
  writers.write_config(config, str(tmp_path))  # as launch.py does
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert summary['num_devices'] == 8
  assert summary['test_accuracy'] > 0.5  # 10 well-separated blobs; chance is 0.1

  clf = saved.load(str(tmp_path))
  ds = data.load('fashion_mnist', str(idx_dir))
  x = data.to_float(ds.test_images, clf.pixel_range)
  accuracy = np.mean(np.argmax(clf.logits(x), -1) == ds.test_labels)
  assert accuracy == pytest.approx(summary['test_accuracy'])
  chex.assert_shape(clf.features(x), (len(x), 256))
  assert clf.class_names[0] == 'T-shirt/top' and clf.step == summary['steps']


def test_binary_run_on_two_classes(idx_dir, tmp_path):
  config = config_on(binary_mlp, idx_dir, dataset__classes=(3, 7), train__num_epochs=3,
                  optim__learning_rate=1.0)
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert summary['classes'] == ['3', '7'] and summary['params'] == 784 * 5 + 5 + 6
  assert summary['test_accuracy'] > 0.9


def test_lenet_variant_runs(idx_dir, tmp_path):
  summary = train.train_and_evaluate(
      config_on(lenet, idx_dir, 'single_conv,quick', train__num_epochs=1), str(tmp_path))
  assert summary['params'] == 20 * 26 + 3920 * 120 + 120 + 120 * 84 + 84 + 850


def test_vmapped_sweep_matches_separate_runs_and_resumes(idx_dir, tmp_path):
  config = config_on(sweep_mlp_lr, idx_dir)
  config.sweep.seeds = 1
  result = sweep.train_and_evaluate(config, str(tmp_path / 'sweep'))
  assert result['vmapped'] and [r['value'] for r in result['table']] == [0.01, 0.1]
  for row in result['rows']:
    alone = config_on(mlp, idx_dir, optim__learning_rate=row['value'])
    single = train.train_and_evaluate(alone, str(tmp_path / f'alone_{row["value"]}'))
    assert row['test_accuracy'] == pytest.approx(single['test_accuracy'], abs=1e-6)
    assert row['test_loss'] == pytest.approx(single['test_loss'], rel=1e-4)
  with open(tmp_path / 'sweep' / 'results.md') as f:
    assert f.read().count('\n') == 4
  assert os.path.exists(tmp_path / 'sweep' / 'results.csv')
  assert os.path.exists(tmp_path / 'sweep' / 'plots' / 'sweep.png')
  # Rerunning keeps the finished rows instead of training again.
  again = sweep.train_and_evaluate(config, str(tmp_path / 'sweep'))
  assert again['rows'] == result['rows']


def test_eight_variants_on_eight_devices_train_one_each_as_on_one_device(idx_dir, tmp_path):
  # report 000's batch of 4 on 8 devices: each variant's batch whole on its own device
  config = config_on(sweep_mlp_lr, idx_dir, train__num_devices=8, train__batch_size=4)
  config.sweep.axis_values = (0.01, 0.03, 0.1, 0.3)  # x 2 seeds
  ds = build.load_data(config)
  mesh = mesh_lib.variant_mesh(mesh_lib.data_mesh(8), seeds=2, values=4)
  setup = sweep.variants_setup(build.build_setup(config, ds, mesh))
  state, _, _ = sweep.stacked_state(setup, config, config.sweep.axis,
                                    list(config.sweep.axis_values), [0, 1], len(ds.train_images))
  for leaf in jax.tree.leaves(state.params):
    assert {s.data.shape[:2] for s in leaf.addressable_shards} == {(1, 1)}  # one a device
  rows = {}
  for devices in (8, 1):
    config.train.num_devices = devices
    rows[devices] = sweep.train_and_evaluate(config, str(tmp_path / str(devices)))['rows']
  assert len(rows[8]) == 8
  for spread, alone in zip(rows[8], rows[1]):
    assert (spread['value'], spread['seed']) == (alone['value'], alone['seed'])
    assert spread['test_accuracy'] == pytest.approx(alone['test_accuracy'], abs=1e-6)
    assert spread['test_loss'] == pytest.approx(alone['test_loss'], rel=1e-5)


def test_sequential_sweep_over_a_shape_changing_axis(idx_dir, tmp_path):
  config = config_on(sweep_mlp_lr, idx_dir)
  config.sweep.axis = 'model.hidden'
  config.sweep.axis_values = ((8,), (16, 8))
  result = sweep.train_and_evaluate(config, str(tmp_path))
  assert not result['vmapped'] and len(result['rows']) == 4  # 2 values x 2 seeds
  assert [r['seeds'] for r in result['table']] == [2, 2]


@pytest.mark.parametrize('key, value, words', [
    ('optim__name', 'lbfgs', 'optim.name'),
    ('model__activation', 'gelu', 'model.activation'),
    ('train__augment', 'mixup', 'train.augment'),
    ('loss__name', 'hinge', 'loss.name'),
    ('dataset__classes', (3, 12), 'config.dataset.classes'),
    ('model__num_outputs', 1, 'model.num_outputs'),
])
def test_bad_config_values_name_the_key(idx_dir, tmp_path, key, value, words):
  config = config_on(mlp, idx_dir, **{key: value})
  with pytest.raises(checks.ConfigError, match=words.replace('.', r'\.')):
    train.validate(config)  # launch.py's check; the last two keys fail as the data loads
    train.train_and_evaluate(config, str(tmp_path))
  assert not os.path.exists(tmp_path / 'checkpoints')


def test_bad_conv_spec_and_sweep_axis(idx_dir):
  config = config_on(lenet, idx_dir)
  config.model.convs = ((6, 5, 2), (16, 5, 0, 2, 2))
  with pytest.raises(checks.ConfigError, match=r'model\.convs\[0\]'):
    train.validate(config)
  config = config_on(sweep_mlp_lr, idx_dir)
  config.sweep.axis = 'optim.learnig_rate'
  with pytest.raises(checks.ConfigError, match=r'sweep\.axis'):
    sweep.validate(config)


def test_launch_pins_the_mlp_to_one_core(idx_dir, tmp_path):
  out = subprocess.run(
      on_every_core(['launch.py', '--config=configs/mlp.py:quick', f'--workdir={tmp_path / "run"}',
                     '--config.dataset.name=fashion_mnist', f'--config.dataset.dir={idx_dir}',
                     '--config.dataset.download=False', '--config.train.num_epochs=1']),
      cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, check=True)
  assert 'config.cpu_threads = 1: the process runs on 1 CPU core(s).' in out.stderr
  assert os.path.exists(tmp_path / 'run' / 'summary.json')


def test_cpu_threads_must_be_a_whole_count(idx_dir):
  config = config_on(mlp, idx_dir)
  assert config.cpu_threads == 1  # launch.py pins report 000's MLP to one core
  with config.unlocked():
    config.cpu_threads = -1
  with pytest.raises(checks.ConfigError, match=r'config\.cpu_threads = -1 .* integer >= 0'):
    train.validate(config)


def test_loading_a_missing_classifier_says_how_to_train_it(tmp_path):
  with pytest.raises(FileNotFoundError, match='configs/eval_classifier.py'):
    saved.load(str(tmp_path / 'nothing'))
