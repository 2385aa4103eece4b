"""Runs side by side: final FID and KID (mean +- std over seeds) and FID against training
seconds, for this project's GAN runs and benchmarks/wgan_gp_reference.py's results.

  python -m benchmarks.wgan_gp_curves \
      --series='JAX :gulrajani=runs/gulrajani32_s?' \
      --series='PyTorch port=runs/reference32_s?.json' [--output=docs/wgan_gp_seeds.png]

Each --series is LABEL=GLOB: a folder is a run of launch.py (summary.json for the final
scores, metrics.jsonl for the FID rows and their total_train_seconds), a .json file is a
result of the port (a glob must match only these: `runs/x_s?`, not `runs/x_s*`, which also
matches the runs' logs). The spread is the sample standard deviation over a series' runs.
Every series after the first also prints its FID as a multiple of the first's.
"""
import glob
import os

from absl import app, flags
import numpy as np

from common import images
from common import writers


def load(path: str) -> dict:
  """One run as {'fid', 'kid', 'steps', 'train_seconds', 'curve': [(seconds, fid)]}."""
  if os.path.isdir(path):
    summary = writers.read_json(os.path.join(path, 'summary.json'))
    if summary is None or 'kid' not in summary:
      raise ValueError(f'{path}: no summary.json with final scores; has the run finished?')
    curve = [(r['total_train_seconds'], r['fid']) for r in writers.read_metrics(path)
             if 'fid' in r]
    return {'fid': summary['fid'], 'kid': summary['kid'], 'steps': summary['steps'],
            'train_seconds': summary['total_train_seconds'], 'curve': curve}
  try:
    result = writers.read_json(path)
  except (ValueError, UnicodeDecodeError):
    result = None
  if not isinstance(result, dict) or 'curve' not in result:
    raise ValueError(f'{path}: not a benchmarks/wgan_gp_reference.py result (no "curve")')
  return {'fid': result['fid'], 'kid': result['kid'], 'steps': result['steps'],
          'train_seconds': result['train_seconds'],
          'curve': [(p['seconds'], p['fid']) for p in result['curve']]}


def parse_series(spec: str) -> tuple[str, list[str]]:
  label, sep, pattern = spec.rpartition('=')
  if not sep or not label:
    raise ValueError(f'--series={spec!r}: expected LABEL=GLOB, e.g. "JAX=runs/gulrajani32_s?"')
  paths = sorted(glob.glob(pattern))
  if not paths:
    raise ValueError(f'--series={spec!r}: {pattern!r} matches no run folder or result file')
  return label, paths


def mean_std(values) -> str:
  values = np.asarray(values, float)
  std = values.std(ddof=1) if len(values) > 1 else 0.0
  return f'{values.mean():.1f} ± {std:.1f}'


def report(series: list[tuple[str, list[dict]]]) -> list[str]:
  """One line per series: its runs' steps, seconds, and FID / KID mean +- sample std."""
  lines, first = [], None
  for label, runs in series:
    fids = [r['fid'] for r in runs]
    line = (f'{label}: {len(runs)} runs, {np.mean([r["steps"] for r in runs]):.0f} steps in '
            f'{np.mean([r["train_seconds"] for r in runs]):.0f} s of training, '
            f'FID {mean_std(fids)}, KID {mean_std([r["kid"] for r in runs])}')
    if first is None:
      first = np.mean(fids)
    else:
      line += f'; FID {np.mean(fids) / first:.2f}× the first'
    lines.append(line)
  return lines


def plot(series: list[tuple[str, list[dict]]], path: str) -> None:
  fig = images.new_figure((6, 4))
  ax = fig.add_subplot(1, 1, 1)
  for i, (label, runs) in enumerate(series):
    for j, run in enumerate(runs):
      seconds, fids = zip(*run['curve']) if run['curve'] else ((), ())
      ax.plot(seconds, fids, 'o-', color=f'C{i}', alpha=0.8, label=label if j == 0 else None)
  ax.set_xlabel('training seconds')
  ax.set_ylabel('FID (2,000 samples, shipped network)')
  ax.set_yscale('log')
  ax.grid(alpha=0.3, which='both')
  ax.legend()
  images.save_figure(fig, path)


def run(specs: list[str], output: str = '') -> None:
  """Prints report()'s lines for the --series specs and, with `output`, draws the plot."""
  try:
    series = [(label, [load(p) for p in paths]) for label, paths in map(parse_series, specs)]
  except ValueError as e:
    raise SystemExit(f'wgan_gp_curves: {e}') from None
  if not series:
    raise SystemExit('wgan_gp_curves: give at least one --series=LABEL=GLOB')
  print('\n'.join(report(series)))
  if output:
    plot(series, output)
    print(f'Wrote {output}')


if __name__ == '__main__':  # flags only as a program, so that tests can import the module
  _SERIES = flags.DEFINE_multi_string('series', [], 'LABEL=GLOB of run folders or result files')
  _OUTPUT = flags.DEFINE_string('output', '', 'a PNG of the FID curves against training seconds')
  app.run(lambda _: run(_SERIES.value, _OUTPUT.value))
