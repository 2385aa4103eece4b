"""Saliency run (configs/saliency.py): maps of every method on test images, with figures and
integrated gradients' completeness error."""
import functools
import os
import time

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from common import batching, checks, images as images_lib, writers
from probes import base, saliency

METHODS = ('gradient', 'smoothgrad', 'integrated_gradients', 'grad_cam')
BASELINES = ('black', 'white', 'gray')


def validate(config) -> None:
  base.validate(config)
  s = config.saliency
  for i, method in enumerate(s.methods):
    checks.require(method in METHODS, f'saliency.methods[{i}]', method,
                   'one of ' + ', '.join(METHODS))
  for key in ('figure_images', 'smoothgrad_samples'):
    checks.positive(config, f'saliency.{key}', integer=True)
  checks.require(isinstance(s.ig_steps, int) and s.ig_steps >= 2, 'saliency.ig_steps', s.ig_steps,
                 'an integer >= 2')
  checks.non_negative(config, 'saliency.smoothgrad_noise')
  checks.one_of(config, 'saliency.ig_method', saliency.IG_METHODS)
  checks.one_of(config, 'saliency.ig_baseline', BASELINES)


def method_fns(config, clf):
  """method -> jitted fn(params, images, labels, key) -> attributions ([N, H, W, C], or
  [N, H, W] for Grad-CAM; integrated gradients also return their completeness deltas).
  Parameters are arguments, not closed-over constants, which XLA would try to fold."""
  s = config.saliency
  lo, hi = clf.input_bounds
  baseline = {'black': lo, 'white': hi, 'gray': (lo + hi) / 2}[s.ig_baseline]
  fns = {
      'gradient': functools.partial(saliency.gradient, clf.apply_fn),
      'smoothgrad': functools.partial(
          saliency.smoothgrad, clf.apply_fn, num_samples=s.smoothgrad_samples,
          noise_level=s.smoothgrad_noise, value_range=hi - lo),
      'integrated_gradients': functools.partial(
          saliency.integrated_gradients, clf.apply_fn, baseline=baseline,
          num_steps=s.ig_steps, method=s.ig_method),
      'grad_cam': functools.partial(saliency.grad_cam, clf.conv_apply_fn),
  }
  return {m: jax.jit(fns[m]) for m in s.methods}


def train_and_evaluate(config, workdir: str) -> dict:
  clf = base.load_classifier(config)
  images, labels = base.test_images(clf, config.eval.num_images)
  key = jax.random.key(config.seed)
  fns = method_fns(config, clf)
  summary = {'classifier_dir': config.eval.classifier_dir, 'num_images': len(images),
             'seconds': {}}
  maps = {}
  for method, fn in fns.items():
    t0 = time.perf_counter()
    out = batching.in_keyed_batches(
        lambda x, y, k: fn(clf.params, x, y, k), (images, labels), config.eval.batch_size, key)
    summary['seconds'][method] = time.perf_counter() - t0
    if method == 'integrated_gradients':
      attributions, delta = out
      overall, per_example = jax.device_get(saliency.completeness_error(
          jnp.asarray(attributions), jnp.asarray(delta)))
      summary['ig_completeness_error'] = float(overall)
      summary['ig_completeness_error_median'] = float(np.median(per_example))
      summary['ig_fraction_within_1pct'] = float(np.mean(per_example <= 0.01))
      out = attributions
    maps[method] = np.asarray(out if method == 'grad_cam' else saliency.to_map(out))
    logging.info('%s on %d images: %.1f s', method, len(images), summary['seconds'][method])
  _write_figures(config, clf, images, labels, maps, workdir)
  writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  return summary


TITLES = {'gradient': 'gradient', 'smoothgrad': 'SmoothGrad',
          'integrated_gradients': 'integrated gradients', 'grad_cam': 'Grad-CAM'}


def _write_figures(config, clf, images, labels, maps, workdir):
  n = min(config.saliency.figure_images, len(images))
  heads = base.prediction_panels(clf, images[:n], labels[:n])
  maps = {method: np.asarray(saliency.normalize_maps(jnp.asarray(m[:n])))
          for method, m in maps.items()}
  for method, m in maps.items():
    rows = [[heads[i], {'image': m[i], 'cmap': 'hot', 'title': TITLES[method]},
             {'image': heads[i]['image'], 'overlay': m[i], 'title': 'overlay'}]
            for i in range(n)]
    images_lib.image_table(rows, os.path.join(workdir, 'figures', f'saliency_{method}.png'),
                           f'{TITLES[method]}: {clf.dataset} classifier')
  rows = [[heads[i]] + [{'image': m[i], 'cmap': 'hot', 'title': TITLES[method]}
                        for method, m in maps.items()] for i in range(n)]
  images_lib.image_table(rows, os.path.join(workdir, 'figures', 'saliency_methods.png'),
                         'predicted p (true) | saliency of the true class')
