"""Report 002's LeNet on MNIST: Conv6 5x5 pad 2 -> pool -> Conv16 5x5 -> pool -> 120 -> 84 -> 10.

  python launch.py --config=configs/lenet.py
  python launch.py --config=configs/lenet.py:wide --config.dataset.name=fashion_mnist

LeakyReLU, tanh after the 84-unit layer, average pooling, RMSprop lr 1e-3, batch 64,
softmax cross-entropy (the report: 98.87 % after 45 epochs; 10 epochs here by default,
`--config.train.num_epochs=45` for its schedule). Options the report studies:
`--config.model.pool=max`, `--config.model.activation=relu|sigmoid|tanh`,
`--config.optim.name=sgd|momentum|adam|adagrad`, `--config.loss.name=nll` (with
`--config.model.output_activation=log_softmax`; on raw outputs it fails as the report saw).

Arguments, the report's architecture variants:
  no_pool      two convs without pooling (9,216 features into the first dense layer)
  wide         3x3 convs 12-24-32 with pooling (1,568 features)
  single_conv  one Conv20 5x5 + pool (3,920 features)
  quick        alone or after any of the above (`wide,quick`): 2 epochs, for tests
"""
from configs import classifier_common as common
from configs import variants

ARCHITECTURES = {
    'lenet': dict(convs=((6, 5, 2, 2, 2), (16, 5, 0, 2, 2)), activation='leaky_relu',
                  pool='avg', last_hidden_activation='tanh'),
    'no_pool': dict(convs=((6, 5, 2, 0, 0), (16, 5, 0, 0, 0)), activation='relu',
                    pool='max', last_hidden_activation=''),
    'wide': dict(convs=((12, 3, 2, 2, 2), (24, 3, 0, 2, 1), (32, 3, 2, 2, 2)),
                 activation='relu', pool='max', last_hidden_activation=''),
    'single_conv': dict(convs=((20, 5, 2, 2, 2),), activation='relu', pool='max',
                        last_hidden_activation=''),
}


VARIANTS = tuple(a for a in ARCHITECTURES if a != 'lenet')


def get_config(arg: str | None = None):
  variant, quick = variants.parse(arg, __file__, VARIANTS)
  arch = dict(ARCHITECTURES[variant or 'lenet'])
  last_hidden = arch.pop('last_hidden_activation')
  config = common.base('mnist')
  config.model = common.convnet(dense=(120, 84), **arch)
  config.model.last_hidden_activation = last_hidden
  config.optim.name = 'rmsprop'
  config.optim.learning_rate = 1e-3
  config.train.batch_size = 64
  config.train.num_epochs = 10
  if quick:
    common.quick(config)
  return config
