"""One live run per workdir: a lock the kernel drops when its process ends (SIGKILL too)."""
import contextlib
import fcntl
import os
import sys

from common import checks

LOCK_FILE = '.lock'


class BusyError(checks.ConfigError):
  """Another live process holds the workdir."""


@contextlib.contextmanager
def hold(workdir: str):
  """Holds `workdir` for this process (flock on workdir/.lock, which names the holder);
  BusyError if a live process holds it. The file goes when the hold ends."""
  path = os.path.join(workdir, LOCK_FILE)
  while True:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 4096).decode(errors='replace').strip() or 'another process'
      os.close(fd)
      raise BusyError(f'{workdir} is in use by a live run ({holder}); wait for it to end, '
                      f'stop it, or pass another --workdir.') from None
    try:  # the holder before us may have removed the file between our open and our lock
      if os.stat(path).st_ino == os.fstat(fd).st_ino:
        break
    except FileNotFoundError:
      pass
    os.close(fd)
  try:
    os.ftruncate(fd, 0)
    os.write(fd, f'pid {os.getpid()}: {" ".join(sys.argv)}'.encode())
    yield
  finally:
    os.unlink(path)
    os.close(fd)
