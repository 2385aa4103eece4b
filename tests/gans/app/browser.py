"""Drives `python -m gans.app` in headless Chromium (Debian's, through Playwright): the
browser test uses it, and so does the README's screenshot of a real run:

  .venv/bin/python -m tests.gans.app.browser --output=docs/app   # the shipped generator
  .venv/bin/python -m tests.gans.app.browser --workdir=runs/cdcgan --output=docs/app
"""
import argparse
import contextlib
import os
import queue
import shutil
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# as the machine's notes advise: no background connections on a closed network
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
START_SECONDS = 180


def chromium() -> str:
  path = shutil.which('chromium') or shutil.which('chromium-browser')
  if path is None:
    raise RuntimeError('No Chromium on this machine: `apt-get install -y chromium` '
                       '(bash setup.sh --test does it).')
  return path


@contextlib.contextmanager
def serving(workdir: str | None, *args: str):
  """Starts the app on a free port (with the shipped generator when `workdir` is None);
  yields its URL; stops it."""
  if workdir is not None:
    workdir = os.path.abspath(workdir)
    if workdir.startswith(ROOT + os.sep):
      workdir = os.path.relpath(workdir, ROOT)  # as a user in the checkout would type it
    args = (f'--workdir={workdir}', *args)
  process = subprocess.Popen(
      [sys.executable, '-m', 'gans.app', '--port=0', *args], cwd=ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  lines = queue.Queue()
  threading.Thread(target=lambda: [lines.put(l) for l in process.stdout], daemon=True).start()
  seen = []
  try:
    while True:
      try:
        line = lines.get(timeout=START_SECONDS)
      except queue.Empty as e:
        raise RuntimeError('gans.app did not start:\n' + ''.join(seen)) from e
      seen.append(line)
      if line.startswith('Serving '):
        yield line.split(' on ')[1].split()[0]
        return
      if process.poll() is not None and lines.empty():
        raise RuntimeError('gans.app exited:\n' + ''.join(seen))
  finally:
    process.terminate()
    process.wait(timeout=30)


@contextlib.contextmanager
def page_at(url: str, width: int = 1250, height: int = 820):
  from playwright.sync_api import sync_playwright  # pylint: disable=g-import-not-at-top
  with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
    try:
      page = browser.new_page(viewport={'width': width, 'height': height})
      page.goto(url)
      page.wait_for_selector('body[data-ready="1"]', timeout=120_000)
      yield page
    finally:
      browser.close()


def open_cells(page) -> list[int]:
  return [int(i) for i in page.eval_on_selector_all('#board td:not(.given)',
                                                    'tds => tds.map(t => t.dataset.index)')]


def solution(page) -> list[int]:
  return page.evaluate('state.puzzle.solution')


def fill_by_typing(page, cell: int, digit: int) -> None:
  page.click(f'#board td[data-index="{cell}"]')
  page.keyboard.press(str(digit))


def fill_by_legend(page, cell: int, digit: int) -> None:
  page.click(f'#board td[data-index="{cell}"]')
  page.click(f'#legend button[data-number="{digit}"]')


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--workdir', default=None, help='a GAN run; default: the shipped '
                      'generator')
  parser.add_argument('--output', required=True, help='writes OUTPUT_sudoku.png and '
                      'OUTPUT_gallery.png')
  args = parser.parse_args()
  with serving(args.workdir) as url, page_at(url) as page:
    cells, answer = open_cells(page), solution(page)
    for cell in cells[:3]:
      fill_by_legend(page, cell, answer[cell])
    fill_by_typing(page, cells[3], answer[cells[3]] % 9 + 1)  # a mistake, marked
    page.screenshot(path=f'{args.output}_sudoku.png')
    page.click('#tab-gallery')
    page.screenshot(path=f'{args.output}_gallery.png', full_page=True)
  print(f'Wrote {args.output}_sudoku.png and {args.output}_gallery.png')


if __name__ == '__main__':
  main()
