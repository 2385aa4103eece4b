"""common/mesh.py: a batch splits evenly over the devices that share it, on a run's mesh and
on a sweep's, whose variant axes hold whole batches; it fits the training set. Batches of a
one-network pass (batching.in_batches) split over a mesh where they can."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from common import batching, checks, mesh as mesh_lib


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


@pytest.mark.skipif(jax.device_count() < 8, reason='needs 8 (fake) devices: see conftest')
def test_batches_split_over_a_mesh_where_they_split_evenly_and_give_what_one_device_does():
  mesh = mesh_lib.data_mesh(8)
  x = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
  fn = jax.jit(lambda w, b: jnp.tanh(b @ w), out_shardings=mesh_lib.replicated(mesh))
  w = mesh_lib.put_replicated(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), mesh)
  alone = batching.in_batches(lambda b: jnp.tanh(b @ np.asarray(w)), (x,), 8)
  for batch_size, spec in ((8, P('data')), (6, P())):  # 6 over 8: whole
    assert mesh_lib.batch_or_replicated(mesh, batch_size).spec == spec
    placed = []
    out = batching.in_batches(lambda b: placed.append(b.sharding.spec) or fn(w, b), (x,),
                              batch_size, mesh)
    assert set(placed) == {spec} and out.shape == (20, 4)
    np.testing.assert_allclose(out, alone, rtol=1e-6)
