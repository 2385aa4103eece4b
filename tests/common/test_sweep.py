import json

from common import sweep


def test_a_value_reads_the_same_before_and_after_json():
  value = ((128, 256, 1024), (1024, 256, 128))
  assert sweep.value_label(json.loads(json.dumps(value))) == sweep.value_label(value)
  assert sweep.value_label([[1024], [1024]]) == '((1024,), (1024,))'
  assert sweep.value_label(2e-4) == '0.0002' and sweep.value_label('relu') == 'relu'


def test_a_long_value_wraps_to_the_width():
  label = sweep.value_label(((128, 256, 512, 1024), (1024, 512, 256, 128)), width=26)
  assert label.count('\n') == 1 and max(len(line) for line in label.split('\n')) <= 26


def test_the_axis_label_says_whether_the_keys_share_a_value():
  axis = 'optim.g_learning_rate, optim.d_learning_rate'
  assert sweep.axis_label(axis, [2e-4, 1e-3]) == 'g_learning_rate = d_learning_rate'
  assert sweep.axis_label(axis, [(2e-4, 6e-4), [1e-3, 1e-3]]) == (
      '(g_learning_rate, d_learning_rate)')   # a pair each, as written or back from JSON
  assert sweep.axis_label(axis, [2e-4, (2e-4, 6e-4)]) == (
      'g_learning_rate = d_learning_rate, or (g_learning_rate, d_learning_rate)')
  assert sweep.axis_label('model.widths', [(8, 16), (16, 32)]) == 'widths'   # one key: as is
