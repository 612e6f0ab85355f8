"""Trained model files of the facts stage (the learned value linker)."""
