"""VGG16, weight conversion and transfer recipes (frozen base + head, SVMs, fine-tuning)."""
