"""Scores a generator with the evaluation classifier: FID, KID, Inception-style score and,
for conditional models, class accuracy. Used during training (gans/train.py) and on any
checkpoint (`python -m gans.tools.score --workdir=runs/dcgan`).

Features are the classifier's penultimate activations (256 for configs/eval_classifier.py),
so these numbers compare runs of this code with each other; with `feature_network` (the FID
InceptionV3 of gans/inception.py) FID and KID use its pool3 features instead, comparable
with published numbers, while class accuracy and the Inception-style score keep the
classifier.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from common import data, mesh as mesh_lib
from gans import metrics

BATCH = 500


def generate(gan, g_params, g_batch_stats, z, labels, batch_size: int = BATCH):
  """Images in [0, 1] for latent rows `z` (and their labels), made `batch_size` at a time."""
  fn = _generate_fn(gan)
  return jnp.concatenate([fn(g_params, g_batch_stats, z[i:i + batch_size],
                             labels[i:i + batch_size])
                          for i in range(0, z.shape[0], batch_size)])


@functools.lru_cache(maxsize=8)
def _generate_fn(gan):
  return jax.jit(lambda p, s, z, y: data.to_unit(gan.generate(p, s, z, y), gan.pixel_range))


class Evaluator:
  """Holds the classifier and the reference set's features (computed once)."""

  def __init__(self, classifier, reference_images, *, kid_subsets: int = 100,
               kid_subset_size: int = 1000, seed: int = 0, feature_network=None):
    self.classifier = classifier
    self.feature_network = feature_network  # None: the classifier's features
    self._params = classifier.params
    # images go where the classifier is (generated ones may be replicated over a mesh)
    self._sharding = jax.tree.leaves(classifier.params)[0].sharding
    self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
    self._key = jax.random.key(seed)
    model, pixel_range = classifier.model, classifier.pixel_range

    @jax.jit
    def features_logits(params, unit_images):
      x = unit_images * 2.0 - 1.0 if pixel_range == 'minus_one_one' else unit_images
      return (model.apply({'params': params}, x, return_features=True),
              model.apply({'params': params}, x))
    self._features_logits = features_logits
    if reference_images is not None:  # None: a classifier only (gans/tools/export.py)
      self.reference_features, _ = self.features_and_logits(
          data.to_float(np.asarray(reference_images), 'zero_one'))
      self.reference_moments = metrics.Moments.of(self.reference_features)

  def features_and_logits(self, unit_images):
    unit_images = mesh_lib.local_copy(unit_images)  # each process scores on its own devices
    parts = [self._features_logits(
        self._params, jax.device_put(unit_images[i:i + BATCH], self._sharding))
             for i in range(0, unit_images.shape[0], BATCH)]
    features = jnp.concatenate([f for f, _ in parts])
    if self.feature_network is not None:
      features = self.feature_network.features(unit_images)
    return features, jnp.concatenate([l for _, l in parts])

  def score(self, unit_images, labels=None, *, kid: bool = True) -> dict:
    """Metrics of images in [0, 1] against the reference set; `labels`: their conditions."""
    features, logits = self.features_and_logits(unit_images)
    fid = metrics.frechet_distance_of(metrics.Moments.of(features), self.reference_moments)
    inception, inception_std = metrics.inception_score(logits)
    out = {'fid': float(fid), 'inception_score': float(inception),
           'inception_score_std': float(inception_std), 'num_samples': int(features.shape[0]),
           'features': 'classifier' if self.feature_network is None else self.feature_network.name}
    if kid:
      value, std = metrics.kernel_inception_distance(
          features, self.reference_features, self._key, self.kid_subsets,
          self.kid_subset_size)
      out.update(kid=float(value), kid_std=float(std))
    if labels is not None:
      out['class_accuracy'] = float(metrics.class_accuracy(logits, labels))
      if kid:  # the final scores: the per-class breakdown too (one host copy)
        out['class_accuracy_per_class'] = [round(a, 4) for a in np.asarray(
            metrics.class_accuracy_per_class(logits, labels)).tolist()]
    predicted = np.bincount(np.asarray(jnp.argmax(logits, -1)), minlength=logits.shape[-1])
    out['classes_present'] = int(np.sum(predicted > 0))
    out['largest_class_fraction'] = float(predicted.max() / max(predicted.sum(), 1))
    return out
