"""Generators, discriminators/critics, losses, training and evaluation of the GAN family."""
