"""benchmarks/wgan_gp_curves.py: seeds' mean +- std, the ratio to the first series, the plot."""
import json
import os

import numpy as np
import pytest

from benchmarks import wgan_gp_curves


def _jax_run(folder, fid, kid, curve):
  os.makedirs(folder)
  with open(os.path.join(folder, 'summary.json'), 'w') as f:
    json.dump({'fid': fid, 'kid': kid, 'steps': 1000, 'total_train_seconds': 400.0}, f)
  with open(os.path.join(folder, 'metrics.jsonl'), 'w') as f:
    for step, (seconds, value) in enumerate(curve):
      f.write(json.dumps({'step': step * 50, 'd_loss': 1.0, 'total_train_seconds': seconds}) + '\n')
      f.write(json.dumps({'step': step * 50 + 25, 'fid': value,
                          'total_train_seconds': seconds + 1}) + '\n')


def _port_result(path, fid):
  with open(path, 'w') as f:
    json.dump({'fid': fid, 'kid': 9.0, 'steps': 800, 'train_seconds': 410.0,
               'curve': [{'seconds': 60.0, 'step': 100, 'fid': 700.0}]}, f)


def test_seeds_mean_std_ratio_and_plot(tmp_path):
  _jax_run(str(tmp_path / 'jax_s0'), 10.0, 1.0, [(0.0, 300.0), (100.0, 50.0)])
  _jax_run(str(tmp_path / 'jax_s1'), 14.0, 2.0, [(0.0, 310.0), (100.0, 60.0)])
  _port_result(str(tmp_path / 'port_s0.json'), 36.0)
  series = [(label, [wgan_gp_curves.load(p) for p in paths]) for label, paths in
            map(wgan_gp_curves.parse_series, [f'JAX={tmp_path}/jax_s*',
                                               f'port={tmp_path}/port_s*.json'])]
  assert [(s, f) for s, f in series[0][1][0]['curve']] == [(1.0, 300.0), (101.0, 50.0)]
  jax_line, port_line = wgan_gp_curves.report(series)
  std = np.std([10.0, 14.0], ddof=1)
  assert jax_line == (f'JAX: 2 runs, 1000 steps in 400 s of training, FID 12.0 ± {std:.1f}, '
                      f'KID 1.5 ± {np.std([1.0, 2.0], ddof=1):.1f}')
  assert port_line.startswith('port: 1 runs, 800 steps in 410 s') and port_line.endswith(
      'FID 36.0 ± 0.0, KID 9.0 ± 0.0; FID 3.00× the first')
  wgan_gp_curves.plot(series, str(tmp_path / 'plot.png'))
  assert os.path.getsize(tmp_path / 'plot.png') > 1000


def test_bad_series_name_the_pattern_or_the_run(tmp_path):
  with pytest.raises(ValueError, match='matches no run folder'):
    wgan_gp_curves.parse_series(f'JAX={tmp_path}/nothing*')
  with pytest.raises(ValueError, match='expected LABEL=GLOB'):
    wgan_gp_curves.parse_series('runs/x')
  (tmp_path / 'run.log').write_text('I1203 training...')
  with pytest.raises(SystemExit, match=r'run.log: not a benchmarks/wgan_gp_reference.py result'):
    wgan_gp_curves.run([f'port={tmp_path}/run.log'])
  os.makedirs(tmp_path / 'unfinished')
  with pytest.raises(SystemExit, match='unfinished: no summary.json with final scores'):
    wgan_gp_curves.run([f'JAX={tmp_path}/unfinished'])
