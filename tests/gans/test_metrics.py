"""FID, KID, Inception-style score and class accuracy against float64 NumPy/SciPy."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from gans import metrics


def _features(seed, n=3000, d=32, shift=0.0, scale=1.0):
  rng = np.random.default_rng(seed)
  mixing = rng.normal(size=(d, d)) / np.sqrt(d)
  return (rng.normal(size=(n, d)) @ mixing * scale + shift).astype(np.float32)


def _reference_fid(f1, f2):
  """pytorch-fid's calculate_frechet_distance, in float64."""
  f1, f2 = f1.astype(np.float64), f2.astype(np.float64)
  mu1, mu2 = f1.mean(0), f2.mean(0)
  s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  return np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def _reference_kid(f1, f2, idx1, idx2):
  """torch-fidelity's unbiased polynomial MMD^2 per subset, in float64."""
  values = []
  d = f1.shape[1]
  for i, j in zip(np.asarray(idx1), np.asarray(idx2)):
    x, y = f1[i].astype(np.float64), f2[j].astype(np.float64)
    m = len(x)
    kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
    values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                  + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
  return np.array(values)


@pytest.mark.parametrize('shift,scale', [(0.0, 1.0), (0.3, 1.5), (2.0, 0.5)])
def test_frechet_distance_matches_scipy(shift, scale):
  f1, f2 = _features(0), _features(1, shift=shift, scale=scale)
  got = float(metrics.frechet_distance_of(metrics.Moments.of(f1), metrics.Moments.of(f2)))
  want = _reference_fid(f1, f2)
  assert got == pytest.approx(want, rel=2e-3, abs=2e-3)


def test_frechet_distance_closed_form_for_diagonal_covariances():
  mu1, mu2 = jnp.array([0.0, 1.0, 2.0]), jnp.array([1.0, 1.0, 0.0])
  var1, var2 = jnp.array([1.0, 4.0, 9.0]), jnp.array([4.0, 4.0, 1.0])
  # ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2 = 5 + (1 + 0 + 4)
  got = metrics.frechet_distance(mu1, jnp.diag(var1), mu2, jnp.diag(var2))
  assert float(got) == pytest.approx(10.0, abs=1e-4)
  same = metrics.frechet_distance(mu1, jnp.diag(var1), mu1, jnp.diag(var1))
  assert abs(float(same)) < 1e-4


def test_moments_accumulate_batch_by_batch_like_numpy_cov():
  f = _features(2, n=1000, shift=50.0)  # a large mean: float32 sums must not cancel
  moments = metrics.Moments.of(f[:100])
  for i in range(100, 1000, 300):
    moments = moments.add(f[i:i + 300])
  mean, cov = moments.mean_cov()
  assert int(moments.count) == 1000
  np.testing.assert_allclose(mean, f.astype(np.float64).mean(0), rtol=1e-5)
  np.testing.assert_allclose(cov, np.cov(f.astype(np.float64), rowvar=False), atol=2e-4)


def test_kid_matches_numpy_on_the_same_subsets():
  f1, f2 = _features(3, n=600), _features(4, n=500, shift=0.2)
  idx1, idx2 = metrics.kid_subsets(jax.random.key(0), 600, 500, num_subsets=6,
                                   subset_size=200)
  assert all(len(set(row)) == 200 for row in np.asarray(idx1))  # no repeats in a subset
  got = np.asarray(metrics.kid_from_indices(f1, f2, idx1, idx2))
  np.testing.assert_allclose(got, _reference_kid(f1, f2, idx1, idx2), rtol=1e-3, atol=1e-5)
  value, std = metrics.kernel_inception_distance(f1, f2, jax.random.key(0), 6, 200)
  assert float(value) == pytest.approx(got.mean(), rel=1e-5)
  assert float(std) == pytest.approx(got.std(), rel=1e-4)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_the_shift():
  f = _features(5, n=4000)  # one distribution (one mixing matrix), two halves
  f1, f2 = f[:2000], f[2000:]
  same, _ = metrics.kernel_inception_distance(f1, f2, jax.random.key(1), 20, 500)
  shifted, _ = metrics.kernel_inception_distance(f1, f2 + 0.5, jax.random.key(1), 20, 500)
  assert abs(float(same)) < 0.01 < float(shifted)


def test_inception_score_extremes_and_numpy():
  logits = jnp.full((100, 10), 0.0)
  assert float(metrics.inception_score(logits, splits=2)[0]) == pytest.approx(1.0, abs=1e-5)
  confident = 50.0 * jax.nn.one_hot(jnp.arange(100) % 10, 10)
  assert float(metrics.inception_score(confident, splits=2)[0]) == pytest.approx(10.0, rel=1e-4)
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(300, 10)) * 2
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  want = [np.exp(np.mean(np.sum(q * (np.log(q) - np.log(q.mean(0))), 1)))
          for q in np.split(p, 3)]
  mean, std = metrics.inception_score(jnp.asarray(logits, jnp.float32), splits=3)
  assert float(mean) == pytest.approx(np.mean(want), rel=1e-4)
  assert float(std) == pytest.approx(np.std(want), rel=1e-3)


def test_class_accuracy_by_hand():
  logits = jnp.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [0.0, 0.1]])
  assert float(metrics.class_accuracy(logits, jnp.array([0, 1, 1, 1]))) == 0.75
  per_class = metrics.class_accuracy_per_class(logits[:, :2], jnp.array([0, 1, 1, 1]))
  np.testing.assert_allclose(per_class, [1.0, 2 / 3], rtol=1e-6)
  three = jnp.pad(logits, ((0, 0), (0, 1)), constant_values=-9.0)  # class 2 never asked for
  assert np.isnan(metrics.class_accuracy_per_class(three, jnp.array([0, 1, 1, 1]))[2])
