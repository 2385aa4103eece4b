"""Class visualization run (configs/class_viz.py): one image per class from noise and from a
real image, report 001's sweeps, fooling images; figures and summary.json."""
import os
import time

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from common import checks, images as images_lib, writers
from probes import base, class_viz

SWEEPABLE = ('num_iterations', 'learning_rate', 'l2_reg')
_STATIC = ('num_iterations', 'blur_every', 'blur_sigma', 'max_jitter')


def validate(config) -> None:
  base.validate(config)
  for key in ('num_iterations',):
    checks.positive(config, f'viz.{key}', integer=True)
  for key in ('learning_rate', 'blur_sigma'):
    checks.positive(config, f'viz.{key}')
  for key in ('l2_reg', 'blur_every', 'max_jitter', 'init_noise'):
    checks.non_negative(config, f'viz.{key}')
  for key, values in config.viz.sweeps.items():
    checks.require(key in SWEEPABLE, f'viz.sweeps.{key}', values,
                   'sweeps over ' + ', '.join(SWEEPABLE))
    checks.require(len(values) > 0 and all(isinstance(x, (int, float)) and x >= 0 for x in values),
                   f'viz.sweeps.{key}', values, 'a non-empty tuple of numbers >= 0')
  checks.positive(config, 'fooling.learning_rate')
  checks.positive(config, 'fooling.max_iterations', integer=True)


class _Visualizer:
  """visualize_classes with the config's settings; compiled once per static setting, so the
  learning-rate and regularisation sweeps reuse one program (they are traced arguments)."""

  def __init__(self, clf, config):
    self._clf, self._config, self._compiled = clf, config, {}

  def __call__(self, init, targets, **overrides):
    settings = {k: self._config.viz[k] for k in ('learning_rate', 'l2_reg', *_STATIC)}
    settings.update(overrides)
    settings['num_iterations'] = int(settings['num_iterations'])
    static = tuple((k, settings[k]) for k in _STATIC)
    if static not in self._compiled:
      clf = self._clf
      self._compiled[static] = jax.jit(
          lambda params, x, t, key, lr, reg: class_viz.visualize_classes(
              clf.apply_fn, params, x, t, key, learning_rate=lr, l2_reg=reg,
              bounds=clf.input_bounds, **dict(static)))
    return np.asarray(self._compiled[static](
        self._clf.params, init, targets, jax.random.key(self._config.seed),
        settings['learning_rate'], settings['l2_reg']))


def _first_of_each_class(labels, num_classes):
  return np.array([int(np.argmax(labels == c)) for c in range(num_classes)
                   if np.any(labels == c)])


def train_and_evaluate(config, workdir: str) -> dict:
  clf = base.load_classifier(config)
  images, labels = base.test_images(clf, config.eval.num_images)
  num_classes = len(clf.class_names)
  targets = jnp.arange(num_classes, dtype=jnp.int32)
  lo, hi = clf.input_bounds
  noise = jax.random.normal(jax.random.key(config.seed + 1), (num_classes, *images.shape[1:]))
  start = np.asarray(jnp.clip((lo + hi) / 2 + config.viz.init_noise * (hi - lo) * noise, lo, hi))
  summary = {'classifier_dir': config.eval.classifier_dir}
  figures = os.path.join(workdir, 'figures')

  visualize = _Visualizer(clf, config)
  t0 = time.perf_counter()
  from_noise = visualize(start, targets)
  summary['seconds_from_noise'] = time.perf_counter() - t0
  probs = np.asarray(jax.nn.softmax(clf.logits(from_noise)))
  summary['target_probability'] = {name: float(probs[c, c])
                                   for c, name in enumerate(clf.class_names)}
  images_lib.image_table(
      [[{'image': img, 'title': f'{clf.class_names[c]}\np={probs[c, c]:.2f}'}
        for c, img in enumerate(base.display(from_noise, clf.pixel_range))]],
      os.path.join(figures, 'class_viz.png'),
      f'class visualization from noise, {config.viz.num_iterations} iterations')

  idx = _first_of_each_class(labels, num_classes)
  from_image = visualize(images[idx], jnp.asarray(labels[idx]))
  rows = [[{'image': img, 'title': clf.class_names[labels[i]]} for img, i in zip(
      base.display(images[idx], clf.pixel_range), idx)],
          [{'image': img, 'title': 'maximised'} for img in
           base.display(from_image, clf.pixel_range)]]
  images_lib.image_table(rows, os.path.join(figures, 'class_viz_from_image.png'),
                         'test images (top) and their class score maximised (bottom)')

  for key, values in config.viz.sweeps.items():
    rows = []
    for value in values:
      out = visualize(start, targets, **{key: value})
      rows.append([{'image': img, 'title': f'{key}={value:g}' if c == 0 else clf.class_names[c]}
                   for c, img in enumerate(base.display(out, clf.pixel_range))])
    images_lib.image_table(rows, os.path.join(figures, f'sweep_{key}.png'),
                           f'class visualization: {key} (one row per value)')

  summary['fooling'] = _fooling(clf, config, images[idx], labels[idx], figures)
  writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  logging.info('Class visualization: mean target probability %.3f; fooling %d/%d',
               np.mean(list(summary['target_probability'].values())),
               summary['fooling']['fooled'], len(idx))
  return summary


def _fooling(clf, config, images, labels, figures):
  """Each image pushed to the next class; the change is the smallest found on the path."""
  num_classes = len(clf.class_names)
  targets = ((labels + 1) % num_classes).astype(np.int32)
  f = config.fooling
  fn = jax.jit(lambda params, x, t: class_viz.fooling_images(
      clf.apply_fn, params, x, t, learning_rate=f.learning_rate,
      max_iterations=f.max_iterations, bounds=clf.input_bounds))
  fooled, done, iters = jax.device_get(fn(clf.params, images, targets))
  scale = clf.input_bounds[1] - clf.input_bounds[0]
  change = (fooled - images) / scale
  l2 = np.sqrt((change.reshape(len(images), -1) ** 2).sum(1))
  linf = np.abs(change.reshape(len(images), -1)).max(1)
  scores = np.asarray(clf.logits(fooled))
  shown, shown_fooled = (base.display(z, clf.pixel_range) for z in (images, fooled))
  rows = []
  for i in range(len(images)):
    text, _ = base.label_text(clf.class_names, scores[i])
    rows.append([{'image': shown[i], 'title': clf.class_names[labels[i]]},
                 {'image': shown_fooled[i] - shown[i], 'cmap': 'seismic', 'symmetric': True,
                  'title': f'change L2 {l2[i]:.2f}'},
                 {'image': shown_fooled[i], 'title': f'{text}\n({iters[i]} steps)',
                  'color': 'red' if done[i] else 'black'}])
  images_lib.image_table(rows, os.path.join(figures, 'fooling.png'),
                         'fooling: original | change | next class')
  return {'fooled': int(done.sum()), 'num_images': len(images),
          'iterations': iters.tolist(), 'l2': l2.tolist(), 'linf': linf.tolist(),
          'mean_l2': float(l2[done].mean()) if done.any() else None}
