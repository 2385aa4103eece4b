"""The keys every GAN config declares (gans/train.py reads them); one helper per network
family adds that family's model keys. Each configs/<variant>.py starts from `base()`.
"""
import ml_collections


def base() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.trainer = 'gan'
  config.seed = 0

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = 'fashion_mnist'  # mnist | fashion_mnist | cifar10 | image_folder
  config.dataset.dir = ''                # a local copy (raw files, TFDS data_dir, image folder)
  config.dataset.download = True         # one quick try at the raw files when none is local
  config.dataset.pixel_range = 'minus_one_one'  # or 'zero_one'
  config.dataset.image_size = 28         # image_folder only: images are resized to this
  config.dataset.channels = 1            # image_folder only: 1 (grayscale) or 3

  config.model = ml_collections.ConfigDict()
  config.model.arch = 'dcgan'            # dcgan | keras_dcgan | mlp
  config.model.latent_dim = 100
  config.model.latent = 'normal'         # normal | uniform (in [-1, 1])
  config.model.conditional = False       # label given to G and D (cGAN, cDCGAN)
  config.model.ema_decay = 0.999         # generator EMA, evaluated beside G; 0: off

  config.loss = ml_collections.ConfigDict()
  config.loss.name = 'non_saturating'    # minimax | non_saturating | least_squares | wasserstein
                                         # | hinge
  config.loss.minimax_after_steps = 0    # > 0: G switches from non-saturating to minimax
  config.loss.n_critic = 1               # discriminator updates per step
  config.loss.n_generator = 1            # generator updates per step
  config.loss.gp_weight = 0.0            # WGAN-GP's lambda
  config.loss.clip = 0.0                 # the original WGAN's weight clipping; 0: off
  config.loss.real_label = (1.0, 1.0)    # discriminator targets drawn in [low, high]:
  config.loss.fake_label = (0.0, 0.0)    # (0.9, 0.9) one-sided, (0.7, 1.2) random smoothing
  # AC-GAN (dcgan, conditional): D gets a class head instead of the label as input; weights of
  # its cross-entropy on real images in D's loss and on generated ones in G's; (0, 0): off
  config.loss.acgan_weights = (0.0, 0.0)

  config.optim = ml_collections.ConfigDict()
  config.optim.g_learning_rate = 2e-4
  config.optim.d_learning_rate = 2e-4
  config.optim.b1 = 0.5
  config.optim.b2 = 0.999
  config.optim.decay = 'constant'        # or 'linear': both rates fall to 0 at decay_steps
  config.optim.decay_steps = 0           # 0: train.num_steps (set it to extend a run later)

  config.train = ml_collections.ConfigDict()
  config.train.num_steps = 3000
  config.train.batch_size = 64
  config.train.steps_per_call = 1        # > 1: steps in one compiled loop (small MLP steps)
  config.train.log_every = 100
  config.train.checkpoint_every = 500
  config.train.keep_checkpoints = 3
  config.train.num_devices = 0           # 0: every device of every host

  config.eval = ml_collections.ConfigDict()
  config.eval.sample_every = 500
  config.eval.num_samples = 100          # fixed noise, one grid per sample_every
  # the feature network: 'shipped' (classifiers/shipped.py; Fashion-MNIST, none for other
  # datasets), a classifier run's workdir, or '' (no FID / KID / class accuracy)
  config.eval.classifier_dir = 'shipped'
  config.eval.inception_dir = ''         # FID InceptionV3 weights (python -m gans.inception):
                                         # FID/KID on its pool3 features; '' : the classifier's
  config.eval.fid_every = 500            # FID on fid_samples during training; best kept apart
  config.eval.fid_samples = 2000
  config.eval.final_samples = 10000      # FID, KID, scores at the end (against the test set)
  config.eval.kid_subsets = 100
  config.eval.kid_subset_size = 1000
  return config


def dcgan_model(config, width: int = 32, generator_batchnorm: bool = True,
                critic_batchnorm: bool = True) -> None:
  """The DCGAN family (gans.models.Generator / Critic). Width 32 (7x7x128 -> 14x14x64 ->
  28x28 in G) keeps a 3,000-step run near 10 minutes on 2 CPU cores; 64 is Radford et al.'s."""
  config.model.arch = 'dcgan'
  config.model.generator_width = width
  config.model.critic_width = width
  config.model.generator_batchnorm = generator_batchnorm
  config.model.critic_batchnorm = critic_batchnorm  # not with a gradient penalty


def gulrajani_model(config, width: int = 64) -> None:
  """Gulrajani et al.'s MNIST networks (gans.models.GulrajaniGenerator / Critic)."""
  config.model.arch = 'gulrajani'
  config.model.generator_width = width
  config.model.critic_width = width


def keras_dcgan_model(config) -> None:
  """Report 000's Keras DCGAN (G 1,164,289 / D 40,705 parameters on 28x28x1, latent 100)."""
  config.model.arch = 'keras_dcgan'
  config.model.generator_width = 128
  config.model.critic_width = 64
  config.model.dropout = 0.4


def mlp_model(config, generator_widths=(256, 512, 1024),
              discriminator_widths=(512, 256)) -> None:
  """Fully connected G and D (gans.models.MLPGenerator / MLPDiscriminator)."""
  config.model.arch = 'mlp'
  config.model.generator_widths = generator_widths
  config.model.generator_activation = 'leaky_relu_0.2'  # | relu | tanh: common/activations.py
  config.model.generator_batchnorm = False
  config.model.bn_momentum = 0.8
  config.model.discriminator_widths = discriminator_widths
  config.model.discriminator_activation = 'leaky_relu_0.2'
  config.model.dropout = 0.0
  config.model.maxout_pieces = 0         # > 0: the last hidden D layer is a maxout layer


def quick(config) -> None:
  """A few steps on small data sizes, for tests and a first look at the pipeline."""
  config.train.num_steps = 8
  config.train.batch_size = 16
  config.train.steps_per_call = 1
  config.train.log_every = 2
  config.train.checkpoint_every = 4
  config.eval.sample_every = 4
  config.eval.num_samples = 16
  config.eval.fid_every = 4
  config.eval.fid_samples = 200
  config.eval.final_samples = 300
  config.eval.kid_subsets = 5
  config.eval.kid_subset_size = 100
  if config.model.arch in ('dcgan', 'keras_dcgan', 'gulrajani'):
    config.model.generator_width = 8
    config.model.critic_width = 8
  else:
    config.model.generator_widths = (32, 64)
    config.model.discriminator_widths = (32,)
