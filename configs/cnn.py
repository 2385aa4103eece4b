"""Report 000's CNN: Conv16-Conv32-Conv64 (3x3, ReLU) -> Flatten -> Dense512 -> Dense512 -> 10.

  python launch.py --config=configs/cnn.py              # with 2x2 max pooling
  python launch.py --config=configs/cnn.py:no_pool      # the report's 16,151,306 parameters
  python launch.py --config=configs/cnn.py:regularized  # + dropout, flips and shifts, 50 epochs

Adam 1e-3, batch 16, 20 epochs, softmax cross-entropy on logits, Fashion-MNIST. The report
put a ReLU on the output layer and got 66.9 %; `--config.model.output_activation=relu`
reproduces that bug. The report's recipe overfits (train accuracy 0.96, test 0.90);
`regularized` keeps the model and optimizer and adds dropout 0.25 before the second Dense512
and the output, random left-right flips and shifts of up to 2 pixels, a cosine-decayed rate,
batch 64 and 50 epochs; expected test accuracy ~0.92 (docs/classifiers.md).
Arguments (configs/variants.py): `no_pool`, `regularized`, each with `,quick` for tests.
"""
from configs import classifier_common as common
from configs import variants


VARIANTS = ('no_pool', 'regularized')


def get_config(arg: str | None = None):
  variant, quick = variants.parse(arg, __file__, VARIANTS)
  pool = (0, 0) if variant == 'no_pool' else (2, 2)
  config = common.base('fashion_mnist')
  config.model = common.convnet(
      convs=((16, 3, 0, *pool), (32, 3, 0, *pool), (64, 3, 0, 0, 0)), dense=(512, 512))
  config.optim.name = 'adam'
  config.optim.learning_rate = 1e-3
  config.train.batch_size = 16
  config.train.num_epochs = 20
  if variant == 'regularized':
    config.model.dropout = 0.25
    config.train.augment = 'flip_shift'
    config.train.batch_size = 64
    config.train.num_epochs = 50
    config.optim.schedule = 'cosine'
  if quick:
    common.quick(config)
  return config
