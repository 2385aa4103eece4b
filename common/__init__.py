"""What several experiment families share: data, checkpoints, writers, images, mesh, loop."""

from common import host as _host

_host.keep_freed_memory()  # before any large array: every entry point imports common
