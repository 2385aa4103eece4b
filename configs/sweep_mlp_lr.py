"""Learning-rate study of report 000's MLP: 8 rates x 2 seeds trained together (jax.vmap).

  python launch.py --config=configs/sweep_mlp_lr.py
  python launch.py --config=configs/sweep_mlp_lr.py --config.dataset.name=fashion_mnist

Writes runs/sweep_mlp_lr/results.md and .csv (rate, test accuracy and RMSE as mean +- std
over seeds, time) and plots/sweep.png. All 16 variants are one compiled program; set
`--config.sweep.vmap=False` to train them one after another instead. Any key of the MLP
config can be the axis, e.g. `--config.sweep.axis=train.batch_size
--config.sweep.axis_values='(1, 4, 16, 64)'` (shapes differ: run one after another).
"""
from configs import mlp, sweep_common, variants


VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = mlp.get_config(arg)
  config.trainer = 'classifier_sweep'
  config.sweep = sweep_common.sweep('optim.learning_rate',
                                    (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0), seeds=2)
  if quick:
    config.sweep.axis_values = (0.01, 0.1)
  return config
