"""Speed and agreement against reference implementations, side by side in one process."""


def run(main):
  """absl's app.run(main) after the allocator setting launch.py gives the trainers
  (common/host.keep_freed_memory), so that both sides of a benchmark run with it."""
  from absl import app  # pylint: disable=g-import-not-at-top
  from common import host  # pylint: disable=g-import-not-at-top
  host.keep_freed_memory()
  app.run(main)
