"""Activation functions by their config names, one slope per name."""
import flax.linen as nn

ACTIVATIONS = {
    'relu': nn.relu,
    'leaky_relu': nn.leaky_relu,  # slope 0.01: Flax's, PyTorch's and the classifier reports'
    'leaky_relu_0.2': lambda x: nn.leaky_relu(x, 0.2),  # the GAN papers' and reports'
    'sigmoid': nn.sigmoid,
    'tanh': nn.tanh,
    'none': lambda x: x,
}
