"""Transfer building blocks: frozen parameters, the fit loop, SVM sweeps, label draws."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common import mesh as mesh_lib
from transfer import finetune

NET = finetune.BaseAndHead(blocks=((4, 1), (8, 1)), feature_layer='pool2', num_classes=3,
                           hidden=(16,), prepare=finetune.to_unit_float)


def _blobs(n, seed=0):
  """Three classes of bright squares in different corners of 8x8 images (uint8)."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 3, n).astype(np.int32)
  images = rng.integers(0, 40, (n, 8, 8, 1)).astype(np.uint8)
  for i, y in enumerate(labels):
    r, c = [(0, 0), (0, 4), (4, 2)][y]
    images[i, r:r + 4, c:c + 4] = 220
  return images, labels


def test_base_and_head_layout_and_partition():
  params = NET.init(jax.random.key(0), (8, 8, 1))
  assert sorted(params) == ['block1_conv1', 'block2_conv1', 'head']
  feats = NET.features({k: p for k, p in params.items() if k != 'head'}, jnp.zeros((2, 8, 8, 1)))
  assert feats.shape == (2, 2, 2, 8)
  trainable, frozen = finetune.partition(params, lambda name: finetune.block_of(name) > 1)
  assert sorted(frozen) == ['block1_conv1'] and sorted(trainable) == ['block2_conv1', 'head']


def test_fit_learns_and_leaves_frozen_layers_alone():
  images, labels = _blobs(96)
  params = NET.init(jax.random.key(0), (8, 8, 1))
  trainable, frozen = finetune.partition(params, lambda name: finetune.block_of(name) > 1)
  before = jax.tree.map(np.array, frozen)
  tuned, losses = finetune.fit(NET, trainable, frozen, images, labels, steps=60, batch_size=32,
                               learning_rate=1e-2, seed=0)
  assert losses[-5:].mean() < 0.5 * losses[:5].mean()
  jax.tree.map(np.testing.assert_array_equal, frozen, before)   # untouched, not returned
  assert sorted(tuned) == ['block2_conv1', 'head']
  logits = NET({**tuned, **frozen}, images)
  assert finetune.accuracy(np.asarray(logits), labels) > 0.9


def test_fit_in_rolled_calls_trains_as_one_step_a_call(monkeypatch):
  assert [finetune.steps_per_call(n) for n in (1, 20, 48, 1500, 17)] == [1, 10, 16, 15, 1]
  # 3 batches an epoch, 2 calls of 10 steps: the second call starts mid-epoch and the epochs
  # end inside the calls
  images, labels = _blobs(96)
  params = NET.init(jax.random.key(0), (8, 8, 1))
  calls = []   # the shape of each call's indices: (steps, batch)
  rolled_steps = finetune._rolled_steps  # pylint: disable=protected-access

  def counted(*args):
    opt, steps = rolled_steps(*args)
    return opt, lambda *a: (calls.append(a[-1].shape), steps(*a))[1]
  monkeypatch.setattr(finetune, '_rolled_steps', counted)
  fit = lambda: finetune.fit(NET, params, {}, images, labels, steps=20, batch_size=32,
                             learning_rate=1e-2, seed=0)
  rolled, rolled_losses = fit()
  assert calls == [(10, 32)] * 2
  monkeypatch.setattr(finetune, 'MAX_STEPS_PER_CALL', 1)
  alone, losses = fit()
  assert calls[2:] == [(1, 32)] * 20
  assert len(rolled_losses) == len(losses) == 20
  np.testing.assert_allclose(rolled_losses, losses, rtol=1e-5)   # the same batches, in order
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), rolled,
               alone)


def test_the_step_differentiates_only_the_trainable_tree():
  params = NET.init(jax.random.key(0), (8, 8, 1))
  trainable, frozen = finetune.partition(params, lambda name: name == 'head')
  opt, step = finetune._rolled_steps(  # pylint: disable=protected-access
      NET, 1e-3, mesh_lib.job_mesh())
  opt_state = opt.init(trainable)
  # Adam's moments exist for the head only: frozen layers cost no optimizer memory
  assert sum(x.size for x in jax.tree.leaves(opt_state)) == 2 * sum(
      x.size for x in jax.tree.leaves(trainable)) + 1
  images, labels = _blobs(8)
  jaxpr = jax.make_jaxpr(step)(trainable, opt_state, frozen, images, labels,
                               np.arange(8, dtype=np.int32)[None])   # one step of batch 8
  # the conv kernels' gradients would be convolutions of the input with the output gradient;
  # with the base frozen only forward convolutions (2) and the input-side transposes remain
  convs = str(jaxpr).count('conv_general_dilated')
  assert convs == 2, convs


def test_svm_sweep_separable_features_and_cv_choice():
  rng = np.random.default_rng(0)
  centers = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 0, 4.0]])
  y = rng.integers(0, 3, 90)
  x = centers[y] + rng.normal(0, 0.3, (90, 3))
  rows = finetune.svm_sweep(x[:60], y[:60], x[60:], y[60:], (0.01, 1.0))
  assert [r['C'] for r in rows] == [0.01, 1.0]
  assert all(r['test_accuracy'] == 1.0 and r['cv_accuracy'] == 1.0 for r in rows)
  assert finetune.best_by_cv(rows)['C'] == 0.01      # a tie goes to the smaller C
  rows[1]['cv_accuracy'] = 1.5
  assert finetune.best_by_cv(rows)['C'] == 1.0


def test_few_labels_draws_per_class():
  labels = np.repeat(np.arange(4), [50, 3, 20, 20])
  idx = finetune.few_labels(labels, 10, seed=1)
  np.testing.assert_array_equal(np.bincount(labels[idx]), [10, 3, 10, 10])
  np.testing.assert_array_equal(idx, finetune.few_labels(labels, 10, seed=1))
  assert not np.array_equal(idx, finetune.few_labels(labels, 10, seed=2))


def test_per_layer_learning_rates_reach_their_layers():
  """((name, rate), ...) gives each top-level layer its own Adam: rate 0 leaves it unchanged."""
  images, labels = _blobs(32)
  params = NET.init(jax.random.key(0), (8, 8, 1))
  rates = (('block1_conv1', 0.0), ('block2_conv1', 1e-2), ('head', 1e-2))
  tuned, _ = finetune.fit(NET, params, {}, images, labels, steps=5, batch_size=16,
                          learning_rate=rates, seed=0)
  jax.tree.map(np.testing.assert_array_equal, tuned['block1_conv1'], params['block1_conv1'])
  for name in ('block2_conv1', 'head'):
    moved = max(float(np.abs(a - b).max()) for a, b in
                zip(jax.tree.leaves(tuned[name]), jax.tree.leaves(params[name])))
    assert 0.01 < moved < 0.06, (name, moved)     # 5 Adam steps of ~1e-2 each
