"""benchmarks/classifier_epoch.py: the closed-form FLOP count against XLA's own count of the
compiled gradient, and the sweep measurement end to end: both sides train the same
variants (it once broke unnoticed)."""
from absl import flags
import jax
import jax.numpy as jnp
import optax
import pytest

from benchmarks import classifier_epoch
from classifiers import build
from common import conv
from configs import cnn, eval_classifier, lenet


@pytest.mark.parametrize('module', [cnn, lenet, eval_classifier])
def test_convnet_flops_match_xlas_count_of_the_gradient(module):
  config = module.get_config()
  model = build.build_model(config, 10)
  batch = 8
  x = jnp.zeros((batch, 28, 28, 1))
  y = jnp.zeros((batch,), jnp.int32)
  params = model.init(jax.random.key(0), x)['params']

  def loss(params, x, y):
    logits = model.apply({'params': params}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

  # the closed form counts a direct convolution's multiply-adds, as the patches' matmuls do
  # them (Winograd's, the default for some layers on CPU, do fewer)
  with conv.forced('patches'):
    cost = jax.jit(jax.grad(loss)).lower(params, x, y).compile().cost_analysis()
  xla_flops = (cost[0] if isinstance(cost, list) else cost)['flops']
  ours = classifier_epoch.convnet_flops(config.model, batch)
  # XLA also counts the elementwise work (activations, pooling, bias, loss) we leave out
  assert ours <= xla_flops <= 1.1 * ours   # 1.01-1.08 measured


def test_sweep_ratio_trains_the_same_variants_both_ways():
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()   # the benchmark's flag defaults (--sweep_epochs=1)
  vmapped_s, sequential_s, gap = classifier_epoch.sweep_ratio(classifier_epoch.fake_dataset())
  assert vmapped_s > 0 and sequential_s > 0
  # each vmapped variant's parameters after an epoch (15,000 steps) are its single run's
  assert gap < 1e-4   # 2.2e-6 measured
