import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gans import layers, models


def _conv_transpose_reference(x, kernel, bias):
  """ConvTranspose2d(k=4, s=2, p=1) by its definition: y[2i - 1 + a] += x[i] * w[a]."""
  b, h, w, _ = x.shape
  out = np.zeros((b, 2 * h + 2, 2 * w + 2, kernel.shape[-1]))
  for i in range(h):
    for j in range(w):
      for a in range(4):
        for c in range(4):
          out[:, 2 * i + a, 2 * j + c] += x[:, i, j] @ kernel[a, c]
  return out[:, 1:-1, 1:-1] + bias


def test_conv_transpose_4x4_matches_its_definition():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
  module = layers.ConvTranspose4x4(4)
  params = module.init(jax.random.key(0), x)
  params = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
  y = module.apply(params, x)
  chex.assert_shape(y, (2, 10, 12, 4))
  p = params['params']
  np.testing.assert_allclose(y, _conv_transpose_reference(x, np.asarray(p['kernel']),
                                                          np.asarray(p['bias'])),
                             atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize('k, pad', [(4, 1), (5, 2)])
def test_conv_transpose_gradients_match_xla_autodiff(k, pad):
  # The hand-written VJPs against XLA's autodiff of the same op as a dilated convolution
  # (PyTorch's ConvTranspose2d(k, 2, pad) with the output_padding that makes it 2H x 2W).
  rng = np.random.default_rng(1)
  x = jnp.asarray(rng.normal(size=(2, 4, 5, 3)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(k, k, 3, 6)), jnp.float32)
  lo, hi = k - 1 - pad, k - 1 - pad + (k % 2)
  reference = lambda x, kernel: jax.lax.conv_general_dilated(
      x, jnp.flip(kernel, (0, 1)), (1, 1), ((lo, hi), (lo, hi)), lhs_dilation=(2, 2),
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  op = (layers.conv_transpose4x4_stride2 if k == 4
        else lambda x, kernel: layers.conv_transpose_stride2_padded(x, kernel, pad))
  dy = jnp.asarray(rng.normal(size=(2, 8, 10, 6)), jnp.float32)
  def forward_and_vjp(f):   # under jit (op by op, every op would compile on its own)
    @jax.jit
    def run(x, kernel, dy):
      y, vjp = jax.vjp(f, x, kernel)
      return y, vjp(dy)
    return run
  y, grads = forward_and_vjp(op)(x, kernel, dy)
  want, want_grads = forward_and_vjp(reference)(x, kernel, dy)
  np.testing.assert_allclose(y, want, atol=1e-4, rtol=1e-5)
  chex.assert_trees_all_close(grads, want_grads, atol=1e-4, rtol=1e-5)


def test_strided_conv_and_its_second_derivative_match_xla():
  rng = np.random.default_rng(2)
  x = jnp.asarray(rng.normal(size=(3, 6, 8, 2)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(4, 4, 2, 5)), jnp.float32)
  reference = lambda x, k: jax.lax.conv_general_dilated(
      x, k, (2, 2), ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  y = jax.jit(layers.conv4x4_stride2)(x, kernel)
  chex.assert_shape(y, (3, 3, 4, 5))
  chex.assert_trees_all_close(y, jax.jit(reference)(x, kernel), atol=1e-4, rtol=1e-5)
  # What the gradient penalty needs: d/dk of a function of d/dx.
  penalty = lambda f: lambda k: jnp.sum(jax.grad(lambda x: jnp.sum(jnp.tanh(f(x, k))))(x) ** 2)
  chex.assert_trees_all_close(jax.jit(jax.grad(penalty(layers.conv4x4_stride2)))(kernel),
                              jax.jit(jax.grad(penalty(reference)))(kernel), atol=1e-3,
                              rtol=1e-4)


@pytest.mark.parametrize('shape,ups', [((28, 28, 1), 2), ((32, 32, 3), 3)])
def test_generator_and_critic_shapes(shape, ups):
  assert models.num_upsamples(shape[0]) == ups
  g, d = models.Generator(shape, width=8), models.Critic(width=8)
  z = jnp.zeros((5, 16))
  g_params = jax.jit(g.init)(jax.random.key(0), z)
  fake = jax.jit(g.apply)(g_params, z)
  chex.assert_shape(fake, (5, *shape))
  assert float(jnp.max(jnp.abs(fake))) <= 1.0
  d_params = jax.jit(d.init)(jax.random.key(1), fake)
  chex.assert_shape(jax.jit(d.apply)(d_params, fake), (5,))


def test_critic_has_no_batch_statistics():
  d = models.Critic(width=8)
  variables = jax.eval_shape(d.init, jax.random.key(0), jnp.zeros((2, 28, 28, 1)))
  assert set(variables) == {'params'}


@pytest.mark.parametrize('k', [3, 4, 5])
def test_same_padded_stride2_conv_matches_flax(k):
  # 'SAME' pads k - 2 zeros, the odd one after, as Keras' Conv2D(strides=2, padding='same')
  rng = np.random.default_rng(3)
  x = jnp.asarray(rng.normal(size=(2, 8, 6, 3)), jnp.float32)
  module = layers.ConvStride2(4, kernel_size=k)
  params = jax.jit(module.init)(jax.random.key(0), x)
  reference = jax.jit(lambda p, x: jax.lax.conv_general_dilated(
      x, p['params']['kernel'], (2, 2), 'SAME',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC')) + p['params']['bias'])
  chex.assert_trees_all_close(jax.jit(module.apply)(params, x), reference(params, x),
                              atol=1e-5)


@pytest.mark.parametrize('k,channels_out', [(7, 1), (3, 4), (4, 2)])
def test_conv_by_taps_and_its_gradients_match_xla(k, channels_out):
  rng = np.random.default_rng(4)
  x = jnp.asarray(rng.normal(size=(2, 9, 7, 5)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(k, k, 5, channels_out)), jnp.float32)
  reference = lambda x, kk: jax.lax.conv_general_dilated(
      x, kk, (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  chex.assert_trees_all_close(jax.jit(layers.conv_same_by_taps)(x, kernel),
                              jax.jit(reference)(x, kernel), atol=1e-4, rtol=1e-5)
  loss = lambda f: lambda x, kk: jnp.sum(jnp.sin(f(x, kk)))
  chex.assert_trees_all_close(
      jax.jit(jax.grad(loss(layers.conv_same_by_taps), (0, 1)))(x, kernel),
      jax.jit(jax.grad(loss(reference), (0, 1)))(x, kernel), atol=1e-3, rtol=1e-4)


def _count(module, *inputs):
  variables = jax.eval_shape(lambda: module.init(jax.random.key(0), *inputs))
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(variables['params']))


def test_report_000_dcgan_has_the_reports_parameter_counts():
  z, x = jnp.zeros((2, 100)), jnp.zeros((2, 28, 28, 1))
  g, d = models.KerasDCGANGenerator((28, 28, 1)), models.KerasDCGANDiscriminator()
  assert _count(g, z) == 1_164_289 and _count(d, x) == 40_705
  g_params = jax.jit(g.init)(jax.random.key(0), z)
  images = jax.jit(g.apply)(g_params, z)
  chex.assert_shape(images, (2, 28, 28, 1))
  assert 0 <= float(images.min()) and float(images.max()) <= 1  # sigmoid output
  chex.assert_shape(jax.eval_shape(lambda k: d.apply(d.init(k, x), x), jax.random.key(1)),
                    (2,))


def test_mlp_models_shapes_maxout_and_batchnorm():
  z, x = jnp.zeros((3, 128)), jnp.zeros((3, 28, 28, 1))
  g = models.MLPGenerator((28, 28, 1), (16, 32), 'relu', batchnorm=True)
  # under jit (op by op, every op would compile on its own)
  variables = jax.jit(g.init)(jax.random.key(0), z)
  assert set(variables) == {'params', 'batch_stats'}
  chex.assert_shape(jax.jit(g.apply)(variables, z), (3, 28, 28, 1))
  d = models.MLPDiscriminator((16, 8), dropout=0.5, maxout_pieces=5)
  params = jax.jit(d.init)(jax.random.key(1), x)['params']
  assert params['Dense_1']['kernel'].shape == (16, 8 * 5)  # 8 maxout units of 5 pieces
  out = jax.jit(lambda p, x, k: d.apply({'params': p}, x, train=True, rngs={'dropout': k}))(
      params, x + 1, jax.random.key(2))
  chex.assert_shape(out, (3,))

  def maxout_by_hand(params, x):   # maxout is the max over its pieces
    h = jax.nn.leaky_relu(x.reshape(3, -1) @ params['Dense_0']['kernel']
                          + params['Dense_0']['bias'], 0.2)
    pieces = (h @ params['Dense_1']['kernel'] + params['Dense_1']['bias']).reshape(3, 8, 5)
    return pieces.max(-1) @ params['Dense_2']['kernel'][:, 0] + params['Dense_2']['bias'][0]
  chex.assert_trees_all_close(jax.jit(lambda p, x: d.apply({'params': p}, x))(params, x),
                              jax.jit(maxout_by_hand)(params, x), atol=1e-5)


def test_gulrajani_networks_match_the_pytorch_port_layer_by_layer():
  """The same shapes and parameter counts as benchmarks/wgan_gp_reference.py's port, and the
  port's networks compute the same images and scores from the JAX networks' weights."""
  import torch  # pylint: disable=g-import-not-at-top
  from benchmarks import wgan_gp_reference  # pylint: disable=g-import-not-at-top
  width = 8
  g, d = models.GulrajaniGenerator((28, 28, 1), width), models.GulrajaniCritic(width)
  z = jax.random.normal(jax.random.key(3), (3, 128))
  x = jax.random.uniform(jax.random.key(0), (3, 28, 28, 1))
  g_vars, d_vars = jax.jit(g.init)(jax.random.key(1), z), jax.jit(d.init)(jax.random.key(2), x)
  assert jax.jit(g.apply)(g_vars, z).shape == (3, 28, 28, 1)
  t_gen, t_critic = wgan_gp_reference.networks(width)
  count = lambda tree: sum(p.size for p in jax.tree.leaves(tree))
  assert count(g_vars) == sum(p.numel() for p in t_gen.parameters())
  assert count(d_vars) == sum(p.numel() for p in t_critic.parameters())
  convs = [m for m in t_critic if isinstance(m, torch.nn.Conv2d)]
  with torch.no_grad():
    for i, conv in enumerate(convs):
      p = d_vars['params'][f'Conv5x5Stride2Pad2_{i}']
      conv.weight.copy_(torch.from_numpy(np.asarray(p['kernel']).transpose(3, 2, 0, 1).copy()))
      conv.bias.copy_(torch.from_numpy(np.asarray(p['bias'])))
    dense = d_vars['params']['Dense_0']  # flattened (h, w, c) here, (c, h, w) in torch
    kernel = np.asarray(dense['kernel']).reshape(4, 4, 4 * width).transpose(2, 0, 1).reshape(-1)
    t_critic[-1].weight.copy_(torch.from_numpy(kernel[None].copy()))
    t_critic[-1].bias.copy_(torch.from_numpy(np.asarray(dense['bias'])))
    expected = t_critic(torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy()))
  np.testing.assert_allclose(jax.jit(d.apply)(d_vars, x), expected.numpy()[:, 0], rtol=1e-4,
                             atol=1e-5)
  with torch.no_grad():
    dense = g_vars['params']['Dense_0']  # columns (h, w, c) here, (c, h, w) in torch
    order = np.arange(4 * 4 * 4 * width).reshape(4, 4, 4 * width).transpose(2, 0, 1).reshape(-1)
    t_gen.dense.weight.copy_(torch.from_numpy(np.asarray(dense['kernel'])[:, order].T.copy()))
    t_gen.dense.bias.copy_(torch.from_numpy(np.asarray(dense['bias'])[order]))
    for i, up in enumerate((t_gen.up1, t_gen.up2, t_gen.up3)):
      p = g_vars['params'][f'ConvTranspose5x5Stride2Pad2_{i}']
      up.weight.copy_(torch.from_numpy(np.asarray(p['kernel']).transpose(2, 3, 0, 1).copy()))
      up.bias.copy_(torch.from_numpy(np.asarray(p['bias'])))
    images = t_gen(torch.from_numpy(np.asarray(z))).numpy().transpose(0, 2, 3, 1)
  np.testing.assert_allclose(jax.jit(g.apply)(g_vars, z), images, rtol=1e-4, atol=1e-5)


def test_gulrajani_networks_start_from_gan_mnist_py_initialisation_on_both_sides():
  """tflib's initialisation, written out from gan_mnist.py's layers: each weight uniform on
  +-sqrt(3 * 4 / (fan_in + fan_out)) (convs: channels x 25, the low-resolution side / 4;
  linear layers: sqrt(3 * 2 / (in + out))), biases 0; in JAX and in the PyTorch port."""
  from benchmarks import wgan_gp_reference  # pylint: disable=g-import-not-at-top
  w = 32
  conv = lambda c_in, c_out: (3 * 4 / (c_in * 25 + c_out * 25 / 4)) ** 0.5
  up = lambda c_in, c_out: (3 * 4 / (c_in * 25 / 4 + c_out * 25)) ** 0.5
  dense = lambda n_in, n_out: (3 * 2 / (n_in + n_out)) ** 0.5
  limits = {'generator': [dense(128, 64 * w), up(4 * w, 2 * w), up(2 * w, w), up(w, 1)],
            'critic': [conv(1, w), conv(w, 2 * w), conv(2 * w, 4 * w), dense(64 * w, 1)]}
  layer_names = {
      'generator': ['Dense_0'] + [f'ConvTranspose5x5Stride2Pad2_{i}' for i in range(3)],
      'critic': [f'Conv5x5Stride2Pad2_{i}' for i in range(3)] + ['Dense_0']}
  g_vars = jax.jit(models.GulrajaniGenerator((28, 28, 1), w).init)(jax.random.key(1),
                                                                    jnp.zeros((1, 128)))
  d_vars = jax.jit(models.GulrajaniCritic(w).init)(jax.random.key(2), jnp.zeros((1, 28, 28, 1)))
  t_gen, t_critic = wgan_gp_reference.networks(w)
  for name, jax_vars, torch_net in (('generator', g_vars, t_gen), ('critic', d_vars, t_critic)):
    jax_layers = [jax_vars['params'][k] for k in layer_names[name]]
    torch_layers = [m for m in torch_net.modules() if hasattr(m, 'weight')]
    for limit, jax_layer, torch_layer in zip(limits[name], jax_layers, torch_layers,
                                             strict=True):
      for weights in (np.asarray(jax_layer['kernel']), torch_layer.weight.detach().numpy()):
        assert np.abs(weights).max() <= limit
        if weights.size >= 800:  # enough draws to pin the spread
          np.testing.assert_allclose(weights.std(), limit / 3**0.5, rtol=0.1)
      assert not np.any(np.asarray(jax_layer['bias'])) and not torch_layer.bias.detach().any()


@pytest.mark.parametrize('size', [28, 7])
def test_padded_stride2_conv_and_its_second_derivative_match_xla(size):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
  k = jax.random.normal(jax.random.key(1), (5, 5, 3, 4))
  xla = lambda x, k: jax.lax.conv_general_dilated(x, k, (2, 2), ((2, 2), (2, 2)),
                                                  dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  ours = lambda x, k: layers.conv_stride2_padded(x, k, 2)
  np.testing.assert_allclose(jax.jit(ours)(x, k), jax.jit(xla)(x, k), rtol=1e-4, atol=1e-4)
  penalty = lambda f: lambda k, x: jnp.sum(jax.grad(lambda x: jnp.sum(f(x, k) ** 2))(x) ** 2)
  gradients = lambda f: jax.jit(jax.grad(penalty(f), (0, 1)))(k, x)
  for a, b in zip(gradients(ours), gradients(xla)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-2)
