"""Config checks that stop a run before any work, naming the key and what is allowed."""
from collections.abc import Iterable


class ConfigError(ValueError):
  """A config value that cannot work; the message names the key and what is accepted."""


def check(condition: bool, key: str, value, allowed: str) -> None:
  if not condition:
    raise ConfigError(f'config.{key} = {value!r} is not allowed: expected {allowed}.')


def positive(config, key: str, *, integer: bool = False) -> None:
  value = get(config, key)
  kind = 'a positive integer' if integer else 'a positive number'
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
  if integer:
    ok = ok and float(value).is_integer()
  check(ok, key, value, kind)


def non_negative(config, key: str) -> None:
  value = get(config, key)
  check(isinstance(value, (int, float)) and value >= 0, key, value, 'a number >= 0')


def in_range(config, key: str, low: float, high: float) -> None:
  value = get(config, key)
  check(low <= value < high, key, value, f'a number in [{low}, {high})')


def one_of(config, key: str, choices: Iterable[str]) -> None:
  choices = tuple(choices)
  value = get(config, key)
  check(value in choices, key, value, 'one of ' + ', '.join(map(repr, choices)))


def get(config, dotted: str):
  """config['a']['b'] for 'a.b'."""
  node = config
  for part in dotted.split('.'):
    node = node[part]
  return node
