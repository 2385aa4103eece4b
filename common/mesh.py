"""Data parallelism: one global-view jit over a ('data',) mesh; batch sharded, state replicated."""
import dataclasses
import math

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from common import checks

DATA_AXIS = 'data'
VARIANT_AXIS = 'variants'  # a sweep's variants, each on its own devices


def data_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
  """A 1-D mesh over the first `num_devices` devices (all of them by default, across hosts)."""
  devices = jax.devices()
  n = len(devices) if num_devices is None else num_devices
  if not 1 <= n <= len(devices):
    raise ValueError(f'num_devices={n}: this process sees {len(devices)} devices.')
  return jax.make_mesh((n,), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,),
                       devices=devices[:n])


def variant_mesh(mesh, **counts: int) -> jax.sharding.Mesh:
  """`mesh`'s devices as a (*counts, 'data') mesh for a sweep whose variants are stacked on
  the named axes (`variants=8`; a classifier sweep's `seeds=2, values=4`): each axis gets as
  many devices as divide its count and the devices left (8 variants on 8 devices: one each),
  the rest split each variant's batch."""
  devices = mesh.devices.reshape(-1)
  shape, left = [], devices.size
  for count in counts.values():
    shape.append(math.gcd(count, left))
    left //= shape[-1]
  return jax.sharding.Mesh(devices.reshape(*shape, left), (*counts, DATA_AXIS),
                           axis_types=(jax.sharding.AxisType.Auto,) * (len(counts) + 1))


def stacked_shardings(state, mesh, stacked_on: dict):
  """Where a sweep's stacked state (a dataclass of fields) lives on a variant mesh: each
  field over the mesh axes it is stacked on, in order. `stacked_on` maps a mesh axis to the
  vmap axes of the state's fields (None: not stacked there), e.g. {'variants': STATE_AXES};
  a field stacked on none (the shared step) is on every device."""
  def field(name):
    axes = [axis for axis, in_axes in stacked_on.items()
            if getattr(in_axes, name) is not None]
    sharding = NamedSharding(mesh, P(*axes))
    return jax.tree.map(lambda _: sharding, getattr(state, name))
  return state.replace(**{f.name: field(f.name) for f in dataclasses.fields(state)})


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharded(mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def put(x, sharding: NamedSharding) -> jax.Array:
  """A host array that every process holds alike, placed as `sharding` says (each device
  takes its slice of it)."""
  x = np.asarray(x)
  return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def put_replicated(tree, mesh):
  """Places host arrays (the same on every process) or device arrays on every device of `mesh`."""
  sharding = replicated(mesh)

  def place(x):
    if isinstance(x, jax.Array) and (sharding.is_fully_addressable or
                                     not x.is_fully_addressable):
      return jax.device_put(x, sharding)
    # a host array, or one process's own device array (an init's output) going onto the
    # devices of several processes, which device_put does not do: through the host
    return put(x, sharding)

  return jax.tree.map(place, tree)


def job_mesh() -> jax.sharding.Mesh:
  """The mesh of a run whose work is one network over a few thousand images (the transfer
  trainers): every device of a multi-process job, so that each process takes its share;
  one device in a single process, where the rest would add more partitioning than they
  save on such batches."""
  return data_mesh(None if jax.process_count() > 1 else 1)


def wait_in_cpu_job(x, mesh):
  """`x`, waited for when `mesh` spans the CPU devices of several processes: with several
  programs in flight there, their collectives (gloo) deadlocked in 2 of 5 runs of the
  transfer experiment as 2 processes x 2 devices. GPUs and TPUs keep dispatching ahead."""
  if mesh.is_multi_process and mesh.devices.flat[0].platform == 'cpu':
    jax.block_until_ready(x)
  return x


def batch_or_replicated(mesh, batch_size: int) -> NamedSharding:
  """Where a batch of `batch_size` goes: split over the mesh when it splits evenly, else on
  every device whole (a fit on 25 labelled examples: each device computes it all)."""
  return batch_sharded(mesh) if batch_size % mesh.size == 0 else replicated(mesh)


def local_copy(x):
  """This process's copy of an array replicated over a mesh that spans several processes
  (the generator's samples, for instance), so host-side work such as scoring can use it on
  this process's devices; any other array as it is."""
  if (isinstance(x, jax.Array) and not x.is_fully_addressable and x.is_fully_replicated):
    return x.addressable_data(0)
  return x


def shard_batch(x, mesh):
  """Inside jit: asks the compiler to split the leading (batch) axis over the mesh."""
  return jax.lax.with_sharding_constraint(x, batch_sharded(mesh))


def training_mesh(num_devices: int, batch_size: int, num_examples: int,
                  **variants: int) -> jax.sharding.Mesh:
  """The mesh a run's batches split over: `num_devices` (0: every device of the job) on the
  'data' axis, or, for a sweep whose variants are stacked on the named axes (`variants=8`),
  its variant_mesh. Checked against the batch: an equal share per device of the data axis,
  no more than the `num_examples` training examples."""
  checks.require(jax.process_count() == 1 or num_devices in (0, jax.device_count()),
                 'train.num_devices', num_devices,
                 f'0 (all {jax.device_count()} devices): a job of {jax.process_count()} '
                 'processes trains on the devices of every process')
  mesh = data_mesh(num_devices or None)
  if variants:
    mesh = variant_mesh(mesh, **variants)
  n = mesh.shape[DATA_AXIS]  # a sweep's variant axes hold whole batches
  if batch_size % n:
    raise checks.ConfigError(f'config.train.batch_size = {batch_size} must be a multiple of the '
                             f'number of devices that share a batch ({n}) so that each gets '
                             'an equal share.')
  checks.require(batch_size <= num_examples, 'train.batch_size', batch_size,
                 f'at most the {num_examples} training examples')
  return mesh
