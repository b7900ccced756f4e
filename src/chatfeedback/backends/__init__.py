"""Model backends: the contract, the built-ins and the entry-point registry."""

from .base import Backend, Generation
from .registry import available_backends, build_backend, validate_models

__all__ = ["Backend", "Generation", "available_backends", "build_backend", "validate_models"]
