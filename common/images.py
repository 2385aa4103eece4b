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


def plot_metrics(rows: list[dict], keys: list[str], path: str, title: str = '') -> None:
  """One panel per metric against `step`; metrics absent from the rows are skipped."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  keys = [k for k in keys if any(k in r for r in rows)]
  if not keys:
    return
  fig = Figure(figsize=(4 * len(keys), 3.2))
  FigureCanvasAgg(fig)
  for i, key in enumerate(keys):
    ax = fig.add_subplot(1, len(keys), i + 1)
    pts = [(r['step'], r[key]) for r in rows if key in r]
    ax.plot([p[0] for p in pts], [p[1] for p in pts])
    ax.set_title(key)
    ax.set_xlabel('step')
    ax.grid(alpha=0.3)
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path, dpi=100)
