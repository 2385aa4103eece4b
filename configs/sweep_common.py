"""The `sweep` section a study adds to a run's config (trainers classifier_sweep, gan_sweep)."""
import ml_collections


def sweep(axis: str, values: tuple, seeds: int = 1) -> ml_collections.ConfigDict:
  section = ml_collections.ConfigDict()
  section.axis = axis        # a dotted config key, or several joined by commas (same value)
  section.axis_values = values
  section.seeds = seeds      # seeds per value: config.seed, config.seed + 1, ...
  section.vmap = True        # train shape-sharing variants in one program
  return section


def study(config, trainer: str, axis: str, values: tuple, quick: bool):
  """`config` as a one-seed study of `axis` (configs/study_*.py); `quick` keeps two values."""
  config.trainer = trainer
  config.sweep = sweep(axis, values[:2] if quick else values, seeds=1)
  return config
