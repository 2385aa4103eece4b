"""What a run writes as it goes: metrics.jsonl, TensorBoard events, JSON files."""
import contextlib
import json
import logging
import os
import sys
import urllib.request
import uuid

import numpy as np


@contextlib.contextmanager
def whole_file(path: str):
  """A binary file object whose contents appear at `path` whole or not at all, to readers and
  if the writer fails (no fsync: a machine's crash is another matter): written under a name
  of its own beside `path`, then renamed over it; removed if the writing raises (a process
  killed outright leaves its `path.*.tmp`). Each writer has its own name, so processes
  writing the same path at once (the hosts of a job downloading a dataset into one folder)
  never write into one file; the last to finish replaces the others' copies."""
  tmp = f'{path}.{uuid.uuid4().hex}.tmp'
  try:
    with open(tmp, 'xb') as f:
      yield f
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise


def download(url: str, path: str, timeout_s: float) -> None:
  """`url` streamed into `path`, which appears whole or not at all (`whole_file`); raises
  OSError (a timeout included) when the network fails."""
  with urllib.request.urlopen(url, timeout=timeout_s) as response, whole_file(path) as f:
    while chunk := response.read(1 << 20):
      f.write(chunk)


def write_bytes(path: str, data: bytes) -> None:
  """Writes `path` whole or not at all: a reader never sees half a file."""
  with whole_file(path) as f:
    f.write(data)


def write_json(path: str, obj) -> None:
  write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=_to_builtin)
                     + '\n').encode())


def write_config(config, workdir: str) -> list[str]:
  """workdir/config.json: the resolved config (what loaders rebuild models from); warns when
  a rerun in the same workdir changes it, and returns the keys that changed."""
  path = os.path.join(workdir, 'config.json')
  resolved = json.loads(config.to_json_best_effort())
  previous = read_json(path)
  changed = sorted(_diff(previous, resolved)) if previous is not None else []
  if changed:
    logging.warning('The config differs from the one saved in %s in: %s',
                    workdir, ', '.join(changed))
  write_json(path, resolved)
  return changed


def _diff(a, b, prefix=''):
  for key in set(a) | set(b):
    x, y = a.get(key), b.get(key)
    if isinstance(x, dict) and isinstance(y, dict):
      yield from _diff(x, y, f'{prefix}{key}.')
    elif x != y:
      yield prefix + key


def read_json(path: str, default=None):
  if not os.path.exists(path):
    return default
  with open(path) as f:
    return json.load(f)


def read_metrics(workdir: str) -> list[dict]:
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def _to_builtin(x):
  if isinstance(x, np.generic):
    return x.item()
  if isinstance(x, np.ndarray):
    return x.tolist()
  raise TypeError(f'{type(x).__name__} is not JSON serialisable')


class MetricWriter:
  """One JSON row per log step in metrics.jsonl, the same scalars to TensorBoard.

  `resume_step` drops rows (and TensorBoard events) past the step a run restarts from,
  so a run killed after its last checkpoint leaves no duplicate rows once resumed.
  Only process 0 writes (multi-host runs).
  """

  def __init__(self, workdir: str, resume_step: int = 0, enabled: bool = True):
    self.enabled = enabled
    self.path = os.path.join(workdir, 'metrics.jsonl')
    self._tb = None
    if not enabled:
      return
    kept = [r for r in read_metrics(workdir) if r['step'] <= resume_step]
    with open(self.path, 'w') as f:
      f.writelines(json.dumps(r) + '\n' for r in kept)
    self._tb = _summary_writer()(os.path.join(workdir, 'tensorboard'),
                             purge_step=resume_step + 1 if resume_step else None)

  def write_scalars(self, step: int, scalars: dict) -> None:
    if not self.enabled:
      return
    row = {'step': int(step), **{k: float(v) for k, v in scalars.items()}}
    with open(self.path, 'a') as f:
      f.write(json.dumps(row) + '\n')
    for k, v in row.items():
      if k != 'step':
        self._tb.add_scalar(k, v, step)

  def write_image(self, tag: str, step: int, image_uint8: np.ndarray) -> None:
    if self.enabled:
      self._tb.add_image(tag, image_uint8, step, dataformats='HWC')

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def _summary_writer():
  """tensorboardX's SummaryWriter, imported with torch hidden: where torch is installed,
  tensorboardX imports it (1.5-2 s per process) only to accept its tensors, which no run here
  writes."""
  hide = 'torch' not in sys.modules
  if hide:
    sys.modules['torch'] = None  # `import torch` raises ImportError, which tensorboardX expects
  try:
    from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
  finally:
    if hide:
      del sys.modules['torch']
  return SummaryWriter
