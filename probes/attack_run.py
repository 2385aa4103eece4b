"""Attack run (configs/attack.py): FGSM accuracy-vs-eps over the test set, untargeted and
targeted PGD, with tables, a plot, example figures and summary.json."""
import csv
import functools
import os
import time

from absl import logging
import jax
import numpy as np

from common import attacks, batching, checks, images as images_lib, writers
from probes import base


def validate(config) -> None:
  base.validate(config)
  a = config.attack
  checks.one_of(config, 'attack.norm', attacks.NORMS)
  for key in ('epsilons', 'pgd_epsilons'):
    values = checks.get(config, f'attack.{key}')
    checks.require(all(isinstance(e, (int, float)) and e >= 0 for e in values), f'attack.{key}',
                   values, 'a tuple of numbers >= 0 (unit pixels)')
  checks.require(len(a.epsilons) > 0, 'attack.epsilons', a.epsilons, 'at least one eps')
  for key in ('pgd_steps', 'pgd_images', 'targeted_steps', 'figure_images'):
    checks.positive(config, f'attack.{key}', integer=True)
  for key in ('step_fraction', 'targeted_step_fraction', 'targeted_eps', 'figure_eps'):
    checks.positive(config, f'attack.{key}')


def pgd_fn(clf, config, eps, num_steps, targeted):
  a = config.attack
  step_fraction = a.targeted_step_fraction if targeted else a.step_fraction
  random_start = a.targeted_random_start if targeted else a.pgd_random_start
  return jax.jit(lambda params, x, y, key: attacks.pgd(
      clf.apply_fn, params, x, y, key, eps=eps, step_size=step_fraction * eps,
      num_steps=num_steps, norm=a.norm, random_start=random_start, targeted=targeted,
      bounds=clf.input_bounds))


def attack_in_batches(clf, config, fn, images, labels):
  """Adversarial images of `fn(params, x, y, key)` over batches, and their predictions."""
  adv = batching.in_keyed_batches(
      lambda x, y, k: fn(clf.params, x, y, k), (images, labels), config.eval.batch_size,
      jax.random.key(config.seed))
  scores = batching.in_batches(clf.logits, (adv,), config.eval.batch_size)
  return adv, scores


def fgsm_table(clf, config, images, labels):
  a = config.attack
  curve = jax.jit(lambda params, x, y: attacks.fgsm_curve(
      clf.apply_fn, params, x, y, tuple(float(e) for e in a.epsilons), bounds=clf.input_bounds,
      norm=a.norm))
  curve(clf.params, images[:config.eval.batch_size], labels[:config.eval.batch_size])  # compile
  t0 = time.perf_counter()
  clean, preds, linf, l2 = batching.in_batches(
      lambda x, y: jax.tree.map(lambda t: t.T if t.ndim == 2 else t,
                                curve(clf.params, x, y)),
      (images, labels), config.eval.batch_size)   # [N] and [N, E] (batch axis first)
  seconds = time.perf_counter() - t0
  correct = clean == labels
  rows = []
  for j, eps in enumerate(a.epsilons):
    hit = preds[:, j] == labels
    rows.append({'eps': float(eps), 'accuracy': float(hit.mean()),
                 'success_rate': float((correct & ~hit).sum() / max(correct.sum(), 1)),
                 'mean_linf': float(linf[:, j].mean()), 'mean_l2': float(l2[:, j].mean())})
  return rows, float(correct.mean()), seconds


def train_and_evaluate(config, workdir: str) -> dict:
  a = config.attack
  clf = base.load_classifier(config)
  images, labels = base.test_images(clf, config.eval.num_images)
  rows, clean_accuracy, fgsm_seconds = fgsm_table(clf, config, images, labels)
  logging.info('FGSM curve on %d images in %.1f s: %s', len(images), fgsm_seconds,
               ', '.join(f'{r["eps"]:g}: {r["accuracy"]:.4f}' for r in rows))

  n = min(a.pgd_images, len(images))
  x, y = images[:n], labels[:n]
  pgd_rows = []
  for eps in a.pgd_epsilons:
    adv, scores = attack_in_batches(clf, config, pgd_fn(clf, config, eps, a.pgd_steps, False),
                                    x, y)
    hit = scores.argmax(-1) == y
    linf, l2 = attacks.perturbation_norms(x, adv, clf.input_bounds)
    pgd_rows.append({'eps': float(eps), 'accuracy': float(hit.mean()),
                     'mean_linf': float(linf.mean()), 'mean_l2': float(l2.mean())})

  # targeted: each image to a random other class
  num_classes = len(clf.class_names)
  shift = jax.random.randint(jax.random.key(config.seed + 1), (n,), 1, num_classes)
  targets = ((y + np.asarray(shift)) % num_classes).astype(np.int32)
  t0 = time.perf_counter()
  targeted, t_scores = attack_in_batches(
      clf, config, pgd_fn(clf, config, a.targeted_eps, a.targeted_steps, True), x, targets)
  targeted_seconds = time.perf_counter() - t0
  success = float((t_scores.argmax(-1) == targets).mean())
  logging.info('Targeted PGD, eps %g, %d steps, %d images: success %.4f (%.1f s)',
               a.targeted_eps, a.targeted_steps, n, success, targeted_seconds)

  summary = {
      'classifier_dir': config.eval.classifier_dir, 'norm': a.norm, 'num_images': len(images),
      'clean_accuracy': clean_accuracy,
      'accuracy': {f'{r["eps"]:g}': r['accuracy'] for r in rows},
      'fgsm': rows, 'fgsm_curve_seconds': fgsm_seconds,
      'pgd': {'steps': a.pgd_steps, 'num_images': n, 'rows': pgd_rows},
      'targeted_pgd': {'eps': a.targeted_eps, 'steps': a.targeted_steps,
                       'step_size': a.targeted_step_fraction * a.targeted_eps,
                       'random_start': a.targeted_random_start, 'num_images': n,
                       'success_rate': success, 'seconds': targeted_seconds},
  }
  writers.write_json(os.path.join(workdir, 'summary.json'), summary)
  _write_table(workdir, rows, pgd_rows, a.pgd_steps)
  _plot_curve(workdir, rows, pgd_rows, a)
  _write_figures(clf, config, workdir, x, y, targeted, targets, t_scores)
  return summary


def _write_table(workdir, rows, pgd_rows, pgd_steps):
  with open(os.path.join(workdir, 'results.csv'), 'w', newline='') as f:
    out = csv.DictWriter(f, fieldnames=['attack', *rows[0]])
    out.writeheader()
    out.writerows([{'attack': 'fgsm', **r} for r in rows] +
                  [{'attack': f'pgd{pgd_steps}', 'success_rate': '', **r} for r in pgd_rows])
  lines = ['| attack | eps | accuracy | success rate | mean L-inf | mean L2 |',
           '|---|---|---|---|---|---|']
  lines += [f'| FGSM | {r["eps"]:g} | {r["accuracy"]:.4f} | {r["success_rate"]:.4f} | '
            f'{r["mean_linf"]:.4f} | {r["mean_l2"]:.3f} |' for r in rows]
  lines += [f'| PGD-{pgd_steps} | {r["eps"]:g} | {r["accuracy"]:.4f} | | '
            f'{r["mean_linf"]:.4f} | {r["mean_l2"]:.3f} |' for r in pgd_rows]
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')


def _plot_curve(workdir, rows, pgd_rows, a):
  fig = images_lib.new_figure((5, 3.4))
  ax = fig.add_subplot(1, 1, 1)
  ax.plot([r['eps'] for r in rows], [r['accuracy'] for r in rows], 'o-', label='FGSM')
  if pgd_rows:
    ax.plot([r['eps'] for r in pgd_rows], [r['accuracy'] for r in pgd_rows], 's--',
            label=f'PGD-{a.pgd_steps}')
  ax.set_xlabel(f'eps ({a.norm}, unit pixels)')
  ax.set_ylabel('test accuracy')
  ax.set_ylim(0, 1)
  ax.grid(alpha=0.3)
  ax.legend()
  images_lib.save_figure(fig, os.path.join(workdir, 'plots', 'accuracy_vs_eps.png'),
                         'accuracy under attack')


def _write_figures(clf, config, workdir, x, y, targeted, targets, t_scores):
  a = config.attack
  k = min(a.figure_images, len(x))
  fgsm = jax.jit(functools.partial(attacks.fgsm, clf.apply_fn, eps=a.figure_eps,
                                   bounds=clf.input_bounds, norm=a.norm))
  adv = np.asarray(fgsm(clf.params, x[:k], y[:k]))
  heads = base.prediction_panels(clf, x[:k], y[:k])
  for name, adv_images, goal, scores in (
      ('fgsm', adv, y[:k], np.asarray(clf.logits(adv))),
      ('targeted_pgd', targeted[:k], targets[:k], t_scores[:k])):
    shown_adv = base.display(adv_images, clf.pixel_range)
    rows = []
    for i in range(k):
      adv_text, _ = base.label_text(clf.class_names, scores[i])
      fooled = (np.argmax(scores[i]) != y[i]) if name == 'fgsm' else (
          np.argmax(scores[i]) == goal[i])
      rows.append([
          heads[i],
          {'image': shown_adv[i] - heads[i]['image'], 'cmap': 'seismic', 'symmetric': True,
           'title': 'perturbation'},
          {'image': shown_adv[i], 'color': 'red' if fooled else 'black',
           'title': adv_text + ('' if name == 'fgsm' else
                                f'\n(target {clf.class_names[goal[i]]})')}])
    eps = a.figure_eps if name == 'fgsm' else a.targeted_eps
    images_lib.image_table(rows, os.path.join(workdir, 'figures', f'{name}_examples.png'),
                           f'{name.replace("_", " ")}, eps {eps:g}: original | change | '
                           f'adversarial')
