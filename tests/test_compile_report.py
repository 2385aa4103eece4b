"""tests/compile_report.py, the opt-in plugin that says where the suite's time goes: run on a
made-up test file, and its summary on made-up records."""
import os
import subprocess
import sys

from tests import compile_report
from tests.conftest import ROOT

TESTS = '''
import subprocess, sys
import jax, jax.numpy as jnp

def test_compiles():
  assert float(jax.jit(lambda x: jnp.sin(x) * 2)(1.0)) != 0

def test_compiles_nothing():
  assert sum(range(10 ** 6)) > 0

def test_starts_a_process():
  subprocess.run([sys.executable, '-c', 'sum(range(10 ** 7))'], check=True)
'''


def test_a_run_records_each_tests_cpu_compiles_and_subprocesses(tmp_path):
  (tmp_path / 'test_made_up.py').write_text(TESTS)
  folder = tmp_path / 'report'
  folder.mkdir()
  (folder / 'gw7.json').write_text('{"stale::test": {"cpu": 1.0}}')  # an earlier run's
  env = dict(os.environ, PYTHONPATH=ROOT, JAX_COMPILATION_CACHE_DIR='')
  result = subprocess.run(
      [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p',
       'tests.compile_report', f'--compile-report={folder}', 'test_made_up.py'],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  records = compile_report.read(str(folder))
  jitted, plain, starter = (records[f'test_made_up.py::test_{name}'] for name in (
      'compiles', 'compiles_nothing', 'starts_a_process'))
  assert len(records) == 3
  assert jitted['compiles'] == 1 and jitted['xla'] > 0 and jitted['lowering'] > 0  # the jit
  assert jitted['cpu'] >= jitted['xla']  # compiling is part of the process's CPU time
  assert plain.get('compiles', 0) == 0 and plain['cpu'] > 0
  # a child summing 10^7 ints (~0.2 s), counted apart from the test process's own CPU
  assert plain['subprocess_cpu'] == 0 and starter['subprocess_cpu'] > 0.05
  assert '3 tests:' in result.stdout and 's in their subprocesses' in result.stdout
  assert 'test_made_up.py::test_compiles' in result.stdout


def test_the_summary_adds_up_and_ranks_by_cpu_subprocesses_included():
  records = {'a': {'cpu': 2.0, 'xla': 0.5, 'lowering': 0.25, 'tracing': 0.25, 'compiles': 3,
                   'subprocess_cpu': 4.0},
             'b': {'cpu': 5.0}}
  lines = compile_report.summary(records, top=1)
  assert lines[0] == ('2 tests: 7.0 s of CPU in the pytest processes, 1.0 s of it compiling '
                      '(0.5 s XLA, 0.2 s lowering, 0.2 s tracing; 3 compiles), 4.0 s in their '
                      'subprocesses')
  assert len(lines) == 3 and lines[2].split() == ['2.0', '4.0', '1.0', '3', 'a']
