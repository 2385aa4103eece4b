"""Config checks that stop a run before any work, naming the key and what is allowed."""
import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
  """A config value that cannot work; the message names the key and what is accepted."""


def require(condition: bool, key: str, value, allowed: str) -> None:
  if not condition:
    raise ConfigError(f'config.{key} = {value!r} is not allowed: expected {allowed}.')


def positive(config, key: str, *, integer: bool = False) -> None:
  value = get(config, key)
  kind = 'a positive integer' if integer else 'a positive number'
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
  if integer:
    ok = ok and float(value).is_integer()
  require(ok, key, value, kind)


def non_negative(config, key: str) -> None:
  value = get(config, key)
  require(isinstance(value, (int, float)) and value >= 0, key, value, 'a number >= 0')


def in_range(config, key: str, low: float, high: float) -> None:
  value = get(config, key)
  require(low <= value < high, key, value, f'a number in [{low}, {high})')


def one_of(config, key: str, choices: Iterable[str]) -> None:
  choices = tuple(choices)
  value = get(config, key)
  require(value in choices, key, value, 'one of ' + ', '.join(map(repr, choices)))


def get(config, dotted: str):
  """config['a']['b'] for 'a.b'."""
  node = config
  for part in dotted.split('.'):
    node = node[part]
  return node


def unknown_key(config, dotted: str) -> str | None:
  """Why `dotted` names no key of `config` (the closest keys of its section), or None."""
  node, done = config, []
  for part in dotted.split('.'):
    keys = list(node.keys()) if hasattr(node, 'keys') else []
    if part not in keys:
      section = 'config' + ''.join(f'.{p}' for p in done)
      if not keys:
        return f'{section} is a value ({node!r}), not a section with keys.'
      close = difflib.get_close_matches(part, keys, n=3, cutoff=0.5)
      hint = f'did you mean {", ".join(section + "." + k for k in close)}? ' if close else ''
      return (f'{section} has no key {part!r}; {hint}its keys: {", ".join(sorted(keys))}.')
    node = node[part]
    done.append(part)
  return None
