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
