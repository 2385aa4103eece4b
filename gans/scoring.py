"""Scores of a GAN's generator on fixed noise: during training (FID of G and its EMA every
eval.fid_every steps, the best state kept) and at the end (G, EMA and best on
eval.final_samples against the test set)."""
import logging

import jax
import jax.numpy as jnp

from gans import evaluation

EVAL_STREAM = 8  # fold_in tags of fixed noise, apart from the training keys
FINAL_STREAM = 9


def eval_inputs(gan, seed: int, stream: int, n: int):
  """Fixed noise and labels (classes in turn) for scoring: the same at every evaluation."""
  z = gan.sample_latent(jax.random.fold_in(jax.random.key(seed), stream), n)
  return z, jnp.arange(n, dtype=jnp.int32) % max(gan.num_classes, 1)


def score_generator(gan, evaluator, g_params, g_batch_stats, z, labels, kid: bool) -> dict:
  samples = evaluation.generate(gan, g_params, g_batch_stats, z, labels)
  return evaluator.score(samples, labels if gan.num_classes else None, kid=kid)


def final_scores(gan, evaluator, state, best, *, seed: int, num_samples: int) -> dict:
  """G, its EMA and the best-FID state on `num_samples` samples against the test set."""
  z, labels = eval_inputs(gan, seed, FINAL_STREAM, num_samples)
  out = score_generator(gan, evaluator, state.g_params, state.g_batch_stats, z, labels, True)
  if gan.ema_decay:
    ema = score_generator(gan, evaluator, state.ema_params, state.g_batch_stats, z, labels,
                          True)
    out.update({f'{k}_ema': val for k, val in ema.items()
                if k not in ('num_samples', 'features')})
  saved = best.restore() if best is not None else None
  if saved is not None:
    at_best = score_generator(gan, evaluator, saved['g_params'], saved['g_batch_stats'], z,
                              labels, True)
    out.update({f'{k}_best': val for k, val in at_best.items()
                if k not in ('num_samples', 'features')})
    out['best_step'] = best.step
  return out


def fid_tracker(gan, evaluator, best, *, seed: int, num_samples: int, every: int,
                num_steps: int):
  """`evaluate(step, state)` for the loop: every `every` steps (and at the last step), FID,
  class accuracy and Inception-style score of G, and FID of its EMA, on `num_samples` fixed
  latents; a new best FID saves the state to best/. Its scores join that step's logged
  row."""
  z, labels = eval_inputs(gan, seed, EVAL_STREAM, num_samples)

  def evaluate_fn(step, state):
    if step % every and step < num_steps:
      return {}
    scores = score_generator(gan, evaluator, state.g_params, state.g_batch_stats, z, labels,
                             kid=False)
    row = {k: scores[k] for k in ('fid', 'inception_score', 'class_accuracy',
                                  'classes_present') if k in scores}
    if gan.ema_decay:
      row['fid_ema'] = score_generator(gan, evaluator, state.ema_params, state.g_batch_stats,
                                       z, labels, kid=False)['fid']
    if best.offer(step, scores['fid'], state, num_samples=num_samples):
      logging.info('Step %d: FID %.3f, the best so far (kept in %s).', step, scores['fid'],
                   best.directory)
    else:
      logging.info('Step %d: FID %.3f (best %.3f at step %d).', step, scores['fid'],
                   best.value, best.step)
    return row
  return evaluate_fn
