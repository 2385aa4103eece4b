"""The offline transfer experiment end to end on a tiny dataset the test writes."""
import json
import os

import pytest

from common.checks import ConfigError
from configs import transfer_fmnist as transfer_config
from tests.conftest import make_idx_dir
from transfer import finetune, transfer_fmnist


def _config(data_dir):
  config = transfer_config.get_config('quick')
  config.dataset.dir = str(data_dir)
  config.dataset.download = False
  config.model.blocks = ((8, 1), (16, 1))  # the experiment's structure at a test's width
  config.model.pretrain_hidden = (32,)
  config.train.pretrain_steps = 60
  config.train.pretrain_batch_size = 32
  config.train.steps = 40
  config.dataset.label_seeds = (0, 1)
  config.eval.batch_size = 64
  return config


def test_run_writes_its_table_and_reuses_the_pretrained_base(tmp_path):
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
