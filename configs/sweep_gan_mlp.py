"""Learning-rate study of the MLP GAN (configs/gan_mlp.py): G's and D's Adam rates set
together, 5 rates x 2 seeds trained together (jax.vmap over stacked states).

  python launch.py --config=configs/sweep_gan_mlp.py
  python launch.py --config=configs/sweep_gan_mlp.py:smooth   # report 004's GAN

Writes runs/sweep_gan_mlp/results.md and .csv (rate, FID and KID of G and its EMA as mean
+- std over seeds, diverged count, time), plots/sweep.png, plots/fid_curves.png and
figures/samples.png. The seed, `optim.g_learning_rate`, `optim.d_learning_rate` and
`optim.b1` train together; any other key runs one value after another (each value's seeds
still together), e.g. `--config.sweep.axis=loss.real_label
--config.sweep.axis_values='((1.0, 1.0), (0.9, 0.9), (0.7, 1.2))'`. Set
`--config.sweep.vmap=False` to train every variant in turn.
"""
from configs import gan_mlp, sweep_common, variants

VARIANTS = gan_mlp.VARIANTS


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = gan_mlp.get_config(arg)
  config.trainer = 'gan_sweep'
  config.sweep = sweep_common.sweep('optim.g_learning_rate,optim.d_learning_rate',
                                    (5e-5, 1e-4, 2e-4, 4e-4, 8e-4), seeds=2)
  if quick:
    config.sweep.axis_values = (1e-4, 4e-4)
  return config
