"""GAN sweeps: vmapped variants equal their single runs, and a sweep writes its table, plots
and sample grid, records a diverged variant, resumes, and runs shape-changing axes in turn."""
import contextlib
import os
import signal

import jax
import numpy as np
import pytest
from PIL import Image

from common import checkpoint, checks, loop, mesh as mesh_lib, sweep as sweep_lib, writers
from configs import sweep_gan_mlp
from gans import build, gan as gan_lib, sweep
from tests.conftest import config_on

STEPS = 3


def _sweep_config(data_dir, axis, values, seeds=1, classifier_dir='', **overrides):
  config = config_on(sweep_gan_mlp, data_dir, eval__classifier_dir=classifier_dir,
                     **overrides)
  config.sweep.axis, config.sweep.axis_values, config.sweep.seeds = axis, values, seeds
  return config


def _single_run(config, ds, steps):
  gan = build.build_gan(config, ds.image_shape, ds.num_classes)
  state = gan_lib.create_state(gan, jax.random.key(config.seed), image_shape=ds.image_shape,
                               num_examples=len(ds.train_images),
                               batch_size=config.train.batch_size)
  step = jax.jit(lambda s, d: gan_lib.train_step(s, d, gan=gan, mesh=mesh_lib.data_mesh(1),
                                                 batch_size=config.train.batch_size))
  data = (ds.train_images, ds.train_labels.astype(np.int32))
  for _ in range(steps):
    state, _ = step(state, data)
  return state


@pytest.mark.parametrize('axis,values', [
    ('optim.g_learning_rate,optim.d_learning_rate', (1e-4, 1e-3)),
    ('optim.g_learning_rate,optim.d_learning_rate', ((1e-4, 1e-3), (1e-3, 1e-4))),  # G's, D's
    ('optim.b1', (0.5, 0.9)),
    ('seed', (0, 3)),
])
def test_vmapped_variants_match_their_single_runs(idx_dir, axis, values):
  config = _sweep_config(idx_dir, axis, values, seeds=2, model__ema_decay=0.9)
  ds = build.load_data(config)
  (group_values, group_config), = sweep_lib.groups(config, sweep.VMAPPABLE)
  gan = build.build_gan(group_config, ds.image_shape, ds.num_classes,
                        hyperparams_in_state=axis != 'seed')
  state, variant_values, seeds = sweep.stacked_state(
      gan, group_config, axis, group_values, 2, ds.image_shape, len(ds.train_images))
  step = jax.jit(lambda s, d: sweep.vmapped_step(s, d, gan=gan, mesh=mesh_lib.data_mesh(1),
                                                 batch_size=config.train.batch_size))
  data = (ds.train_images, ds.train_labels.astype(np.int32))
  for _ in range(STEPS):
    state, metrics = step(state, data)
  assert len(variant_values) == 4 and 'd_loss/3' in metrics
  for i, (value, seed) in enumerate(zip(variant_values, seeds)):
    single = sweep_lib.with_value(config, axis, value)
    single.seed = seed
    expected = _single_run(single, ds, STEPS)
    one = sweep.variant(state, i)
    # Adam moves each weight by ~lr per step; 1e-5 is under 1 % of the smallest rate's
    # 3 steps, and rounding apart (vmapped matmuls) can flip a near-zero gradient's update
    for field in ('g_params', 'd_params', 'ema_params'):
      jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
                   getattr(one, field), getattr(expected, field))
  assert seeds == ([0, 1, 3, 4] if axis == 'seed' else [0, 0, 1, 1])


def test_eight_variants_on_eight_devices_train_one_each_as_on_one_device(idx_dir, tmp_path):
  config = _sweep_config(idx_dir, 'optim.g_learning_rate,optim.d_learning_rate',
                         (1e-4, 2e-4, 5e-4, 1e-3), seeds=2)
  ds = build.load_data(config)
  mesh = mesh_lib.variant_mesh(mesh_lib.data_mesh(8), variants=8)
  gan = build.build_gan(config, ds.image_shape, ds.num_classes, hyperparams_in_state=True)
  state, _, _ = sweep.stacked_state(gan, config, config.sweep.axis, config.sweep.axis_values,
                                    2, ds.image_shape, len(ds.train_images), mesh)
  for leaf in jax.tree.leaves(state.g_params):
    assert {s.data.shape[0] for s in leaf.addressable_shards} == {1}  # a variant a device
  rows = {}
  for devices in (8, 1):
    config.train.num_devices = devices
    rows[devices] = sweep.train_and_evaluate(config, str(tmp_path / str(devices)))['rows']
  for spread, alone in zip(rows[8], rows[1]):
    assert (spread['value'], spread['seed']) == (alone['value'], alone['seed'])
    np.testing.assert_allclose(spread['loss_curve'], alone['loss_curve'], rtol=1e-5, atol=1e-6)


def test_sweep_writes_its_table_records_divergence_and_resumes(tiny_classifier, tmp_path):
  data_dir, classifier_dir = tiny_classifier
  config = _sweep_config(data_dir, 'optim.g_learning_rate,optim.d_learning_rate',
                         (2e-4, 1e38), seeds=2, classifier_dir=classifier_dir)
  workdir = str(tmp_path / 'sweep')
  summary = sweep.train_and_evaluate(config, workdir)
  assert summary['vmapped']
  by_value = {r['value']: r for r in summary['table']}
  assert by_value[2e-4]['diverged'] == 0 and by_value[1e38]['diverged'] == 2
  assert np.isfinite(by_value[2e-4]['fid_mean']) and np.isnan(by_value[1e38]['fid_mean'])
  good = [r for r in summary['rows'] if r['value'] == 2e-4]
  assert [step for step, _ in good[0]['fid_curve']] == [4, 8]
  assert good[0]['fid'] != good[1]['fid']  # the two seeds are two runs
  for name in ('results.md', 'results.csv', 'plots/sweep.png', 'plots/fid_curves.png',
               'figures/samples.png'):
    assert os.path.exists(os.path.join(workdir, name)), name
  with open(os.path.join(workdir, 'results.md')) as f:
    table = f.read()
  assert '| 0.0002 | 2 |' in table and 'diverged' in table

  again = sweep.train_and_evaluate(config, workdir)  # everything done: nothing retrains
  assert again['rows'] == writers.read_json(os.path.join(workdir, 'results.json'))
  assert [r['fid'] for r in again['rows'] if r['value'] == 2e-4] == [r['fid'] for r in good]
  assert again['train_seconds'] == summary['train_seconds'] == good[0]['seconds']


def test_a_shape_changing_axis_runs_one_value_after_another(idx_dir, tmp_path, monkeypatch):
  builds = []   # the scorer (none here: no classifier) is built once for the two groups
  monkeypatch.setattr(build, 'build_evaluator', lambda *args: builds.append(args))
  config = _sweep_config(idx_dir, 'loss.real_label', ((1.0, 1.0), (0.7, 1.2)))
  summary = sweep.train_and_evaluate(config, str(tmp_path))
  assert not summary['vmapped'] and len(builds) == 1
  assert [tuple(r['value']) for r in summary['table']] == [(1.0, 1.0), (0.7, 1.2)]
  assert sorted(os.listdir(tmp_path / 'groups')) == ['0', '1']
  width, height = Image.open(tmp_path / 'figures' / 'samples.png').size
  assert width > height  # a column per value: the two values side by side, one seed's row


def test_a_bad_axis_names_the_key(idx_dir):
  config = _sweep_config(idx_dir, 'optim.learning_rat', (1e-4,))
  with pytest.raises(checks.ConfigError, match='sweep.axis'):
    sweep.validate(config)


def test_a_batch_the_devices_cannot_share_is_refused_before_the_scorer_is_built(
    idx_dir, tmp_path, monkeypatch):
  """The mesh is checked first: building the scorer compiles the classifier's features."""
  def built(*args):
    raise AssertionError('the evaluator was built before the mesh was checked')
  monkeypatch.setattr(build, 'build_evaluator', built)
  config = _sweep_config(idx_dir, 'optim.g_learning_rate', (1e-4,), train__batch_size=12)
  with pytest.raises(checks.ConfigError, match='batch_size = 12 must be a multiple of'):
    sweep.train_and_evaluate(config, str(tmp_path))  # 1 variant: its batch over 8 devices


def test_a_tuple_value_gives_each_key_its_entry(idx_dir):
  config = _sweep_config(idx_dir, 'train.batch_size,optim.g_learning_rate', ((16, 1e-4),))
  variant = sweep_lib.with_value(config, config.sweep.axis, (16, 1e-4))
  assert (variant.train.batch_size, variant.optim.g_learning_rate) == (16, 1e-4)
  assert not sweep_lib.vmapped(config, sweep.VMAPPABLE)  # the batch size changes shapes
  same = sweep_lib.with_value(config, 'optim.g_learning_rate,optim.d_learning_rate', 3e-4)
  assert same.optim.g_learning_rate == same.optim.d_learning_rate == 3e-4


def test_a_stopped_group_is_not_recorded_and_the_rerun_continues_it(idx_dir, tmp_path,
                                                                   monkeypatch):
  config = _sweep_config(idx_dir, 'loss.real_label', ((1.0, 1.0), (0.7, 1.2)))
  config.train.checkpoint_every = config.train.num_steps
  monkeypatch.setattr(loop, 'stop_requests', lambda: contextlib.nullcontext([signal.SIGTERM]))
  stopped = sweep.train_and_evaluate(config, str(tmp_path))  # a SIGTERM in the first group
  assert stopped['rows'] == [] and not os.path.exists(tmp_path / 'groups' / '1')
  saved = checkpoint.Checkpointer(str(tmp_path / 'groups' / '0')).steps()
  assert 0 < saved[-1] < config.train.num_steps
  monkeypatch.undo()
  summary = sweep.train_and_evaluate(config, str(tmp_path))
  assert [r['steps'] for r in summary['rows']] == [config.train.num_steps] * 2
  first = writers.read_metrics(str(tmp_path / 'groups' / '0'))
  assert summary['rows'][0]['seconds'] == first[-1]['total_train_seconds']
  assert summary['rows'][0]['seconds'] > first[0]['total_train_seconds'] > 0
