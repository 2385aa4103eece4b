"""MLP, CNN and LeNet classifier families: models, losses, training and sweeps (issue: Classifiers)."""
