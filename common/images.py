"""Image grids as PNG and metric curves as plots (matplotlib without pyplot's global state)."""
import math
import os

import numpy as np
from PIL import Image


def grid(images, ncols: int | None = None, pad: int = 2) -> np.ndarray:
  """[N, H, W, C] floats in [0, 1] -> one uint8 [H', W', C'] image (C' = 3 or 1->L)."""
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  ncols = ncols or math.ceil(math.sqrt(n))
  nrows = math.ceil(n / ncols)
  out = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), np.float32)
  for i, img in enumerate(images):
    r, q = divmod(i, ncols)
    out[pad + r * (h + pad):pad + r * (h + pad) + h,
        pad + q * (w + pad):pad + q * (w + pad) + w] = img
  out = np.round(np.clip(out, 0.0, 1.0) * 255).astype(np.uint8)
  return out


def save_png(path: str, image_uint8: np.ndarray, scale: int = 1) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  img = image_uint8[..., 0] if image_uint8.shape[-1] == 1 else image_uint8
  pil = Image.fromarray(img)
  if scale > 1:
    pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
  pil.save(path)


def plot_metrics(rows: list[dict], keys: list, path: str, title: str = '',
                 x: str = 'step') -> None:
  """One panel per metric against `x`; a tuple of metrics shares a panel (train and test
  accuracy); metrics absent from the rows are skipped."""
  panels = [tuple(k for k in ((p,) if isinstance(p, str) else p) if any(k in r for r in rows))
            for p in keys]
  panels = [p for p in panels if p]
  if not panels:
    return
  fig = new_figure((4 * len(panels), 3.2))
  for i, panel in enumerate(panels):
    ax = fig.add_subplot(1, len(panels), i + 1)
    for key in panel:
      pts = [(r[x], r[key]) for r in rows if key in r and x in r]
      ax.plot([p[0] for p in pts], [p[1] for p in pts], label=key)
    ax.set_title(' / '.join(panel))
    ax.set_xlabel(x)
    if len(panel) > 1:
      ax.legend()
    ax.grid(alpha=0.3)
  save_figure(fig, path, title)


def new_figure(figsize):
  """A matplotlib figure outside pyplot (no global state, no display needed)."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  fig = Figure(figsize=figsize)
  FigureCanvasAgg(fig)
  return fig


def save_figure(fig, path: str, title: str = '', dpi: int = 100) -> None:
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path, dpi=dpi)
