"""What needs only a trained classifier: saliency maps, adversarial examples, class
visualization, and their runs (*_run.py, launched by launch.py)."""
