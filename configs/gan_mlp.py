"""The vanilla MLP GAN (Goodfellow et al. 2014) on Fashion-MNIST, pixels in [-1, 1].

  python launch.py --config=configs/gan_mlp.py           # report 002
  python launch.py --config=configs/gan_mlp.py:maxout    # report 003
  python launch.py --config=configs/gan_mlp.py:smooth    # report 004

Default (report 002): G 100 -> 256 -> 512 -> 1024 LeakyReLU(0.2) -> 784 tanh; D 784 -> 512
-> 256 ReLU -> 1 (sigmoid in the loss); BCE with the non-saturating G loss; Adam 2e-4
(0.5, 0.999), batch 64.
`maxout` (report 003): D = Linear LeakyReLU Dropout -> Maxout (5 pieces) Dropout -> Linear;
5 D updates per G update; the G loss switches from non-saturating to minimax halfway.
`smooth` (report 004): noise 128; G 128 -> 256 -> 512 -> 1024 ReLU with BatchNorm
(momentum 0.8); D 1024 -> 512 -> 256 -> 128 LeakyReLU with dropout; real labels drawn in
[0.7, 1.2], fake in [0, 0.3]; batch 128.
"""
from configs import gan_common
from configs import variants

VARIANTS = ('maxout', 'smooth')


def get_config(arg: str | None = None):
  config = gan_common.base()
  gan_common.mlp_model(config)
  config.model.discriminator_activation = 'relu'
  config.train.num_steps = 10000
  config.train.steps_per_call = 50
  config.train.checkpoint_every = 2500
  config.eval.sample_every = 2500
  config.eval.fid_every = 1000
  variant, quick = variants.parse(arg, __file__, VARIANTS)
  if variant == 'maxout':
    config.model.discriminator_activation = 'leaky_relu_0.2'
    config.model.dropout = 0.3
    config.model.maxout_pieces = 5
    config.loss.n_critic = 5
    config.loss.minimax_after_steps = config.train.num_steps // 2
  if variant == 'smooth':
    config.model.latent_dim = 128
    config.model.generator_widths = (128, 256, 512, 1024)
    config.model.generator_activation = 'relu'
    config.model.generator_batchnorm = True
    config.model.discriminator_widths = (1024, 512, 256, 128)
    config.model.discriminator_activation = 'leaky_relu_0.2'
    config.model.dropout = 0.3
    config.loss.real_label = (0.7, 1.2)
    config.loss.fake_label = (0.0, 0.3)
    config.train.batch_size = 128
  if quick:
    gan_common.quick(config)
    config.loss.minimax_after_steps = min(config.loss.minimax_after_steps, 4)
  return config
