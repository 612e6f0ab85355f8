"""The one error type of the trained models, apart from the modules that raise it so that
the reader (numpy and ONNX Runtime only) can be imported without the rest of the stage."""


class ModelError(RuntimeError):
    """A trained model's file is missing, damaged, or does not fit this citeqa."""
