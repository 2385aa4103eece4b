"""Report 004's application, `python -m gans.app` (__main__.py): a local page (page/) with a
playable Sudoku whose givens are generated images (sudoku.py; the images checked by a
classifier, labelled_samples.py), and a gallery of the generator; site.py answers the page."""
