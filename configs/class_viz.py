"""Class visualization of a trained classifier (report 001, CS231n): images that maximise each
class score, from noise and from real test images; sweeps over iterations, learning rate and
regularisation weight; fooling images.

  python launch.py --config=configs/class_viz.py      # probes the shipped network

Writes figures/class_viz.png (one image per class from noise), figures/class_viz_from_image.png,
figures/sweep_<key>.png (one row per value), figures/fooling.png and summary.json (each
class's final probability; the fooling images' change and iterations).
"""
import ml_collections

from configs import probe_common
from configs import variants

VARIANTS = ()


def get_config(arg: str | None = None):
  _, quick = variants.parse(arg, __file__, VARIANTS)
  config = probe_common.base('class_viz', num_images=0)
  config.viz = z = ml_collections.ConfigDict()
  z.num_iterations = 200
  z.learning_rate = 1.0          # each step: learning_rate * gradient / ||gradient||_2
  z.l2_reg = 1e-3
  z.blur_every = 10              # 0: never
  z.blur_sigma = 0.5
  z.max_jitter = 2               # pixels (CS231n's 16 is for 224 x 224 images)
  z.init_noise = 0.1             # start: mid-gray plus Gaussian noise of this std (unit pixels)
  # report 001's figures: one row per value of each key, the other keys as above
  z.sweeps = ml_collections.ConfigDict({
      'num_iterations': (50, 200, 1000),
      'learning_rate': (0.1, 0.5, 1.0),
      'l2_reg': (1e-10, 1e-3, 0.1),
  })
  config.fooling = f = ml_collections.ConfigDict()
  f.learning_rate = 0.1          # normalised-gradient step, unit pixels (L2)
  f.max_iterations = 200
  if quick:
    z.num_iterations = 5
    z.sweeps = ml_collections.ConfigDict({'learning_rate': (0.5, 1.0)})
    f.max_iterations = 5
  return config
