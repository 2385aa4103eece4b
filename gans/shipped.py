"""The generator shipped with the code: a conditional GAN of Fashion-MNIST in 16 bits, what
`python -m gans.app` serves when no --workdir is given (report 004's page from a fresh clone,
nothing trained first). Its file holds the run's config, step, generator weights (the EMA),
BatchNorm statistics, the scores `gans.tools.ship` measured on those 16-bit weights, and the run's
FID curve. It is checked against the recorded sha256 at load.

Train and ship it again (then paste the printed line below):

  python launch.py --config=configs/wgan_gp.py:acgan --workdir=runs/acgan
  python -m gans.tools.ship --workdir=runs/acgan
"""
import os

from common import shipped_file

ARRAYS = ('params', 'batch_stats')


# dataset -> the sha256 of its generator's file (the file holds its scores: SavedRun.scores
# of saved.load_shipped()).
SHIPPED = {
    'fashion_mnist': '5d03e2da1865ae562c4d4eb81b23011ac4541395e40ee6f9bdfc9915be3a45d8',
}


def path(dataset: str) -> str:
  """`dataset`'s generator file (where gans.tools.ship writes a new one)."""
  return os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      f'{dataset}_generator.msgpack')


def read(dataset: str = 'fashion_mnist') -> dict:
  """The shipped generator's tree (config JSON, image_shape, step, params, batch_stats,
  scores, fid_curve), checked against its recorded sha256."""
  if dataset not in SHIPPED:
    raise FileNotFoundError(f'No generator ships for dataset {dataset!r}; pass '
                            '--workdir=A_GAN_RUN.')
  return shipped_file.read(path(dataset), SHIPPED[dataset], ARRAYS)


def write(file: str, tree: dict) -> str:
  return shipped_file.write(file, tree, ARRAYS)
