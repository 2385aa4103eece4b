"""The `sweep` section a study adds to a run's config (trainers classifier_sweep, gan_sweep)."""
import ml_collections


def sweep(axis: str, values: tuple, seeds: int = 1) -> ml_collections.ConfigDict:
  section = ml_collections.ConfigDict()
  section.axis = axis        # a dotted config key, or several joined by commas (same value)
  section.axis_values = values
  section.seeds = seeds      # seeds per value: config.seed, config.seed + 1, ...
  section.vmap = True        # train shape-sharing variants in one program
  return section
