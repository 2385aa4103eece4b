"""WGAN-GP (Gulrajani et al. 2017) on Fashion-MNIST: DCGAN-style conv generator and critic.

  python launch.py --config=configs/wgan_gp.py --workdir=runs/wgan_gp

Arguments after the colon:
  (none)  the README main job: sized to finish in about 15 minutes on 2 CPU cores with
          samples recognisable as clothes (see README for the measured time and grid).
  paper   the paper's schedule: 200,000 generator iterations, batch 64.
  quick   a few steps on small widths, for tests and a first look at the pipeline.
"""
import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.trainer = 'wgan_gp'
  config.seed = 0

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = 'fashion_mnist'  # mnist | fashion_mnist | cifar10
  config.dataset.dir = ''                # a local copy (raw files or a TFDS data_dir)
  config.dataset.download = True         # one quick try at the raw files when none is local
  config.dataset.pixel_range = 'minus_one_one'  # or 'zero_one'

  config.model = ml_collections.ConfigDict()
  config.model.latent_dim = 128
  config.model.generator_width = 32
  config.model.critic_width = 32

  config.loss = ml_collections.ConfigDict()
  config.loss.gp_weight = 10.0  # lambda
  config.loss.n_critic = 5      # critic updates per generator update

  config.optim = ml_collections.ConfigDict()
  config.optim.g_learning_rate = 1e-4
  config.optim.d_learning_rate = 1e-4
  config.optim.b1 = 0.5
  config.optim.b2 = 0.9

  config.train = ml_collections.ConfigDict()
  config.train.num_steps = 2500        # generator updates
  config.train.batch_size = 64
  config.train.log_every = 50
  config.train.checkpoint_every = 500
  config.train.keep_checkpoints = 3
  config.train.num_devices = 0         # 0: every device of every host

  config.eval = ml_collections.ConfigDict()
  config.eval.sample_every = 500
  config.eval.num_samples = 100        # fixed noise, one grid per sample_every

  if arg == 'paper':
    config.model.generator_width = 64
    config.model.critic_width = 64
    config.train.num_steps = 200_000
    config.train.log_every = 100
    config.train.checkpoint_every = 5000
    config.eval.sample_every = 5000
  elif arg == 'quick':
    config.model.generator_width = 8
    config.model.critic_width = 8
    config.train.num_steps = 20
    config.train.batch_size = 16
    config.train.log_every = 5
    config.train.checkpoint_every = 10
    config.eval.sample_every = 10
    config.eval.num_samples = 16
  elif arg:
    raise ValueError(f'configs/wgan_gp.py: unknown argument {arg!r}; use paper or quick.')
  return config
