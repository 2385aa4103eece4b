"""Labelled image tables: every panel, title and the figure's title inside the figure, none
over another (image_table places them itself, without a layout pass)."""
import itertools

import numpy as np
import pytest
from PIL import Image

from common import images


LONG = 'fgsm, eps 0.1: original | change | adversarial'  # attack_run's, in 3 columns


@pytest.mark.parametrize('nrows, ncols, cell, title', [
    (8, 3, 1.6, LONG), (8, 5, 1.6, LONG), (6, 6, 1.4, LONG), (1, 10, 1.6, LONG),
    (2, 3, 1.0, 'small cells')])
def test_image_table_panels_and_titles_stay_apart_and_inside(tmp_path, monkeypatch, nrows,
                                                             ncols, cell, title):
  drawn = []
  save = images.save_figure
  monkeypatch.setattr(images, 'save_figure', lambda fig, *a, **k: (drawn.append(fig),
                                                                    save(fig, *a, **k)))
  rng = np.random.default_rng(0)
  rows = [[{'image': rng.random((28, 28)), 'title': 'Ankle boot 1.00\n(true Ankle boot)',
            'overlay': rng.random((28, 28)) if j == 1 else None} for j in range(ncols)]
          for _ in range(nrows)]
  path = tmp_path / 'table.png'
  images.image_table(rows, str(path), title, cell)
  fig, = drawn
  renderer = fig.canvas.get_renderer()
  page = fig.bbox
  boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]  # each panel with its title
  assert len(boxes) == nrows * ncols
  title = fig._suptitle.get_window_extent(renderer)  # pylint: disable=protected-access
  for box in boxes + [title]:
    assert (page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and
            box.y1 <= page.y1), (box, page)
  for a, b in itertools.combinations(boxes + [title], 2):
    assert not a.overlaps(b), (a, b)
  with Image.open(path) as png:
    assert png.size == (round(page.width), round(page.height))
