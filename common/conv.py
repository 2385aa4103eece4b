"""Stride-1 2-D convolutions whose gradients run at matmul speed on XLA:CPU.

XLA:CPU runs a stride-1 convolution's kernel gradient several times slower than its
forward pass, and every convolution 3-9x slower inside a rolled loop (jax#12868), so a
training epoch could not be one lax.scan (benchmarks/conv_layer.py, classifier_epoch.py).
Here, under differentiation, the convolution is made of matmuls, two ways:
- im2col ('patches'): the input's kh * kw shifted windows side by side along the channels
  (the patches, kept for the backward pass), one matmul with the kernel; the kernel gradient
  is the patches' transpose times the output gradient, the input gradient the output
  gradient times the kernel's transpose, summed back over the windows.
- Winograd's F(2x2, 3x3) ('winograd', 3x3 kernels): 2x2 output tiles from 4x4 input tiles
  in 16 products where the patches take 36, and tiles 4x the input's size where the patches
  are 9x; 16 matmuls forward and in each gradient, the tile transforms additions.
Everything is pads, slices, additions and dots, so the second derivative (the gradient
penalty) is again made of them, and loops run at the speed of their matmuls. Evaluated
without differentiation (inference), it is XLA's convolution, which is faster there. Off
CPU, XLA's convolution is used throughout (`implementation`, chosen by platform, kernel and
output size).

`Conv` has flax.linen.Conv's parameters (`kernel` (kh, kw, in, out), `bias`), initialisers
and auto-names (Conv_0, ...), so checkpoints and converted weights load unchanged.
"""
from collections.abc import Sequence
import contextlib
import functools

import jax
import jax.numpy as jnp
from flax import linen as nn

IMPLEMENTATIONS = ('auto', 'patches', 'winograd', 'xla')  # auto: `default_implementation`
_NHWC = ('NHWC', 'HWIO', 'NHWC')
_FORCED = []  # `forced`: what 'auto' means while tracing inside it


def _check(implementation: str) -> None:
  if implementation not in IMPLEMENTATIONS:
    raise ValueError(f'conv implementation {implementation!r}: expected one of '
                     f'{", ".join(IMPLEMENTATIONS)}.')


@contextlib.contextmanager
def forced(implementation: str):
  """Traces every 'auto' convolution inside with `implementation` (benchmarks compare);
  'winograd' where the kernel is 3x3, the patches elsewhere."""
  _check(implementation)
  _FORCED.append(implementation)
  try:
    yield
  finally:
    _FORCED.pop()


def pads(padding, kernel_shape) -> tuple[tuple[int, int], tuple[int, int]]:
  """'SAME' (TensorFlow's: the odd pixel after), 'VALID', an int, or ((lo, hi), (lo, hi))."""
  kh, kw = kernel_shape[:2]
  if padding == 'SAME':
    return tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in (kh, kw))
  if padding == 'VALID':
    return ((0, 0), (0, 0))
  if isinstance(padding, int):
    return ((padding, padding), (padding, padding))
  return tuple(tuple(int(p) for p in pair) for pair in padding)


def _xla(x, kernel, padding):
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=_NHWC)


def patches(x, kernel_shape, padding):
  """[n, ho, wo, kh * kw * in]: each output position's input window, taps in the kernel's
  (kh, kw, in) order, so that patches @ kernel.reshape(-1, out) is the convolution."""
  kh, kw = kernel_shape[:2]
  (top, bottom), (left, right) = padding
  xp = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
  ho, wo = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
  return jnp.concatenate([xp[:, a:a + ho, b:b + wo] for a in range(kh) for b in range(kw)],
                         axis=-1)


def _output_hw(x_shape, padding, kernel_shape):
  (top, bottom), (left, right) = padding
  return (x_shape[1] + top + bottom - kernel_shape[0] + 1,
          x_shape[2] + left + right - kernel_shape[1] + 1)


def _input_hw(output_shape, padding, kernel_shape):
  """The input's rows and columns that `_output_hw` maps to `output_shape`'s (a backward
  pass's output gradient)."""
  (top, bottom), (left, right) = padding
  return (output_shape[1] + kernel_shape[0] - 1 - top - bottom,
          output_shape[2] + kernel_shape[1] - 1 - left - right)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _patches(x, kernel, padding):
  return _xla(x, kernel, padding)


def _patches_fwd(x, kernel, padding):
  p = patches(x, kernel.shape, padding)
  return p @ kernel.reshape(-1, kernel.shape[-1]), (p, kernel)


def _patches_bwd(padding, residuals, dy):
  p, kernel = residuals
  cin, out = kernel.shape[2:]
  x_shape = (p.shape[0], *_input_hw(p.shape, padding, kernel.shape), cin)
  dk = p.reshape(-1, p.shape[-1]).T @ dy.reshape(-1, out)
  to_patches = jax.linear_transpose(functools.partial(patches, kernel_shape=kernel.shape,
                                                      padding=padding),
                                    jax.ShapeDtypeStruct(x_shape, p.dtype))
  dx, = to_patches(dy @ kernel.reshape(-1, out).T)   # each window's gradient summed back
  return dx, dk.reshape(kernel.shape)


_patches.defvjp(_patches_fwd, _patches_bwd)


# Winograd's F(2x2, 3x3) (Lavin & Gray, 2016): a 2x2 output tile from its 4x4 input tile d
# and the 3x3 kernel g is A^T [(G g G^T) * (B^T d B)] A, 16 products per input/output channel
# pair where the patches take 36, and the tiles hold 4x the input where the patches hold 9x.
# The 16 products of all tiles are 16 matmuls [tiles, in] @ [in, out]; the transforms are
# additions (and halvings, exact) of whole arrays, one array per tile entry.
_BT = ((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1))
_G = ((1, 0, 0), (.5, .5, .5), (.5, -.5, .5), (0, 0, 1))
_AT = ((1, 1, 1, 0), (0, 1, -1, -1))
# Where Winograd pays on CPU (a trainer's rolled loop, 2026-12-07): 1.3-1.9x the patches'
# speed at 32-64 input channels and outputs of 7x7 to 28x28, but 0.4-1x at 16 channels
# (report 000's CNN took 3.7 ms a step against 2.2) and 0.7-1x on 3x3 outputs, mostly
# padding tiles (docs/contributing.md; `python -m benchmarks.classifier_epoch --conv=patches`
# against the default).
WINOGRAD_MIN_IN = 32
WINOGRAD_MIN_OUT = 7


def _combine(parts, matrix):
  """[sum_j matrix[i][j] * parts[j] for each row i], zero terms skipped."""
  out = []
  for row in matrix:
    terms = [p if c == 1 else -p if c == -1 else p * c for c, p in zip(row, parts) if c]
    out.append(functools.reduce(jnp.add, terms))
  return out


def _transform(entry, matrix):
  """out[u][w] = sum_ij matrix[u][i] * matrix[w][j] * entry(i, j): matrix @ tile @ matrix^T
  for every tile at once, `entry(i, j)` being the tiles' entry (i, j) as one array."""
  n = len(matrix[0])
  by_column = [_combine([entry(i, j) for i in range(n)], matrix) for j in range(n)]
  return [_combine([by_column[j][u] for j in range(n)], matrix) for u in range(len(matrix))]


def _transposed(matrix):
  return tuple(zip(*matrix))


def _tiles(ho, wo):
  """Rows and columns of 2x2 output tiles covering an ho x wo output."""
  return -(-ho // 2), -(-wo // 2)


def _interleaved(grids, n, rows, columns):
  """grids[r][c]: [n, rows / 2, columns / 2, ch], the entries at (2t + r, 2s + c): as one
  [n, rows, columns, ch] array."""
  return jnp.stack([jnp.stack(row, 3) for row in grids], 2).reshape(n, rows, columns, -1)


def _is_3x3(kernel_shape) -> bool:
  return tuple(kernel_shape[:2]) == (3, 3)


def _winograd_fwd(x, kernel, padding):
  n, _, _, cin = x.shape
  ho, wo = _output_hw(x.shape, padding, kernel.shape)
  th, tw = _tiles(ho, wo)
  (top, _), (left, _) = padding
  # padded to 2 th + 2 rows (2 tw + 2 columns), split by row and column parity: tile (t, s)'s
  # entry (i, j) is the input at (2t + i, 2s + j), a contiguous slice of grid (i % 2, j % 2)
  xp = jnp.pad(x, ((0, 0), (top, 2 * th + 2 - x.shape[1] - top),
                   (left, 2 * tw + 2 - x.shape[2] - left), (0, 0)))
  xp = xp.reshape(n, th + 1, 2, tw + 1, 2, cin)
  entry = lambda i, j: xp[:, i // 2:i // 2 + th, i % 2, j // 2:j // 2 + tw, j % 2]
  v = jnp.stack([e for row in _transform(entry, _BT) for e in row]).reshape(16, -1, cin)
  u = jnp.stack([e for row in _transform(lambda a, b: kernel[a, b], _G) for e in row])
  m = jnp.einsum('tpi,tio->tpo', v, u).reshape(4, 4, n, th, tw, -1)
  y = _interleaved(_transform(lambda a, b: m[a, b], _AT), n, 2 * th, 2 * tw)
  return y[:, :ho, :wo], (v, u)


def _winograd_bwd(padding, residuals, dy):
  v, u = residuals
  n, ho, wo, _ = dy.shape
  th, tw = _tiles(ho, wo)
  cin = u.shape[1]
  (top, _), (left, _) = padding
  h, w = _input_hw(dy.shape, padding, (3, 3))
  dy = jnp.pad(dy, ((0, 0), (0, 2 * th - ho), (0, 2 * tw - wo), (0, 0)))
  dy = dy.reshape(n, th, 2, tw, 2, -1)
  dm = _transform(lambda r, c: dy[:, :, r, :, c], _transposed(_AT))
  dm = jnp.stack([e for row in dm for e in row]).reshape(16, n * th * tw, -1)
  du = jnp.einsum('tpi,tpo->tio', v, dm).reshape(4, 4, cin, -1)
  dkernel = jnp.stack([jnp.stack(row) for row in _transform(lambda a, b: du[a, b],
                                                             _transposed(_G))])
  dv = jnp.einsum('tpo,tio->tpi', dm, u).reshape(4, 4, n, th, tw, cin)
  dtile = _transform(lambda a, b: dv[a, b], _transposed(_BT))
  # each tile entry's gradient added back where it was read: grid (i % 2, j % 2), shifted by
  # (i // 2, j // 2); then the grids interleaved into the padded input's shape
  shifted = lambda i, j: jnp.pad(dtile[i][j], ((0, 0), (i // 2, 1 - i // 2),
                                               (j // 2, 1 - j // 2), (0, 0)))
  grids = [[functools.reduce(jnp.add, (shifted(i, j) for i in (r, r + 2) for j in (c, c + 2)))
            for c in range(2)] for r in range(2)]
  dx = _interleaved(grids, n, 2 * th + 2, 2 * tw + 2)
  return dx[:, top:top + h, left:left + w], dkernel


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _winograd(x, kernel, padding):
  return _xla(x, kernel, padding)


_winograd.defvjp(_winograd_fwd, _winograd_bwd)

_DIFFERENTIATED = {'patches': _patches, 'winograd': _winograd}   # XLA's when evaluated


def conv(x, kernel, padding='SAME', implementation: str = 'auto'):
  """lax.conv_general_dilated(x, kernel, stride 1, padding) for NHWC x and an HWIO kernel."""
  _check(implementation)
  padding = pads(padding, kernel.shape)
  if implementation == 'auto' and _FORCED:
    implementation = _FORCED[-1]
    if implementation == 'winograd' and not _is_3x3(kernel.shape):
      implementation = 'patches'
  if implementation == 'auto':
    implementation = default_implementation(kernel.shape,
                                            _output_hw(x.shape, padding, kernel.shape))
  if implementation == 'winograd' and not _is_3x3(kernel.shape):
    raise ValueError(f'conv implementation \'winograd\' is for 3x3 kernels; this kernel is '
                     f'{kernel.shape[0]}x{kernel.shape[1]} (use patches or xla).')
  if implementation == 'xla':
    return _xla(x, kernel, padding)
  return _DIFFERENTIATED[implementation](x, kernel, padding)


def default_implementation(kernel_shape, output_hw, backend: str | None = None) -> str:
  """On CPU Winograd's for 3x3 kernels (HWIO) of WINOGRAD_MIN_IN input channels or more and
  outputs (`output_hw`: rows, columns) of at least WINOGRAD_MIN_OUT each, the patches for
  the others; XLA's convolution on GPU and TPU."""
  if (backend or jax.default_backend()) != 'cpu':
    return 'xla'
  if (_is_3x3(kernel_shape) and kernel_shape[2] >= WINOGRAD_MIN_IN
      and min(output_hw) >= WINOGRAD_MIN_OUT):
    return 'winograd'
  return 'patches'


class Conv(nn.Module):
  """flax.linen.Conv at stride 1 (same parameters and defaults), differentiated by `conv`."""
  features: int
  kernel_size: Sequence[int]
  padding: object = 'SAME'
  use_bias: bool = True
  dtype: object = None
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init,
                        (*self.kernel_size, x.shape[-1], self.features))
    dtype = self.dtype or x.dtype
    y = conv(x.astype(dtype), kernel.astype(dtype), self.padding)
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,)).astype(dtype)
    return y
