"""Report 004's tables for its MLP GAN (configs/gan_mlp.py:smooth), one command each; on
Fashion-MNIST where the report used MNIST. FID against iterations is each study's
plots/fid_curves.png.

  python launch.py --config=configs/study_004.py:lr --workdir=runs/study_004_lr
  python launch.py --config=configs/study_004.py:activation --workdir=runs/study_004_activation
  python launch.py --config=configs/study_004.py:batch --workdir=runs/study_004_batch
  python launch.py --config=configs/study_004.py:arch --workdir=runs/study_004_arch

The rows are the report's: `lr` its (G rate, D rate) pairs (trained together with vmap),
`activation` its (G, D) hidden activations, `batch` 128 against 100, `arch` its hidden
widths of G and D (D's listed from the image down). 5,000 steps per variant (the report
trained 10,000 at batch 128; `--config.train.num_steps=10000` for its budget), one seed
(`--config.sweep.seeds=2` for a spread).
"""
from configs import gan_mlp, sweep_common, variants

LEAKY = 'leaky_relu_0.2'
STUDIES = {
    'lr': ('optim.g_learning_rate,optim.d_learning_rate',
           ((2e-4, 2e-4), (2e-4, 6e-4), (6e-4, 2e-4), (2e-3, 2e-3), (1e-5, 1e-5))),
    'activation': ('model.generator_activation,model.discriminator_activation',
                   ((LEAKY, LEAKY), ('relu', 'relu'), (LEAKY, 'relu'), ('relu', LEAKY))),
    'batch': ('train.batch_size', (128, 100)),
    'arch': ('model.generator_widths,model.discriminator_widths',
             (((1024,), (1024,)),
              ((128, 256, 1024), (1024, 256, 128)),
              ((128, 256, 1024), (1024, 512, 256, 128)),
              ((128, 256, 512, 1024), (1024, 256, 128)),
              ((128, 256, 512, 1024), (1024, 512, 256, 128)))),
}
VARIANTS = tuple(STUDIES)


def get_config(arg: str | None = None):
  study, quick = variants.parse(arg, __file__, VARIANTS)
  config = gan_mlp.get_config('smooth,quick' if quick else 'smooth')
  sweep_common.study(config, 'gan_sweep', *STUDIES[study or 'lr'], quick)
  if not quick:
    config.train.num_steps = 5000
    config.train.checkpoint_every = 1000
    config.eval.fid_every = 500
    config.eval.sample_every = 1000
  return config
