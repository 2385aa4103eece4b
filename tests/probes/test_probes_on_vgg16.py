"""The probe functions take any `apply_fn`: here VGG16 (random weights, 32x32 images, a
two-class head) with Keras' caffe preprocessing inside, so attacks clip to [0, 1] RGB."""
import jax
import jax.numpy as jnp
import numpy as np

from common import attacks
from probes import saliency
from transfer import finetune, vgg16

NET = finetune.BaseAndHead(vgg16.BLOCKS, 'pool5', 2, (16,),
                           prepare=lambda x: vgg16.preprocess(x * 255.0, 'caffe'))


@jax.jit
def _setup():
  params = NET.init(jax.random.key(0), (32, 32, 3))
  # random biases, so the network is not positively homogeneous (IG would be trivially exact)
  params = jax.tree_util.tree_map_with_path(
      lambda path, p: p + 0.05 * jax.random.normal(jax.random.key(len(str(path))), p.shape)
      if 'bias' in str(path) else p, params)
  images = jax.random.uniform(jax.random.key(1), (3, 32, 32, 3))
  return params, images, jnp.array([0, 1, 0], jnp.int32)


def test_attacks_and_saliency_run_on_vgg16_in_its_own_input_range():
  # (each program here is a compile of VGG16's backward pass: FGSM, whose gradient is PGD's,
  # is checked on the small nets of test_attacks.py, its eps = 0 in each input range too)
  params, x, y = _setup()
  adv = jax.jit(lambda p, x, y, k: attacks.pgd(NET, p, x, y, k, eps=0.03, step_size=0.01,
                                               num_steps=3))(params, x, y, jax.random.key(2))
  linf, _ = attacks.perturbation_norms(x, adv)
  assert float(linf.max()) <= 0.03 + 1e-6 and float(adv.min()) >= 0 and float(adv.max()) <= 1
  gradient = jax.jit(lambda p, x, y: saliency.gradient(NET, p, x, y))
  grads = gradient(params, x, y)
  assert grads.shape == x.shape and float(jnp.abs(grads).max()) > 0
  # Completeness is tested on smaller nets: 13 random ReLU layers put so many kinks on the
  # path that 64 and 256 steps left 6-7 % here and 1024 steps 0.6 % (7 minutes). Here, the
  # quadrature: the attributions are the 8-node Gauss-Legendre integral of `gradient`, summed
  # by hand (`gradient` is checked against Captum's Saliency in test_saliency.py).
  attributions, _ = jax.jit(lambda p, x, y: saliency.integrated_gradients(
      NET, p, x, y, num_steps=8))(params, x, y)
  nodes, weights = np.polynomial.legendre.leggauss(8)           # on [-1, 1]
  expected = sum(w / 2 * gradient(params, (t + 1) / 2 * x, y) for t, w in zip(nodes, weights))
  expected = x * expected                                        # baseline 0
  scale = float(jnp.abs(expected).max())
  np.testing.assert_allclose(attributions, expected, rtol=1e-3, atol=1e-4 * scale)
