"""What the probe runs share: the classifier they load, its test images, fixed-size batches
and labelled image tables."""
import jax
import numpy as np

from classifiers import pretrained, train
from common import data, images as images_lib
from common import validate as v


def validate(config) -> None:
  v.check(isinstance(config.eval.classifier_dir, str) and config.eval.classifier_dir,
          'eval.classifier_dir', config.eval.classifier_dir,
          "'shipped' (the Fashion-MNIST network shipped with the code) or the workdir of a "
          'trained classifier')
  v.positive(config, 'eval.batch_size', integer=True)
  v.non_negative(config, 'eval.num_images')


def load_classifier(config) -> pretrained.Classifier:
  try:
    return pretrained.load(config.eval.classifier_dir)
  except (FileNotFoundError, ValueError) as e:
    raise v.ConfigError(f'config.eval.classifier_dir = {config.eval.classifier_dir!r}: '
                        f'{e}') from None


def test_images(clf: pretrained.Classifier, num_images: int = 0):
  """The classifier's own test split in its input space: (float images, int32 labels)."""
  ds = train.load_data(clf.config)
  n = num_images or len(ds.test_images)
  images = np.asarray(data.to_float(ds.test_images[:n], clf.pixel_range))
  return images, ds.test_labels[:n].astype(np.int32)


def in_batches(fn, arrays, batch_size: int):
  """fn over fixed-size batches (the last one padded by repetition, so one compile), with
  the outputs' leading axes concatenated and cut back to the inputs' length."""
  n = len(arrays[0])
  batch_size = min(batch_size, n)
  outs = []
  for start in range(0, n, batch_size):
    idx = np.minimum(np.arange(start, start + batch_size), n - 1)
    outs.append(fn(*(a[idx] for a in arrays)))
  return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs])[:n], *outs)


def in_keyed_batches(fn, arrays, batch_size: int, key):
  """`in_batches` for fn(*batch, key): each batch gets its own key (its first example's of
  `key` split per example, so the keys do not depend on the batch size's padding)."""
  keys = np.asarray(jax.random.key_data(jax.random.split(key, len(arrays[0]))))
  return in_batches(lambda *batch: fn(*batch[:-1], jax.random.wrap_key_data(batch[-1][0])),
                    (*arrays, keys), batch_size)


def display(images, pixel_range: str):
  """Model-space images -> [N, H, W] or [N, H, W, 3] in [0, 1] for imshow."""
  x = np.asarray(data.to_unit(images, pixel_range))
  return x[..., 0] if x.shape[-1] == 1 else x


def image_table(rows, path: str, title: str = '', cell: float = 1.6) -> None:
  """A grid of labelled panels. rows: lists of dicts with `image` ([H, W] or [H, W, 3]) and
  optional `title`, `cmap`, `overlay` (a [H, W] map drawn over the image), `color`,
  `symmetric` (a diverging colour scale centred on 0)."""
  ncols = max(len(r) for r in rows)
  fig = images_lib.new_figure((cell * ncols, (cell + 0.25) * len(rows)))
  for i, row in enumerate(rows):
    for j, panel in enumerate(row):
      ax = fig.add_subplot(len(rows), ncols, i * ncols + j + 1)
      image = np.asarray(panel['image'])
      kwargs = {'cmap': panel.get('cmap', 'gray')}
      if panel.get('symmetric'):
        bound = max(float(np.abs(image).max()), 1e-12)
        kwargs.update(vmin=-bound, vmax=bound)
      elif image.ndim == 2 and panel.get('cmap', 'gray') == 'gray':
        kwargs.update(vmin=0.0, vmax=1.0)
      ax.imshow(image, **kwargs)
      if panel.get('overlay') is not None:
        ax.imshow(panel['overlay'], cmap='jet', alpha=0.45)
      ax.set_title(panel.get('title', ''), fontsize=7, color=panel.get('color', 'black'))
      ax.axis('off')
  images_lib.save_figure(fig, path, title)


def prediction_panels(clf, images, labels) -> list[dict]:
  """For `image_table`: each image titled 'predicted p (true label)', red when wrong."""
  shown = display(images, clf.pixel_range)
  scores = np.asarray(clf.logits(images))
  panels = []
  for image, s, y in zip(shown, scores, labels):
    text, color = label_text(clf.class_names, s, int(y))
    panels.append({'image': image, 'title': f'{text}\n(true {clf.class_names[y]})',
                   'color': color})
  return panels


def label_text(class_names, scores, label: int | None = None) -> tuple[str, str]:
  """'name p=0.93' for the predicted class of one score vector, and red when it is not
  `label`."""
  probs = np.exp(scores - scores.max())
  probs /= probs.sum()
  k = int(np.argmax(probs))
  color = 'black' if label is None or k == label else 'red'
  return f'{class_names[k]} {probs[k]:.2f}', color
