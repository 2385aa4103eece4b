"""The compiled train step: PyTorch's optimizers and batches reproduced, one trace, vmap = loop."""
import dataclasses
import functools
import types

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from classifiers import build, models, optimizers, step as step_lib, sweep
from common import batches, data, mesh as mesh_lib
from configs import lenet, mlp

N, BATCH, STEPS = 64, 8, 12


def _data():
  rng = np.random.default_rng(0)
  return (rng.integers(0, 256, (N, 6, 6, 1)).astype(np.uint8),
          rng.integers(0, 10, N).astype(np.int32))


def _setup(optim='sgd', lr=0.05, deferred=False, **optimizer_kwargs):
  return step_lib.Setup(
      model=models.MLP((7,), 10, 'sigmoid', 'sigmoid'),
      optimizer=optimizers.build(optim, lr, **optimizer_kwargs), loss='mse',
      pixel_range='zero_one', batch_size=BATCH, image_shape=(6, 6, 1),
      mesh=mesh_lib.data_mesh(1), deferred_first_layer=deferred)


def _torch_net(params, optim, lr):
  """The same MLP and optimizer in PyTorch, from the same initial weights."""
  l1, l2 = torch.nn.Linear(36, 7), torch.nn.Linear(7, 10)
  for layer, p in ((l1, params['Dense_0']), (l2, params['Dense_1'])):
    layer.weight.data = torch.tensor(np.asarray(p['kernel']).T.copy())
    layer.bias.data = torch.tensor(np.asarray(p['bias']))
  net = torch.nn.Sequential(torch.nn.Flatten(), l1, torch.nn.Sigmoid(), l2, torch.nn.Sigmoid())
  make = {'sgd': lambda p: torch.optim.SGD(p, lr), 'momentum': lambda p: torch.optim.SGD(
      p, lr, momentum=0.9), 'adam': lambda p: torch.optim.Adam(p, lr),
          'rmsprop': lambda p: torch.optim.RMSprop(p, lr), 'adagrad': lambda p: torch.optim.Adagrad(
              p, lr)}
  return net, make[optim](net.parameters())


# ('sgd', True): the deferred first-layer updates (one block of 12 steps, across an epoch)
@pytest.mark.parametrize('optim,deferred',
                         [(name, False) for name in optimizers.NAMES] + [('sgd', True)])
def test_steps_match_pytorch(optim, deferred):
  images, labels = _data()
  lr = 0.01 if optim in ('adam', 'rmsprop', 'adagrad') else 0.5
  setup = _setup(optim, lr, deferred)
  state = step_lib.create_state(setup, jax.random.key(3), N)
  net, opt = _torch_net(state.params, optim, lr)
  x_all = torch.tensor(images.astype(np.float32) / 255.0)
  _, data_key, _ = step_lib._streams(state.rng)  # pylint: disable=protected-access
  steps_per_epoch = N // BATCH
  for counter in range(STEPS):  # the batches the JAX step draws, epoch by epoch
    epoch, slot = divmod(counter, steps_per_epoch)
    order = np.asarray(batches.epoch_order(data_key, epoch, N))
    idx = order[slot * BATCH:(slot + 1) * BATCH]
    target = torch.nn.functional.one_hot(torch.tensor(labels[idx]).long(), 10).float()
    loss = torch.nn.functional.mse_loss(net(x_all[idx]), target)
    opt.zero_grad()
    loss.backward()
    opt.step()

  state, metrics = jax.jit(functools.partial(step_lib.train_steps, setup=setup,
                                             num_steps=STEPS))(state, images, labels)
  chex.assert_tree_all_finite(metrics)
  ours = np.asarray(state.params['Dense_0']['kernel']).T
  np.testing.assert_allclose(ours, net[1].weight.detach().numpy(), rtol=2e-4, atol=2e-6)
  np.testing.assert_allclose(state.params['Dense_1']['bias'], net[3].bias.detach().numpy(),
                             rtol=2e-4, atol=2e-6)
  assert int(state.step) == STEPS


@pytest.mark.parametrize('deferred', [False, True])
def test_vmapped_learning_rates_equal_separate_runs_and_trace_once(deferred):
  images, labels = _data()
  setup = _setup('sgd', deferred=deferred)
  chex.clear_trace_counter()   # parametrized: each case traces its own `run` once
  rates = jnp.array([0.01, 0.3, 2.0])

  @jax.jit
  @chex.assert_max_traces(n=1)
  def run(state, images, labels):
    return step_lib.train_steps(state, images, labels, setup=setup, num_steps=STEPS)

  # The sweep's own layout: states stacked [seed, value], one seed here.
  stacked, values, seeds = sweep.stacked_state(
      setup, types.SimpleNamespace(seed=0), 'optim.learning_rate', list(map(float, rates)),
      [0], N)
  assert seeds == [0, 0, 0] and values == list(map(float, rates))
  together, metrics = jax.jit(sweep.vmapped_steps(setup, STEPS))(stacked, images, labels)
  chex.assert_shape(metrics['train_loss'], (1, 3))
  for i in range(3):
    alone = step_lib.set_learning_rate(step_lib.create_state(setup, jax.random.key(0), N),
                                       rates[i])
    alone, alone_metrics = run(alone, images, labels)
    chex.assert_trees_all_close(jax.tree.map(lambda x: x[0, i], together.params),
                                alone.params, rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(metrics['train_loss'][0, i], alone_metrics['train_loss'],
                                rtol=1e-5)
  # the rates really differ: the runs did not collapse onto one
  assert len({float(m) for m in metrics['train_loss'][0]}) == 3


@pytest.mark.parametrize('schedule', optimizers.SCHEDULES)
def test_deferred_first_layer_equals_updating_every_step(schedule):
  """Two blocks of 24 steps (six epochs) of deferred first-layer updates against SGD that
  updates every step: the same parameters and per-step metrics up to float rounding."""
  images, labels = _data()
  states, metrics = [], []
  for deferred in (False, True):
    setup = _setup('sgd', 0.5, deferred, schedule=schedule, total_steps=64)
    state = step_lib.create_state(setup, jax.random.key(1), N)
    state, m = jax.jit(functools.partial(step_lib.train_steps, setup=setup, num_steps=48))(
        state, images, labels)
    states.append(state)
    metrics.append(m)
  chex.assert_trees_all_close(states[1].params, states[0].params, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(metrics[1], metrics[0], rtol=1e-5)
  np.testing.assert_array_equal(states[1].data_order, states[0].data_order)
  assert int(states[1].step) == 48
  # the run moved the first layer (the deferred updates were applied)
  start = step_lib.create_state(_setup(), jax.random.key(1), N).params['Dense_0']['kernel']
  assert float(jnp.max(jnp.abs(states[1].params['Dense_0']['kernel'] - start))) > 1e-2


def test_deferred_first_layer_only_where_sgd_is_linear_in_the_batch():
  images, labels = _data()
  ds = data.ImageDataset('tiny', images, labels, images, labels, tuple('0123456789'), 'test')

  def deferred(config):   # what the trainer's setup says
    return build.build_setup(config, ds, mesh_lib.data_mesh(1)).deferred_first_layer
  assert deferred(mlp.get_config())   # report 000's MLP and its sweeps
  for key, value in (('optim.name', 'momentum'), ('optim.name', 'adam'),
                     ('train.augment', 'flip'), ('train.adversarial', 'fgsm')):
    config = mlp.get_config()
    config.update_from_flattened_dict({key: value})
    assert not deferred(config), key
  config = lenet.get_config()
  config.optim.name = 'sgd'
  assert not deferred(config)   # a conv net's first layer is not one matmul with the batch


def test_augmentations_are_flips_and_small_shifts():
  x = jnp.zeros((64, 12, 12, 1)).at[:, 4:8, 3:6].set(1.0)  # an off-centre block
  assert step_lib.augment(x, jax.random.key(0), 'none') is x
  out = np.asarray(step_lib.augment(x, jax.random.key(0), 'flip_shift'))
  chex.assert_shape(out, x.shape)
  candidates = []
  for image in (np.asarray(x[0]), np.asarray(x[0])[:, ::-1]):
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    candidates += [padded[a:a + 12, b:b + 12] for a in range(5) for b in range(5)]
  for image in out:  # each is the flipped or unflipped block moved by at most 2 pixels
    assert any(np.array_equal(image, c) for c in candidates)
  assert len({out[i].tobytes() for i in range(64)}) > 10


def test_cosine_schedule_keeps_a_settable_rate():
  opt = optimizers.build('sgd', 0.5, schedule='cosine', total_steps=10)
  params = {'w': jnp.ones(3)}
  state = optimizers.set_learning_rate(opt.init(params), 0.1)
  grads = {'w': jnp.ones(3)}
  first, state = opt.update(grads, state, params)
  chex.assert_trees_all_close(first['w'], -0.1 * jnp.ones(3))  # factor 1 at step 0
  for _ in range(9):
    update, state = opt.update(grads, state, params)
  expected = -0.1 * 0.5 * (1 + np.cos(np.pi * 9 / 10))
  chex.assert_trees_all_close(update['w'], expected * jnp.ones(3), rtol=1e-5)


def test_fgsm_adversarial_training_matches_pytorch():
  """Goodfellow et al.'s objective, 0.3 J(x) + 0.7 J(x + eps sign(grad J)), step by step in
  PyTorch on the same batches: the same weights after 12 SGD steps."""
  images, labels = _data()
  setup = dataclasses.replace(
      _setup('sgd', 0.5), model=models.MLP((7,), 10, 'sigmoid', 'none'),
      loss='softmax_cross_entropy', adversarial='fgsm', adversarial_eps=0.1,
      adversarial_weight=0.3)
  state = step_lib.create_state(setup, jax.random.key(3), N)
  net, opt = _torch_net(state.params, 'sgd', 0.5)
  net = net[:-1]  # logits
  x_all = torch.tensor(images.astype(np.float32) / 255.0)
  _, data_key, _ = step_lib._streams(state.rng)  # pylint: disable=protected-access
  ce = torch.nn.functional.cross_entropy
  for counter in range(STEPS):
    epoch, slot = divmod(counter, N // BATCH)
    idx = np.asarray(batches.epoch_order(data_key, epoch, N))[slot * BATCH:(slot + 1) * BATCH]
    x, y = x_all[idx].clone().requires_grad_(True), torch.tensor(labels[idx]).long()
    grad, = torch.autograd.grad(ce(net(x), y), x)
    x_adv = torch.clamp(x + 0.1 * grad.sign(), 0, 1).detach()
    loss = 0.3 * ce(net(x.detach()), y) + 0.7 * ce(net(x_adv), y)
    opt.zero_grad()
    loss.backward()
    opt.step()

  state, _ = jax.jit(functools.partial(step_lib.train_steps, setup=setup,
                                       num_steps=STEPS))(state, images, labels)
  np.testing.assert_allclose(np.asarray(state.params['Dense_0']['kernel']).T,
                             net[1].weight.detach().numpy(), rtol=2e-4, atol=2e-6)
  np.testing.assert_allclose(state.params['Dense_1']['bias'], net[3].bias.detach().numpy(),
                             rtol=2e-4, atol=2e-6)


@pytest.mark.parametrize('vmapped', [False, True])
@pytest.mark.parametrize('hidden', [(7, 5), (40,)])  # 36x40 weights: above SMALL_KERNEL
def test_mlp_layouts_compute_the_written_out_mlp(hidden, vmapped):
  """models.MLP's dot layouts (multiply-and-sum for small layers alone; kernel-first first
  layer under vmap) give sigmoid(x @ W + b) layer by layer: outputs and gradients."""
  model = models.MLP(hidden, 10, 'sigmoid', 'sigmoid', vmapped=vmapped)
  x = jax.random.uniform(jax.random.key(0), (3, 6, 6, 1))
  params = models.init_params(model, jax.random.key(1), (6, 6, 1))

  def written_out(p):
    h = x.reshape(3, -1)
    for i in range(len(hidden) + 1):
      layer = p[f'Dense_{i}']
      h = jax.nn.sigmoid(jnp.dot(h, layer['kernel'], precision='highest') + layer['bias'])
    return h

  loss = lambda f: jax.jit(jax.value_and_grad(lambda p: jnp.sum(f(p) ** 2)))(params)
  model_loss = loss(lambda p: model.apply({'params': p}, x))
  chex.assert_trees_all_close(model_loss, loss(written_out), rtol=1e-5, atol=1e-6)
  assert model_loss[0] > 1  # 3 x 10 sigmoids: not a degenerate zero
  assert sweep.variants_setup(_setup()).model.vmapped
