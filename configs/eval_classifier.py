"""The evaluation classifier: the recipe of the Fashion-MNIST feature network that ships with
the code (classifiers/shipped.py), and of one for any other dataset.

  python launch.py --config=configs/eval_classifier.py      # -> runs/eval_classifier
  python -m classifiers.tools.ship --workdir=runs/eval_classifier # ships it (16-bit weights)
  python launch.py --config=configs/eval_classifier.py --config.dataset.name=mnist \
      --workdir=runs/eval_classifier_mnist                  # GANs: --config.eval.classifier_dir=

Conv32-pool-Conv64-Conv64-pool (3x3, same padding, ReLU, max pooling) -> Dense256 ->
dropout 0.4 -> 10 logits; Adam 1e-3 with cosine decay, batch 128, 15 epochs, random
left-right flips. Expected test accuracy on Fashion-MNIST: ~0.936 (the shipped network's is
recorded in classifiers/shipped.py). Its 256-wide penultimate layer is the feature space of
the Frechet distance. GroupNorm was left out: it makes the scores jump near a black image,
which integrated gradients with a black baseline cannot follow.
"""
from configs import classifier_common as common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = common.base('fashion_mnist')
  config.model = common.convnet(convs=((32, 3, 1, 2, 2), (64, 3, 1, 0, 0), (64, 3, 1, 2, 2)),
                                dense=(256,), dropout=0.4)
  config.optim.name = 'adam'
  config.optim.learning_rate = 1e-3
  config.train.batch_size = 128
  config.train.num_epochs = 15
  config.train.augment = 'flip'
  config.optim.schedule = 'cosine'
  if quick:
    common.quick(config)
  return config
