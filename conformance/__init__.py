"""A conformance suite for Kubernetes notification controllers."""

__version__ = "0.1.0"
