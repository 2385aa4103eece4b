"""Report 001's transfer: VGG16 features at several layers (cached to disk), a linear SVM per
layer and per C; accuracy table and plot. Grayscale images are replicated to 3 channels.

  python launch.py --config=configs/vgg16_svm.py --config.dataset.train_dir=data/15scene/train \
      --config.dataset.test_dir=data/15scene/test --config.model.weights_dir=weights/vgg16_keras

Conv-layer features are global-average-pooled over space (a 224x224 relu2 map has 3.2M
values) unless `svm.spatial_pool=none`. Writes results.md / results.csv (layer, C, CV and test
accuracy), plots/accuracy_vs_c.png, features/<layer>.npz and summary.json (`table`, `best`).
"""
import ml_collections

from configs import vgg16_common

VARIANTS = ()


def get_config(arg: str | None = None):
  config, _ = vgg16_common.base('vgg16_svm', arg)  # nothing to shrink: the SVMs are fast
  config.svm = s = ml_collections.ConfigDict()
  s.layers = ('relu2', 'relu4', 'relu7', 'relu10', 'relu13', 'relu14', 'relu15')
  s.c = (0.01, 0.1, 1.0, 10.0)
  s.spatial_pool = 'mean'           # | max | none: how a conv map becomes a vector
  return config
