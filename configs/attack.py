"""Adversarial examples against a trained classifier: the FGSM accuracy-vs-eps curve over the
whole test set, untargeted PGD, and targeted PGD to a random other class.

  python launch.py --config=configs/attack.py      # attacks the shipped network
  python launch.py --config=configs/attack.py --config.eval.classifier_dir=runs/cnn

eps and step sizes are in unit pixels (a fraction of the input range), as in PyTorch's FGSM
tutorial. Writes results.md / results.csv (eps, accuracy, success rate, mean perturbation
norms), plots/accuracy_vs_eps.png, figures/fgsm_examples.png,
figures/targeted_pgd_examples.png and summary.json (`accuracy` per eps, `targeted_pgd`).
"""
import ml_collections

from configs import probe_common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = probe_common.base('attack', num_images=0)   # FGSM curve: the whole test split
  config.eval.batch_size = 1000
  config.attack = a = ml_collections.ConfigDict()
  a.norm = 'linf'                        # | l2 (then eps are L2 radii)
  a.epsilons = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
  a.pgd_epsilons = (0.05, 0.1)           # untargeted PGD on the first `pgd_images`
  a.pgd_steps = 20
  a.pgd_images = 1000
  a.pgd_random_start = True
  a.step_fraction = 0.25                 # PGD step size = step_fraction * eps
  a.targeted_eps = 0.1                   # targeted PGD to a random other class
  a.targeted_steps = 40
  # small steps from the clean image: 99.5% success on 1,000 test images of the shipped
  # network in 40 steps (docs/probes.md); steps of 0.25 eps with a random start did worse
  a.targeted_step_fraction = 0.05
  a.targeted_random_start = False
  a.figure_images = 8
  a.figure_eps = 0.1
  if quick:
    config.eval.num_images = 64
    config.eval.batch_size = 32
    a.pgd_images = 32
    a.pgd_steps = 3
    a.targeted_steps = 5
  return config
