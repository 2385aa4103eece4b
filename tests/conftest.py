"""Eight fake CPU devices for sharding tests; set before JAX starts, as JAX reads it once.

Compiling is much of the suite's time (on a cold cache, the compile events of the pytest
processes alone summed to 305 s of their 555 s of CPU, measured with tests/compile_report.py;
the launch.py subprocesses compile too), so the tests compile with XLA's optimizations
mostly off (JAX_DISABLE_MOST_OPTIMIZATIONS: the same programs, built faster
and run slower; tiny data makes that the better trade), with XLA's older loop-fusion
emitter (FAST_COMPILE_XLA_FLAGS: half the XLA compile time of the main job's train step)
and each program's code generated as one piece (XLA splits it over threads, which only
contend here, where every core is busy), and cache compiled programs on disk for the
session (the end-to-end tests and the launch.py subprocesses compile the same steps several
times). Subprocesses get the same settings (subprocess_env). Each xdist worker runs on its
own share of the cores, so the workers' thread pools do not contend either. Networks run
under jit, not op by op: each eager op is a compile of its own. The tests that run
launch.py as a newcomer does (tests/test_front_door.py) drop the cache and the fake
devices; the main job's among them drops all of it, so the compiled path users get is
tested too.
"""
import contextlib
import fcntl
import json
import os
import pathlib
import sys
import tempfile

# (XLA aborts on a flag it does not know: check these when jaxlib's pin moves; a split count
# of 1 refuses kernels with their own compile options, which only CPU autotuning sets)
FAST_COMPILE_XLA_FLAGS = ('--xla_cpu_use_fusion_emitters=false'
                          ' --xla_cpu_parallel_codegen_split_count=1')
os.environ['XLA_FLAGS'] = (f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_XLA_FLAGS}"
                           ' --xla_force_host_platform_device_count=8').strip()
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR',
                      os.path.join(tempfile.gettempdir(), 'jax_classics_test_xla_cache'))
os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = '0'
os.environ.setdefault('JAX_DISABLE_MOST_OPTIMIZATIONS', '1')

# Each xdist worker on its own share of the cores (before XLA sizes its thread pools from
# them), as are the subprocesses it starts: the workers' threads would otherwise contend.
MACHINE_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else []
_WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
_WORKER = os.environ.get('PYTEST_XDIST_WORKER', '').removeprefix('gw')
if 1 < _WORKERS <= len(MACHINE_CORES) and _WORKER.isdigit():  # (a restarted worker: gw2...)
  os.sched_setaffinity(0, MACHINE_CORES[int(_WORKER) % _WORKERS::_WORKERS])


def on_every_core(args: list[str]) -> list[str]:
  """The command `python *args` run on every core of the machine, not only this test
  worker's share (for tests of how a process pins itself)."""
  if not MACHINE_CORES:
    return [sys.executable, *args]
  return [sys.executable, '-c', f'import os, sys; os.sched_setaffinity(0, {MACHINE_CORES}); '
          'os.execv(sys.executable, [sys.executable, *sys.argv[1:]])', *args]

import gzip  # pylint: disable=g-import-not-at-top,wrong-import-position

import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def subprocess_env(devices: int = 1, **more: str) -> dict:
  """The environment of a test's subprocess: this one's (its compile settings and cache)
  with `devices` fake CPU devices, plus `more`."""
  from common import local_job  # pylint: disable=g-import-not-at-top
  return dict(local_job.child_environment(devices), **more)


def changed_copy(file: str, folder, offset: int) -> str:
  """A copy of `file` in `folder` with one bit flipped at `offset` (a corrupt shipped file)."""
  copy = os.path.join(folder, os.path.basename(file))
  with open(file, 'rb') as f:
    data = bytearray(f.read())
  data[offset] ^= 1
  with open(copy, 'wb') as f:
    f.write(data)
  return copy


def write_idx(path, array: np.ndarray) -> None:
  """Writes `array` (uint8) as a gzipped IDX file, the MNIST format."""
  header = bytes([0, 0, 0x08, array.ndim]) + b''.join(
      int(d).to_bytes(4, 'big') for d in array.shape)
  with gzip.open(path, 'wb') as f:
    f.write(header + array.astype(np.uint8).tobytes())


def make_idx_dir(path):
  """A tiny MNIST-format dataset in `path`: 10 classes of distinct blobs, 256 train / 64 test
  images."""
  rng = np.random.default_rng(0)

  def make(n):
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, y in enumerate(labels):
      r, c = divmod(int(y), 4)
      images[i, 4 + 6 * r:10 + 6 * r, 2 + 6 * c:8 + 6 * c] = 200
    images = np.clip(images + rng.integers(0, 40, images.shape), 0, 255).astype(np.uint8)
    return images, labels

  for prefix, n in (('train', 256), ('t10k', 64)):
    images, labels = make(n)
    write_idx(path / f'{prefix}-images-idx3-ubyte.gz', images)
    write_idx(path / f'{prefix}-labels-idx1-ubyte.gz', labels)
  return path


@pytest.fixture
def idx_dir(tmp_path):
  return make_idx_dir(tmp_path)


def config_on(module, data_dir, arg='quick', **overrides):
  """`module`'s config for `arg` on the files in `data_dir` (no download); overrides are
  section__key=value."""
  config = module.get_config(arg)
  config.dataset.dir = str(data_dir)
  config.dataset.download = False
  for key, value in overrides.items():
    section, name = key.split('__')
    config[section][name] = value
  return config


def train_tiny_classifier(data_dir, workdir) -> str:
  """The evaluation classifier's :quick recipe on the tiny dataset (test accuracy ~1)."""
  from classifiers import train  # pylint: disable=g-import-not-at-top
  from common import writers  # pylint: disable=g-import-not-at-top
  from configs import eval_classifier  # pylint: disable=g-import-not-at-top
  config = config_on(eval_classifier, data_dir, train__num_epochs=4, train__batch_size=32,
                     train__augment='none')
  writers.write_config(config, str(workdir))  # as launch.py does
  summary = train.train_and_evaluate(config, str(workdir))
  assert summary['test_accuracy'] > 0.5
  return str(workdir)


def once_per_run(tmp_path_factory, name: str, build) -> tuple[str, ...]:
  """`build(folder) -> paths` run once for the whole pytest run: under xdist the first worker
  that asks builds it in the run's shared temporary folder while the others wait, then all
  read the paths it returned (pytest-xdist's recipe for session fixtures, with a file lock)."""
  if 'PYTEST_XDIST_WORKER' not in os.environ:
    return tuple(map(str, build(tmp_path_factory.mktemp(name))))
  shared = tmp_path_factory.getbasetemp().parent  # the run's folder, its workers' parent
  with open(shared / f'{name}.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
    built = shared / f'{name}.json'
    if not built.exists():  # (a build that failed left no record: the next one starts anew)
      folder = pathlib.Path(tempfile.mkdtemp(prefix=name, dir=shared))
      built.write_text(json.dumps(list(map(str, build(folder)))))
    return tuple(json.loads(built.read_text()))


@pytest.fixture(scope='session')
def tiny_classifier(tmp_path_factory):
  """(tiny dataset folder, workdir of a classifier trained on it), shared by the run."""
  def build(folder):
    (folder / 'data').mkdir()
    (folder / 'classifier').mkdir()
    data_dir = make_idx_dir(folder / 'data')
    return data_dir, train_tiny_classifier(data_dir, folder / 'classifier')
  return once_per_run(tmp_path_factory, 'tiny_classifier', build)


# The files that take longest (pytest --durations=0, summed per file), started first: with
# two workers each taking whole files (pytest.ini), a long file started last leaves the other
# worker idle at the end. The order changes only the wall time.
SLOWEST_FILES = ('tests/common/test_distributed.py', 'tests/gans/test_train_end_to_end.py',
                 'tests/test_front_door.py', 'tests/transfer/test_transfer_fmnist.py',
                 'tests/gans/app/test_site.py',
                 'tests/gans/test_sweep.py', 'tests/transfer/test_convert.py',
                 'tests/transfer/test_vgg16_runs.py', 'tests/classifiers/test_train_end_to_end.py',
                 'tests/probes/test_probe_runs.py', 'tests/gans/test_gan_step.py')


def pytest_collection_modifyitems(items):
  missing = [f for f in SLOWEST_FILES if not os.path.isfile(os.path.join(ROOT, f))]
  assert not missing, f'tests/conftest.SLOWEST_FILES names files that are gone: {missing}'
  rank = {name: i for i, name in enumerate(SLOWEST_FILES)}
  items.sort(key=lambda item: rank.get(item.nodeid.split('::')[0], len(rank)))


@contextlib.contextmanager
def config_walk(config):
  """Yields a list that fills with the project files reading `config`'s keys, in order, a
  file once per visit (consecutive reads from one file are one visit): how deep the config
  travels below a trainer. It sees reads of the config and its sections by attribute, item,
  `get` and `in`, not through `to_dict`, `items` or `values`."""
  from ml_collections import config_dict  # pylint: disable=g-import-not-at-top
  cls = config_dict.ConfigDict
  ours = {id(config)} | {id(v) for v in config.values() if isinstance(v, cls)}
  walk, originals = [], {name: getattr(cls, name)
                         for name in ('__getattr__', '__getitem__', '__contains__', 'get')}

  def recording(name):
    def read(self, *args, **kwargs):
      if id(self) in ours:
        frame = sys._getframe(1)  # pylint: disable=protected-access
        while frame.f_code.co_filename in (__file__, sys.modules[cls.__module__].__file__):
          frame = frame.f_back
        file = os.path.relpath(frame.f_code.co_filename, ROOT)
        if not walk or walk[-1] != file:
          walk.append(file)
      return originals[name](self, *args, **kwargs)
    return read

  try:
    for name in originals:
      setattr(cls, name, recording(name))
    yield walk
  finally:
    for name, method in originals.items():
      setattr(cls, name, method)
