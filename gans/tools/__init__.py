"""The commands a user runs on GAN runs, `python -m gans.tools.<name>`: score a checkpoint
again (score), export checked samples as a dataset (export), the results table of finished
runs (report), ship a run as the demo generator (ship). The Sudoku page is gans/app."""
