"""The section every probe config shares: which trained classifier to probe."""
import ml_collections


def base(trainer: str, num_images: int) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.trainer = trainer
  config.seed = 0
  config.eval = ml_collections.ConfigDict()
  # 'shipped' (the Fashion-MNIST network of classifiers/shipped.py) or a classifier run's workdir
  config.eval.classifier_dir = 'shipped'
  config.eval.num_images = num_images    # test images probed (0: the whole test split)
  config.eval.batch_size = 500
  return config
