"""Report 002's from-scratch binary MLP: MNIST 0 vs 1, one hidden layer, a sigmoid output.

  python launch.py --config=configs/binary_mlp.py
  python launch.py --config=configs/binary_mlp.py --config.dataset.name=fashion_mnist \
      --config.dataset.classes='(5, 7)'     # sandal vs sneaker

784 -> 5 (sigmoid) -> 1 (sigmoid) = P(second class), squared error, plain SGD lr 0.1,
batch 1 (the report's settings; its 1000 epochs are shortened to 5). The report scores the
RMSE of the output probability; plots/confusion_matrix.png is its confusion matrix.
`--config.model.init_constant=0.0` starts from the report's all-zero weights.
"""
from configs import mlp, variants


VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = mlp.get_config(arg)  # sigmoid layers, squared error, plain SGD
  config.dataset.classes = (0, 1)
  config.model.hidden = (5,)
  config.model.num_outputs = 1
  config.optim.learning_rate = 0.1
  if not quick:
    config.train.batch_size = 1
    config.train.num_epochs = 5
  return config
