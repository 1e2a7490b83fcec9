"""UnlearnScope: live monitoring of backdoor unlearning with Grad-CAM and TAR."""

__version__ = "0.1.0"
