"""The VGG16 the transfer tests share: random torchvision-layout weights and their conversion."""
import pytest


@pytest.fixture(scope='session')
def torch_vgg16(tmp_path_factory):
  """(random torchvision-layout VGG16, the folder its converted weights are in)."""
  import torch  # pylint: disable=g-import-not-at-top
  from tests.torch_reference import TorchVGG16  # pylint: disable=g-import-not-at-top
  from transfer import convert  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.mktemp('vgg16')
  net = TorchVGG16()
  torch.save(net.state_dict(), root / 'vgg16.pth')
  convert.convert('torch', str(root / 'vgg16.pth'), str(root / 'flax'))
  (root / 'vgg16.pth').unlink()
  return net, str(root / 'flax')
