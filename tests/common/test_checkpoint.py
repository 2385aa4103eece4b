import glob
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from common import checkpoint


def _state(v):
  return {'w': jnp.full((3,), v, jnp.float32), 'step': jnp.int32(v), 'rng': jax.random.key(v)}


def test_restores_latest_with_typed_key(tmp_path):
  ckpt = checkpoint.Checkpointer(str(tmp_path), max_to_keep=2)
  for s in (1, 2, 3):
    ckpt.save(s, _state(s))
  ckpt.wait()
  assert ckpt.steps() == [2, 3]
  restored, step = ckpt.restore_latest(checkpoint.abstract_like(_state(0)))
  assert step == 3
  np.testing.assert_array_equal(restored['w'], np.full(3, 3.0))
  np.testing.assert_array_equal(jax.random.key_data(restored['rng']),
                                jax.random.key_data(jax.random.key(3)))
  ckpt.close()


def test_unreadable_latest_falls_back_to_previous(tmp_path, caplog):
  ckpt = checkpoint.Checkpointer(str(tmp_path), max_to_keep=3)
  for s in (1, 2):
    ckpt.save(s, _state(s))
  ckpt.close()
  for path in glob.glob(str(tmp_path / 'checkpoints' / '2' / '**' / '*'), recursive=True):
    if os.path.isfile(path) and 'd' in path.split(os.sep)[-2:-1]:
      with open(path, 'wb') as f:
        f.write(b'garbage')
  ckpt = checkpoint.Checkpointer(str(tmp_path), max_to_keep=3)
  restored, step = ckpt.restore_latest(checkpoint.abstract_like(_state(0)))
  assert step == 1 and int(restored['step']) == 1
  assert 'unreadable' in caplog.text
  ckpt.close()


def test_empty_workdir_restores_nothing(tmp_path):
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  assert ckpt.restore_latest(checkpoint.abstract_like(_state(0))) == (None, None)
  ckpt.close()


def test_checkpoint_of_another_shape_is_a_mismatch_not_unreadable(tmp_path):
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  ckpt.save(1, _state(1))
  ckpt.close()
  other = {'w': jnp.zeros((4,), jnp.float32), 'step': jnp.int32(0), 'rng': jax.random.key(0),
           'extra': jnp.zeros(())}
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  with pytest.raises(checkpoint.MismatchError) as e:
    ckpt.restore_or_keep(other)
  ckpt.close()
  assert e.value.step == 1
  assert e.value.differences == ['extra is built but not saved',
                                 'w: saved shape (3,), built (4,)']


def test_truncated_metadata_falls_back_to_previous(tmp_path, caplog):
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  for s in (1, 2):
    ckpt.save(s, _state(s))
  ckpt.close()
  path = tmp_path / 'checkpoints' / '2' / 'default' / '_METADATA'
  path.write_bytes(path.read_bytes()[:10])
  ckpt = checkpoint.Checkpointer(str(tmp_path))
  restored, step = ckpt.restore_latest(checkpoint.abstract_like(_state(0)))
  ckpt.close()
  assert step == 1 and int(restored['step']) == 1
  assert 'unreadable' in caplog.text
