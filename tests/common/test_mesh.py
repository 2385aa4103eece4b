"""common/mesh.py: a batch splits evenly over the devices that share it, on a run's mesh and
on a sweep's, whose variant axes hold whole batches; it fits the training set."""
import jax
import pytest

from common import checks, mesh as mesh_lib


@pytest.mark.skipif(jax.device_count() < 8, reason='needs 8 (fake) devices: see conftest')
def test_a_batch_must_split_evenly_over_the_devices_that_share_it():
  mesh = mesh_lib.training_mesh(8, 16, 256)
  assert dict(mesh.shape) == {'data': 8}
  with pytest.raises(checks.ConfigError,
                     match=r'config.train.batch_size = 12 .* share a batch \(8\)'):
    mesh_lib.training_mesh(0, 12, 256)
  variants = mesh_lib.training_mesh(8, 12, 256, seeds=2, values=1)  # 4 devices per variant
  assert dict(variants.shape) == {'seeds': 2, 'values': 1, 'data': 4}
  with pytest.raises(checks.ConfigError, match=r'= 6 .* share a batch \(4\)'):
    mesh_lib.training_mesh(8, 6, 256, seeds=2, values=1)
  with pytest.raises(checks.ConfigError, match=r'batch_size.*at most the 256 training'):
    mesh_lib.training_mesh(1, 512, 256)
