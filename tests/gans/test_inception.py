"""The FID InceptionV3 port against torch-fidelity's network (the pytorch-fid network with the
TensorFlow patches) on random weights, through the converter; TF1's resize by hand; the
evaluator scoring FID on a feature network instead of the classifier."""
import importlib
import importlib.util
import sys
import types

import jax.numpy as jnp
import numpy as np
import pytest
import torch

from classifiers import saved
from common import checks, data, weights
from gans import build, evaluation, inception
from tests.gans.test_metrics import _reference_fid


def _torch_fidelity_module(monkeypatch):
  """torch_fidelity.feature_extractor_inceptionv3 without the package's __init__, which
  imports torchvision (not installable beside this torch); the module itself needs torch only."""
  spec = importlib.util.find_spec('torch_fidelity')
  package = types.ModuleType('torch_fidelity')
  package.__path__ = list(spec.submodule_search_locations)
  monkeypatch.setitem(sys.modules, 'torch_fidelity', package)
  return importlib.import_module('torch_fidelity.feature_extractor_inceptionv3')


@pytest.fixture(scope='module')
def reference():
  """torch-fidelity's extractor with random weights (its constructor would download the real
  ones: the load is stubbed)."""
  with pytest.MonkeyPatch.context() as mp:
    module = _torch_fidelity_module(mp)
    mp.setattr(module, 'load_state_dict_from_url', lambda *a, **k: {})
    mp.setattr(module.FeatureExtractorInceptionV3, 'load_state_dict', lambda self, sd: None)
    torch.manual_seed(0)
    net = module.FeatureExtractorInceptionV3('inception', ['2048'])
  # BatchNorm statistics of real activations (one pass in train mode over random images), so
  # the features depend on the input as a trained network's do; random scales and shifts.
  gen = torch.Generator().manual_seed(1)
  for m in net.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
      m.reset_running_stats()
      m.momentum = None  # a plain average of what it sees
      m.weight.data = 0.5 + torch.rand(m.num_features, generator=gen)
      m.bias.data = 0.1 * torch.randn(m.num_features, generator=gen)
  net.train()
  with torch.no_grad():
    net(torch.randint(0, 256, (4, 3, 28, 28), generator=gen, dtype=torch.uint8))
  net.eval()
  return net


def test_tf1_resize_samples_at_i_times_in_over_out():
  m = inception.tf1_resize_matrix(4, 8)
  np.testing.assert_allclose(m @ np.arange(4.0), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3])
  np.testing.assert_allclose(inception.tf1_resize_matrix(6, 3) @ np.arange(6.0), [0, 2, 4])


def test_pool3_features_match_torch_fidelity(reference):
  variables = inception.from_torch_state_dict(
      {k: v.numpy() for k, v in reference.state_dict().items()})
  rng = np.random.default_rng(0)
  unit = rng.integers(0, 256, (2, 28, 28, 1)).astype(np.float32) / 255.0
  ours = np.asarray(inception.FeatureNetwork(variables).features(unit))
  pixels = torch.tensor(np.round(np.repeat(unit, 3, -1) * 255).astype(np.uint8))
  with torch.no_grad():
    (theirs,) = reference(pixels.permute(0, 3, 1, 2))
  theirs = theirs.numpy()
  assert ours.shape == theirs.shape == (2, inception.FEATURES)
  np.testing.assert_allclose(ours, theirs, atol=1e-4 * np.abs(theirs).max())
  assert np.abs(theirs[0] - theirs[1]).max() > 1e-2 * np.abs(theirs).max()  # inputs matter


def test_a_wrong_file_is_named_with_what_it_lacks(reference):
  state = {k: v.numpy() for k, v in reference.state_dict().items()}
  del state['Mixed_7c.branch_pool.conv.weight']
  with pytest.raises(weights.ConversionError, match='missing 1 arrays'):
    inception.from_torch_state_dict(state, 'x.pth')
  with pytest.raises(weights.ConversionError, match="unexpected key 'features.0.weight'"):
    inception.from_torch_state_dict({'features.0.weight': np.zeros(1)}, 'vgg.pth')
  with pytest.raises(FileNotFoundError, match='python -m gans.inception'):
    inception.load('/nonexistent/fid_inception')


class _MeanPixelsByRow:
  """A stand-in feature network: each image's 28 row means, times 10."""
  name = 'row_means'

  def features(self, unit_images):
    return 10 * jnp.mean(jnp.asarray(unit_images)[..., 0], axis=2)


def test_evaluator_scores_fid_and_kid_on_the_feature_network(tiny_classifier, tmp_path):
  data_dir, classifier_dir = tiny_classifier
  classifier = saved.load(classifier_dir)
  ds = data.load('fashion_mnist', str(data_dir), download=False)
  unit = (ds.train_images[:64].astype(np.float32) / 255.0) ** 2  # darker than the test set
  plain = evaluation.Evaluator(classifier, ds.test_images, kid_subsets=4, kid_subset_size=32)
  swapped = evaluation.Evaluator(classifier, ds.test_images, kid_subsets=4, kid_subset_size=32,
                               feature_network=_MeanPixelsByRow())
  a, b = plain.score(unit), swapped.score(unit)
  rows = lambda x: 10 * np.asarray(x, np.float64)[..., 0].mean(axis=2)
  reference = rows(ds.test_images.astype(np.float32) / 255.0)
  expected = _reference_fid(rows(unit), reference)
  assert b['fid'] == pytest.approx(expected, rel=1e-3) and b['fid'] != pytest.approx(a['fid'])
  assert (a['features'], b['features']) == ('classifier', 'row_means')
  assert b['inception_score'] == a['inception_score']  # the classifier's logits, both times
  with pytest.raises(checks.ConfigError, match='eval.inception_dir'):
    build.load_feature_network(str(tmp_path / 'none'))
  assert build.load_feature_network('') is None
