"""VGG16's architecture: parameter counts, output shapes, named outputs, dtype."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from transfer import vgg16


def _count(tree):
  return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


def test_parameter_counts_with_and_without_top():
  assert _count(vgg16.param_shapes(include_top=True)) == 138_357_544
  assert _count(vgg16.param_shapes(include_top=False)) == 14_714_688
  shapes = vgg16.param_shapes(include_top=True)
  assert shapes['fc1']['kernel'].shape == (25088, 4096)
  assert shapes['block1_conv1']['kernel'].shape == (3, 3, 3, 64)
  assert len(vgg16.CONV_LAYERS) == 13


def test_base_output_is_7x7x512_for_224_inputs_and_the_top_gives_1000_classes():
  model = vgg16.VGG16()
  params = vgg16.param_shapes()
  out = jax.eval_shape(lambda p, x: model.apply({'params': p}, x,
                                                ('pool5', 'fc1', 'logits', 'predictions')),
                       params, jax.ShapeDtypeStruct((2, 224, 224, 3), jnp.float32))
  assert out['pool5'].shape == (2, 7, 7, 512)
  assert out['fc1'].shape == (2, 4096)
  assert out['logits'].shape == out['predictions'].shape == (2, 1000)


@pytest.fixture(scope='module')
def small():
  """A random VGG16 base on 32x32 inputs (pool5 is 1x1): cheap to run."""
  params = vgg16.init_params(jax.random.key(0), include_top=False, image_size=32)
  x = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3), minval=-1, maxval=1)
  return params, x


def test_named_outputs_aliases_and_early_stop(small):
  params, x = small
  model = vgg16.VGG16(include_top=False)
  out = model.apply({'params': params}, x, ('relu2', 'block3_conv3', 'relu7', 'pool5'))
  chex.assert_shape(out['relu2'], (2, 32, 32, 64))
  chex.assert_shape(out['relu7'], (2, 8, 8, 256))
  chex.assert_shape(out['pool5'], (2, 1, 1, 512))
  np.testing.assert_array_equal(out['relu7'], out['block3_conv3'])   # the 7th ReLU
  assert float(out['relu2'].min()) >= 0
  # stopping early computes the same values, and needs only the layers up to there
  early = model.apply({'params': {k: params[k] for k in ('block1_conv1', 'block1_conv2')}},
                      x, ('relu2',))
  np.testing.assert_allclose(early['relu2'], out['relu2'], rtol=1e-6)


def test_bad_output_names_say_what_is_accepted(small):
  params, x = small
  with pytest.raises(ValueError, match="no output 'relu99'.*block1_conv1"):
    vgg16.VGG16(include_top=False).apply({'params': params}, x, ('relu99',))
  with pytest.raises(ValueError, match="no output 'fc1' without its top"):
    vgg16.VGG16(include_top=False).apply({'params': params}, x, ('fc1',))
  with pytest.raises(ValueError, match='7x7 pool5'):
    vgg16.VGG16().init(jax.random.key(0), x, ('logits',))


def test_bfloat16_computation_keeps_float32_params(small):
  params, x = small
  out = vgg16.VGG16(include_top=False, dtype=jnp.bfloat16).apply({'params': params}, x,
                                                                  ('pool5',))['pool5']
  ref = vgg16.VGG16(include_top=False).apply({'params': params}, x, ('pool5',))['pool5']
  assert out.dtype == jnp.bfloat16
  np.testing.assert_allclose(out.astype(jnp.float32), ref, rtol=0.1,
                             atol=0.05 * float(jnp.abs(ref).max()))


def test_preprocessing_modes():
  rgb = np.array([[[[255.0, 0.0, 127.5]]]])
  np.testing.assert_allclose(vgg16.preprocess(rgb, 'caffe')[0, 0, 0],
                             [127.5 - 103.939, 0 - 116.779, 255 - 123.68], rtol=1e-6)
  np.testing.assert_allclose(vgg16.preprocess(rgb, 'torch')[0, 0, 0],
                             [(1 - 0.485) / 0.229, -0.456 / 0.224, (0.5 - 0.406) / 0.225],
                             rtol=1e-6)
  gray = vgg16.preprocess(np.full((1, 2, 2, 1), 10.0), 'torch')
  chex.assert_shape(gray, (1, 2, 2, 3))
  with pytest.raises(ValueError, match="'tf'.*caffe, torch"):
    vgg16.preprocess(rgb, 'tf')
