"""Speed and agreement against reference implementations, side by side in one process."""
from common import host as _host

_host.keep_freed_memory()  # as launch.py runs the trainers, for both sides of each benchmark
