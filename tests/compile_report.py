"""Where the suite's time goes, test by test: an opt-in pytest plugin.

    .venv/bin/python -m pytest -p tests.compile_report --compile-report=DIR

Each pytest process (each xdist worker) records, per test (its fixtures' setup included),
the CPU seconds of its own process and the seconds JAX spent compiling (tracing, lowering,
XLA), read from jax.monitoring's events, and the CPU seconds of the child processes reaped
while it ran (launch.py jobs with their own processes, the browser test's Chromium), and
writes them to DIR/<worker>.json; the run ends with the totals and the tests that used the
most CPU. A child counts for the test during which it is waited for: one a module fixture
starts counts for the test that first asks for the fixture; one killed and never waited for
is not counted.
"""
import collections
import glob
import json
import os
import resource

import pytest

# jax.monitoring's duration events of a compile, by the names the report gives them
COMPILE_EVENTS = {'/jax/core/compile/jaxpr_trace_duration': 'tracing',
                  '/jax/core/compile/jaxpr_to_mlir_module_duration': 'lowering',
                  '/jax/core/compile/backend_compile_duration': 'xla'}
_records = collections.defaultdict(collections.Counter)
_current = [None]   # the test running now
_listening = [False]


def pytest_addoption(parser):
  parser.addoption('--compile-report', metavar='DIR', default='',
                   help='write per-test CPU and compile seconds to DIR')


def _listen(event, duration, **_):
  if _current[0] is not None and event in COMPILE_EVENTS:
    record = _records[_current[0]]
    record[COMPILE_EVENTS[event]] += duration
    record['compiles'] += event.endswith('backend_compile_duration')


def _worker(config) -> str:
  """This process's xdist worker id ('gw0'...), or '' in the process that reports."""
  return getattr(config, 'workerinput', {}).get('workerid', '')


def _cpu(who=resource.RUSAGE_SELF) -> float:
  usage = resource.getrusage(who)
  return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
  if not item.config.getoption('compile_report'):
    yield
    return
  if not _listening[0]:  # JAX imported here, after conftest.py has set its environment
    from jax import monitoring  # pylint: disable=g-import-not-at-top
    monitoring.register_event_duration_secs_listener(_listen)
    _listening[0] = True
  _current[0] = item.nodeid
  start, start_children = _cpu(), _cpu(resource.RUSAGE_CHILDREN)
  yield
  _records[item.nodeid]['cpu'] += _cpu() - start
  _records[item.nodeid]['subprocess_cpu'] += _cpu(resource.RUSAGE_CHILDREN) - start_children
  _current[0] = None


def pytest_sessionstart(session):
  folder = session.config.getoption('compile_report')
  if folder and not _worker(session.config):  # no records of an earlier run
    for path in glob.glob(os.path.join(folder, '*.json')):
      os.remove(path)


def pytest_sessionfinish(session):
  folder = session.config.getoption('compile_report')
  if folder and _records:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f'{_worker(session.config) or "main"}.json'), 'w') as f:
      json.dump({k: dict(v) for k, v in _records.items()}, f, indent=1)


def read(folder: str) -> dict[str, dict[str, float]]:
  """Every process's records in `folder`, by test."""
  out = {}
  for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
    with open(path) as f:
      out.update(json.load(f))
  return out


def summary(records: dict[str, dict[str, float]], top: int = 15) -> list[str]:
  """The report's lines: totals, then the `top` tests by CPU seconds, their own and their
  subprocesses'."""
  totals = collections.Counter()
  for record in records.values():
    totals.update(record)
  compile_s = lambda r: sum(r.get(k, 0.0) for k in COMPILE_EVENTS.values())
  both = lambda r: r.get('cpu', 0.0) + r.get('subprocess_cpu', 0.0)
  lines = [f"{len(records)} tests: {totals['cpu']:.1f} s of CPU in the pytest processes, "
           f"{compile_s(totals):.1f} s of it compiling ({totals['xla']:.1f} s XLA, "
           f"{totals['lowering']:.1f} s lowering, {totals['tracing']:.1f} s tracing; "
           f"{int(totals['compiles'])} compiles), {totals['subprocess_cpu']:.1f} s in "
           'their subprocesses',
           '   CPU s  subprocess CPU s  compile s  compiles  test']
  for name, record in sorted(records.items(), key=lambda kv: -both(kv[1]))[:top]:
    lines.append(f"{record.get('cpu', 0.0):8.1f} {record.get('subprocess_cpu', 0.0):17.1f} "
                 f"{compile_s(record):10.1f} {int(record.get('compiles', 0)):9d}  {name}")
  return lines


def pytest_terminal_summary(terminalreporter, config):
  folder = config.getoption('compile_report')
  if folder and not _worker(config):
    terminalreporter.section('CPU and compile time per test (tests/compile_report.py)')
    for line in summary(read(folder)):
      terminalreporter.write_line(line)
