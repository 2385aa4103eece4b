"""The optimizers report 002 compares, with PyTorch's defaults (the report used PyTorch).

Each is wrapped in optax.inject_hyperparams, so the learning rate lives in the optimizer
state: a sweep can give every vmapped variant its own rate.
"""
import functools

import jax
import jax.numpy as jnp
import optax

NAMES = ('sgd', 'momentum', 'adam', 'rmsprop', 'adagrad')


def adagrad_torch(learning_rate, eps: float = 1e-10):
  """torch.optim.Adagrad: g / (sqrt(sum g^2) + eps), accumulators from 0. (optax.adagrad
  puts eps inside the square root, which differs where gradients are tiny.)"""

  def init(params):
    return optax.ScaleByRssState(sum_of_squares=jax.tree.map(jnp.zeros_like, params))

  def update(updates, state, params=None):
    del params
    sums = jax.tree.map(lambda s, g: s + jnp.square(g), state.sum_of_squares, updates)
    updates = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, sums)
    return updates, optax.ScaleByRssState(sum_of_squares=sums)

  return optax.chain(optax.GradientTransformation(init, update),
                     optax.scale_by_learning_rate(learning_rate))


SCHEDULES = ('constant', 'cosine')


def build(name: str, learning_rate, momentum: float = 0.9, schedule: str = 'constant',
          total_steps: int = 0) -> optax.GradientTransformation:
  """`schedule='cosine'` multiplies the rate by a cosine decay from 1 to 0 over
  `total_steps`, kept apart from the rate itself so that sweeps can still set the rate."""
  factories = {
      'sgd': optax.sgd,
      'momentum': functools.partial(optax.sgd, momentum=momentum),
      'adam': optax.adam,
      'rmsprop': functools.partial(optax.rmsprop, decay=0.99, eps=1e-8, eps_in_sqrt=False),
      'adagrad': adagrad_torch,
  }
  base = optax.inject_hyperparams(factories[name])(learning_rate=learning_rate)
  if schedule == 'constant':
    return base
  return optax.chain(base, optax.scale_by_schedule(optax.cosine_decay_schedule(1.0, total_steps)))


def set_learning_rate(opt_state, learning_rate):
  """The optimizer state with another learning rate (wherever build() put it)."""
  return optax.tree.set(opt_state, learning_rate=jnp.asarray(learning_rate, jnp.float32))
