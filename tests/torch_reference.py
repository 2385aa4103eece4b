"""A trained (or random) Flax ConvNet copied into PyTorch: the reference the tests and the
benchmarks compare against (the same weights, so the same function up to float rounding)."""
import numpy as np
import torch
from torch import nn

from classifiers import models

_ACTIVATIONS = {'relu': nn.ReLU, 'leaky_relu': lambda: nn.LeakyReLU(0.01), 'tanh': nn.Tanh,
                'sigmoid': nn.Sigmoid, 'none': nn.Identity}
_OUTPUTS = {**_ACTIVATIONS, 'log_softmax': lambda: nn.LogSoftmax(-1),
            'softmax': lambda: nn.Softmax(-1)}
_POOLS = {'max': nn.MaxPool2d, 'avg': nn.AvgPool2d}


def _tensor(x):
  return torch.tensor(np.asarray(x, np.float32))


class TorchConvNet(nn.Module):
  """NCHW input; `last_conv` is the module whose output Grad-CAM uses (as in Flax's
  `return_conv`: the last conv layer's activation, before pooling)."""

  def __init__(self, model: models.ConvNet, params, in_channels: int):
    super().__init__()
    layers, channels = [], in_channels
    for i, (features, kernel, padding, window, stride) in enumerate(model.convs):
      conv = nn.Conv2d(channels, features, kernel, padding=padding)
      conv.weight.data = _tensor(np.transpose(params[f'Conv_{i}']['kernel'], (3, 2, 0, 1)))
      conv.bias.data = _tensor(params[f'Conv_{i}']['bias'])
      layers.append(conv)
      if model.norm == 'group':
        norm = nn.GroupNorm(8, features, eps=1e-6)  # Flax's GroupNorm epsilon
        norm.weight.data = _tensor(params[f'GroupNorm_{i}']['scale'])
        norm.bias.data = _tensor(params[f'GroupNorm_{i}']['bias'])
        layers.append(norm)
      layers.append(_ACTIVATIONS[model.activation]())
      self.last_conv = layers[-1]
      if window:
        layers.append(_POOLS[model.pool](window, stride=stride))
      channels = features
    self.features = nn.Sequential(*layers)
    dense = []
    for i in range(len(model.dense) + 1):
      linear = nn.Linear(*np.shape(params[f'Dense_{i}']['kernel']))
      linear.weight.data = _tensor(np.asarray(params[f'Dense_{i}']['kernel']).T)
      linear.bias.data = _tensor(params[f'Dense_{i}']['bias'])
      if i == len(model.dense):
        act = _OUTPUTS[model.output_activation]()
      elif i == len(model.dense) - 1:
        act = _ACTIVATIONS[model.last_hidden_activation or model.activation]()
      else:
        act = _ACTIVATIONS[model.activation]()
      dense += [linear, act]
    self.head = nn.Sequential(*dense)

  def forward(self, x):
    h = self.features(x)
    # Flax flattens (H, W, C): permute instead of reordering the first dense kernel
    return self.head(h.permute(0, 2, 3, 1).reshape(len(h), -1))


def nhwc_to_torch(images) -> torch.Tensor:
  return torch.tensor(np.ascontiguousarray(np.asarray(images, np.float32).transpose(0, 3, 1, 2)))


class TorchVGG16(nn.Module):
  """torchvision.models.vgg16's modules and state_dict keys (`features.N`, `classifier.N`),
  written out because PyPI's torchvision does not import beside torch 2.13 here. Random
  weights with torchvision's initialisation, plus random biases so their conversion is
  checked too."""
  CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M',
         512, 512, 512, 'M')

  def __init__(self, num_classes: int = 1000, seed: int = 0):
    super().__init__()
    torch.manual_seed(seed)
    layers, channels = [], 3
    with torch.device('meta'):   # built without the default initialisation, replaced below
      for v in self.CFG:
        if v == 'M':
          layers.append(nn.MaxPool2d(2, 2))
        else:
          layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU(inplace=True)]
          channels = v
      self.features = nn.Sequential(*layers)
      self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
      self.classifier = nn.Sequential(
          nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
          nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, num_classes))
    self.to_empty(device='cpu')
    for m in self.modules():
      if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
      elif isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.01)
      if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.normal_(m.bias, 0, 0.1)
    self.eval()

  def forward(self, x):
    return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
