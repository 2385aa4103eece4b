"""The reference WGAN-GP code, side by side: a PyTorch port of Gulrajani et al.'s
`gan_mnist.py` (wgan-gp mode), trained on Fashion-MNIST and scored by this project's FID
code on the shipped feature network, like a run of `configs/wgan_gp.py:gulrajani`.

  pip install -r benchmarks/requirements.txt
  python -m benchmarks.wgan_gp_reference [--width=64] [--steps=1000 | --seconds=529]
      [--seed=0] [--fid_every_seconds=60] [--output=runs/reference_s0.json]

The port: G Linear 128 -> 4*4*4w, ReLU, 5x5 transposed convs (stride 2) 4w -> 2w, ReLU,
crop to 7x7, -> w, ReLU, -> 1, sigmoid; critic 5x5 stride-2 convs 1 -> w -> 2w -> 4w with
LeakyReLU 0.2, then linear; tflib's initialisation, as gan_mnist.py has it; batch 50, 5
critic updates per generator update, lambda 10, Adam 1e-4 (0.5, 0.9) for both, pixels in
[0, 1]. Training stops after `--steps` generator updates, or after `--seconds` of training
when given (the FID checks are not counted).
It prints and writes FID and KID of 10,000 samples against the test set, and the FID
curve (2,000 samples) against training seconds.
"""
import json
import os
import time

import benchmarks
from absl import flags
import numpy as np

from classifiers import saved as saved_classifiers
from common import data
from gans import evaluation

LATENT, BATCH, CRITIC_ITERS, LAMBDA = 128, 50, 5, 10.0
CURVE_SAMPLES, FINAL_SAMPLES = 2000, 10000


def networks(width: int):
  from torch import nn  # pylint: disable=g-import-not-at-top

  class Generator(nn.Module):

    def __init__(self):
      super().__init__()
      self.dense = nn.Linear(LATENT, 4 * 4 * 4 * width)
      up = lambda i, o: nn.ConvTranspose2d(i, o, 5, stride=2, padding=2, output_padding=1)
      self.up1, self.up2, self.up3 = up(4 * width, 2 * width), up(2 * width, width), up(width, 1)

    def forward(self, z):
      x = self.dense(z).relu().view(-1, 4 * width, 4, 4)
      x = self.up1(x).relu()[:, :, :7, :7]
      return self.up3(self.up2(x).relu()).sigmoid()

  critic = nn.Sequential(
      nn.Conv2d(1, width, 5, 2, 2), nn.LeakyReLU(0.2),
      nn.Conv2d(width, 2 * width, 5, 2, 2), nn.LeakyReLU(0.2),
      nn.Conv2d(2 * width, 4 * width, 5, 2, 2), nn.LeakyReLU(0.2),
      nn.Flatten(), nn.Linear(4 * 4 * 4 * width, 1))
  gen = Generator()
  for module in (*gen.modules(), *critic.modules()):
    _tflib_init_(module)
  return gen, critic


def _tflib_init_(module) -> None:
  """gan_mnist.py's initialisation (tflib), not PyTorch's default: Linear Glorot uniform;
  (transposed) convs uniform with variance 4 / (fan_in + fan_out), fan = channels x k^2,
  the low-resolution side's divided by stride^2; biases 0."""
  from torch import nn  # pylint: disable=g-import-not-at-top
  if isinstance(module, nn.Linear):
    nn.init.xavier_uniform_(module.weight)
  elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
    taps = module.kernel_size[0] * module.kernel_size[1]
    fan_in, fan_out = module.in_channels * taps, module.out_channels * taps
    if isinstance(module, nn.ConvTranspose2d):
      fan_in /= module.stride[0] ** 2
    else:
      fan_out /= module.stride[0] ** 2
    limit = (3 * 4 / (fan_in + fan_out)) ** 0.5
    nn.init.uniform_(module.weight, -limit, limit)
  else:
    return
  nn.init.zeros_(module.bias)


def torch_step(gen, critic, g_opt, d_opt, real_batch, n_critic: int, batch: int) -> None:
  """One WGAN-GP step in PyTorch: `n_critic` critic updates with the gradient penalty
  (lambda 10) on `real_batch()` images, then one generator update."""
  import torch  # pylint: disable=g-import-not-at-top
  for _ in range(n_critic):
    real = real_batch()
    fake = gen(torch.randn(batch, LATENT)).detach()
    alpha = torch.rand(batch, 1, 1, 1)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    grads, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    penalty = ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + LAMBDA * penalty
    d_opt.zero_grad(set_to_none=True)
    loss.backward()
    d_opt.step()
  g_loss = -critic(gen(torch.randn(batch, LATENT))).mean()
  g_opt.zero_grad(set_to_none=True)
  g_loss.backward()
  g_opt.step()


def samples(gen, n: int) -> np.ndarray:
  import torch  # pylint: disable=g-import-not-at-top
  with torch.no_grad():
    out = [gen(torch.randn(500, LATENT)) for _ in range(n // 500)]
  return torch.cat(out).permute(0, 2, 3, 1).numpy()  # NHWC in [0, 1]


def train(ds, evaluator, width: int, steps: int, seconds: float, seed: int,
          fid_every: float) -> dict:
  import torch  # pylint: disable=g-import-not-at-top
  torch.manual_seed(seed)
  rng = np.random.default_rng(seed)
  gen, critic = networks(width)
  g_opt = torch.optim.Adam(gen.parameters(), 1e-4, betas=(0.5, 0.9))
  d_opt = torch.optim.Adam(critic.parameters(), 1e-4, betas=(0.5, 0.9))
  images = torch.from_numpy(ds.train_images).permute(0, 3, 1, 2).contiguous()
  order, at = rng.permutation(len(images)), 0

  def real_batch():
    nonlocal order, at
    if at + BATCH > len(order):
      order, at = rng.permutation(len(images)), 0
    idx = torch.from_numpy(order[at:at + BATCH])
    at += BATCH
    return images[idx].float() / 255.0

  curve, trained, step, next_fid = [], 0.0, 0, fid_every
  while (step < steps) if seconds <= 0 else (trained < seconds):
    t0 = time.perf_counter()
    torch_step(gen, critic, g_opt, d_opt, real_batch, CRITIC_ITERS, BATCH)
    trained += time.perf_counter() - t0
    step += 1
    if trained >= next_fid:
      fid = evaluator.score(samples(gen, CURVE_SAMPLES), kid=False)['fid']
      curve.append({'seconds': trained, 'step': step, 'fid': fid})
      print(f'  step {step}, {trained:.0f} s: FID {fid:.1f} ({CURVE_SAMPLES} samples)',
            flush=True)
      next_fid += fid_every
  final = evaluator.score(samples(gen, FINAL_SAMPLES))
  return {'width': width, 'seed': seed, 'steps': step, 'train_seconds': trained,
          'steps_per_second': step / trained, 'fid': final['fid'], 'kid': final['kid'],
          'torch_threads': torch.get_num_threads(), 'curve': curve}


def _define_flags():
  """Command-line flags, defined only when run as a program (benchmarks/wgan_gp_step.py and
  the tests import this module)."""
  global _WIDTH, _STEPS, _SECONDS, _SEED, _FID_EVERY, _OUTPUT
  _WIDTH = flags.DEFINE_integer('width', 64, "gan_mnist.py's DIM")
  _STEPS = flags.DEFINE_integer('steps', 1000, 'generator updates')
  _SECONDS = flags.DEFINE_float('seconds', 0.0, '> 0: train for this many seconds instead')
  _SEED = flags.DEFINE_integer('seed', 0, 'torch and data-order seed')
  _FID_EVERY = flags.DEFINE_float('fid_every_seconds', 60.0, 'training seconds between FIDs')
  _OUTPUT = flags.DEFINE_string('output', '', 'a JSON file for the scores and the curve')


def main(_):
  import torch  # pylint: disable=g-import-not-at-top
  ds = data.load('fashion_mnist')
  classifier = saved_classifiers.load('shipped')
  evaluator = evaluation.Evaluator(classifier, ds.test_images)
  result = train(ds, evaluator, _WIDTH.value, _STEPS.value, _SECONDS.value, _SEED.value,
                 _FID_EVERY.value)
  print(f'PyTorch {torch.__version__} port of gan_mnist.py (wgan-gp), width {result["width"]}, '
        f'seed {result["seed"]}: {result["steps"]} generator steps in '
        f'{result["train_seconds"]:.0f} s ({result["steps_per_second"]:.2f} steps/s), '
        f'FID {result["fid"]:.1f}, KID {result["kid"]:.2f} ({FINAL_SAMPLES} samples, shipped '
        'network)')
  if _OUTPUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
    with open(_OUTPUT.value, 'w') as f:
      json.dump(result, f, indent=1)


if __name__ == '__main__':
  _define_flags()
  benchmarks.run(main)
