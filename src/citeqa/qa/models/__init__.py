"""Trained model files shipped with citeqa (read with importlib.resources)."""
