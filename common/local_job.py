"""N processes of one launch.py command on this machine: a multi-process job to try or test.

On a real cluster the scheduler starts the processes (gcloud's --worker=all, srun, mpirun);
here `python launch.py --local_processes=N ...` starts N copies of the same command, each
told the coordinator (127.0.0.1 and a free port), the number of processes and its index.
With `--local_devices=K` each CPU process shows K devices (XLA's fake host devices), so 2
processes of 4 devices make the same 8-device mesh one process makes with 8.
"""
import os
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def child_environment(local_devices: int) -> dict:
  env = dict(os.environ)
  if local_devices:
    flags = [f for f in env.get('XLA_FLAGS', '').split()
             if not f.startswith('--xla_force_host_platform_device_count')]
    env['XLA_FLAGS'] = ' '.join(flags + [f'--xla_force_host_platform_device_count={local_devices}'])
  return env


def run(argv: list[str], num_processes: int, local_devices: int = 0,
        failure_timeout: int = 60) -> int:
  """Runs `argv` (a launch.py command without the local flags) as `num_processes` processes
  and waits for all of them; returns the first non-zero exit code (0 if all succeeded).
  SIGTERM and Ctrl-C reach every process (each saves and stops). When one fails, the others
  stop by themselves within the job's failure timeout; any still running some time after
  that are killed here, so the command never hangs."""
  address = f'127.0.0.1:{free_port()}'
  env = child_environment(local_devices)
  procs = [subprocess.Popen([*argv, f'--coordinator_address={address}',
                             f'--num_processes={num_processes}', f'--process_id={i}',
                             f'--failure_timeout={failure_timeout}'], env=env)
           for i in range(num_processes)]

  def forward(signum, frame):  # pylint: disable=unused-argument
    for p in procs:
      if p.poll() is None:
        p.send_signal(signum)

  previous = signal.signal(signal.SIGTERM, forward)
  failed_at = None
  try:
    while any(p.poll() is None for p in procs):
      if failed_at is None and any(p.poll() for p in procs):
        failed_at = time.monotonic()
      if failed_at is not None and time.monotonic() - failed_at > failure_timeout + 30:
        for p in procs:
          if p.poll() is None:
            p.kill()
      try:
        time.sleep(0.2)
      except KeyboardInterrupt:  # the children got the Ctrl-C too: they save and stop
        pass
  finally:
    signal.signal(signal.SIGTERM, previous)
  return next((p.returncode for p in procs if p.returncode), 0)


def main_argv() -> list[str]:
  """This command line less the local-job flags: what each process runs."""
  out, skip = [sys.executable], False
  for a in sys.argv:
    if skip:
      skip = False
      continue
    if a in ('--local_processes', '--local_devices'):
      skip = True
      continue
    if a.startswith(('--local_processes=', '--local_devices=')):
      continue
    out.append(a)
  return out
