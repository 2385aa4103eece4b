"""Report 002's classifier tables, one command each; on Fashion-MNIST where the report used
MNIST (its binary MLP: sandal vs sneaker for MNIST's 0 vs 1).

  python launch.py --config=configs/study_002.py:lenet_lr --workdir=runs/study_002_lenet_lr
  ... and the same with any study below (--workdir=runs/study_002_<study>).

LeNet (configs/lenet.py; RMSprop 1e-3, batch 64; 3 epochs per variant, the report 45):
  lenet_lr          learning rate 10 ... 1e-4 (trained together, vmap)
  lenet_epochs      1, 3, 10 epochs
  lenet_pool        max against average pooling
  lenet_loss        cross-entropy; NLL on raw outputs (the report's failure); NLL after
                    log-softmax (what NLL needs)
  lenet_optimizer   Adam, RMSprop, SGD, Adagrad at 1e-3
  lenet_activation  ReLU, LeakyReLU, sigmoid, tanh, and LeakyReLU with ReLU or tanh after
                    the last hidden layer
  lenet_arch        LeNet and the report's three variants (no pooling, wider, one conv)
The from-scratch binary MLP (configs/binary_mlp.py; 784 -> 5 sigmoid -> 1 sigmoid, squared
error, SGD 0.1, batch 1, 5 epochs, the report 1000; scored by the output's RMSE):
  mlp_lr            learning rate 1e-3 ... 10 (vmap)
  mlp_hidden        hidden units 1, 2, 5, 10, 20
  mlp_init          constant initial weights 0, 0.5, 1, -1, -5 (vmap)
  mlp_activation    sigmoid against ReLU in the hidden layer
  mlp_batch         batch 1, 4, 16, 64 (the same 5 epochs)
"""
from configs import binary_mlp, lenet, sweep_common, variants


def _arch(name):
  arch = lenet.ARCHITECTURES[name]
  return (arch['convs'], arch['activation'], arch['pool'], arch['last_hidden_activation'])


LEAKY = 'leaky_relu'
STUDIES = {
    'lenet_lr': ('optim.learning_rate', (10.0, 1.0, 0.1, 0.01, 1e-3, 1e-4)),
    'lenet_epochs': ('train.num_epochs', (1, 3, 10)),
    'lenet_pool': ('model.pool', ('max', 'avg')),
    'lenet_loss': ('loss.name,model.output_activation',
                   (('softmax_cross_entropy', 'none'), ('nll', 'none'),
                    ('nll', 'log_softmax'))),
    'lenet_optimizer': ('optim.name', ('adam', 'rmsprop', 'sgd', 'adagrad')),
    'lenet_activation': ('model.activation,model.last_hidden_activation',
                         (('relu', ''), (LEAKY, ''), ('sigmoid', ''), ('tanh', ''),
                          (LEAKY, 'relu'), (LEAKY, 'tanh'))),
    'lenet_arch': ('model.convs,model.activation,model.pool,model.last_hidden_activation',
                   tuple(_arch(name) for name in lenet.ARCHITECTURES)),
    'mlp_lr': ('optim.learning_rate', (1e-3, 1e-2, 0.1, 1.0, 10.0)),
    'mlp_hidden': ('model.hidden', ((1,), (2,), (5,), (10,), (20,))),
    'mlp_init': ('model.init_constant', (0.0, 0.5, 1.0, -1.0, -5.0)),
    'mlp_activation': ('model.activation', ('sigmoid', 'relu')),
    'mlp_batch': ('train.batch_size', (1, 4, 16, 64)),
}
VARIANTS = tuple(STUDIES)


def get_config(arg: str | None = None):
  study, quick = variants.parse(arg, __file__, VARIANTS)
  study = study or 'lenet_lr'
  if study.startswith('lenet'):
    config = lenet.get_config('quick' if quick else None)
    config.dataset.name = 'fashion_mnist'
    if not quick:
      config.train.num_epochs = 3
  else:
    config = binary_mlp.get_config('quick' if quick else None)
    config.dataset.name = 'fashion_mnist'
    config.dataset.classes = (5, 7)  # sandal vs sneaker
    if study != 'mlp_init':
      config.model.init_constant = 0.0  # the report's all-zero start
  axis, values = STUDIES[study]
  if quick and study == 'lenet_epochs':
    values = (1, 2)  # quick's 2 epochs at the most
  return sweep_common.study(config, 'classifier_sweep', axis, values, quick)
