"""gans/saved.py: a run read back, with its final scores only when it reached its end, and a
config.json from an older code refused in one line."""
import json
import os
import shutil

import pytest

from gans import saved


def _copy(gan_run, tmp_path):
  copy = tmp_path / 'run'
  shutil.copytree(gan_run[0], copy)
  return copy


def test_scores_are_the_ends_or_none(gan_run, tmp_path):
  run = saved.load(gan_run[0])
  assert run.scores['step'] == 8 and run.scores['kid'] > 0 and run.workdir == gan_run[0]
  copy = _copy(gan_run, tmp_path)
  summary = json.loads((copy / 'summary.json').read_text())
  stopped = {k: v for k, v in summary.items() if not k.startswith('kid')}  # stopped at an FID
  (copy / 'summary.json').write_text(json.dumps(stopped))
  assert saved.load(str(copy)).scores == {}
  os.remove(copy / 'summary.json')
  assert saved.load(str(copy)).scores == {}


def test_a_config_of_an_older_code_is_one_line(gan_run, tmp_path):
  copy = _copy(gan_run, tmp_path)
  config = json.loads((copy / 'config.json').read_text())
  del config['loss']['acgan_weights']
  (copy / 'config.json').write_text(json.dumps(config))
  with pytest.raises(ValueError, match=r'config.json was written by an older version'):
    saved.load(str(copy))
