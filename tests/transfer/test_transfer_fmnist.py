"""The offline transfer experiment end to end on a tiny dataset the test writes, in one
process and as a job of two."""
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from common import weights
from common.checks import ConfigError
from configs import transfer_fmnist as transfer_config
from tests.conftest import ROOT, make_idx_dir
from transfer import finetune, transfer_fmnist


# the experiment's structure at a test's width, as --config flags
SMALL = {'model.blocks': ((8, 1), (16, 1)), 'model.pretrain_hidden': (32,),
         'train.pretrain_steps': 60, 'train.pretrain_batch_size': 32, 'train.steps': 40,
         'dataset.label_seeds': (0, 1), 'eval.batch_size': 64, 'dataset.download': False}


def _config(data_dir):
  config = transfer_config.get_config('quick')
  config.dataset.dir = str(data_dir)
  for key, value in SMALL.items():
    section, name = key.split('.')
    config[section][name] = value
  return config


def test_run_writes_its_table_reuses_the_pretrained_base_and_runs_as_a_job(tmp_path):
  os.makedirs(tmp_path / 'data')
  config = _config(make_idx_dir(tmp_path / 'data'))
  workdir = str(tmp_path / 'run')
  summary = transfer_fmnist.train_and_evaluate(config, workdir)
  table = summary['table']
  assert [(r['labels_per_class'], r['method']) for r in table] == [
      (n, m) for n in (5, 20) for m in transfer_fmnist.METHODS]
  # the blobs of the source classes are easy: the base learns them
  assert summary['pretrain']['test_accuracy'] > 0.9
  assert all(0.0 <= r['test_accuracy'] <= 1.0 and r['std'] >= 0 for r in table)
  # features of a base trained on other classes separate the new ones
  by = {(r['labels_per_class'], r['method']): r['test_accuracy'] for r in table}
  assert by[20, 'svm'] > 0.8 and by[20, 'head'] > 0.8
  for name in ('results.md', 'results.csv', 'svm.csv', 'plots/accuracy_vs_labels.png',
               os.path.join(transfer_fmnist.PRETRAINED_DIR, 'params.msgpack')):
    assert os.path.isfile(os.path.join(workdir, name)), name
  assert json.load(open(os.path.join(workdir, 'summary.json')))['table'] == table

  # As 2 processes, each batch split over their 2 devices (batch_or_replicated's other case is
  # in tests/common/test_mesh.py): the same pretrained base, within float tolerance, so the
  # same 20-label rows (each accuracy, a mean over two label draws, within one target test
  # image), written once.
  job = str(tmp_path / 'job')
  proc = subprocess.run(
      [sys.executable, 'launch.py', '--config=configs/transfer_fmnist.py:quick',
       f'--workdir={job}', f'--config.dataset.dir={config.dataset.dir}',
       *(f'--config.{k}={v}' for k, v in SMALL.items()), '--config.dataset.labels_per_class=(20,)',
       '--local_processes=2', '--local_devices=1'], cwd=ROOT, capture_output=True, text=True,
      timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  pretrained = [weights.load(os.path.join(d, transfer_fmnist.PRETRAINED_DIR), '')[0]
                for d in (workdir, job)]
  # gradients summed over 2 devices in another order: 4.5e-7 apart at most after 60 Adam steps
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=0, atol=1e-5), *pretrained)
  job_summary = json.load(open(os.path.join(job, 'summary.json')))
  assert (summary['num_devices'], job_summary['num_devices']) == (1, 2)
  one_image = 1 / summary['num_test_images']
  for row, job_row in zip(table[4:], job_summary['table'], strict=True):
    assert job_row['test_accuracy'] == pytest.approx(row['test_accuracy'], abs=one_image), row
  assert sorted(os.listdir(job)) == sorted(os.listdir(workdir) + ['config.json'])

  config.dataset.labels_per_class = (20,)            # a shorter rerun: same base, same draws
  again = transfer_fmnist.train_and_evaluate(config, workdir)   # resumes: no pretraining
  assert again['pretrain']['seconds'] is None
  assert again['pretrain']['test_accuracy'] == summary['pretrain']['test_accuracy']
  strip = lambda rows: [{k: x for k, x in r.items() if k != 'seconds'} for r in rows]
  assert strip(again['table']) == strip(table[4:])


@pytest.mark.parametrize('key, value, message', [
    ('model.feature_layer', 'pool9', "config.model.feature_layer = 'pool9'.*pool1..pool2"),
    ('dataset.target_classes', (4, 5), 'disjoint from dataset.source_classes'),
    ('model.finetune_frozen_blocks', 3, r'0\.\.2'),
    ('dataset.labels_per_class', (10, 0), 'positive integers'),
])
def test_bad_config_names_the_key(key, value, message):
  config = transfer_config.get_config()
  section, name = key.split('.')
  config[section][name] = value
  with pytest.raises(ConfigError, match=message):
    transfer_fmnist.validate(config)
