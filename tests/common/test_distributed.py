"""Multi-process jobs on JAX's runtime (common/distributed.py, launch.py's flags), as a pod
slice or a SLURM job runs them, here as local CPU processes talking through gloo: the same
losses as one process, one writer, resume after a kill, a sweep's variants spread over the
processes' devices, a lost process ends the others with one line (and one that leaves
finished is not lost), process 0 alone running a one-device run, a held workdir and a bad
config refused by every process."""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from classifiers import sweep as classifier_sweep, train as classifier_train
from common import local_job, workdir as workdir_lib, writers
from configs import lenet, saliency, sweep_gan_mlp, sweep_mlp_lr, wgan_gp
from gans import sweep as gan_sweep, train as gan_train
from probes import saliency_run
from tests.conftest import config_on, subprocess_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GAN_STEPS = 8
GAN_FLAGS = ('--config=configs/wgan_gp.py:quick', f'--config.train.num_steps={GAN_STEPS}',
             '--config.eval.classifier_dir=')
LOSSES = ('d_loss', 'g_loss', 'gradient_penalty')


def _flags(workdir, data_dir, config, *more):
  return ('launch.py', config, f'--workdir={workdir}', f'--config.dataset.dir={data_dir}',
          '--config.dataset.download=False', *more)


def _start(*args, devices=4, **kwargs):
  env = subprocess_env(devices, PYTHONUNBUFFERED='1')
  return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs)


def _job(workdir, data_dir, *flags, devices=4, **kwargs):
  """Two local processes of `devices` devices each, one job (launch.py --local_processes)."""
  return _start(*_flags(workdir, data_dir, *flags), '--local_processes=2',
                f'--local_devices={devices}', devices=devices, **kwargs)


def _finish(proc, timeout=300):
  try:
    out, _ = proc.communicate(timeout=timeout)
  except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGKILL)  # the job's processes too, not only launch.py
    raise
  assert proc.returncode == 0, out[-3000:]
  return out


def _losses(workdir, keys=LOSSES):
  return [(r['step'], *(r[k] for k in keys)) for r in writers.read_metrics(workdir)]


@pytest.fixture(scope='module')
def gan_job(tmp_path_factory):
  """(data folder, workdir) of the main job's :quick recipe run as 2 processes x 1 device
  (the classifier job and the sweeps run several devices a process; here, gloo's collectives
  between 8 fake devices took 30 % more of the job's CPU: docs/contributing.md)."""
  from tests.conftest import make_idx_dir  # pylint: disable=g-import-not-at-top
  data_dir = make_idx_dir(tmp_path_factory.mktemp('data'))
  workdir = tmp_path_factory.mktemp('gan_job') / 'run'
  _finish(_job(workdir, data_dir, *GAN_FLAGS, devices=1))
  return data_dir, str(workdir)


def test_two_processes_log_the_losses_of_one_process(gan_job, tmp_path):
  data_dir, workdir = gan_job
  rows = _losses(workdir)
  assert [r[0] for r in rows] == [2, 4, 6, 8]  # process 0 alone wrote them
  summary = writers.read_json(os.path.join(workdir, 'summary.json'))
  assert summary['num_devices'] == 2 and summary['steps'] == GAN_STEPS
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['4', '8']
  for devices in (2, 1):  # one process: the same global batch on 2 devices, on 1
    config = config_on(wgan_gp, data_dir, train__num_steps=GAN_STEPS,
                       train__num_devices=devices, eval__classifier_dir='')
    gan_train.train_and_evaluate(config, str(tmp_path / str(devices)))
    if devices == 2:  # the same two-term sums, over gloo or in one process: bit-identical
      assert rows == _losses(str(tmp_path / '2'))
    # on 1 device float32 sums in another order: the losses (magnitudes ~1-15) 8e-8 apart
    # relative, the small gradient penalty 8e-9 absolute (after 8 steps)
    np.testing.assert_allclose(rows, _losses(str(tmp_path / str(devices))), rtol=1e-5,
                               atol=1e-5)


def test_a_process_lost_at_a_random_step_ends_the_job_in_one_line_and_the_rerun_resumes(
    gan_job, tmp_path):
  data_dir, reference = gan_job
  workdir = str(tmp_path / 'run')
  address = f'127.0.0.1:{local_job.free_port()}'  # started as a scheduler would: by flags
  flags = _flags(workdir, data_dir, *GAN_FLAGS, '--num_processes=2', '--failure_timeout=5',
                 f'--coordinator_address={address}')
  procs = [_start(*flags, f'--process_id={i}', devices=1) for i in range(2)]
  # after the row of step 2 or 4 of 8 (or just before step 4's checkpoint): at least four
  # steps and the last checkpoint are still to come, which the job cannot finish alone
  kill_after = random.Random().choice([1, 2])
  try:
    deadline = time.time() + 240
    while len(writers.read_metrics(workdir)) < kill_after:
      assert time.time() < deadline and all(p.poll() is None for p in procs)
      time.sleep(0.1)
    procs[1].kill()  # SIGKILL: no goodbye, as when a host dies
    killed = time.time()
    out, _ = procs[0].communicate(timeout=120)
  finally:
    for p in procs:
      if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
  assert time.time() - killed < 5 + 10  # the failure timeout, and the watch's polling
  assert procs[0].returncode == 1, out[-3000:]
  last = out.strip().splitlines()[-1]
  assert last.startswith('launch.py: process 0: process 1 of the job stopped answering'), last
  procs[1].communicate()
  out = _finish(_job(workdir, data_dir, *GAN_FLAGS, devices=1))
  assert _losses(workdir) == _losses(reference), (kill_after, out[-2000:])  # bit-identical


def test_a_classifier_job_matches_one_process(gan_job, tmp_path):
  data_dir, _ = gan_job
  flags = ('--config=configs/lenet.py:quick', '--config.dataset.name=fashion_mnist',
           '--config.train.num_devices=0')
  _finish(_job(tmp_path / 'job', data_dir, *flags))
  keys = ('train_loss', 'test_loss', 'test_accuracy')
  rows = _losses(str(tmp_path / 'job'), keys)
  assert [r[0] for r in rows] == [16, 32]  # two epochs of 16 steps, one writer
  for devices in (8, 1):
    config = config_on(lenet, data_dir, dataset__name='fashion_mnist',
                       train__num_devices=devices)
    classifier_train.train_and_evaluate(config, str(tmp_path / str(devices)))
    np.testing.assert_allclose(rows, _losses(str(tmp_path / str(devices)), keys), rtol=1e-5)


def test_a_sweep_of_eight_variants_on_two_processes_matches_one_device(gan_job, tmp_path):
  data_dir, _ = gan_job
  values = '(1e-4, 2e-4, 5e-4, 1e-3)'  # x 2 seeds: a variant on each of the 8 devices
  _finish(_job(tmp_path / 'job', data_dir, '--config=configs/sweep_gan_mlp.py:quick',
               '--config.eval.classifier_dir=', f'--config.sweep.axis_values={values}'))
  rows = writers.read_json(str(tmp_path / 'job' / 'results.json'))
  config = config_on(sweep_gan_mlp, data_dir, train__num_devices=1, eval__classifier_dir='')
  config.sweep.axis_values = (1e-4, 2e-4, 5e-4, 1e-3)
  alone = gan_sweep.train_and_evaluate(config, str(tmp_path / 'alone'))['rows']
  assert len(rows) == len(alone) == 8
  for job_row, row in zip(rows, alone):
    assert (job_row['value'], job_row['seed']) == (row['value'], row['seed'])
    np.testing.assert_allclose(job_row['loss_curve'], row['loss_curve'], rtol=1e-5, atol=1e-6)


def test_a_classifier_sweep_of_eight_variants_on_two_processes_matches_one_device(
    gan_job, tmp_path):
  data_dir, _ = gan_job
  values = '(0.01, 0.03, 0.1, 0.3)'  # x 2 seeds: a variant on each of the 8 devices
  _finish(_job(tmp_path / 'job', data_dir, '--config=configs/sweep_mlp_lr.py:quick',
               '--config.train.num_devices=0', f'--config.sweep.axis_values={values}'))
  rows = writers.read_json(str(tmp_path / 'job' / 'results.json'))
  config = config_on(sweep_mlp_lr, data_dir, train__num_devices=1)
  config.sweep.axis_values = (0.01, 0.03, 0.1, 0.3)
  alone = classifier_sweep.train_and_evaluate(config, str(tmp_path / 'alone'))['rows']
  assert len(rows) == len(alone) == 8
  for job_row, row in zip(rows, alone):
    assert (job_row['value'], job_row['seed']) == (row['value'], row['seed'])
    assert job_row['test_accuracy'] == pytest.approx(row['test_accuracy'], abs=1e-6)
    assert job_row['test_loss'] == pytest.approx(row['test_loss'], rel=1e-5)


def test_a_one_device_run_is_process_0s_and_so_is_its_error(tiny_classifier, tmp_path):
  _, classifier_dir = tiny_classifier
  job = [f'--workdir={tmp_path / "job"}', '--config=configs/saliency.py:quick',
         '--local_processes=2', '--local_devices=1']
  _finish(_start('launch.py', *job, f'--config.eval.classifier_dir={classifier_dir}'))
  config = saliency.get_config('quick')
  config.eval.classifier_dir = str(classifier_dir)
  alone = saliency_run.train_and_evaluate(config, str(tmp_path / 'alone'))
  summary = writers.read_json(str(tmp_path / 'job' / 'summary.json'))
  # process 0 computed it, as one process does (to float32 rounding: pinned to one core, as
  # under the suite's workers, this process and the job's round Winograd's matmuls apart,
  # 9e-7 relative; equal on two cores)
  assert summary['num_images'] == alone['num_images']
  for key in ('ig_completeness_error', 'ig_completeness_error_median'):
    assert summary[key] == pytest.approx(alone[key], rel=1e-5), key
  assert sorted(os.listdir(tmp_path / 'job')) == sorted(os.listdir(tmp_path / 'alone') + [
      'config.json'])  # what one process writes, and no stray files
  # an error of process 0's run (the classifier cannot be loaded) ends both with its line
  proc = _start('launch.py', *job, f'--config.eval.classifier_dir={tmp_path / "none"}',
                devices=1)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 2, out[-3000:]
  lines = [l for l in out.splitlines() if l.startswith('launch.py:')]
  assert len(lines) == 2 and lines[0] == lines[1] and 'eval.classifier_dir' in lines[0], out
  assert 'Traceback' not in out


def test_every_process_refuses_a_held_workdir_a_bad_config_or_bad_cluster_flags(tmp_path):
  from tests.conftest import make_idx_dir  # pylint: disable=g-import-not-at-top
  (tmp_path / "held").mkdir()
  with workdir_lib.hold(str(tmp_path / "held")):  # as a live run holds it
    job = _job(tmp_path / 'held', make_idx_dir(tmp_path), *GAN_FLAGS)
    out, _ = job.communicate(timeout=240)
  assert job.returncode == 2, out[-3000:]
  refusals = [l for l in out.splitlines() if l.startswith('launch.py:')]
  assert len(refusals) == 2 and all('is in use by a live run' in l for l in refusals), out

  for flags, needle in [
      (('--config.train.bogus=1', '--num_processes=2', '--process_id=1',
        '--coordinator_address=127.0.0.1:1'), 'config.train has no key'),
      (('--process_id=0',), '--coordinator_address is missing'),
      (('--num_processes=2', '--process_id=2', '--coordinator_address=127.0.0.1:1'),
       'expected 0 <= process_id < num_processes')]:
    proc = _start(*_flags(tmp_path / 'run', tmp_path, '--config=configs/wgan_gp.py:quick',
                          *flags), devices=1)
    out, _ = proc.communicate(timeout=60)  # no waiting for the other processes
    assert proc.returncode == 2, out[-3000:]
    assert needle in out.strip().splitlines()[-1] and 'Traceback' not in out, out[-3000:]


# Process 0 slowed down just after the end-of-job barrier, while process 1 leaves: it left
# finished, so process 0's watch, polling every second meanwhile, must not take it for lost.
_LATE_FINISHER = '''
import sys, time
from jax.experimental import multihost_utils
from common import distributed
barrier = multihost_utils.sync_global_devices
def late_on_0(name):
  barrier(name)
  if distributed.is_main():
    time.sleep(3)
multihost_utils.sync_global_devices = late_on_0
finish = distributed.initialize(distributed.Cluster(
    coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2]),
    failure_timeout=4))
finish()
print('finished')
'''


def test_a_process_that_leaves_finished_is_not_taken_for_lost():
  address = f'127.0.0.1:{local_job.free_port()}'
  procs = [_start('-c', _LATE_FINISHER, address, str(i), devices=1) for i in range(2)]
  try:
    for proc in procs:
      out = _finish(proc, timeout=120)
      assert out.strip().splitlines()[-1] == 'finished', out[-3000:]
  finally:
    for proc in procs:
      if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
