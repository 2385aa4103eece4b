"""The three probe runs on a small classifier trained here: files, numbers, bad input."""
import json
import os
import subprocess
import sys

import pytest

from common import checks, writers
from configs import attack, class_viz, saliency
from probes import attack_run, class_viz_run, saliency_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def classifier_dir(tiny_classifier):
  return tiny_classifier[1]


def _config(module, classifier_dir, **overrides):
  config = module.get_config('quick')
  config.eval.classifier_dir = classifier_dir
  for key, value in overrides.items():
    section, name = key.split('__')
    config[section][name] = value
  return config


def _exists(workdir, *paths):
  for path in paths:
    assert os.path.exists(os.path.join(workdir, path)), path


def test_attack_run(classifier_dir, tmp_path):
  config = _config(attack, classifier_dir, eval__num_images=0, eval__batch_size=24)
  summary = attack_run.train_and_evaluate(config, str(tmp_path))
  trained = writers.read_json(os.path.join(classifier_dir, 'summary.json'))
  # eps = 0 through the attack path equals the trainer's own evaluation of the test set
  assert summary['num_images'] == 64
  assert summary['accuracy']['0'] == summary['clean_accuracy'] == pytest.approx(
      trained['test_accuracy'], abs=1e-9)
  accuracies = list(summary['accuracy'].values())
  assert accuracies[-1] < accuracies[0]
  assert 0.0 <= summary['targeted_pgd']['success_rate'] <= 1.0
  for row in summary['fgsm']:
    assert row['mean_linf'] == pytest.approx(row['eps'], abs=1e-6) or row['eps'] == 0
  with open(os.path.join(tmp_path, 'summary.json')) as f:
    assert json.load(f)['accuracy'] == summary['accuracy']
  _exists(tmp_path, 'results.md', 'results.csv', 'plots/accuracy_vs_eps.png',
          'figures/fgsm_examples.png', 'figures/targeted_pgd_examples.png')


def test_saliency_run(classifier_dir, tmp_path):
  summary = saliency_run.train_and_evaluate(_config(saliency, classifier_dir), str(tmp_path))
  assert summary['num_images'] == 8
  # IG's attributions add up to f(x) - f(0) up to the quick config's 8-step rule
  assert summary['ig_completeness_error'] < 0.2, summary['ig_completeness_error']
  _exists(tmp_path, 'summary.json', 'figures/saliency_methods.png',
          *(f'figures/saliency_{m}.png' for m in saliency_run.METHODS))


def test_class_viz_run(classifier_dir, tmp_path):
  summary = class_viz_run.train_and_evaluate(_config(class_viz, classifier_dir),
                                               str(tmp_path))
  assert len(summary['target_probability']) == 10
  # 5 ascent steps from noise already make most classes the network's confident answer
  # (chance is 0.1)
  probs = list(summary['target_probability'].values())
  assert sum(p > 0.9 for p in probs) >= 7 and min(probs) > 0.2, probs
  assert summary['fooling']['num_images'] == 10
  _exists(tmp_path, 'summary.json', 'figures/class_viz.png', 'figures/class_viz_from_image.png',
          'figures/sweep_learning_rate.png', 'figures/fooling.png')


@pytest.mark.parametrize('module, runner, key, value', [
    (attack, attack_run, 'attack.epsilons', (0.1, -0.1)),
    (attack, attack_run, 'attack.norm', 'l1'),
    (saliency, saliency_run, 'saliency.ig_baseline', 'blue'),
    (class_viz, class_viz_run, 'viz.sweeps.blur_sigma', (1.0,)),
])
def test_bad_config_names_the_key(module, runner, key, value):
  config = _config(module, 'shipped')
  node = config
  *parents, last = key.split('.')
  for part in parents:
    node = node[part]
  node[last] = value
  with pytest.raises(checks.ConfigError, match=key.replace('.', r'\.')):
    runner.validate(config)  # launch.py's check, before anything starts


def test_missing_classifier_through_launch_says_how_to_train_one(tmp_path):
  result = subprocess.run(
      [sys.executable, 'launch.py', '--config=configs/attack.py:quick',
       f'--config.eval.classifier_dir={tmp_path / "nowhere"}', f'--workdir={tmp_path / "out"}'],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2
  assert 'eval.classifier_dir' in result.stderr
  assert 'configs/eval_classifier.py' in result.stderr
