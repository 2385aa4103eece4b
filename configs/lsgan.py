"""LSGAN (Mao et al. 2017) on Fashion-MNIST: the standard DCGAN (BatchNorm, width 32) with
least-squares losses, a = 0 (fake), b = c = 1 (real); Adam 2e-4 (0.5, 0.999).

  python launch.py --config=configs/lsgan.py
"""
from configs import gan_common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = gan_common.base()
  gan_common.dcgan_model(config)
  config.loss.name = 'least_squares'
  config.train.num_steps = 8000
  if quick:
    gan_common.quick(config)
  return config
