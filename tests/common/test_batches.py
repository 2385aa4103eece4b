import jax
import jax.numpy as jnp
import numpy as np

from common import batches


def _draw(order, key, counters, n, b):
  out = []
  for c in counters:
    order, idx = batches.next_indices(order, key, jnp.int32(c), num_examples=n, batch_size=b)
    out.append(np.asarray(idx))
  return order, out


def test_each_epoch_is_a_fresh_permutation_without_the_remainder():
  key, n, b = jax.random.key(0), 50, 8  # 6 batches per epoch, 2 examples dropped
  order = batches.order_at(key, 0, num_examples=n, batch_size=b)
  _, drawn = _draw(order, key, range(12), n, b)
  epoch0, epoch1 = np.concatenate(drawn[:6]), np.concatenate(drawn[6:])
  assert len(set(epoch0)) == 48 and len(set(epoch1)) == 48
  assert not np.array_equal(epoch0, epoch1)


def test_resuming_from_a_counter_draws_the_same_batches():
  key, n, b = jax.random.key(3), 40, 8
  order = batches.order_at(key, 0, num_examples=n, batch_size=b)
  mid_order, first = _draw(order, key, range(7), n, b)
  _, rest = _draw(mid_order, key, range(7, 13), n, b)
  _, uninterrupted = _draw(order, key, range(13), n, b)
  for a, c in zip(first + rest, uninterrupted):
    np.testing.assert_array_equal(a, c)
