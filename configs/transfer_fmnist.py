"""Transfer that runs offline: pretrain a VGG-style conv net on Fashion-MNIST classes 0-4,
transfer it to classes 5-9 with few labels, against training from scratch on the same labels.

  python launch.py --config=configs/transfer_fmnist.py

For each number of labels per class: a new head on the frozen base's features (report 000's
recipe), a linear SVM on the same features (report 001's; C picked by cross-validation on the
labelled examples), fine-tuning (the first block frozen, the rest and a new head trained),
and the same network trained from scratch. Writes results.md / results.csv, svm.csv (every C),
plots/accuracy_vs_labels.png and summary.json (`table`, `pretrain`).
"""
import ml_collections
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = ml_collections.ConfigDict()
  config.trainer = 'transfer_fmnist'
  config.seed = 0
  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = 'fashion_mnist'
  config.dataset.dir = ''
  config.dataset.download = True
  config.dataset.source_classes = (0, 1, 2, 3, 4)   # T-shirt, Trouser, Pullover, Dress, Coat
  config.dataset.target_classes = (5, 6, 7, 8, 9)   # Sandal, Shirt, Sneaker, Bag, Ankle boot
  config.dataset.labels_per_class = (10, 100, 1000)   # the target classes' labels per class
  config.dataset.label_seeds = (0,)                   # draws of them: mean and std over them
  config.model = m = ml_collections.ConfigDict()
  m.blocks = ((32, 2), (64, 2))   # VGG-style: (width, 3x3 convs) per pooled block
  m.feature_layer = 'pool2'       # what the frozen base hands to a head or SVM
  m.pretrain_hidden = (128,)      # the pretraining head
  m.head_hidden = (50,)           # report 000's head: Dense(50, ReLU) -> classes
  m.finetune_frozen_blocks = 1    # blocks kept frozen when fine-tuning
  config.optim = o = ml_collections.ConfigDict()
  o.pretrain_learning_rate = 1e-3
  o.learning_rate = 1e-3          # head on features, and from scratch
  o.finetune_learning_rate = 3e-4
  config.train = t = ml_collections.ConfigDict()
  t.pretrain_steps = 1500
  t.pretrain_batch_size = 128
  t.steps = 300
  t.batch_size = 32
  config.svm = ml_collections.ConfigDict()
  config.svm.c = (0.001, 0.01, 0.1, 1.0)
  config.eval = ml_collections.ConfigDict()
  config.eval.batch_size = 1000
  if quick:
    t.pretrain_steps = 20
    config.dataset.labels_per_class = (5, 20)
    t.steps = 10
    config.svm.c = (0.1, 1.0)
  return config
