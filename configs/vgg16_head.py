"""Report 000's transfer: VGG16 truncated at pool5 and frozen, then a new head
Flatten -> Dense(50, ReLU) -> Dense(classes), trained on an image folder (one subfolder per
class: cats vs dogs, 15-Scene...). `transfer.trainable_blocks=1` also fine-tunes block5 at
`transfer.finetune_learning_rate`.

  python launch.py --config=configs/vgg16_head.py --config.data.train_dir=data/cats_dogs/train \
      --config.data.test_dir=data/cats_dogs/test --config.weights_dir=weights/vgg16_keras

The frozen layers get no gradient and no optimizer state; with no trainable block the base runs
once per image and its features are cached in memory. Writes results.md, summary.json
(`test_accuracy`), plots/loss.png.
"""
import ml_collections

from configs import vgg16_common

VARIANTS = ()


def get_config(arg: str | None = None):
  config, quick = vgg16_common.base('vgg16_head', arg)
  config.transfer = t = ml_collections.ConfigDict()
  t.feature_layer = 'pool5'
  t.head_hidden = (50,)
  t.trainable_blocks = 0            # VGG16 blocks fine-tuned from the top (0: frozen base)
  t.steps = 500
  t.batch_size = 32
  t.learning_rate = 1e-3
  t.finetune_learning_rate = 1e-4   # with trainable_blocks > 0 (the head keeps learning_rate)
  if quick:
    t.steps = 10
  return config
