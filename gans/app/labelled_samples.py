"""Samples of a saved GAN run with the class each one shows, checked by a classifier (the
images of the Sudoku and gallery of `python -m gans.app`).

A conditional generator is asked for the class; an unconditional one is drawn from until the
classifier names the class. A sample is *checked* when the classifier gives it the class with
confidence >= `threshold` (report 004 keeps only such samples: blurry digits make the puzzle
unreadable). Generator and classifier calls have at most BATCH rows (common/batching.py), and
every kind of request runs once when the sampler is made, so no later request compiles.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from common import batching
from gans import evaluation, figures, saved

BATCH = 100
MAX_DRAWS = 20  # batches drawn for the classes still missing; then the most likely samples


@dataclasses.dataclass(frozen=True)
class Sample:
  image: np.ndarray          # [H, W, C] in [0, 1]
  cls: int | None            # the class it stands for (asked, or named by the classifier)
  label: int | None          # the classifier's class; None without a classifier
  confidence: float | None   # the classifier's probability of `label`
  checked: bool              # label == cls with confidence >= threshold


class Sampler:

  def __init__(self, run: saved.SavedRun, classifier=None, threshold: float = 0.9):
    if not 0.0 <= threshold <= 1.0:
      raise ValueError(f'threshold = {threshold}: expected a probability in [0, 1].')
    self.run, self.classifier, self.threshold = run, classifier, threshold
    self.class_names = run.class_names
    self.conditional = bool(run.gan.num_classes)
    self._evaluator = evaluation.Evaluator(classifier, None) if classifier else None
    self.has_ema = bool(run.state.get('ema_params'))
    key = jax.random.key(0)  # every kind of request once: the programs compile here
    self.grid(key)
    self.interpolation(key)
    if self.can_draw_classes:
      self.of_classes(key, [0])

  @property
  def can_draw_classes(self) -> bool:
    return self.conditional or self._evaluator is not None

  def _generate(self, z, labels, ema: bool) -> np.ndarray:
    """Images for `z` (any number of rows), BATCH rows a call."""
    ema = ema and self.has_ema
    return batching.in_batches(lambda z, y: self.run.generate(z, y, ema=ema),
                               (np.asarray(z), np.asarray(labels, np.int32)), BATCH)

  def _probabilities(self, images: np.ndarray) -> np.ndarray | None:
    if self._evaluator is None:
      return None
    logits = lambda x: jax.nn.softmax(self._evaluator.features_and_logits(x)[1])
    return batching.in_batches(logits, (images,), BATCH)

  def _samples(self, images, classes, probs) -> list[Sample]:
    out = []
    for i, image in enumerate(images):
      cls = None if classes is None else int(classes[i])
      if probs is None:
        out.append(Sample(image, cls, None, None, False))
        continue
      label = int(probs[i].argmax())
      confidence = float(probs[i, label])
      out.append(Sample(image, cls if cls is not None else label, label, confidence,
                        (cls is None or label == cls) and confidence >= self.threshold))
    return out

  def generated(self, z, labels, ema: bool = False) -> list[Sample]:
    """The samples of these latents (and labels, for a conditional generator), classified."""
    images = self._generate(z, labels, ema)
    return self._samples(images, labels if self.conditional else None,
                         self._probabilities(images))

  def grid(self, key, ema: bool = False, columns: int = 10) -> list[Sample]:
    """BATCH fresh samples: for a conditional generator one row per class, `columns` wide."""
    z = self.run.gan.sample_latent(key, BATCH)
    if self.conditional:
      rows = min(self.run.gan.num_classes, BATCH // columns)
      labels = np.repeat(np.arange(rows, dtype=np.int32), columns)
      return self.generated(z[:rows * columns], labels, ema)
    return self.generated(z, np.zeros((BATCH,), np.int32), ema)

  def interpolation(self, key, ema: bool = False) -> list[Sample]:
    """Rows of figures.INTERPOLATION_STEPS samples along straight lines in latent space."""
    z, labels = figures.interpolation_inputs(self.run.gan, key)
    return self.generated(z, labels, ema)

  def surest(self, key, classes, draws: int = 3) -> list[Sample]:
    """Per class, among `draws` batches (asked for it, when conditional), the sample the
    classifier gives that class the highest probability; without a classifier, the first
    asked for."""
    classes = [int(c) for c in classes]
    if self._evaluator is None:
      return self.of_classes(key, classes)
    labels = np.resize(np.asarray(classes, np.int32), draws * BATCH)
    images = self._generate(self.run.gan.sample_latent(key, len(labels)), labels, False)
    probs = self._probabilities(images)
    picked = [int(np.argmax(np.where(labels == c, probs[:, c], -1.0) if self.conditional
                            else probs[:, c])) for c in classes]
    return self._samples(images[picked], classes, probs[picked])

  def of_classes(self, key, wanted, ema: bool = False) -> list[Sample]:
    """One sample per entry of `wanted` (class indices), checked where the classifier can:
    drawn until each is checked, at most MAX_DRAWS batches; then the most likely samples of
    the classes still missing, marked unchecked. Without a classifier an unconditional
    generator cannot be asked for a class: ValueError."""
    wanted = [int(c) for c in wanted]
    if not self.can_draw_classes:
      raise ValueError('an unconditional generator without a classifier cannot draw classes')
    found: dict[int, list[Sample]] = {c: [] for c in set(wanted)}
    best: dict[int, list[tuple[float, Sample]]] = {c: [] for c in found}
    need = {c: wanted.count(c) for c in found}
    for draw in range(MAX_DRAWS):
      missing = [c for c in found for _ in range(need[c] - len(found[c]))]
      if not missing:
        break
      key_z, key = jax.random.split(jax.random.fold_in(key, draw))
      z = self.run.gan.sample_latent(key_z, BATCH)
      labels = np.resize(np.asarray(missing, np.int32), BATCH)
      images = self._generate(z, labels, ema)
      probs = self._probabilities(images)
      if probs is None:  # conditional, unchecked: the samples asked for
        for s in self._samples(images[:len(missing)], labels[:len(missing)], None):
          found[s.cls].append(s)
        break
      for i, s in enumerate(self._samples(images, labels if self.conditional else None,
                                          probs)):
        if s.checked and s.cls in found and len(found[s.cls]) < need[s.cls]:
          found[s.cls].append(s)
        elif self.conditional:
          best[s.cls].append((probs[i, s.cls], s))
        else:
          for c in found:
            best[c].append((probs[i, c], dataclasses.replace(s, cls=c, checked=False)))
      for c in best:  # the candidates still in the running
        best[c] = sorted(best[c], key=lambda t: -t[0])[:need[c]]
    for c in found:
      found[c] += [s for _, s in best[c][:need[c] - len(found[c])]]
    return [found[c].pop(0) for c in wanted]
