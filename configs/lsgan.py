"""LSGAN (Mao et al. 2017) on Fashion-MNIST: the standard DCGAN (BatchNorm, width 32) with
least-squares losses, a = 0 (fake), b = c = 1 (real); Adam 2e-4 (0.5, 0.999).

  python launch.py --config=configs/lsgan.py
"""
from configs import gan_common


def get_config(arg: str | None = None):
  config = gan_common.base()
  gan_common.dcgan_model(config)
  config.loss.name = 'least_squares'
  config.train.num_steps = 8000
  if arg == 'quick':
    gan_common.quick(config)
  elif arg:
    raise ValueError(f'configs/lsgan.py: unknown argument {arg!r}; use quick.')
  return config
