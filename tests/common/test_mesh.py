"""common/mesh.py: a batch splits evenly over the devices that share it, on a run's mesh and
on a sweep's, whose variant axes hold whole batches."""
import jax
import pytest

from common import checks, mesh as mesh_lib


@pytest.mark.skipif(jax.device_count() < 8, reason='needs 8 (fake) devices: see conftest')
def test_a_batch_must_split_evenly_over_the_devices_that_share_it():
  mesh = mesh_lib.data_mesh(8)
  mesh_lib.check_batch_divides(16, mesh)
  with pytest.raises(checks.ConfigError,
                     match=r'config.train.batch_size = 12 .* share a batch \(8\)'):
    mesh_lib.check_batch_divides(12, mesh)
  variants = mesh_lib.variant_mesh(mesh, seeds=2, values=1)  # 4 devices per variant
  mesh_lib.check_batch_divides(12, variants)
  with pytest.raises(checks.ConfigError, match=r'= 6 .* share a batch \(4\)'):
    mesh_lib.check_batch_divides(6, variants)
