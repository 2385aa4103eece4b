"""Sections every classifier config shares; each config file fills in its recipe."""
import ml_collections
from ml_collections import config_dict


def base(dataset: str) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.trainer = 'classifier'
  config.seed = 0
  config.cpu_threads = 0  # > 0: launch.py pins the process to this many cores (tiny models)

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = dataset          # mnist | fashion_mnist | cifar10
  config.dataset.dir = ''                # a local copy (raw files or a TFDS data_dir)
  config.dataset.download = True         # one quick try at the raw files when none is local
  config.dataset.pixel_range = 'zero_one'
  config.dataset.classes = ()            # e.g. (0, 1): keep these classes, relabelled 0, 1

  config.loss = ml_collections.ConfigDict()
  config.loss.name = 'softmax_cross_entropy'  # | nll | mse | binary_cross_entropy

  config.optim = ml_collections.ConfigDict()
  config.optim.name = 'adam'             # sgd | momentum | adam | rmsprop | adagrad
  config.optim.learning_rate = 1e-3
  config.optim.momentum = 0.9            # for 'momentum' only
  config.optim.schedule = 'constant'     # or 'cosine': decays the rate to 0 over the run

  config.train = ml_collections.ConfigDict()
  config.train.num_epochs = 20
  config.train.batch_size = 32
  config.train.augment = 'none'          # | flip (left-right) | flip_shift (+ up to 2 px)
  config.train.adversarial = 'none'      # | fgsm | pgd: adversarial examples mixed into each batch
  config.train.adversarial_eps = 0.1     # unit pixels, L-inf
  config.train.adversarial_steps = 7     # PGD steps (step size 2.5 eps / steps)
  config.train.adversarial_weight = 0.5  # the clean loss's share of each batch's loss
  config.train.steps_per_call = 0        # 0: an epoch per call (one lax.scan)
  config.train.checkpoint_every_epochs = 1
  config.train.keep_checkpoints = 3
  config.train.num_devices = 1           # 0: every device; small batches suit one device

  config.eval = ml_collections.ConfigDict()
  config.eval.batch_size = 1000
  return config


def mlp(hidden=(20,), activation='sigmoid', output_activation='sigmoid'):
  model = ml_collections.ConfigDict()
  model.name = 'mlp'
  model.hidden = hidden
  model.num_outputs = 0                  # 0: one per class; 1 for a sigmoid binary output
  model.activation = activation          # common/activations.py: relu, leaky_relu (0.01),
                                         # leaky_relu_0.2, sigmoid, tanh, none
  model.output_activation = output_activation  # also log_softmax, softmax, none (logits)
  model.init_constant = config_dict.placeholder(float)  # None: Flax's default init
  return model


def convnet(convs, dense, activation='relu', pool='max', dropout=0.0, conv_dropout=0.0,
            norm='none'):
  model = ml_collections.ConfigDict()
  model.name = 'convnet'
  model.convs = convs    # (features, kernel, padding, pool_window, pool_stride) per conv
  model.dense = dense
  model.num_outputs = 0
  model.activation = activation
  model.last_hidden_activation = ''      # '' = activation
  model.output_activation = 'none'       # logits; 'relu' reproduces report 000's bug
  model.pool = pool                      # max | avg
  model.dropout = dropout                # before each dense layer after the first
  model.conv_dropout = conv_dropout      # after each pooled conv layer
  model.norm = norm                      # none | group (8 groups), after each conv
  return model


def quick(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Shrinks any classifier config for tests and a first look (big_vision's runlocal)."""
  config.train.num_epochs = 2
  config.train.batch_size = 16
  config.eval.batch_size = 64
  return config

