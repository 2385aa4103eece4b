"""Report 001's DCGAN studies (configs/dcgan.py:standard), one command each; on
Fashion-MNIST where the report used MNIST. Each writes plots/losses.png (D's and G's losses
per variant, as the report shows them) beside the FID table.

  python launch.py --config=configs/study_001.py:beta1 --workdir=runs/study_001_beta1
  python launch.py --config=configs/study_001.py:ratio --workdir=runs/study_001_ratio
  python launch.py --config=configs/study_001.py:lr --workdir=runs/study_001_lr
  python launch.py --config=configs/study_001.py:noise --workdir=runs/study_001_noise

`beta1`: Adam's beta1 0.5 against 0.9; `ratio`: D:G updates per step 1:1, 5:1 and 1:5;
`lr`: both rates 2e-4 (the default), 0.1 and 1e-10; `noise`: latent size 100, 10 and 1000.
The first row of each is the default recipe. `beta1` and `lr` train their variants together
(vmap); `ratio` and `noise` change the program, so they run one after another. 2,000 steps
per variant (the report: 5 epochs of MNIST at batch 128, ~2,300 steps).
"""
from configs import dcgan, sweep_common, variants

STUDIES = {
    'beta1': ('optim.b1', (0.5, 0.9)),
    'ratio': ('loss.n_critic,loss.n_generator', ((1, 1), (5, 1), (1, 5))),
    'lr': ('optim.g_learning_rate,optim.d_learning_rate', (2e-4, 0.1, 1e-10)),
    'noise': ('model.latent_dim', (100, 10, 1000)),
}
VARIANTS = tuple(STUDIES)


def get_config(arg: str | None = None):
  study, quick = variants.parse(arg, __file__, VARIANTS)
  config = dcgan.get_config('standard,quick' if quick else 'standard')
  sweep_common.study(config, 'gan_sweep', *STUDIES[study or 'beta1'], quick)
  if not quick:
    config.train.num_steps = 2000
    config.train.log_every = 50
    config.eval.fid_every = 250
  return config
