"""VGG16, weight conversion, transfer recipes and the probes of trained classifiers (saliency,
adversarial examples, class visualization)."""
