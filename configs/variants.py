"""The one syntax of a config file's argument: `FILE.py[:VARIANT][,quick]`.

A config names its variants in `VARIANTS` (mutually exclusive recipes, e.g. dcgan.py's
`standard`); `quick` shrinks any of them for tests and a first look (big_vision's
runlocal): `dcgan.py:standard,quick`, `lenet.py:wide,quick`, `mlp.py:quick`.
"""
import os


def parse(arg: str | None, file: str, variants: tuple[str, ...] = (),
          quick: bool = True) -> tuple[str | None, bool]:
  """(variant or None, quick) for `arg`; ValueError naming what is accepted otherwise."""
  parts = [p for p in (arg or '').split(',') if p]
  rest = [p for p in parts if p != 'quick']
  is_quick = len(rest) < len(parts)
  if len(rest) > 1 or len(parts) - len(rest) > 1 or (rest and rest[0] not in variants) or (
      is_quick and not quick):
    accepted = ', '.join(all_args(variants, quick)[1:]) or 'none'
    raise ValueError(f'configs/{os.path.basename(file)}: unknown argument {arg!r}; '
                     f'accepted: {accepted}.')
  return (rest[0] if rest else None), is_quick


def all_args(variants: tuple[str, ...] = (), quick: bool = True) -> list[str | None]:
  """Every argument a config with these variants accepts (None: no argument)."""
  out = [None, *variants]
  if quick:
    out += ['quick', *(f'{v},quick' for v in variants)]
  return out
