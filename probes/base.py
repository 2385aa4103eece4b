"""What the probe runs share: the classifier they load, its test images and the panels of
their image tables."""
import numpy as np

from classifiers import build, saved
from common import checks, data


def validate(config) -> None:
  checks.require(isinstance(config.eval.classifier_dir, str) and config.eval.classifier_dir,
                 'eval.classifier_dir', config.eval.classifier_dir,
                 "'shipped' (the Fashion-MNIST network shipped with the code) or the workdir of a "
                 'trained classifier')
  checks.positive(config, 'eval.batch_size', integer=True)
  checks.non_negative(config, 'eval.num_images')


def load_classifier(config) -> saved.Classifier:
  try:
    return saved.load(config.eval.classifier_dir)
  except (FileNotFoundError, ValueError) as e:
    raise checks.ConfigError(f'config.eval.classifier_dir = {config.eval.classifier_dir!r}: '
                             f'{e}') from None


def test_images(clf: saved.Classifier, num_images: int = 0):
  """The classifier's own test split in its input space: (float images, int32 labels)."""
  ds = build.load_data(clf.config)
  n = num_images or len(ds.test_images)
  images = np.asarray(data.to_float(ds.test_images[:n], clf.pixel_range))
  return images, ds.test_labels[:n].astype(np.int32)


def display(images, pixel_range: str):
  """Model-space images -> [N, H, W] or [N, H, W, 3] in [0, 1] for imshow."""
  x = np.asarray(data.to_unit(images, pixel_range))
  return x[..., 0] if x.shape[-1] == 1 else x


def prediction_panels(clf, images, labels) -> list[dict]:
  """For `images.image_table`: each image titled 'predicted p (true label)', red when wrong."""
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
