"""Classifier epochs: this codebase's compiled steps against the same recipes in PyTorch.

  pip install -r benchmarks/requirements.txt
  python -m benchmarks.classifier_epoch [--cnn_steps=1184 --eval_steps=48 --sweep_epochs=1]
      [--only=mlp,cnn,lenet,eval,transfer,sweep]
      [--cpu_threads=1] [--profile] [--conv=patches]

Measurements on Fashion-MNIST-shaped data (60,000 random 28x28 images; speed does not
depend on the pixels), each side by side in this process:
  1. report 000's MLP recipe (batch 4, SGD, MSE): one epoch, JAX (configs/mlp.py through
     the trainer's step, the epoch one lax.scan) vs a plain PyTorch loop over the same
     batches; prints seconds per epoch and the ratio, and the epoch with the first layer's
     SGD updates applied every step instead of deferred (classifiers/step.py).
  2. the conv nets' steps as the trainer runs them (one lax.scan per call) against the same
     network, optimizer and batch in PyTorch: report 000's CNN with pooling (batch 16, Adam),
     report 002's LeNet (batch 64, RMSprop), the evaluation classifier (batch 128, Adam);
     and the transfer demo's pretraining step (configs/transfer_fmnist.py: VGG-style blocks,
     batch 128, Adam, in rolled calls as transfer/finetune.fit runs them: 16 steps each for
     the 48 timed here); each with its FLOP rate (closed form, `convnet_flops`) beside a large
     matmul's.
  3. the learning-rate sweep of configs/sweep_mlp_lr.py, 8 rates x 8 seeds (64 variants) and
     8 rates x 1 seed: the variants in one vmapped program vs the same compiled single-run
     program called once per variant (both with SGD's deferred first-layer updates,
     classifiers/step.py); for the 8 variants it also prints the FLOP rates of both and the
     ceiling a large matmul sets on these cores.
Timings exclude compilation (reported apart) and the first call. `--cpu_threads=N` pins the
process (JAX and PyTorch alike) to N cores first, as configs/mlp.py's `cpu_threads` does.
`--profile` runs each conv net's JAX steps again under jax.profiler and prints where their
time goes, summed by kind of op (benchmarks/op_profile.py). `--conv` traces the JAX side's
convolutions with another of common/conv.py's implementations than the trainers' (auto).
"""
import dataclasses
import functools
import os
import time
import types
from typing import Callable, NamedTuple

import benchmarks
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import machine, op_profile
from classifiers import build, step as step_lib, sweep
from common import conv, data, host, mesh as mesh_lib, sweep as sweep_lib
from configs import cnn as cnn_config, eval_classifier, lenet as lenet_config
from configs import mlp as mlp_config, sweep_mlp_lr, transfer_fmnist as transfer_config
from transfer import finetune

_CNN_STEPS = flags.DEFINE_integer('cnn_steps', 1184, 'timed steps of report 000\'s CNN and LeNet '
                                  "(rounded down to whole calls of the trainer's)")
_SWEEP_EPOCHS = flags.DEFINE_integer('sweep_epochs', 1, 'epochs per variant in the sweep test')
_ONLY = flags.DEFINE_list('only', ['mlp', 'cnn', 'lenet', 'eval', 'transfer', 'sweep'],
                           'which measurements to run')
_EVAL_STEPS = flags.DEFINE_integer('eval_steps', 48, 'timed evaluation-classifier steps')
_CONV = flags.DEFINE_enum('conv', 'auto', conv.IMPLEMENTATIONS,
                          "the JAX side's convolutions (common/conv.py); auto: the trainers'")
_CPU_THREADS = flags.DEFINE_integer('cpu_threads', 0, 'pin the process to this many cores '
                                    '(0: all); PyTorch gets as many threads')
N = 60_000


def fake_dataset():
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (N, 28, 28, 1), dtype=np.uint8)
  labels = rng.integers(0, 10, N).astype(np.int32)
  return data.ImageDataset('fashion_mnist', images, labels, images[:1000], labels[:1000],
                           data.class_names('fashion_mnist'), 'random')


class JaxSteps(NamedTuple):
  step_s: float      # seconds a step
  compile_s: float
  run: Callable[[], None]   # the timed calls again
  steps: int         # the steps `run` runs


def jax_steps(config, ds, num_steps: int, **setup_changes) -> JaxSteps:
  """The steps as the trainer runs them, in its calls of an epoch (or of `num_steps` when
  that is shorter: one rolled scan either way), timed over the whole calls that fit in
  `num_steps` (one at least); `setup_changes` replace fields of the trainer's
  step_lib.Setup."""
  mesh = mesh_lib.data_mesh(1)
  setup = dataclasses.replace(build.build_setup(config, ds, mesh), **setup_changes)
  k = min(build.steps_per_call(config, N // config.train.batch_size), num_steps)
  state = build.initial_state(setup, 0, N)
  images, labels = mesh_lib.put_replicated((ds.train_images, ds.train_labels), mesh)
  t0 = time.perf_counter()
  call = jax.jit(functools.partial(step_lib.train_steps, setup=setup, num_steps=k),
                 donate_argnums=0).lower(state, images, labels).compile()
  compile_s = time.perf_counter() - t0
  state, _ = jax.block_until_ready(call(state, images, labels))  # warm-up, not timed

  calls = max(1, num_steps // k)

  def run():
    nonlocal state
    for _ in range(calls):
      state, metrics = call(state, images, labels)
    jax.block_until_ready((state, metrics))

  t0 = time.perf_counter()
  run()
  return JaxSteps((time.perf_counter() - t0) / (calls * k), compile_s, run, calls * k)


def torch_steps(kind: str, ds, num_steps: int) -> float:
  import torch  # pylint: disable=g-import-not-at-top
  from torch import nn  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  num_classes = 10
  if kind == 'mlp':
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.Sigmoid(), nn.Linear(20, 10),
                        nn.Sigmoid())
    opt, batch = torch.optim.SGD(net.parameters(), 0.05), 4
    loss_fn = lambda out, y: nn.functional.mse_loss(out, nn.functional.one_hot(y, 10).float())
  elif kind == 'eval':  # configs/eval_classifier.py
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(0.4),
                        nn.Linear(256, 10))
    opt, batch = torch.optim.Adam(net.parameters(), 1e-3), 128
    loss_fn = nn.functional.cross_entropy
  elif kind == 'transfer':  # configs/transfer_fmnist.py's pretraining net
    config = transfer_config.get_config()
    blocks, hidden = _transfer_net(config)
    layers, channels, size = [], 1, 28
    for width, num_convs in blocks:
      for _ in range(num_convs):
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
        channels = width
      layers.append(nn.MaxPool2d(2))
      size //= 2
    layers.append(nn.Flatten())
    width = channels * size * size
    for out in hidden:
      layers += [nn.Linear(width, out), nn.ReLU()]
      width = out
    num_classes = len(config.dataset.source_classes)
    net = nn.Sequential(*layers, nn.Linear(width, num_classes))
    opt = torch.optim.Adam(net.parameters(), config.optim.pretrain_learning_rate)
    batch = config.train.pretrain_batch_size
    loss_fn = nn.functional.cross_entropy
  elif kind == 'lenet':  # configs/lenet.py
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.LeakyReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(6, 16, 5), nn.LeakyReLU(), nn.AvgPool2d(2), nn.Flatten(),
                        nn.Linear(16 * 5 * 5, 120), nn.LeakyReLU(), nn.Linear(120, 84),
                        nn.Tanh(), nn.Linear(84, 10))
    opt, batch = torch.optim.RMSprop(net.parameters(), 1e-3), 64
    loss_fn = nn.functional.cross_entropy
  else:
    net = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.Flatten(), nn.Linear(576, 512), nn.ReLU(), nn.Linear(512, 512),
                        nn.ReLU(), nn.Linear(512, 10))
    opt, batch = torch.optim.Adam(net.parameters(), 1e-3), 16
    loss_fn = nn.functional.cross_entropy
  x = torch.tensor(ds.train_images.transpose(0, 3, 1, 2))
  y = torch.tensor(ds.train_labels).long() % num_classes
  order = torch.randperm(N)

  def step(i):
    idx = order[i * batch:(i + 1) * batch]
    loss = loss_fn(net(x[idx].float() / 255.0), y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()

  for i in range(5):
    step(i)
  t0 = time.perf_counter()
  for i in range(num_steps):
    step(i % (N // batch))
  return time.perf_counter() - t0


def sweep_ratio(ds, seeds: int = 1) -> tuple[float, float, float]:
  """(seconds for the 8 rates x `seeds` variants vmapped, seconds for them trained one after
  another, and the largest difference between a variant's parameters trained the two ways:
  both sides do the same training)."""
  config = sweep_mlp_lr.get_config()
  config.sweep.seeds = seeds
  (values, group_config), = sweep_lib.groups(config, sweep.VMAPPABLE)
  mesh = mesh_lib.data_mesh(1)
  setup = build.build_setup(group_config, ds, mesh)
  steps, epochs = N // group_config.train.batch_size, _SWEEP_EPOCHS.value  # an epoch a call
  images, labels = mesh_lib.put_replicated((ds.train_images, ds.train_labels), mesh)
  stacked, _, _ = sweep.stacked_state(setup, group_config, sweep.VMAPPABLE[0], values,
                                      list(range(seeds)), N)
  together = jax.jit(sweep.vmapped_steps(sweep.variants_setup(setup), steps))
  one = jax.jit(functools.partial(step_lib.train_steps, setup=setup, num_steps=steps))
  singles = [step_lib.set_learning_rate(build.initial_state(setup, group_config.seed + seed, N),
                                        lr) for seed in range(seeds) for lr in values]

  def train(fn, state):
    for _ in range(epochs):
      state, _ = fn(state, images, labels)
    return jax.block_until_ready(state)

  jax.block_until_ready((together(stacked, images, labels), one(singles[0], images, labels)))
  t0 = time.perf_counter()   # both compiled and warmed up above
  trained = train(together, stacked)
  vmapped_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  alone = [train(one, state).params for state in singles]
  sequential_s = time.perf_counter() - t0
  gap = max(float(jnp.max(jnp.abs(v - a))) for variant, params in enumerate(alone)
            for v, a in zip(jax.tree.leaves(jax.tree.map(lambda p, i=variant: p[i],
                                                         sweep.flat_params(trained))),
                            jax.tree.leaves(params)))
  return vmapped_s, sequential_s, gap


def mlp_step_flops(layers=((784, 20), (20, 10)), batch: int = 4) -> int:
  """Floating-point operations of one SGD step of report 000's MLP, one variant: forward,
  input and weight gradients (none for the first layer's input) and the update; the
  elementwise sigmoid and loss are left out (under 1 %)."""
  flops = 0
  for i, (n_in, n_out) in enumerate(layers):
    matmuls = 2 if i == 0 else 3
    flops += matmuls * 2 * batch * n_in * n_out + 2 * n_in * n_out
  return flops


def main(argv):
  del argv
  host.limit_cpu_threads(_CPU_THREADS.value)  # before JAX's backend starts
  if _CPU_THREADS.value:
    import torch  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(_CPU_THREADS.value)
  print(f'Cores: {len(os.sched_getaffinity(0))}; JAX convolutions: {_CONV.value}.')
  with conv.forced(_CONV.value):
    _measure(fake_dataset())


def _measure(ds):
  if 'mlp' in _ONLY.value:
    mlp_epoch(ds)
  peak = machine.matmul_gflops()  # the cores' ceiling, as the README quotes it
  for kind in CONVNETS:
    if kind in _ONLY.value:
      convnet_steps(ds, kind, peak)
  if 'transfer' in _ONLY.value:
    transfer_steps(ds, peak)
  if 'sweep' in _ONLY.value:
    vmapped_64, sequential_64, gap_64 = sweep_ratio(ds, seeds=8)
    print(f'Learning-rate sweep, 8 rates x 8 seeds = 64 variants x {_SWEEP_EPOCHS.value} '
          f'epoch(s) of the MLP: vmapped {vmapped_64:.2f} s, one after another '
          f'{sequential_64:.2f} s: {sequential_64 / vmapped_64:.2f}x faster together '
          f'(target 4x); parameters the two ways within {gap_64:.1e}.')
    vmapped_s, sequential_s, gap = sweep_ratio(ds)
    print(f'Learning-rate sweep, 8 rates x {_SWEEP_EPOCHS.value} epoch(s) of the MLP: vmapped '
          f'{vmapped_s:.2f} s, one after another {sequential_s:.2f} s: '
          f'{sequential_s / vmapped_s:.2f}x faster together; parameters within {gap:.1e}.')
    flops = 8 * _SWEEP_EPOCHS.value * N // 4 * mlp_step_flops()
    print(f'  Arithmetic: {flops / 1e9:.1f} GFLOP either way; one after another '
          f'{flops / sequential_s / 1e9:.1f} GFLOP/s, vmapped {flops / vmapped_s / 1e9:.1f} '
          f'GFLOP/s, a {machine.MATMUL_SIZE}² matmul on these cores {peak:.1f} GFLOP/s: vmap '
          f'cannot gain more than {peak * 1e9 * sequential_s / flops:.1f}x.')


def mlp_epoch(ds):
  mlp_steps = N // 4
  timed = jax_steps(mlp_config.get_config(), ds, mlp_steps)
  jax_s, compile_s = timed.step_s * mlp_steps, timed.compile_s
  every_step_s = jax_steps(mlp_config.get_config(), ds, mlp_steps,
                           deferred_first_layer=False).step_s * mlp_steps   # an epoch of them
  torch_s = torch_steps('mlp', ds, mlp_steps)
  print(f'MLP (report 000, batch 4), one epoch of {mlp_steps} steps: JAX {jax_s:.2f} s '
        f'(compile {compile_s:.1f} s), PyTorch {torch_s:.2f} s: JAX is {torch_s / jax_s:.2f}x '
        f'faster; 20 epochs ~ {20 * jax_s:.0f} s vs {20 * torch_s:.0f} s.')
  print(f'  The first layer updated every step instead of deferred over blocks: '
        f'{every_step_s:.2f} s ({every_step_s / jax_s:.2f}x slower).')


def convnet_flops(model, batch: int, size: int = 28, channels: int = 1,
                  num_outputs: int = 10) -> int:
  """Floating-point operations of one training step of a classifiers.models.ConvNet config
  (`model`: its convs and dense widths), counted in closed form: every conv and dense layer's
  forward matmul, weight gradient and input gradient (none for the first layer's input);
  activations, pooling, the loss and the optimizer are left out (a few per cent)."""
  layers = []   # forward multiply-adds per image
  for features, kernel, padding, window, stride in model.convs:
    size = size + 2 * padding - kernel + 1
    layers.append(size * size * kernel * kernel * channels * features)
    channels = features
    if window:
      size = (size - window) // stride + 1
  width = size * size * channels
  for out in (*model.dense, num_outputs):
    layers.append(width * out)
    width = out
  return 2 * batch * (3 * sum(layers) - layers[0])


CONVNETS = {   # kind: (config module, title)
    'cnn': (cnn_config, 'report 000\'s CNN with pooling'),
    'lenet': (lenet_config, 'report 002\'s LeNet'),
    'eval': (eval_classifier, 'the evaluation classifier'),
}


def convnet_steps(ds, kind: str, peak: float):
  """A conv net's step as the trainer runs it against PyTorch's, with both FLOP rates."""
  module, title = CONVNETS[kind]
  config = module.get_config()
  n = _EVAL_STEPS.value if kind == 'eval' else _CNN_STEPS.value
  batch = config.train.batch_size
  timed = jax_steps(config, ds, n)
  n = timed.steps   # whole calls: LeNet's epoch is 937
  _print_side_by_side(f'{title} (batch {batch}), {n} steps', n, timed.step_s * n,
                      timed.compile_s,
                      torch_steps(kind, ds, n), convnet_flops(config.model, batch), peak,
                      f'{config.train.num_epochs} epochs',
                      config.train.num_epochs * (N // batch))
  if op_profile.PROFILE.value:
    op_profile.print_profile(timed.run, n, 'the JAX step')


def _print_side_by_side(title, n, jax_s, compile_s, torch_s, step_flops, peak, run_name,
                        run_steps):
  """Per-step times of both sides, their ratio, what a whole run (`run_steps`) would take, and
  both FLOP rates beside a large matmul's."""
  print(f'{title[0].upper()}{title[1:]}: JAX {jax_s / n * 1e3:.1f} ms/step (compile '
        f'{compile_s:.1f} s), PyTorch {torch_s / n * 1e3:.1f} ms/step: JAX is '
        f'{torch_s / jax_s:.2f}x faster; {run_name} ~ {run_steps * jax_s / n:.0f} s vs '
        f'{run_steps * torch_s / n:.0f} s.')
  print(f'  {step_flops / 1e9:.2f} GFLOP a step: JAX {n * step_flops / jax_s / 1e9:.0f} GFLOP/s, '
        f'PyTorch {n * step_flops / torch_s / 1e9:.0f} GFLOP/s; a {machine.MATMUL_SIZE}² matmul '
        f'on these cores {peak:.0f}.')


def transfer_steps(ds, peak: float, n: int = 48):
  """The transfer demo's pretraining step (transfer/finetune.fit's rolled calls, on as
  many classes as its source classes) against the same net in PyTorch."""
  config = transfer_config.get_config()
  blocks, hidden = _transfer_net(config)
  classes, batch = len(config.dataset.source_classes), config.train.pretrain_batch_size
  net = finetune.BaseAndHead(blocks, config.model.feature_layer, classes, hidden,
                             prepare=finetune.to_unit_float)
  params = net.init(jax.random.key(0), ds.image_shape)
  fit = functools.partial(finetune.fit, net, frozen={}, images=ds.train_images,
                          labels=ds.train_labels % classes, batch_size=batch,
                          learning_rate=config.optim.pretrain_learning_rate, seed=0)
  t0 = time.perf_counter()
  jax.block_until_ready(fit(params, steps=n))   # compiles fit's call of its steps
  first_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  jax.block_until_ready(fit(params, steps=n))
  jax_s = time.perf_counter() - t0
  compile_s = first_s - jax_s
  convs = [(width, 3, 1, *((2, 2) if i == num_convs - 1 else (0, 0)))
           for width, num_convs in blocks for i in range(num_convs)]
  model = types.SimpleNamespace(convs=convs, dense=hidden)
  _print_side_by_side(f'the transfer pretraining net (blocks {blocks}, batch {batch}), {n} '
                      f'steps in calls of {finetune.steps_per_call(n)}', n, jax_s, compile_s,
                      torch_steps('transfer', ds, n),
                      convnet_flops(model, batch, num_outputs=classes), peak,
                      f'{config.train.pretrain_steps} steps', config.train.pretrain_steps)
  if op_profile.PROFILE.value:
    op_profile.print_profile(lambda: jax.block_until_ready(fit(params, steps=n)), n,
                             'the JAX step')


def _transfer_net(config):
  """configs/transfer_fmnist.py's pretraining net: its VGG blocks and head widths."""
  return (tuple(tuple(b) for b in config.model.blocks), tuple(config.model.pretrain_hidden))


if __name__ == '__main__':
  benchmarks.run(main)
