"""Sample-quality metrics in JAX, on device: Frechet distance, KID, Inception-style score,
class accuracy. Features come from any network (gans/evaluation.py: the evaluation
classifier's penultimate layer); tests check every number against float64 NumPy/SciPy.

- Frechet distance (Heusel et al. 2017) from sufficient statistics (count, sum, sum of
  outer products), accumulated batch by batch:
  ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2); the last trace is
  that of pytorch-fid's sqrtm(S1 S2), computed from two symmetric eigendecompositions.
- KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3, averaged over random subsets as torch-fidelity does
  (100 subsets of 1,000 by default).
"""
import dataclasses
import functools

import jax
import jax.numpy as jnp


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Moments:
  """Sufficient statistics of a feature set, shifted by `shift` (the first batch's mean)
  so float32 sums of squares do not cancel."""
  count: jax.Array
  shift: jax.Array
  total: jax.Array         # sum of (x - shift)
  outer: jax.Array         # sum of (x - shift)(x - shift)^T

  @classmethod
  def of(cls, features):
    features = jnp.asarray(features, jnp.float32)
    shift = jnp.mean(features, axis=0)
    centered = features - shift
    return cls(jnp.asarray(features.shape[0], jnp.float32), shift,
               jnp.sum(centered, axis=0), centered.T @ centered)

  def add(self, features):
    centered = jnp.asarray(features, jnp.float32) - self.shift
    return Moments(self.count + features.shape[0], self.shift,
                   self.total + jnp.sum(centered, axis=0), self.outer + centered.T @ centered)

  def mean_cov(self):
    """Mean and unbiased covariance (numpy.cov's)."""
    m = self.total / self.count
    cov = (self.outer - self.count * jnp.outer(m, m)) / (self.count - 1)
    return self.shift + m, cov


def _psd_sqrt(cov):
  w, v = jnp.linalg.eigh(cov)
  return (v * jnp.sqrt(jnp.clip(w, 0.0))) @ v.T


@jax.jit
def frechet_distance(mu1, cov1, mu2, cov2):
  """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2) for PSD covariances."""
  s1 = _psd_sqrt(cov1)
  inner = s1 @ cov2 @ s1
  eig = jnp.linalg.eigvalsh(0.5 * (inner + inner.T))
  return (jnp.sum(jnp.square(mu1 - mu2)) + jnp.trace(cov1) + jnp.trace(cov2)
          - 2.0 * jnp.sum(jnp.sqrt(jnp.clip(eig, 0.0))))


def frechet_distance_of(moments1: Moments, moments2: Moments):
  return frechet_distance(*moments1.mean_cov(), *moments2.mean_cov())


def _polynomial_mmd(x, y):
  """Unbiased MMD^2 between two equal-size sets with k(a, b) = (a.b / d + 1)^3."""
  m, d = x.shape
  kernel = lambda a, b: (a @ b.T / d + 1.0) ** 3
  kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
  off_diagonal = lambda k: (jnp.sum(k) - jnp.trace(k)) / (m * (m - 1))
  return off_diagonal(kxx) + off_diagonal(kyy) - 2.0 * jnp.mean(kxy)


def kid_subsets(key, n1: int, n2: int, num_subsets: int, subset_size: int):
  """Index sets (each without repetition) into both feature sets, one row per subset."""
  k1, k2 = jax.random.split(key)
  pick = lambda k, n: jax.vmap(lambda kk: jax.random.permutation(kk, n)[:subset_size])(
      jax.random.split(k, num_subsets))
  return pick(k1, n1), pick(k2, n2)


@jax.jit
def kid_from_indices(features1, features2, idx1, idx2):
  """Per-subset MMD^2 values (their mean is KID, their std its spread)."""
  f1, f2 = jnp.asarray(features1, jnp.float32), jnp.asarray(features2, jnp.float32)
  return jax.lax.map(lambda ij: _polynomial_mmd(f1[ij[0]], f2[ij[1]]), (idx1, idx2))


def kernel_inception_distance(features1, features2, key, num_subsets: int = 100,
                              subset_size: int = 1000):
  """(KID, its std over subsets); subsets shrink to the smaller set when it is smaller."""
  size = min(subset_size, features1.shape[0], features2.shape[0])
  idx1, idx2 = kid_subsets(key, features1.shape[0], features2.shape[0], num_subsets, size)
  values = kid_from_indices(features1, features2, idx1, idx2)
  return jnp.mean(values), jnp.std(values)


@functools.partial(jax.jit, static_argnames='splits')
def inception_score(logits, splits: int = 10):
  """exp(E_x KL(p(y|x) || p(y))) per split; returns (mean, std) over splits (Salimans
  et al.'s recipe, here with the evaluation classifier's class probabilities)."""
  n = logits.shape[0] // splits * splits
  logp = jax.nn.log_softmax(logits[:n].astype(jnp.float32)).reshape(splits, -1,
                                                                     logits.shape[-1])
  p = jnp.exp(logp)
  log_marginal = jnp.log(jnp.mean(p, axis=1, keepdims=True))
  scores = jnp.exp(jnp.mean(jnp.sum(p * (logp - log_marginal), axis=-1), axis=-1))
  return jnp.mean(scores), jnp.std(scores)


def class_accuracy(logits, labels):
  """How often the classifier agrees with the labels the samples were conditioned on."""
  return jnp.mean(jnp.argmax(logits, -1) == labels)


def class_accuracy_per_class(logits, labels):
  """class_accuracy over the samples conditioned on each class in turn (nan for a class
  that no sample was asked for)."""
  right = jnp.argmax(logits, -1) == labels
  asked = jax.nn.one_hot(labels, logits.shape[-1])
  return jnp.sum(asked * right[:, None], 0) / jnp.sum(asked, 0)
