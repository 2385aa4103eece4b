"""InceptionV3 as the standard FID sees it: 2048 pool3 features of the 2015 TensorFlow graph.

The network and its input pipeline follow torch-fidelity's FeatureExtractorInceptionV3 (the
pytorch-fid network with the TensorFlow patches: average pools that ignore padding, a max
pool in the last block, TF1's bilinear resize to 299x299, (x - 128) / 128 on 0-255 pixels),
so FIDs on these features are comparable with published ones. The weights are those two
libraries' file `pt_inception-2015-12-05-6726825d.pth` (a converted TF checkpoint), which
cannot be downloaded here; on a machine with internet:

  wget https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
  python -m gans.inception --input=pt_inception-2015-12-05-6726825d.pth --output=weights/fid_inception

and point a GAN config at it with `--config.eval.inception_dir=weights/fid_inception`.
tests/gans/test_inception.py checks this port against torch-fidelity's network on random
weights. On a CPU it is slow (about 6 GFLOPs an image); it is meant for accelerators.
"""
import os

from absl import app, flags
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from common import weights

SIZE = 299
FEATURES = 2048
NAME = 'inception_v3_pool3'  # what summary.json says its FIDs were computed on


def tf1_resize_matrix(in_size: int, out_size: int) -> np.ndarray:
  """[out, in] weights of TF1's bilinear resize (align_corners=False, no half-pixel shift):
  output i samples the input at i * in / out."""
  src = np.arange(out_size, dtype=np.float64) * (in_size / out_size)
  lo = np.floor(src).astype(int)
  hi = np.minimum(lo + 1, in_size - 1)
  frac = (src - lo).astype(np.float32)
  m = np.zeros((out_size, in_size), np.float32)
  np.add.at(m, (np.arange(out_size), lo), 1 - frac)
  np.add.at(m, (np.arange(out_size), hi), frac)
  return m


def resize_tf1(images, size: int = SIZE):
  """[N, H, W, C] -> [N, size, size, C], as two matrix products (rows, then columns)."""
  rows = jnp.asarray(tf1_resize_matrix(images.shape[1], size))
  cols = jnp.asarray(tf1_resize_matrix(images.shape[2], size))
  return jnp.einsum('yh,nhwc,xw->nyxc', rows, images, cols,
                    precision=jax.lax.Precision.HIGHEST)


class BasicConv(nn.Module):
  features: int
  kernel: tuple = (1, 1)
  stride: int = 1
  padding: tuple = (0, 0)

  @nn.compact
  def __call__(self, x):
    (ph, pw) = self.padding
    x = nn.Conv(self.features, self.kernel, self.stride, padding=((ph, ph), (pw, pw)),
                use_bias=False, name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name='bn')(x)
    return nn.relu(x)


def _avg_pool(x):  # TensorFlow's: the padded zeros do not count
  return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x, stride=2, pad=0):
  return nn.max_pool(x, (3, 3), (stride, stride), padding=((pad, pad), (pad, pad)))


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name='branch5x5_2')(
        BasicConv(48, name='branch5x5_1')(x))
    b3 = BasicConv(64, name='branch3x3dbl_1')(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
    pool = BasicConv(self.pool_features, name='branch_pool')(_avg_pool(x))
    return jnp.concatenate([BasicConv(64, name='branch1x1')(x), b5, b3, pool], -1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(384, (3, 3), stride=2, name='branch3x3')(x)
    d = BasicConv(64, name='branch3x3dbl_1')(x)
    d = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(d)
    d = BasicConv(96, (3, 3), stride=2, name='branch3x3dbl_3')(d)
    return jnp.concatenate([b3, d, _max_pool(x)], -1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c = self.channels_7x7
    row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
    b7 = BasicConv(c, name='branch7x7_1')(x)
    b7 = BasicConv(c, **row, name='branch7x7_2')(b7)
    b7 = BasicConv(192, **col, name='branch7x7_3')(b7)
    d = BasicConv(c, name='branch7x7dbl_1')(x)
    for i, (width, shape) in enumerate(((c, col), (c, row), (c, col), (192, row)), 2):
      d = BasicConv(width, **shape, name=f'branch7x7dbl_{i}')(d)
    pool = BasicConv(192, name='branch_pool')(_avg_pool(x))
    return jnp.concatenate([BasicConv(192, name='branch1x1')(x), b7, d, pool], -1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(192, name='branch3x3_1')(x)
    b3 = BasicConv(320, (3, 3), stride=2, name='branch3x3_2')(b3)
    b7 = BasicConv(192, name='branch7x7x3_1')(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = BasicConv(192, (3, 3), stride=2, name='branch7x7x3_4')(b7)
    return jnp.concatenate([b3, b7, _max_pool(x)], -1)


class InceptionE(nn.Module):
  max_pool: bool  # the graph's last block pools by max (a quirk the FID weights rely on)

  @nn.compact
  def __call__(self, x):
    def split(y, prefix):  # a 1x3 and a 3x1 conv side by side
      return [BasicConv(384, (1, 3), padding=(0, 1), name=f'{prefix}a')(y),
              BasicConv(384, (3, 1), padding=(1, 0), name=f'{prefix}b')(y)]
    b3 = split(BasicConv(384, name='branch3x3_1')(x), 'branch3x3_2')
    d = BasicConv(448, name='branch3x3dbl_1')(x)
    d = split(BasicConv(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(d),
              'branch3x3dbl_3')
    pooled = _max_pool(x, stride=1, pad=1) if self.max_pool else _avg_pool(x)
    pool = BasicConv(192, name='branch_pool')(pooled)
    return jnp.concatenate([BasicConv(320, name='branch1x1')(x), *b3, *d, pool], -1)


class InceptionV3FID(nn.Module):
  """Images [N, H, W, 3] with pixel values in [0, 255] -> pool3 features [N, 2048]."""

  @nn.compact
  def __call__(self, images):
    x = (resize_tf1(images.astype(jnp.float32)) - 128.0) / 128.0
    x = BasicConv(32, (3, 3), stride=2, name='Conv2d_1a_3x3')(x)
    x = BasicConv(32, (3, 3), name='Conv2d_2a_3x3')(x)
    x = _max_pool(BasicConv(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x))
    x = BasicConv(80, name='Conv2d_3b_1x1')(x)
    x = _max_pool(BasicConv(192, (3, 3), name='Conv2d_4a_3x3')(x))
    for name, pool_features in (('Mixed_5b', 32), ('Mixed_5c', 64), ('Mixed_5d', 64)):
      x = InceptionA(pool_features, name=name)(x)
    x = InceptionB(name='Mixed_6a')(x)
    for name, c in (('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160), ('Mixed_6e', 192)):
      x = InceptionC(c, name=name)(x)
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE(max_pool=False, name='Mixed_7b')(x)
    x = InceptionE(max_pool=True, name='Mixed_7c')(x)
    return jnp.mean(x, axis=(1, 2))


def variables_shapes():
  return jax.eval_shape(InceptionV3FID().init, jax.random.key(0),
                        jnp.zeros((1, 75, 75, 3), jnp.float32))


_TORCH_TO_FLAX = {('conv', 'weight'): ('params', 'kernel'), ('bn', 'weight'): ('params', 'scale'),
                  ('bn', 'bias'): ('params', 'bias'),
                  ('bn', 'running_mean'): ('batch_stats', 'mean'),
                  ('bn', 'running_var'): ('batch_stats', 'var')}


def from_torch_state_dict(state_dict: dict, path: str = 'state_dict') -> dict:
  """Flax variables from the FID Inception state_dict (pytorch-fid / torch-fidelity keys,
  e.g. `Mixed_5b.branch1x1.conv.weight`); the 1008-way `fc` layer is not needed for pool3."""
  expected = flax.traverse_util.flatten_dict(flax.core.unfreeze(variables_shapes()))
  flat = {}
  for key, value in state_dict.items():
    *module, layer, leaf = key.split('.')
    if module == [] and layer == 'fc' or leaf == 'num_batches_tracked':
      continue
    if (layer, leaf) not in _TORCH_TO_FLAX:
      raise weights.ConversionError(f'{path}: unexpected key {key!r}; expected the FID InceptionV3 '
                            'keys of pytorch-fid / torch-fidelity (e.g. Mixed_5b.branch1x1.conv.weight).')
    collection, name = _TORCH_TO_FLAX[(layer, leaf)]
    array = np.asarray(value, np.float32)
    if name == 'kernel':
      array = array.transpose(2, 3, 1, 0)  # OIHW -> HWIO
    flat[(collection, *module, layer, name)] = array
  missing = sorted('.'.join(k) for k in set(expected) - set(flat))
  if missing:
    raise weights.ConversionError(f'{path}: missing {len(missing)} arrays of the FID InceptionV3, '
                          f'e.g. {missing[:3]}.')
  for key, shape in expected.items():
    if flat[key].shape != shape.shape:
      raise weights.ConversionError(f'{path}: {".".join(key)} has shape {flat[key].shape}; the FID '
                            f'InceptionV3 needs {shape.shape}.')
  return flax.traverse_util.unflatten_dict({k: flat[k] for k in expected})


def save(variables, output_dir: str, source: str) -> None:
  weights.save(variables, output_dir, {'network': NAME, 'source': os.path.basename(source)})


def load(weights_dir: str):
  variables, _ = weights.load(
      weights_dir, 'convert the FID Inception weights first with `python -m gans.inception '
      f'--input=pt_inception-2015-12-05-6726825d.pth --output={weights_dir}` (the file comes '
      "from pytorch-fid's releases; see gans/inception.py).")
  return variables


class FeatureNetwork:
  """`features(unit_images)`: pool3 features of images in [0, 1] (grayscale is repeated to
  three channels, as torch-fidelity does), in batches, on device."""
  name = NAME

  def __init__(self, variables, batch_size: int = 100):
    self.variables, self.batch_size = variables, batch_size
    self._apply = jax.jit(lambda v, x: InceptionV3FID().apply(v, x))

  def features(self, unit_images):
    x = jnp.asarray(unit_images)
    if x.shape[-1] == 1:
      x = jnp.repeat(x, 3, axis=-1)
    x = jnp.round(x * 255.0)  # the 8-bit pixels these networks are fed
    return jnp.concatenate([self._apply(self.variables, x[i:i + self.batch_size])
                            for i in range(0, x.shape[0], self.batch_size)])


def main(argv):
  del argv
  source, output = flags.FLAGS.input, flags.FLAGS.output
  variables = from_torch_state_dict(weights.read_torch_file(source), source)
  save(variables, output, source)
  print(f'Wrote {os.path.join(output, weights.PARAMS)}.')


if __name__ == '__main__':
  flags.DEFINE_string('input', None, 'pt_inception-2015-12-05-6726825d.pth')
  flags.DEFINE_string('output', None, 'Folder for params.msgpack and meta.json.')
  flags.mark_flags_as_required(['input', 'output'])
  app.run(main)
