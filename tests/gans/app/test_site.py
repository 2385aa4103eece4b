"""gans/app (site.py, labelled_samples.py, the page) on a tiny conditional DCGAN run: what
the page is sent, that no request compiles, bad input; and the page itself in headless
Chromium, served as a newcomer starts it (the shipped generator)."""
import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
from jax import monitoring

from common import writers
from gans import saved
from gans.app import __main__ as app_main, labelled_samples, site as app_site, sudoku
from tests.gans.app import browser

ROOT = browser.ROOT
LOWERING = '/jax/core/compile/jaxpr_to_mlir_module_duration'  # every compile, cached or not


@pytest.fixture(scope='module')
def site(gan_run):
  workdir, classifier_dir = gan_run
  run = saved.load(workdir)
  classifier, note = app_site.load_classifier(run.config, '', len(run.class_names))
  assert classifier.source == classifier_dir and not note
  return app_site.Site(labelled_samples.Sampler(run, classifier, threshold=0.5))


def _get(client, url, status=200):
  response = client.get(url)
  assert response.status_code == status, response.get_json()
  return response.get_json()


def test_the_puzzle_has_images_that_stand_for_its_numbers(site):
  client = app_site.create_app(site).test_client()
  info = _get(client, '/api/info')
  assert info['conditional'] and info['has_ema'] and info['step'] == 8
  assert [n['name'] for n in info['numbers']] == [
      'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Sneaker', 'Bag',
      'Ankle boot']
  puzzle = _get(client, '/api/sudoku?seed=5&difficulty=hard')
  expected = sudoku.generate(5, 'hard')
  assert puzzle['givens'] == list(expected.givens)
  assert puzzle['solution'] == list(expected.solution)
  for number, cell in zip(puzzle['givens'], puzzle['cells']):
    assert (cell is None) == (number == 0)
    if cell:
      assert cell['src'].startswith('data:image/png;base64,')
      assert cell['cls'] == app_site.NUMBER_CLASSES['fashion_mnist'][number - 1]
      assert cell['checked'] == (cell['label'] == cell['cls'] and cell['confidence'] >= 0.5)
  assert puzzle['unchecked'] == sum(1 for c in puzzle['cells'] if c and not c['checked'])
  assert _get(client, '/api/sudoku?seed=5&difficulty=hard') == puzzle  # seeded
  # the legend: one fixed set, sent once, per number a sample of its class
  numbers = list(app_site.NUMBER_CLASSES['fashion_mnist'])
  assert [t['cls'] for t in info['legend']] == numbers
  for tile in info['legend']:
    assert tile['checked'] == (tile['label'] == tile['cls'] and tile['confidence'] >= 0.5)
  summary = writers.read_json(os.path.join(site.sampler.run.workdir, 'summary.json'))
  assert info['scores'] == {'fid': summary['fid'], 'kid': summary['kid'],
                            'class_accuracy': summary['class_accuracy'],
                            'num_samples': summary['num_samples'], 'step': 8}


def test_the_legend_shows_the_sample_the_classifier_is_surest_of(site):
  sampler, key = site.sampler, jax.random.key(app_site.LEGEND_SEED)
  numbers = list(app_site.NUMBER_CLASSES['fashion_mnist'])
  chosen = sampler.surest(key, numbers)
  labels = np.resize(np.asarray(numbers, np.int32), 3 * labelled_samples.BATCH)  # the draws
  candidates = sampler._probabilities(sampler._generate(
      sampler.run.gan.sample_latent(key, len(labels)), labels, False))
  for c, s in zip(numbers, chosen):
    p_c = sampler._probabilities(s.image[None])[0, c]
    first = candidates[np.flatnonzero(labels == c)[0], c]
    np.testing.assert_allclose(p_c, candidates[labels == c, c].max(), rtol=1e-3)
    assert p_c >= first  # (the first sample of its class would not do)
  assert any(sampler._probabilities(s.image[None])[0, c] > candidates[
      np.flatnonzero(labels == c)[0], c] for c, s in zip(numbers, chosen))


def test_gallery_samples_change_with_the_seed_and_the_ema(site):
  client = app_site.create_app(site).test_client()
  first = _get(client, '/api/samples?seed=1')
  assert len(first['tiles']) == 100 and first['columns'] == 10
  assert [t['cls'] for t in first['tiles']] == [c for c in range(10) for _ in range(10)]
  srcs = lambda d: [t['src'] for t in d['tiles']]
  assert srcs(_get(client, '/api/samples?seed=2')) != srcs(first)
  ema = _get(client, '/api/samples?seed=1&ema=1')
  assert ema['ema'] and srcs(ema) != srcs(first)
  strip = _get(client, '/api/interpolation?seed=1')
  assert len(strip['tiles']) == 60 and strip['columns'] == 10
  fid = _get(client, '/api/fid')
  logged = [r for r in writers.read_metrics(site.sampler.run.workdir) if 'fid' in r]
  assert fid == {'step': [4, 8], 'fid': [r['fid'] for r in logged],
                 'fid_ema': [r['fid_ema'] for r in logged]}
  response = client.get('/run/latest_grid.png')
  assert response.status_code == 200 and response.data[:4] == b'\x89PNG'


def test_no_request_compiles(site):
  client = app_site.create_app(site).test_client()
  lowered = []
  listen = lambda event, duration, **kw: lowered.append(event) if event == LOWERING else None
  monitoring.register_event_duration_secs_listener(listen)
  try:
    for seed in (11, 12):
      _get(client, f'/api/sudoku?seed={seed}&difficulty=easy')
      _get(client, f'/api/samples?seed={seed}&ema={seed % 2}')
      _get(client, f'/api/interpolation?seed={seed}')
    assert not lowered
    jax.jit(lambda x: x * 3 + 1)(1.0)  # the listener does see a compile
    assert lowered
  finally:
    monitoring.unregister_event_duration_listener(listen)


def test_bad_queries_get_a_message(site):
  client = app_site.create_app(site).test_client()
  assert 'difficulty' in _get(client, '/api/sudoku?difficulty=extreme', 400)['error']
  assert 'seed' in _get(client, '/api/samples?seed=abc', 400)['error']
  assert 'seed' in _get(client, '/api/samples?seed=-1', 400)['error']


def test_without_a_classifier_the_images_are_unchecked(gan_run):
  run = saved.load(gan_run[0])
  site = app_site.Site(labelled_samples.Sampler(run, None), 'no classifier')
  puzzle = site.puzzle(3, 'easy')
  tiles = [c for c in puzzle['cells'] if c]
  assert len(tiles) == sum(1 for g in puzzle['givens'] if g)
  assert all(not t['checked'] and t['label'] is None and 'not checked' in t['title']
             for t in tiles)
  assert site.info()['messages'] == ['no classifier']
  unconditional = dataclasses.replace(run, gan=dataclasses.replace(run.gan, num_classes=0))
  plain = app_site.Site(labelled_samples.Sampler(unconditional, None))
  assert plain.puzzle(3, 'easy')['cells'] == [None] * 81  # digits only, said so:
  assert 'cannot draw a given class' in plain.info()['messages'][0]
  assert len(plain.samples(0)['tiles']) == 100


def test_an_unconditional_generator_is_drawn_from_until_the_classifier_agrees(gan_run):
  run = saved.load(gan_run[0])
  unconditional = dataclasses.replace(run, gan=dataclasses.replace(run.gan, num_classes=0))
  classifier, _ = app_site.load_classifier(run.config, gan_run[1], len(run.class_names))
  sampler = labelled_samples.Sampler(unconditional, classifier, threshold=0.0)
  samples = sampler.of_classes(jax.random.key(0), [1, 1, 2])
  assert [s.cls for s in samples] == [1, 1, 2]
  for s in samples:  # threshold 0: checked exactly when the classifier names the class
    assert s.checked == (s.label == s.cls)


def test_a_dataset_without_a_shipped_classifier_means_unchecked_images(gan_run):
  config = saved.load(gan_run[0]).config
  config.dataset.name, config.eval.classifier_dir = 'mnist', ''
  classifier, note = app_site.load_classifier(config, '', 10)
  assert classifier is None and 'No classifier for mnist' in note
  with pytest.raises(ValueError, match='--classifier_dir=nowhere: No classifier in'):
    app_site.load_classifier(config, 'nowhere', 10)


def test_a_sample_below_the_threshold_shows_it_in_digits_that_say_so(site):
  image = jax.numpy.zeros((28, 28, 1))
  threshold, site.sampler.threshold = site.sampler.threshold, 1.0
  try:
    short = site.tile(labelled_samples.Sample(image, 3, 3, 0.9996, False))['title']
    wrong = site.tile(labelled_samples.Sample(image, 3, 4, 0.95, False))['title']
  finally:
    site.sampler.threshold = threshold
  assert short == 'classifier: Dress 0.9996 (below the threshold 1)'
  assert wrong == 'classifier: Coat 0.95 (asked for Dress)'


def _app_fails(*args):
  result = subprocess.run([sys.executable, '-m', 'gans.app', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 2, result.stderr
  lines = result.stderr.strip().splitlines()
  assert 'Traceback' not in result.stderr and lines[-1].startswith('gans.app: ')
  return lines[-1]


def test_bad_workdirs_and_a_busy_port_get_one_line(gan_run, tmp_path, capsys):
  workdir, classifier_dir = gan_run
  # the command: a folder without a run, a port out of range and a busy one, each one line
  assert 'No GAN run in' in _app_fails(f'--workdir={tmp_path}', '--port=0')
  assert '--port=99999: expected a port number' in _app_fails(f'--workdir={workdir}',
                                                              '--port=99999')
  with pytest.raises(SystemExit, match='2'):  # below the range, the same line
    app_main._listen('127.0.0.1', -1)  # pylint: disable=protected-access
  assert capsys.readouterr().err == (
      'gans.app: --port=-1: expected a port number 1-65535, or 0 for a free one.\n')
  with socket.socket() as busy:
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    message = _app_fails(f'--workdir={workdir}', f'--port={port}')
  assert f'cannot serve on 127.0.0.1:{port}' in message and '--port=0' in message
  # the other bad workdirs raise the errors the command turns into its line, as above
  fresh = tmp_path / 'fresh'
  fresh.mkdir()
  shutil.copy(os.path.join(workdir, 'config.json'), fresh)  # started, no checkpoint yet
  cases = [(classifier_dir, 'is not a run of gans/train.py'),
           (str(fresh), 'No readable checkpoint')]
  for i, (text, needle) in enumerate((('[1, 2]', 'holds no run config'),
                                      ('{"trainer": "gan"}', 'holds no run config'),
                                      ('{"trainer": ', 'is not valid JSON'))):
    (tmp_path / str(i)).mkdir()
    (tmp_path / str(i) / 'config.json').write_text(text)  # made or cut by hand
    cases.append((str(tmp_path / str(i)), f"{tmp_path / str(i) / 'config.json'} {needle}"))
  for folder, needle in cases:
    with pytest.raises(app_main.LOAD_ERRORS) as error:
      saved.load(folder, 'last')
    assert needle in str(error.value) and folder in str(error.value), error.value


def test_a_stopped_server_is_an_error_on_the_page_not_a_wait(gan_run):
  with contextlib.ExitStack() as stack:
    server = stack.enter_context(contextlib.ExitStack())  # closed first, the page open
    page = stack.enter_context(browser.page_at(
        server.enter_context(browser.serving(gan_run[0]))))
    server.close()  # terminates the app's process
    for button, status in (('#new-puzzle', '#puzzle-status'),
                           ('#new-samples', '#gallery-status')):
      page.evaluate(f'document.querySelector({button!r}).click()')  # (the gallery is hidden)
      page.wait_for_function(f'document.querySelector({status!r}).textContent'
                             '.startsWith("Error")', timeout=30_000)
      assert 'the server cannot be reached' in page.text_content(status)


def test_the_page_plays_in_chromium(tmp_path):
  """The page as a newcomer meets it: `python -m gans.app` with no run, the shipped generator."""
  with browser.serving(None) as url, browser.page_at(url) as page:
    _plays(page, tmp_path)
  # a threshold of 1: givens that fell short say so, in their tooltips and the status line
  with browser.serving(None, '--threshold=1.0') as url, browser.page_at(
      f'{url}?seed=123&difficulty=hard', width=390, height=844) as page:
    _fits_a_phone_and_replays_a_seed(page)
    _says_which_images_fell_short(page)


def _plays(page, tmp_path):
  assert page.locator('#board td').count() == 81
  info = page.evaluate('state.info')
  assert info['source'] == 'the generator shipped with the code'
  assert info['loss'] == 'wasserstein + gradient penalty, AC-GAN class head'
  final = info['scores']['fid']
  assert f'FID {final:.1f}' in page.text_content('#run-scores')  # the run's final scores
  givens = page.evaluate('state.puzzle.givens.filter(g => g > 0).length')
  assert page.locator('#board td.given img').count() == givens > 0
  title = page.get_attribute('#board td.given img', 'title')
  assert title.startswith('classifier: ')  # label and confidence on hover
  # the legend: each number's image is one the classifier names as that number's class
  legend = page.evaluate('state.info.legend')
  assert all(t['checked'] and t['label'] == t['cls'] for t in legend), legend
  seed = page.evaluate('state.puzzle.seed')
  assert page.text_content('#puzzle-link') == f'puzzle seed {seed}'
  cells, answer = browser.open_cells(page), browser.solution(page)
  # an open cell selected, then a given clicked: typing fills neither
  given = page.evaluate('state.puzzle.givens.findIndex(g => g > 0)')
  page.click(f'#board td[data-index="{cells[0]}"]')
  page.click(f'#board td[data-index="{given}"]')
  page.keyboard.press('5')
  assert page.evaluate(f'state.entries[{cells[0]}]') == 0
  # the menu changes the board at once: the page's puzzle is then a hard one
  page.select_option('#difficulty', 'hard')
  page.wait_for_function('state.puzzle.difficulty === "hard"')
  assert page.evaluate('state.puzzle.givens.filter(g => g > 0).length') < givens  # easy 40
  cells, answer = browser.open_cells(page), browser.solution(page)
  browser.fill_by_legend(page, cells[0], answer[cells[0]])
  browser.fill_by_typing(page, cells[1], answer[cells[1]] % 9 + 1)
  assert 'right' in page.get_attribute(f'#board td[data-index="{cells[0]}"]', 'class')
  assert 'wrong' in page.get_attribute(f'#board td[data-index="{cells[1]}"]', 'class')
  assert '1 mistake(s)' in page.text_content('#puzzle-status')
  # the selection shows on a wrong cell, and where the arrow keys land on a given
  assert _selection_shows(page, cells[1])
  beside = page.evaluate('state.puzzle.givens.findIndex((g, i) => g > 0 && i % 9 > 0 '
                         '&& state.puzzle.givens[i - 1] === 0)')
  page.click(f'#board td[data-index="{beside - 1}"]')
  page.keyboard.press('ArrowRight')
  assert _selection_shows(page, beside)
  page.click('#solve')  # shows the answer: not "Solved!", and the board is read-only
  assert page.text_content('#puzzle-status').startswith('The solution is shown')
  browser.fill_by_typing(page, cells[0], answer[cells[0]] % 9 + 1)
  classes = page.get_attribute(f'#board td[data-index="{cells[0]}"]', 'class')
  assert 'right' in classes and 'solved' in classes
  page.click('#tab-gallery')
  before = page.eval_on_selector_all('#samples img', 'imgs => imgs.map(i => i.src)')
  page.click('#new-samples')
  page.wait_for_function(f'document.querySelector("#samples img").src != {before[0]!r}')
  after = page.eval_on_selector_all('#samples img', 'imgs => imgs.map(i => i.src)')
  assert len(after) == 100 and after != before
  # the FID curve: labelled along both axes, and the final FID marked with its value
  assert page.locator('#fid-plot polyline').count() == 2
  assert page.locator('#fid-plot text.fid-tick').count() == 5
  assert page.locator('#fid-plot text.step-tick').count() == 5
  assert page.locator('#fid-plot #final-fid').count() == 1
  assert f'final FID {final:.1f}' in page.text_content('#fid-plot')
  page.screenshot(path=str(tmp_path / 'page.png'), full_page=True)
  assert (tmp_path / 'page.png').stat().st_size > 10_000


def _selection_shows(page, cell: int) -> bool:
  """The cell is the selected one, and its ring is drawn."""
  selector = f'#board td[data-index="{cell}"]'
  style = page.evaluate(f'getComputedStyle(document.querySelector({selector!r})).outlineStyle')
  return page.evaluate('state.selected') == cell and style == 'solid'


def _says_which_images_fell_short(page):
  cells = page.evaluate('state.puzzle.cells.filter(c => c && !c.checked)')
  assert cells and all(c['label'] != c['cls'] or '(below the threshold 1)' in c['title']
                       for c in cells)
  assert f"{len(cells)} given image(s) fell below the classifier's threshold" in (
      page.text_content('#puzzle-status'))


def _fits_a_phone_and_replays_a_seed(page):
  assert page.evaluate('[state.puzzle.seed, state.puzzle.difficulty]') == [123, 'hard']
  assert page.input_value('#difficulty') == 'hard'
  assert 'seed=123' in page.get_attribute('#puzzle-link', 'href')
  width = page.evaluate('window.innerWidth')
  for tab in ('#tab-sudoku', '#tab-gallery'):  # nothing cut off at the right
    page.click(tab)
    assert page.evaluate('document.documentElement.scrollWidth') <= width, tab
  page.click('#tab-sudoku')
  assert page.evaluate('document.querySelector("#board").getBoundingClientRect().right') <= width
