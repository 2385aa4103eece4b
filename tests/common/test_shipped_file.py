"""common/shipped_file.py: a shipped file holds its weights in 16 bits, or refuses them."""
import numpy as np
import pytest

from common import shipped_file


def test_rounding_is_float16s_and_refuses_what_it_cannot_hold():
  params = {'w': np.array([1 / 3, 1000.1], np.float32)}
  np.testing.assert_array_equal(shipped_file.rounded(params)['w'], [1365 / 4096, 1000.0])  # float16's nearest
  for bad in (70000.0, np.nan):  # float16's largest is 65504
    with pytest.raises(ValueError, match='past 16 bits'):
      shipped_file.rounded({'w': np.array([1.0, bad], np.float32)})
