"""Conditional MLP GAN (report 001; Mirza & Osindero 2014) on Fashion-MNIST: the vanilla
MLP GAN of report 002 with the label one-hot appended to G's noise and to D's flattened
input; non-saturating BCE, Adam 2e-4 (0.5, 0.999). Sample grids show one class per row.

  python launch.py --config=configs/cgan_mlp.py
"""
from configs import gan_common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = gan_common.base()
  gan_common.mlp_model(config)
  config.model.conditional = True
  config.model.dropout = 0.3
  config.train.num_steps = 10000
  config.train.steps_per_call = 50
  config.train.checkpoint_every = 2500
  config.eval.sample_every = 2500
  config.eval.fid_every = 1000
  if quick:
    gan_common.quick(config)
  return config
