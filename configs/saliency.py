"""Saliency maps of a trained classifier: gradient, SmoothGrad, integrated gradients, Grad-CAM.

  python launch.py --config=configs/saliency.py      # probes the shipped network
  python launch.py --config=configs/saliency.py --config.eval.classifier_dir=runs/cnn

Writes figures/saliency_<method>.png (image | map | overlay per test image, predicted and
true labels), figures/saliency_methods.png (every method side by side) and summary.json with
the integrated gradients' completeness error over `eval.num_images` test images.
"""
import ml_collections

from configs import probe_common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = probe_common.base('saliency', num_images=100)
  config.saliency = s = ml_collections.ConfigDict()
  s.methods = ('gradient', 'smoothgrad', 'integrated_gradients', 'grad_cam')
  s.figure_images = 8                    # rows in the figures
  s.smoothgrad_samples = 25
  s.smoothgrad_noise = 0.15              # noise std as a fraction of the input range
  s.ig_steps = 64
  s.ig_method = 'gausslegendre'          # | riemann_trapezoid
  s.ig_baseline = 'black'                # | white | gray: a constant image
  if quick:
    config.eval.num_images = 8
    s.smoothgrad_samples = 4
    s.ig_steps = 8
  return config
