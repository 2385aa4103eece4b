"""common/writers.py: files written whole by each of several writers, the metric writer's
TensorBoard events written without torch."""
import glob
import importlib.util
import os
import pathlib
import struct
import subprocess
import sys

import pytest
from tensorboardX.proto import event_pb2

from common import writers
from tests.conftest import ROOT



def _scalars(workdir) -> list[tuple[int, str, float]]:
  """(step, tag, value) of every scalar in the run's event files (TFRecord framing: length,
  its CRC, the Event proto, its CRC)."""
  out = []
  for path in glob.glob(os.path.join(workdir, 'tensorboard', 'events.out.tfevents.*')):
    with open(path, 'rb') as f:
      data = f.read()
    at = 0
    while at < len(data):
      (length,) = struct.unpack('<Q', data[at:at + 8])
      event = event_pb2.Event.FromString(data[at + 12:at + 12 + length])
      at += 12 + length + 4
      out += [(event.step, v.tag, v.simple_value) for v in event.summary.value]
  return out


def test_the_metric_writer_leaves_torch_unimported(tmp_path):
  """tensorboardX imports torch where it is installed (1.5-2 s of every run's start-up);
  the writer hides it, and the events still hold the scalars."""
  assert importlib.util.find_spec('torch'), 'the test environment has torch (requirements-test)'
  script = ('import sys; from common import writers; w = writers.MetricWriter(sys.argv[1]); '
            "w.write_scalars(3, {'loss': 0.5}); w.close(); print('torch' in sys.modules)")
  out = subprocess.run([sys.executable, '-c', script, str(tmp_path)], cwd=ROOT, check=True,
                       capture_output=True, text=True).stdout
  assert out.strip() == 'False'
  assert _scalars(tmp_path) == [(3, 'loss', 0.5)]


def test_two_writers_of_one_path_at_once_each_leave_it_whole(tmp_path):
  """As two processes of a job downloading one dataset file into a shared folder: the
  second writer starts while the first is still writing; neither sees the other's file."""
  path = str(tmp_path / 'train-images-idx3-ubyte.gz')
  with writers.whole_file(path) as first:
    first.write(b'a' * 10)
    writers.write_bytes(path, b'b' * 20)   # the second writer, start to end
    assert pathlib.Path(path).read_bytes() == b'b' * 20
    first.write(b'a' * 10)
  assert pathlib.Path(path).read_bytes() == b'a' * 20   # the last to finish wins, whole
  assert os.listdir(tmp_path) == ['train-images-idx3-ubyte.gz']


def test_a_failed_write_leaves_no_file(tmp_path):
  path = str(tmp_path / 'features.npz')
  with pytest.raises(ConnectionResetError):
    with writers.whole_file(path) as f:
      f.write(b'half')
      raise ConnectionResetError('the download stopped')
  assert os.listdir(tmp_path) == []
