"""The layers of the house, read from the source with `ast`: `common` <- models and pure
functions <- builders <- trainers. Nothing imports a trainer (the modules launch.py runs), no
package imports one that imports it back, and no library module imports configs/."""
import ast
import functools
import os

import pytest

import launch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ('common', 'classifiers', 'gans', 'probes', 'transfer')
TRAINERS = frozenset(launch.TRAINERS.values())


def _is_module(name: str) -> bool:
  path = os.path.join(ROOT, *name.split('.'))
  return os.path.isfile(path + '.py') or os.path.isfile(os.path.join(path, '__init__.py'))


def imports(path: str) -> set[str]:
  """The project modules a file imports, anywhere in it (function bodies too)."""
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  out = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
      names = [f'{node.module}.{a.name}' if _is_module(f'{node.module}.{a.name}')
               else node.module for a in node.names]
    else:
      continue
    out.update(n for n in names if n.split('.')[0] in PACKAGES + ('configs',))
  return out


@functools.cache  # read once: every module's test looks at the whole graph
def library_modules() -> dict[str, set[str]]:
  """Every module of the packages, subpackages (gans.app) included."""
  graph = {}
  for package in PACKAGES:
    for folder, _, names in sorted(os.walk(os.path.join(ROOT, package))):
      prefix = os.path.relpath(folder, ROOT).replace(os.sep, '.')
      for name in sorted(n for n in names if n.endswith('.py')):
        module = f'{prefix}.{name[:-3]}'.removesuffix('.__init__')
        graph[module] = imports(os.path.join(folder, name))
  return graph


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
  """Cycles between packages (a package importing itself is fine)."""
  edges = {}
  for module, deps in graph.items():
    edges.setdefault(module.split('.')[0], set()).update(
        d.split('.')[0] for d in deps if d.split('.')[0] != module.split('.')[0])
  cycles, state = [], {}

  def visit(node, path):
    state[node] = 'open'
    for nxt in sorted(edges.get(node, ())):
      if state.get(nxt) == 'open':
        cycles.append(path[path.index(nxt):] + [nxt])
      elif nxt not in state:
        visit(nxt, path + [nxt])
    state[node] = 'done'

  for node in sorted(edges):
    if node not in state:
      visit(node, [node])
  return cycles


def test_the_walker_finds_what_it_looks_for():
  """Its own checks on a made-up graph, so the tests below can fail."""
  graph = {'a.x': {'b.y'}, 'b.y': {'c.z'}, 'c.z': {'a.w'}, 'd.v': {'d.u'}}
  assert package_cycles(graph) == [['a', 'b', 'c', 'a']]
  found = imports(os.path.join(ROOT, 'gans', 'train.py'))
  assert 'gans.build' in found and 'common.checkpoint' in found


def test_no_package_imports_one_that_imports_it_back():
  assert package_cycles(library_modules()) == []


@pytest.mark.parametrize('module', sorted(library_modules()))
def test_no_module_imports_a_trainer_or_a_config(module):
  deps = library_modules()[module]
  assert not deps & (TRAINERS - {module}), f'{module} imports a trainer'
  assert not [d for d in deps if d.split('.')[0] == 'configs'], f'{module} imports configs/'
