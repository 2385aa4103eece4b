"""Conditional DCGAN (report 001) on Fashion-MNIST: the standard DCGAN (BatchNorm, width
32) with the label one-hot appended to G's noise and as 10 constant planes to D's input;
non-saturating BCE, Adam 2e-4 (0.5, 0.999). Sample grids show one class per row.

  python launch.py --config=configs/cdcgan.py
"""
from configs import gan_common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = gan_common.base()
  gan_common.dcgan_model(config)
  config.model.conditional = True
  config.train.num_steps = 12000
  if quick:
    gan_common.quick(config)
  return config
