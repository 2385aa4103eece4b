"""DCGAN on Fashion-MNIST.

  python launch.py --config=configs/dcgan.py             # report 000's Keras DCGAN
  python launch.py --config=configs/dcgan.py:standard    # Radford et al. with BatchNorm
  python launch.py --config=configs/dcgan.py:hinge       # the same with the hinge loss

Default: report 000 exactly - D = Conv(64, 3x3, s2) LReLU Dropout(0.4) -> Conv(64, s2)
LReLU Dropout(0.4) -> Dense(1) (40,705 parameters); G = Dense(6272) LReLU -> 7x7x128 ->
ConvT(128, 4x4, s2) LReLU -> ConvT(128, s2) LReLU -> Conv(1, 7x7) sigmoid (1,164,289);
latent 100, pixels in [0, 1], BCE (G trained towards 'real'), Adam 2e-4 (0.5, 0.999).
The report used batch 256 (128 real + 128 fake for D) for 100 epochs; its 128-channel
28x28 layers cost ~0.5 s per step of batch 32 on 2 CPU cores, so the default is 1,500
steps of batch 32 (D sees 32 real + 32 fake).
`standard`: gans.models.Generator / Critic of width 32 with BatchNorm, tanh output, batch
64, 8,000 steps. `hinge`: `standard` with the hinge loss (Lim & Ye 2017; SNGAN's and
StudioGAN's default): D minimises E relu(1 - D(x)) + E relu(1 + D(G(z))), G -E D(G(z)).
"""
from configs import gan_common
from configs import variants

VARIANTS = ('standard', 'hinge')


def get_config(arg: str | None = None):
  config = gan_common.base()
  variant, quick = variants.parse(arg, __file__, VARIANTS)
  if variant in ('standard', 'hinge'):
    gan_common.dcgan_model(config)
    config.train.num_steps = 8000
    if variant == 'hinge':
      config.loss.name = 'hinge'
  else:
    gan_common.keras_dcgan_model(config)
    config.dataset.pixel_range = 'zero_one'
    config.train.batch_size = 32
    config.train.num_steps = 1500
  if quick:
    gan_common.quick(config)
  return config
