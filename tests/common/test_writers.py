"""common/writers.py: the metric writer's TensorBoard events, written without torch."""
import glob
import importlib.util
import os
import struct
import subprocess
import sys

from tensorboardX.proto import event_pb2

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
