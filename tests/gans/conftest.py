"""A tiny conditional GAN run that the app's and the ship command's tests read."""
import pytest

from common import writers
from configs import cdcgan
from gans import train
from tests.conftest import config_on, once_per_run


@pytest.fixture(scope='session')
def gan_run(tiny_classifier, tmp_path_factory):
  """(workdir, classifier workdir) of an 8-step cDCGAN scored by the tiny classifier."""
  data_dir, classifier_dir = tiny_classifier

  def build(workdir):
    config = config_on(cdcgan, data_dir, eval__classifier_dir=classifier_dir)
    writers.write_config(config, str(workdir))
    train.train_and_evaluate(config, str(workdir))
    return workdir, classifier_dir
  return once_per_run(tmp_path_factory, 'cdcgan', build)
