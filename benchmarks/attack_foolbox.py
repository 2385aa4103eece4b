"""Our FGSM curve and PGD beside Foolbox 3's on the same classifier: accuracy per eps, time,
and which pixel-sign rule gives the stronger and the more reproducible attack.

  pip install -r benchmarks/requirements.txt
  python -m benchmarks.attack_foolbox [--classifier_dir=shipped --num_images=10000
                                       --pgd_images=1000]

Foolbox attacks `fb.JAXModel` (the same apply function and weights) with `fb.attacks.FGSM()`
and `fb.attacks.LinfPGD(steps=20, rel_stepsize=0.25, random_start=True)`, configs/attack.py's
PGD, on the same batches. Three FGSM curves: ours (the sign of the log-odds gradient, see
common/attacks.cross_entropy_direction), the plain float32 cross-entropy gradient's sign (what
PyTorch's FGSM tutorial does), and Foolbox's. Reproducibility: the fraction of pixels whose
sign differs between the float32 and the float64 computation of each rule, on the first
batch. PGD starts at random points, so the two PGD columns differ by sampling noise.
Compilation is timed apart.
"""
import functools
import time

import benchmarks
from absl import flags
import foolbox as fb
import jax
import jax.numpy as jnp
import numpy as np

from classifiers import saved
from common import attacks, batching
from configs import attack
from probes import attack_run, base

_DIR = flags.DEFINE_string('classifier_dir', 'shipped', "'shipped' or a classifier run")
_IMAGES = flags.DEFINE_integer('num_images', 10000, 'test images for the FGSM curve')
_PGD_IMAGES = flags.DEFINE_integer('pgd_images', 1000, 'test images for PGD')


def plain_cross_entropy_grad(apply_fn, params, images, labels):
  """The cross-entropy's own input gradient, as PyTorch's FGSM tutorial takes it."""
  def loss(x):
    log_p = jax.nn.log_softmax(apply_fn(params, x))
    return -jnp.take_along_axis(log_p, labels[:, None], axis=1).sum()
  return jax.grad(loss)(images)


def sign_flips(grad_fn, clf, images, labels):
  """Fraction of nonzero float64 gradient components whose float32 sign differs."""
  g32 = np.asarray(grad_fn(clf.apply_fn, clf.params, images, labels))
  with jax.enable_x64(True):
    params64 = jax.tree.map(lambda p: jnp.asarray(p, jnp.float64), clf.params)
    g64 = np.asarray(grad_fn(clf.apply_fn, params64, jnp.asarray(images, jnp.float64), labels))
  assert g32.dtype == np.float32 and g64.dtype == np.float64, (g32.dtype, g64.dtype)
  nonzero = g64 != 0
  return float(np.mean(np.sign(g32)[nonzero] != np.sign(g64)[nonzero]))


def timed(fn, warm_up):
  """(fn(), seconds) after one call of warm_up() that compiles."""
  warm_up()
  t0 = time.perf_counter()
  out = fn()
  return out, time.perf_counter() - t0


def plain_fgsm_curve(clf, images, labels, epsilons, batch_size):
  grad = jax.jit(functools.partial(plain_cross_entropy_grad, clf.apply_fn))
  def batch(x, y):
    g = grad(clf.params, x, y)
    return jnp.stack([jnp.argmax(clf.apply_fn(clf.params, attacks.fgsm_from_grad(
        x, g, e, bounds=clf.input_bounds)), -1) == y for e in epsilons], axis=1)
  batch = jax.jit(batch)
  return timed(lambda: batching.in_batches(batch, (images, labels), batch_size).mean(0),
               lambda: batch(images[:batch_size], labels[:batch_size]))


def foolbox_accuracy(attack_fn, model, images, labels, epsilons, batch_size):
  """1 - Foolbox's success rate per eps ([E]), over batches."""
  correct = np.zeros(len(epsilons))
  for start in range(0, len(images), batch_size):
    x = jnp.asarray(images[start:start + batch_size])
    y = jnp.asarray(labels[start:start + batch_size])
    _, _, success = attack_fn(model, x, y, epsilons=list(epsilons))
    correct += np.sum(~np.asarray(success), axis=1)
  return correct / len(images)


def main(argv):
  del argv
  config = attack.get_config()
  config.eval.classifier_dir = _DIR.value
  a = config.attack
  bs = config.eval.batch_size
  clf = saved.load(_DIR.value)
  images, labels = base.test_images(clf, _IMAGES.value)
  epsilons = [float(e) for e in a.epsilons]
  model = fb.JAXModel(functools.partial(clf.apply_fn, clf.params), bounds=clf.input_bounds)

  rows, _, ours_s = attack_run.fgsm_table(clf, config, images, labels)
  ours = [r['accuracy'] for r in rows]
  plain, plain_s = plain_fgsm_curve(clf, images, labels, epsilons, bs)
  fb_fgsm = fb.attacks.FGSM()
  theirs, theirs_s = timed(
      lambda: foolbox_accuracy(fb_fgsm, model, images, labels, epsilons, bs),
      lambda: foolbox_accuracy(fb_fgsm, model, images[:bs], labels[:bs], epsilons, bs))
  flips = {name: sign_flips(fn, clf, images[:bs], labels[:bs]) for name, fn in (
      ('log-odds', lambda *args: attacks.cross_entropy_direction(*args)[0]),
      ('plain CE', plain_cross_entropy_grad))}

  n = min(_PGD_IMAGES.value, len(images))
  x, y = images[:n], labels[:n]
  pgd_ours, pgd_theirs, pgd_ours_s, pgd_theirs_s = [], [], 0.0, 0.0
  fb_pgd = fb.attacks.LinfPGD(rel_stepsize=a.step_fraction, steps=a.pgd_steps,
                              random_start=a.pgd_random_start)
  for eps in a.pgd_epsilons:
    fn = attack_run.pgd_fn(clf, config, eps, a.pgd_steps, False)
    def run(count=n, fn=fn):
      _, scores = attack_run.attack_in_batches(clf, config, fn, x[:count], y[:count])
      return float(np.mean(scores.argmax(-1) == y[:count]))
    accuracy, seconds = timed(run, lambda: run(bs))
    pgd_ours.append(accuracy)
    pgd_ours_s += seconds
    accuracy, seconds = timed(lambda: foolbox_accuracy(fb_pgd, model, x, y, [eps], bs)[0],
                              lambda: foolbox_accuracy(fb_pgd, model, x[:bs], y[:bs], [eps], bs))
    pgd_theirs.append(accuracy)
    pgd_theirs_s += seconds

  print(f'FGSM on {len(images)} test images, classifier {clf.source}, batch {bs}:')
  print('  eps          ' + ' '.join(f'{e:7g}' for e in epsilons) + '   seconds')
  for name, curve, seconds in (('ours', ours, ours_s), ('plain CE', plain, plain_s),
                               ('Foolbox', theirs, theirs_s)):
    print(f'  {name:12s} ' + ' '.join(f'{v:7.4f}' for v in curve) + f'   {seconds:7.1f}')
  print(f'  ours is {theirs_s / ours_s:.1f}x faster than Foolbox; largest accuracy gap to '
        f'Foolbox {np.max(np.abs(np.subtract(ours, theirs))):.4f}, plain CE '
        f'{np.max(np.abs(np.subtract(plain, theirs))):.4f}')
  print(f'  pixels whose gradient sign differs between float32 and float64 (first {bs} images): '
        + ', '.join(f'{k} {v:.4%}' for k, v in flips.items()))
  print(f'PGD-{a.pgd_steps} (L-inf, step {a.step_fraction:g} eps, random start) on {n} images:')
  print('  eps          ' + ' '.join(f'{e:7g}' for e in a.pgd_epsilons) + '   seconds')
  print('  ours         ' + ' '.join(f'{v:7.4f}' for v in pgd_ours) + f'   {pgd_ours_s:7.1f}')
  print('  Foolbox      ' + ' '.join(f'{v:7.4f}' for v in pgd_theirs) + f'   {pgd_theirs_s:7.1f}')
  print(f'  ours is {pgd_theirs_s / pgd_ours_s:.1f}x faster than Foolbox')


if __name__ == '__main__':
  benchmarks.run(main)
