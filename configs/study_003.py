"""Report 003's grid for its Maxout GAN (configs/gan_mlp.py:maxout): batch {16, 36, 64} x
learning rate {1e-4, 1e-5} (both G's and D's), one command; on Fashion-MNIST, one of the
report's datasets.

  python launch.py --config=configs/study_003.py --workdir=runs/study_003

The grid is one axis of (batch, rate) pairs; the batch changes shapes, so the six run one
after another. 3,000 steps per variant, each 5 D updates and 1 G update, the G loss
minimax after half (the report: 20-100 epochs; at batch 32 and lr 1e-5 its best
Fashion-MNIST grid took 50 epochs, ~94,000 steps).
"""
from configs import gan_mlp, sweep_common, variants

GRID = tuple((batch, lr, lr) for batch in (16, 36, 64) for lr in (1e-4, 1e-5))
VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = gan_mlp.get_config('maxout,quick' if quick else 'maxout')
  sweep_common.study(config, 'gan_sweep',
                     'train.batch_size,optim.g_learning_rate,optim.d_learning_rate', GRID, quick)
  if not quick:
    config.train.num_steps = 3000
    config.loss.minimax_after_steps = 1500
    config.train.checkpoint_every = 1000
    config.eval.fid_every = 500
    config.eval.sample_every = 1000
  return config
