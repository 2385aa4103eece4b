"""Report 000's transfer: VGG16 truncated at pool5 and frozen, then a new head
Flatten -> Dense(50, ReLU) -> Dense(classes), trained on an image folder (one subfolder per
class: cats vs dogs, 15-Scene...). `model.trainable_blocks=1` also fine-tunes block5 at
`optim.finetune_learning_rate`.

  python launch.py --config=configs/vgg16_head.py --config.dataset.train_dir=data/cats_dogs/train \
      --config.dataset.test_dir=data/cats_dogs/test --config.model.weights_dir=weights/vgg16_keras

The frozen layers get no gradient and no optimizer state; with no trainable block the base runs
once per image and its features are cached in memory. Writes results.md, summary.json
(`test_accuracy`), plots/loss.png.
"""
import ml_collections

from configs import vgg16_common

VARIANTS = ()


def get_config(arg: str | None = None):
  config, quick = vgg16_common.base('vgg16_head', arg)
  m = config.model
  m.feature_layer = 'pool5'
  m.head_hidden = (50,)
  m.trainable_blocks = 0            # VGG16 blocks fine-tuned from the top (0: frozen base)
  config.optim = o = ml_collections.ConfigDict()
  o.learning_rate = 1e-3
  o.finetune_learning_rate = 1e-4   # with trainable_blocks > 0 (the head keeps learning_rate)
  config.train = ml_collections.ConfigDict()
  config.train.steps = 500
  config.train.batch_size = 32
  if quick:
    config.train.steps = 10
  return config
