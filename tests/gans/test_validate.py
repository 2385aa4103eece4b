"""The GAN config's checks (gans/build.validate): one line naming the key and what is allowed."""
import pytest

from common import checks
from configs import wgan_gp as wgan_gp_config
from gans import build


@pytest.mark.parametrize('key,value,expected', [
    ('optim.g_learning_rate', -1e-4, 'config.optim.g_learning_rate = -0.0001 .* positive'),
    ('dataset.name', 'svhn', "config.dataset.name = 'svhn' .* one of 'mnist'"),
    ('loss.n_critic', 0, 'config.loss.n_critic = 0 .* positive integer'),
    ('optim.b2', 1.5, r'config.optim.b2 = 1.5 .* \[0.0, 1.0\)'),
    ('dataset.pixel_range', 'zero_255', "one of 'zero_one', 'minus_one_one'"),
    ('loss.acgan_weights', (1.0, 0.1), r'\(0, 0\) unless model.conditional = True'),
    ('loss.acgan_weights', (1.0,), r'a pair \(d_weight, g_weight\)'),
    ('loss.real_label', (0.9, 0.9), r"\(1.0, 1.0\) with loss.name = 'wasserstein', which has no"),
])
def test_bad_values_name_the_key_and_what_is_allowed(key, value, expected):
  config = wgan_gp_config.get_config('quick')
  section, name = key.split('.')
  config[section][name] = value
  with pytest.raises(checks.ConfigError, match=expected):
    build.validate(config)


def test_default_and_variant_configs_are_valid():
  for arg in (None, 'quick', 'paper', 'acgan'):
    build.validate(wgan_gp_config.get_config(arg))
  with pytest.raises(ValueError, match="unknown argument 'fast'"):
    wgan_gp_config.get_config('fast')
