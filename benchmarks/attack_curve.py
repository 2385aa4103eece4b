"""The FGSM accuracy-vs-eps curve over the test set: this codebase against PyTorch, same weights.

  pip install -r benchmarks/requirements.txt
  python -m benchmarks.attack_curve [--classifier_dir=shipped --batch_size=1000]

Both sides do the same work per batch: one input gradient (of the log-odds, the cross-entropy's
direction without its float32 cancellation, common/attacks.cross_entropy_direction), then one
forward pass per eps (PyTorch's FGSM tutorial does one image at a time; batching it is the
fair comparison). PyTorch gets the classifier's weights copied (tests/torch_reference.py);
the default is the Fashion-MNIST network shipped with the code. Prints both curves (they agree
up to float rounding) and the time ratio; compilation is timed apart.
"""
import time

import benchmarks
from absl import flags
import numpy as np
import torch

from tests import torch_reference
from classifiers import build, saved
from common import data
from configs import attack
from probes import attack_run

_DIR = flags.DEFINE_string('classifier_dir', 'shipped', "'shipped' or a classifier run")
_BATCH = flags.DEFINE_integer('batch_size', 1000, 'images per batch (both sides)')


def torch_curve(net, images, labels, epsilons, batch_size):
  correct = np.zeros(len(epsilons))
  for start in range(0, len(images), batch_size):
    x = torch_reference.nhwc_to_torch(images[start:start + batch_size]).requires_grad_(True)
    y = torch.tensor(labels[start:start + batch_size]).long()
    scores = net(x)
    others = scores.masked_fill(torch.nn.functional.one_hot(y, scores.shape[1]).bool(),
                                -torch.inf)
    (torch.logsumexp(others, 1) - scores.gather(1, y[:, None])[:, 0]).sum().backward()
    sign = x.grad.sign()
    with torch.no_grad():
      for j, eps in enumerate(epsilons):
        adv = torch.clamp(x + eps * sign, 0, 1)
        correct[j] += (net(adv).argmax(1) == y).sum().item()
  return correct / len(images)


def main(argv):
  del argv
  clf = saved.load(_DIR.value)
  ds = build.load_data(clf.config)
  images = np.asarray(data.to_float(ds.test_images, clf.pixel_range))
  labels = ds.test_labels.astype(np.int32)
  config = attack.get_config()
  config.eval.batch_size = _BATCH.value
  epsilons = list(config.attack.epsilons)
  assert clf.input_bounds == (0.0, 1.0), 'the PyTorch side clamps to [0, 1]'

  t0 = time.perf_counter()
  rows, _, jax_s = attack_run.fgsm_table(clf, config, images, labels)
  compile_s = time.perf_counter() - t0 - jax_s
  net = torch_reference.TorchConvNet(clf.model, clf.params, images.shape[-1]).eval()
  torch_curve(net, images[:_BATCH.value], labels[:_BATCH.value], epsilons, _BATCH.value)
  t0 = time.perf_counter()
  torch_acc = torch_curve(net, images, labels, epsilons, _BATCH.value)
  torch_s = time.perf_counter() - t0

  print(f'FGSM curve, {len(images)} images, {len(epsilons)} eps, batch {_BATCH.value}, '
        f'classifier {clf.source}:')
  print('  eps       ' + ' '.join(f'{e:7g}' for e in epsilons))
  print('  JAX       ' + ' '.join(f'{r["accuracy"]:7.4f}' for r in rows))
  print('  PyTorch   ' + ' '.join(f'{a:7.4f}' for a in torch_acc))
  print(f'  JAX {jax_s:.1f} s (compile {compile_s:.1f} s), PyTorch {torch_s:.1f} s: JAX is '
        f'{torch_s / jax_s:.2f}x faster.')


if __name__ == '__main__':
  benchmarks.run(main)
