"""A classifier run's pictures: learning curves, confusion matrix, labelled test images."""
import os

import numpy as np

from common import images, writers
from classifiers import losses

CURVES = [('train_loss', 'test_loss'), ('train_accuracy', 'test_accuracy'), 'test_rmse']


def write_run_figures(workdir: str, ds, predicted, title: str = '') -> None:
  images.plot_metrics(writers.read_metrics(workdir), CURVES,
                      os.path.join(workdir, 'plots', 'curves.png'), title=title, x='epoch')
  matrix = np.asarray(losses.confusion_matrix(ds.test_labels, predicted, ds.num_classes))
  plot_confusion(matrix, ds.class_names, os.path.join(workdir, 'plots', 'confusion_matrix.png'),
                 title=title)
  plot_predictions(ds.test_images[:36], ds.test_labels[:36], predicted[:36], ds.class_names,
                   os.path.join(workdir, 'figures', 'test_predictions.png'))


def plot_confusion(matrix, class_names, path: str, title: str = '') -> None:
  """Heat map of [true, predicted] counts, each cell labelled."""
  n = len(class_names)
  fig = images.new_figure((1.6 + 0.6 * n, 1.2 + 0.55 * n))
  ax = fig.add_subplot(1, 1, 1)
  ax.imshow(matrix, cmap='Blues')
  for (i, j), count in np.ndenumerate(matrix):
    ax.text(j, i, str(count), ha='center', va='center', fontsize=7,
            color='white' if count > matrix.max() / 2 else 'black')
  ax.set_xticks(range(n), class_names, rotation=45, ha='right', fontsize=8)
  ax.set_yticks(range(n), class_names, fontsize=8)
  ax.set_xlabel('predicted')
  ax.set_ylabel('true')
  accuracy = np.trace(matrix) / max(matrix.sum(), 1)
  images.save_figure(fig, path, f'{title} (accuracy {accuracy:.4f})'.strip())


def plot_predictions(test_images, labels, predicted, class_names, path: str) -> None:
  """uint8 test images titled 'predicted (true)'; errors in red."""
  shown = np.asarray(test_images, np.float32) / 255.0
  panels = [{'image': image[..., 0] if image.shape[-1] == 1 else image,
             'title': f'{class_names[p]}\n({class_names[y]})',
             'color': 'black' if p == y else 'red'}
            for image, y, p in zip(shown, labels, predicted)]
  cols = int(np.ceil(np.sqrt(len(panels))))
  images.image_table([panels[i:i + cols] for i in range(0, len(panels), cols)], path,
                     'predicted (true); errors in red', cell=1.4)
