"""Report 000's MLP: Flatten -> Dense(20, sigmoid) -> Dense(10, sigmoid), 15,910 parameters.

  python launch.py --config=configs/mlp.py
  python launch.py --config=configs/mlp.py --config.dataset.name=fashion_mnist

MSE on one-hot labels, SGD lr 0.05, batch 4, 20 epochs, shuffled: the report got 95.07 % on
MNIST. The whole epoch (15,000 steps) is one compiled call, on one CPU core (`cpu_threads`:
XLA:CPU's thread pool costs more than it gives to kernels this small; 0 uses every core).
Measured results: README.
Arguments: `quick` (2 epochs, batch 16) for tests.
"""
from configs import classifier_common as common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = common.base('mnist')
  config.model = common.mlp(hidden=(20,), activation='sigmoid', output_activation='sigmoid')
  config.loss.name = 'mse'
  config.optim.name = 'sgd'
  config.optim.learning_rate = 0.05
  config.train.batch_size = 4
  config.train.num_epochs = 20
  config.cpu_threads = 1  # its ~18 microsecond kernels a step run twice as fast on one core
  config.train.checkpoint_every_epochs = 5  # a save costs ~50 ms, an epoch ~0.4 s
  if quick:
    common.quick(config)
  return config
