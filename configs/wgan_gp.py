"""WGAN-GP (Gulrajani et al. 2017) on Fashion-MNIST: the Wasserstein loss with the gradient
penalty (lambda 10) and a DCGAN-style critic without normalisation (width 32, LeakyReLU 0.2).

  python launch.py --config=configs/wgan_gp.py --workdir=runs/wgan_gp

Arguments after the colon:
  (none)  the README main job, a recipe that learns fast on a CPU: BatchNorm in the
          generator, 2 critic updates per generator update, Adam 4e-3 (0, 0.9) for both
          networks falling linearly to 0 over 3,500 steps (see the README for its FID).
  paper   the paper's schedule: no normalisation, 5 critic updates, Adam 1e-4 (0.5, 0.9),
          200,000 generator iterations, batch 64, width 64.
  gulrajani  the paper's own MNIST code, gan_mnist.py in wgan-gp mode: its networks
          (models.GulrajaniGenerator / Critic, width 64, sigmoid output on [0, 1] pixels),
          batch 50, 5 critic updates, Adam 1e-4 (0.5, 0.9), no EMA; 1,000 generator
          steps, the length benchmarks/wgan_gp_reference.py compares it with its PyTorch
          port at (the paper ran 200,000: --config.train.num_steps=200000).
  acgan   the main job made conditional as Gulrajani et al.'s conditional CIFAR-10 model: G
          takes the label, the critic gets AC-GAN's class head (cross-entropy on real images
          in its loss, on generated ones in G's, both weighted 1; their code weights G's 0.1)
          instead of the label; noise of 64 (16-bit weights under 2 MB); 5,000 steps. The
          generator `python -m gans.app` serves (gans/shipped.py).
  quick   a few steps on small widths, for tests and a first look at the pipeline.
"""
from configs import gan_common
from configs import variants

VARIANTS = ('paper', 'gulrajani', 'acgan')


def _papers_updates(config) -> None:
  """Gulrajani et al.'s updates: 5 critic updates per generator update, Adam 1e-4 (0.5,
  0.9) for both networks at a constant rate."""
  config.loss.n_critic = 5
  config.optim.g_learning_rate = 1e-4
  config.optim.d_learning_rate = 1e-4
  config.optim.b1 = 0.5
  config.optim.decay = 'constant'


def get_config(arg: str | None = None):
  variant, quick = variants.parse(arg, __file__, VARIANTS)
  config = gan_common.base()
  gan_common.dcgan_model(config, width=32, generator_batchnorm=True, critic_batchnorm=False)
  config.model.latent_dim = 128
  config.loss.name = 'wasserstein'
  config.loss.gp_weight = 10.0  # lambda
  config.loss.n_critic = 2      # critic updates per generator update
  config.optim.g_learning_rate = 4e-3
  config.optim.d_learning_rate = 4e-3
  config.optim.b1 = 0.0
  config.optim.b2 = 0.9
  config.optim.decay = 'linear'
  config.train.num_steps = 3500
  config.train.log_every = 50
  if variant == 'paper':
    config.model.generator_batchnorm = False
    _papers_updates(config)
    config.model.generator_width = 64
    config.model.critic_width = 64
    config.train.num_steps = 200_000
    config.train.log_every = 100
    config.train.checkpoint_every = 5000
    config.eval.sample_every = 5000
    config.eval.fid_every = 5000
  if variant == 'gulrajani':
    gan_common.gulrajani_model(config, width=64)
    config.dataset.pixel_range = 'zero_one'
    config.model.ema_decay = 0.0
    _papers_updates(config)
    config.train.batch_size = 50
    config.train.num_steps = 1000
  if variant == 'acgan':
    config.model.conditional = True
    config.model.latent_dim = 64
    config.loss.acgan_weights = (1.0, 1.0)
    config.train.num_steps = 5000
  if quick:
    gan_common.quick(config)
  return config
