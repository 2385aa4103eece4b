"""What the page of `python -m gans.app` asks for, as JSON-ready dicts (`Site`), and the
Flask app that serves them with the page itself (page/)."""
import base64
import glob
import io
import os

import jax
import numpy as np
from PIL import Image

from gans import build, figures, saved
from gans.app import labelled_samples, sudoku

PAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'page')
NUMBER_CLASSES = {'mnist': tuple(range(1, 10)), 'fashion_mnist': (0, 1, 2, 3, 4, 5, 7, 8, 9)}
SCORES = ('fid', 'kid', 'class_accuracy', 'num_samples', 'step')  # of the run's end, shown
LEGEND_SEED = 7


def number_classes(dataset: str, num_classes: int) -> tuple[int, ...] | None:
  """The class standing for each of 1..9: the dataset's table, else its first nine."""
  if dataset in NUMBER_CLASSES:
    return NUMBER_CLASSES[dataset]
  return tuple(range(9)) if num_classes >= 9 else None


def source_of(run: saved.SavedRun) -> str:
  return 'the generator shipped with the code' if run.shipped else run.workdir


def png_data_url(image: np.ndarray) -> str:
  """[H, W, C] floats in [0, 1] as a PNG data URL."""
  pixels = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
  buf = io.BytesIO()
  Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buf, 'PNG')
  return 'data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode()


def load_classifier(config, classifier_dir: str, num_classes: int):
  """(classifier or None, why none): a named classifier that cannot load is the user's
  error; a missing default (no network ships for the dataset) only means unchecked images."""
  try:
    classifier = build.classifier_for(config, classifier_dir)
  except (OSError, ValueError) as e:
    if classifier_dir:
      raise ValueError(f'--classifier_dir={classifier_dir}: {e}') from e
    return None, (f'No classifier for {config.dataset.name}: {e} The images are not checked; '
                  f'pass --classifier_dir=A_CLASSIFIER_RUN to check them.')
  mismatch = build.classifier_mismatch(classifier, config.dataset.name, num_classes)
  if mismatch:
    raise ValueError(f'--classifier_dir={classifier_dir or config.eval.classifier_dir}: '
                     f'{mismatch}.')
  return classifier, ''


def _confidence(confidence: float, threshold: float, below: bool) -> str:
  """The confidence to two decimals, or to as many more as show it under the threshold when
  it fell short (0.9996 under a threshold of 1 reads 0.9996, not 1.00)."""
  digits = 2
  while below and digits < 6 and round(confidence, digits) >= threshold:
    digits += 1
  return f'{confidence:.{digits}f}'


class Site:
  """What the page asks for, as JSON-ready dicts (the Flask routes only forward)."""

  def __init__(self, sampler: labelled_samples.Sampler, note: str = ''):
    self.sampler, run = sampler, sampler.run
    self.numbers = number_classes(run.config.dataset.name, len(sampler.class_names))
    self.messages = [note] if note else []
    if self.numbers is None:
      self.messages.append(f'{run.config.dataset.name} has {len(sampler.class_names)} classes: '
                           'fewer than the nine a Sudoku needs; the Sudoku shows digits.')
    elif not sampler.can_draw_classes:
      self.messages.append('An unconditional generator without a classifier cannot draw a '
                           'given class: the Sudoku shows digits.')
    self.images_for_numbers = self.numbers is not None and sampler.can_draw_classes
    # one image per number, the same for every puzzle (a fresh sample each time could show
    # another class than the text beside it): the sample the classifier is surest of
    self.legend = ([self.tile(s) for s in sampler.surest(jax.random.key(LEGEND_SEED),
                                                         self.numbers)]
                   if self.images_for_numbers else [])

  def tile(self, s: labelled_samples.Sample) -> dict:
    names = self.sampler.class_names
    if s.label is None:
      title = ('not checked: no classifier' if s.cls is None else
               f'{names[s.cls]} (asked for; not checked: no classifier)')
    else:
      threshold = self.sampler.threshold
      short = not s.checked and s.label == s.cls
      title = f'classifier: {names[s.label]} {_confidence(s.confidence, threshold, short)}'
      if not s.checked:
        title += (f' (below the threshold {threshold:g})' if short else
                  f' (asked for {names[s.cls]})')
    return {'src': png_data_url(s.image), 'title': title, 'checked': s.checked,
            'cls': s.cls, 'label': s.label, 'confidence': s.confidence}

  def info(self) -> dict:
    run, sampler = self.sampler.run, self.sampler
    names = sampler.class_names
    return {
        'source': source_of(run), 'shipped': run.shipped,
        'dataset': run.config.dataset.name, 'arch': run.config.model.arch,
        'loss': run.gan.loss_description(), 'conditional': sampler.conditional, 'step': run.step,
        'has_ema': sampler.has_ema, 'threshold': sampler.threshold,
        'classifier': sampler.classifier.source if sampler.classifier else None,
        'class_names': list(names), 'messages': self.messages,
        'scores': {k: run.scores[k] for k in SCORES if k in run.scores},
        'legend': self.legend,
        'difficulties': list(sudoku.DIFFICULTIES),
        'latest_grid': os.path.basename(self.latest_grid() or '') or None,
        'numbers': ([{'number': n + 1, 'cls': c, 'name': names[c]}
                     for n, c in enumerate(self.numbers)] if self.numbers else None)}

  def puzzle(self, seed: int, difficulty: str, ema: bool = False) -> dict:
    p = sudoku.generate(seed, difficulty)
    cells = [None] * 81
    if self.images_for_numbers:
      given = [i for i in range(81) if p.givens[i]]
      wanted = [self.numbers[p.givens[i] - 1] for i in given]
      for i, s in zip(given, self.sampler.of_classes(jax.random.key(seed), wanted, ema)):
        cells[i] = self.tile(s)
    unchecked = sum(1 for c in cells if c and not c['checked'])
    return {'seed': seed, 'difficulty': difficulty, 'givens': list(p.givens),
            'solution': list(p.solution), 'cells': cells, 'unchecked': unchecked}

  def samples(self, seed: int, ema: bool = False) -> dict:
    tiles = [self.tile(s) for s in self.sampler.grid(jax.random.key(seed), ema)]
    return {'seed': seed, 'ema': ema and self.sampler.has_ema, 'tiles': tiles, 'columns': 10}

  def interpolation(self, seed: int, ema: bool = False) -> dict:
    tiles = [self.tile(s) for s in self.sampler.interpolation(jax.random.key(seed), ema)]
    return {'seed': seed, 'ema': ema and self.sampler.has_ema, 'tiles': tiles,
            'columns': figures.INTERPOLATION_STEPS}

  def fid(self) -> dict:
    return self.sampler.run.fid_curve()

  def latest_grid(self) -> str | None:
    if self.sampler.run.shipped:
      return None
    grids = sorted(glob.glob(os.path.join(os.path.abspath(self.sampler.run.workdir), 'samples',
                                          'step_*.png')))
    return grids[-1] if grids else None


def create_app(site: Site):
  import flask  # pylint: disable=g-import-not-at-top

  app = flask.Flask(__name__, static_folder=PAGE_DIR, static_url_path='/page')

  def args():
    """(seed, ema) of the query; a bad seed is the client's error (400)."""
    raw = flask.request.args.get('seed', '0')
    try:
      seed = int(raw)
      if not 0 <= seed < 2**31:
        raise ValueError
    except ValueError:
      flask.abort(flask.make_response(
          {'error': f'seed = {raw!r}: expected an integer in [0, 2**31)'}, 400))
    return seed, flask.request.args.get('ema', '0') in ('1', 'true')

  @app.get('/')
  def index():
    return flask.send_from_directory(PAGE_DIR, 'index.html')

  @app.get('/api/info')
  def info():
    return site.info()

  @app.get('/api/sudoku')
  def puzzle():
    seed, ema = args()
    difficulty = flask.request.args.get('difficulty', 'medium')
    if difficulty not in sudoku.DIFFICULTIES:
      return {'error': f'difficulty = {difficulty!r}: expected one of '
                       f'{", ".join(sudoku.DIFFICULTIES)}'}, 400
    return site.puzzle(seed, difficulty, ema)

  @app.get('/api/samples')
  def samples():
    return site.samples(*args())

  @app.get('/api/interpolation')
  def interpolation():
    return site.interpolation(*args())

  @app.get('/api/fid')
  def fid():
    return site.fid()

  @app.get('/run/latest_grid.png')
  def latest_grid():
    path = site.latest_grid()
    if path is None:
      return {'error': 'the run has written no sample grid yet'}, 404
    return flask.send_file(path, mimetype='image/png', max_age=0)

  return app
