"""The VGG16 the transfer tests share: random torchvision-layout weights and their conversion."""
import pytest

from tests.conftest import once_per_run


@pytest.fixture(scope='session')
def torch_vgg16_dir(tmp_path_factory) -> str:
  """The folder of `TorchVGG16()`'s weights (seeded: the same in every process) converted to
  Flax, made once for the run: both workers use it, and it takes seconds."""
  def build(folder):
    import torch  # pylint: disable=g-import-not-at-top
    from tests.torch_reference import TorchVGG16  # pylint: disable=g-import-not-at-top
    from transfer import convert  # pylint: disable=g-import-not-at-top
    torch.save(TorchVGG16().state_dict(), folder / 'vgg16.pth')
    convert.convert('torch', str(folder / 'vgg16.pth'), str(folder / 'flax'))
    (folder / 'vgg16.pth').unlink()  # 528 MB
    return [folder / 'flax']
  return once_per_run(tmp_path_factory, 'torch_vgg16', build)[0]
