"""WGAN-GP train step: this codebase's JAX step against the same models and step in PyTorch.

  pip install -r benchmarks/requirements.txt
  python -m benchmarks.wgan_gp_step [--width=32 --batch_size=64 --steps=20]
  python -m benchmarks.wgan_gp_step --variant=gulrajani --batch_size=50 --steps=10
  python -m benchmarks.wgan_gp_step --profile   # and where the JAX step's time goes

One step of configs/wgan_gp.py's recipe = n_critic critic updates (gradient penalty
included) + one generator update, on 28x28x1 images; the PyTorch side builds the same
networks (BatchNorm in G where the config has it) and Adam settings. Prints steps/s of each (after compilation / warm-up), the JAX compile
time and the ratio; then, for one critic and one generator layer, the gradient time of
the patch-matmul forms in gans/layers.py against XLA's own convolutions (why we use them).
"""
import time

import benchmarks
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import op_profile, wgan_gp_reference
from common import data as data_lib, mesh as mesh_lib
from configs import wgan_gp as wgan_gp_config
from gans import build, gan as gan_lib, layers

_WIDTH = flags.DEFINE_integer('width', 32, 'generator and critic width (configs/wgan_gp.py)')
_BATCH = flags.DEFINE_integer('batch_size', 64, 'batch size')
_N_CRITIC = flags.DEFINE_integer('n_critic', None, 'critic updates per generator update '
                                 "(default: configs/wgan_gp.py's)")
_STEPS = flags.DEFINE_integer('steps', 20, 'timed steps per framework')
_VARIANT = flags.DEFINE_enum('variant', '', ['', 'gulrajani'],
                             "configs/wgan_gp.py's variant: '' the main job's recipe; gulrajani "
                             "gan_mnist.py's (use --batch_size=50), against "
                             "benchmarks/wgan_gp_reference.py's port")
LATENT, SHAPE, N = 128, (28, 28, 1), 6400


def benchmark_config():
  """configs/wgan_gp.py at the flags' width and update ratio (both sides build from it)."""
  config = wgan_gp_config.get_config(_VARIANT.value or None)  # the trainer's own models
  config.model.generator_width = config.model.critic_width = _WIDTH.value
  if _N_CRITIC.value:
    config.loss.n_critic = _N_CRITIC.value
  return config


def time_jax(images):
  config = benchmark_config()
  config.model.ema_decay = 0.0  # PyTorch's step below keeps no EMA
  gan = build.build_gan(config, SHAPE, 10)
  mesh = mesh_lib.data_mesh(1)
  state = mesh_lib.put_replicated(gan_lib.create_state(
      gan, jax.random.key(0), image_shape=SHAPE, num_examples=N, batch_size=_BATCH.value),
      mesh)
  arrays = mesh_lib.put_replicated((images, np.zeros(N, np.int32)), mesh)
  t0 = time.perf_counter()
  step = gan_lib.compile_step(state, arrays, gan=gan, mesh=mesh, batch_size=_BATCH.value)
  compile_s = time.perf_counter() - t0

  def run(steps=_STEPS.value):
    nonlocal state
    for _ in range(steps):
      state, metrics = step(state, arrays)
    jax.block_until_ready((state, metrics))

  run(2)  # warm-up
  t0 = time.perf_counter()
  run()
  rate = _STEPS.value / (time.perf_counter() - t0)
  if op_profile.PROFILE.value:  # the same steps again, under the profiler
    op_profile.print_profile(run, _STEPS.value, 'the JAX step', indent='')
  params = sum(x.size for x in jax.tree.leaves((state.g_params, state.d_params)))
  return rate, compile_s, params


def time_torch(images):
  import torch  # pylint: disable=g-import-not-at-top
  from torch import nn  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  config = benchmark_config()
  w, c = _WIDTH.value, SHAPE[-1]
  if config.model.arch == 'gulrajani':
    gen, critic = wgan_gp_reference.networks(w)
  else:
    norm = config.model.generator_batchnorm  # BatchNorm before each of G's ReLUs, as models.py
    bn = lambda layer, n: [layer(n)] if norm else []
    gen = nn.Sequential(nn.Linear(LATENT, 7 * 7 * 4 * w), *bn(nn.BatchNorm1d, 7 * 7 * 4 * w),
                        nn.ReLU(), nn.Unflatten(1, (4 * w, 7, 7)),
                        nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), *bn(nn.BatchNorm2d, 2 * w),
                        nn.ReLU(), nn.ConvTranspose2d(2 * w, c, 4, 2, 1), nn.Tanh())
    critic = nn.Sequential(nn.Conv2d(c, w, 4, 2, 1), nn.LeakyReLU(0.2),
                           nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                           nn.Linear(7 * 7 * 2 * w, 1))
  betas = (config.optim.b1, config.optim.b2)
  g_opt = torch.optim.Adam(gen.parameters(), config.optim.g_learning_rate, betas=betas)
  d_opt = torch.optim.Adam(critic.parameters(), config.optim.d_learning_rate, betas=betas)
  pixels = np.asarray(data_lib.to_float(images, config.dataset.pixel_range))  # as the JAX step
  data = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()
  b = _BATCH.value

  def step():
    real = lambda: data[torch.randint(0, N, (b,))]
    wgan_gp_reference.torch_step(gen, critic, g_opt, d_opt, real, config.loss.n_critic, b)

  for _ in range(2):
    step()
  t0 = time.perf_counter()
  for _ in range(_STEPS.value):
    step()
  params = sum(p.numel() for p in [*gen.parameters(), *critic.parameters()])
  return _STEPS.value / (time.perf_counter() - t0), params, torch.__version__, torch.get_num_threads()


def time_layer_gradients():
  """Gradient of the gradient penalty through one layer (critic) and a plain gradient
  (generator): the patch-matmul layers of gans/layers.py against XLA's convolutions."""
  w, b = _WIDTH.value, _BATCH.value
  conv_transpose = lambda x, k: jax.lax.conv_transpose(  # XLA's forward and autodiff
      x, k, (2, 2), ((2, 2), (2, 2)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
      transpose_kernel=True)
  conv = lambda x, k: jax.lax.conv_general_dilated(
      x, k, (2, 2), ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  penalty = lambda f: lambda k, x: jnp.sum(jax.grad(lambda x: jnp.sum(f(x, k) ** 2))(x) ** 2)
  square = lambda f: lambda k, x: jnp.sum(f(x, k) ** 2)
  cases = {
      'critic 14x14x{w} -> 7x7x{2w}, penalty gradient':
          (penalty, layers.conv4x4_stride2, conv, (b, 14, 14, w), (4, 4, w, 2 * w)),
      'generator 7x7x{4w} -> 14x14x{2w}, gradient':
          (square, layers.conv_transpose4x4_stride2, conv_transpose, (b, 7, 7, 4 * w),
           (4, 4, 2 * w, 4 * w)),
  }
  out = {}
  for name, (loss, ours, xla, x_shape, k_shape) in cases.items():
    x = jax.random.normal(jax.random.key(0), x_shape)
    k = jax.random.normal(jax.random.key(1), k_shape) * 0.05
    if 'generator' in name:  # ours takes the PyTorch ConvTranspose2d tap layout (kh, kw, in, out)
      k_ours = jnp.swapaxes(k, 2, 3)
    else:
      k_ours = k
    times = []
    for f, kk in ((ours, k_ours), (xla, k)):
      g = jax.jit(jax.grad(loss(f), argnums=(0, 1)))
      jax.block_until_ready(g(kk, x))
      t0 = time.perf_counter()
      for _ in range(5):
        jax.block_until_ready(g(kk, x))
      times.append((time.perf_counter() - t0) / 5 * 1e3)
    out[name.format(w=w, **{'2w': 2 * w, '4w': 4 * w})] = times
  return out


def main(_):
  images = np.random.default_rng(0).integers(0, 256, (N, *SHAPE), dtype=np.uint8)
  jax_rate, compile_s, jax_params = time_jax(images)
  torch_rate, torch_params, torch_version, threads = time_torch(images)
  assert jax_params == torch_params, (jax_params, torch_params)
  print(f'WGAN-GP step, 28x28x1, width {_WIDTH.value}, batch {_BATCH.value}, '
        f'n_critic {benchmark_config().loss.n_critic}, {jax_params:,} parameters, '
        f'{_STEPS.value} timed steps')
  print(f'  JAX {jax.__version__} ({jax.devices()[0].platform}): {jax_rate:.3f} steps/s '
        f'({1e3 / jax_rate:.0f} ms/step), compile {compile_s:.1f} s')
  print(f'  PyTorch {torch_version} (CPU, {threads} threads): {torch_rate:.3f} steps/s '
        f'({1e3 / torch_rate:.0f} ms/step)')
  print(f'  speed ratio JAX / PyTorch: {jax_rate / torch_rate:.2f}x')
  print('One layer, patch matmuls (gans/layers.py) vs XLA convolution, ms:')
  for name, (ours, xla) in time_layer_gradients().items():
    print(f'  {name}: {ours:.1f} vs {xla:.1f} ({xla / ours:.1f}x)')


if __name__ == '__main__':
  benchmarks.run(main)
